"""scripts/test_newest (and `scripts/test --newest`) where no Python 3.14.2+ exists."""

from __future__ import annotations

import json
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


FAKE_PYTHON = """#!/bin/bash
# A Python 3.14.2 that only records what it is asked to do.
echo "$(basename "$0") $*" >> "$FAKE_LOG"
case "$1" in
  --version) echo "Python 3.14.2" ;;
  -c)
    case "$2" in
      *sys.version_info*) exit 0 ;;
      *homeassistant.const*) echo "newest Home Assistant leg: Home Assistant 2099.1.0" ;;
      *manifest.json*) exec {real} -c "$2" ;;
    esac ;;
  -m)
    if [ "$2" = venv ]; then
      mkdir -p "$3/bin"
      cp "$0" "$3/bin/python"
      cp "$0" "$3/bin/pytest"
    elif [ "$2" = pip ]; then
      previous=""
      for arg in "$@"; do
        if [ "$previous" = -r ]; then cp "$arg" "$FAKE_LOG.requirements"; fi
        previous="$arg"
      done
    fi ;;
esac
exit 0
"""


def test_a_suitable_python_builds_the_newest_venv_and_runs_the_suite(
    tmp_path: Path,
) -> None:
    """With a Python 3.14.2 on PATH: a venv, the newest harness, the suite.

    The Python is a stand-in that records its calls, so this runs on machines
    without 3.14 and checks the commands, not the newest release itself.
    """
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "python3.14"
    fake.write_text(FAKE_PYTHON.replace("{real}", sys.executable))
    fake.chmod(0o755)
    log = tmp_path / "calls.log"
    venv = tmp_path / "venv-newest"
    result = subprocess.run(
        [str(REPO / "scripts" / "test"), "--newest", "tests/test_manifest.py", "-x"],
        capture_output=True,
        text=True,
        env={
            "PATH": f"{bin_dir}:/usr/bin:/bin",
            "PYENV_ROOT": str(tmp_path / "pyenv"),
            "HOME": str(tmp_path),
            "NEWEST_VENV": str(venv),
            "FAKE_LOG": str(log),
        },
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Home Assistant 2099.1.0" in result.stdout
    calls = log.read_text().splitlines()
    assert f"python3.14 -m venv {venv}" in calls
    installs = [c for c in calls if c.startswith("python -m pip install")]
    assert installs[0] == "python -m pip install --quiet --upgrade pip"
    # The newest harness, unpinned: it brings the newest Home Assistant.
    assert (
        "python -m pip install --quiet --upgrade pytest-homeassistant-custom-component"
        in installs
    )
    # The integration's own requirements, exactly as the manifest pins them.
    manifest = json.loads(
        (REPO / "custom_components" / "iotitan" / "manifest.json").read_text()
    )
    last = installs[-1].split()
    assert last[:6] == ["python", "-m", "pip", "install", "--quiet", "-r"]
    assert last[7:] == manifest["requirements"]
    # The other test tools keep their pins; the 2026.2-era harness, core and
    # the browser (not needed for the suite) are left out.
    kept = (tmp_path / "calls.log.requirements").read_text().splitlines()
    assert kept
    assert not [
        line
        for line in kept
        if line.startswith(
            ("pytest-homeassistant-custom-component==", "homeassistant==", "playwright")
        )
    ]
    assert all("==" in line for line in kept if line.strip())
    # Finally the suite, with the arguments given.
    assert calls[-1] == "pytest -p no:cacheprovider tests/test_manifest.py -x"
