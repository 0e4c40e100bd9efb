"""The newcomer's scripts work before anything is set up."""

from __future__ import annotations

import importlib.util
from pathlib import Path
import shutil
import subprocess
import sys

from custom_components.iotitan.engine.window import Statistic
from custom_components.iotitan.engine.window_statistic import WindowStatistic

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


def test_develop_chooses_channel_statistics_as_the_flow_spells_them() -> None:
    """`scripts/develop.py` runs without the integration's packages, so it
    spells a channel's statistic choice itself; it must match the flow's."""
    spec = importlib.util.spec_from_file_location(
        "develop", ROOT / "scripts" / "develop.py"
    )
    assert spec is not None and spec.loader is not None
    develop = importlib.util.module_from_spec(spec)
    sys.modules["develop"] = develop  # dataclasses look their module up
    try:
        spec.loader.exec_module(develop)
    finally:
        del sys.modules["develop"]
    for window, statistic in [
        (600.0, Statistic.MEAN),
        (5400.5, Statistic.PERCENTILE),
        (2592000.0, Statistic.VALUE_MAX),
    ]:
        choice = develop.FieldChoice("room/t", window, str(statistic))
        assert (
            choice.statistic_choice == WindowStatistic(window, statistic).channel_choice
        )
