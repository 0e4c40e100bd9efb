"""scripts/test_newest (and `scripts/test --newest`) where no Python 3.14.2+ exists."""

from __future__ import annotations

from pathlib import Path
import subprocess
import sys

REPO = Path(__file__).resolve().parents[1]


def _run(script: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # A PATH with no python3.14 (only this 3.13) and an empty pyenv root.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3.13").symlink_to(sys.executable)
    env = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "PYENV_ROOT": str(tmp_path / "pyenv"),
        "HOME": str(tmp_path),
        # A 3.13 offered explicitly is refused too.
        "NEWEST_PYTHON": sys.executable,
    }
    return subprocess.run(
        [str(REPO / "scripts" / script), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def test_no_suitable_python_says_so_in_one_line_and_exits_0(tmp_path: Path) -> None:
    """No Python 3.14.2+: one line, exit 0, no venv built."""
    result = _run("test_newest", tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("newest Home Assistant leg: SKIPPED, no Python 3.14.2+")
    assert result.stderr == ""


def test_scripts_test_dispatches_newest_before_setup(tmp_path: Path) -> None:
    """`scripts/test --newest` goes straight to the newest leg (no setup, no lint)."""
    result = _run("test", tmp_path, "--newest")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        line for line in result.stdout.splitlines() if line.startswith("newest")
    ]
    assert "SKIPPED" in result.stdout
