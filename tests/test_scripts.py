"""The newcomer's scripts work before anything is set up."""

from __future__ import annotations

from pathlib import Path
import shutil
import subprocess

ROOT = Path(__file__).resolve().parent.parent


def test_develop_help_works_on_a_fresh_clone(tmp_path: Path) -> None:
    """`scripts/develop --help` without .venv finds Python 3.13 as setup does.

    On a fresh clone the system python3 may be older than the runner's syntax
    (3.11 on these machines), which gave a SyntaxError instead of the help.
    """
    clone = tmp_path / "clone"
    (clone / "scripts").mkdir(parents=True)
    for name in ("develop", "develop.py", "find_python"):
        shutil.copy2(ROOT / "scripts" / name, clone / "scripts" / name)
    result = subprocess.run(
        ["bash", str(clone / "scripts" / "develop"), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: scripts/develop")
    assert "--reset" in result.stdout
    assert not (clone / ".venv").exists()
