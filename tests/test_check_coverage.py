"""scripts/check_coverage.py: the per-module coverage gate of scripts/test."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
import subprocess
import sys
from types import ModuleType
from typing import Any

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "check_coverage.py"


def _load() -> ModuleType:
    """scripts/check_coverage.py as a module (scripts/ is no package)."""
    spec = importlib.util.spec_from_file_location("check_coverage", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


check_coverage = _load()


def file_entry(statements: int, missing: list[int]) -> dict[str, Any]:
    """One file as coverage.py's JSON report describes it (statements only)."""
    covered = statements - len(missing)
    return {
        "executed_lines": [],
        "summary": {
            "covered_lines": covered,
            "num_statements": statements,
            "percent_covered": 100.0 * covered / statements if statements else 100.0,
            "percent_covered_display": "0",
            "missing_lines": len(missing),
            "excluded_lines": 0,
        },
        "missing_lines": missing,
        "excluded_lines": [],
    }


def write_report(path: Path, files: dict[str, dict[str, Any]]) -> Path:
    """A coverage.py JSON report (format 3) with these files."""
    path.write_text(
        json.dumps(
            {
                "meta": {"format": 3, "version": "7.10.6", "branch_coverage": False},
                "files": files,
                "totals": {},
            }
        ),
        encoding="utf-8",
    )
    return path


PASSING = {
    "custom_components/iotitan/__init__.py": file_entry(50, []),
    "custom_components/iotitan/config_flow.py": file_entry(400, []),
    "custom_components/iotitan/hub.py": file_entry(200, [17, 18]),  # 99 %
    "custom_components/iotitan/engine/journal.py": file_entry(1000, list(range(50))),
    "custom_components/iotitan/engine/__init__.py": file_entry(0, []),
}


def test_all_modules_at_their_threshold_pass(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Exactly 95 % passes; the summary names the lowest modules."""
    report = write_report(tmp_path / "coverage.json", PASSING)
    assert check_coverage.main([str(report)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert "all 5 modules under custom_components/iotitan reach 95.00%" in out
    assert "100.00% for config_flow.py" in out
    assert "Lowest: engine/journal.py 95.00%, hub.py 99.00%" in out


def test_a_module_at_94_9_percent_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One module under 95 % fails the check however high the total is."""
    files = {
        **PASSING,
        # 51 of 1000 missing: 94.9 %.
        "custom_components/iotitan/engine/journal.py": file_entry(
            1000, [*range(10, 20), 30, *range(100, 140)]
        ),
    }
    report = write_report(tmp_path / "coverage.json", files)
    assert check_coverage.main([str(report)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert "Coverage below threshold in 1 of 5 modules" in err
    lines = err.splitlines()
    header = next(line for line in lines if "Module" in line)
    assert header.split() == ["Module", "Covered", "Required", "Missing", "lines"]
    row = next(line for line in lines if "engine/journal.py" in line)
    assert row.split(maxsplit=3) == [
        "engine/journal.py",
        "94.90%",
        "95.00%",
        "10-19, 30, 100-139",
    ]
    assert "hub.py" not in err


def test_config_flow_needs_full_coverage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """99 % passes for a module but not for the config flow."""
    files = {
        **PASSING,
        "custom_components/iotitan/config_flow.py": file_entry(400, [12, 13, 14, 99]),
    }
    report = write_report(tmp_path / "coverage.json", files)
    assert check_coverage.main([str(report)]) == 1
    err = capsys.readouterr().err
    assert "Coverage below threshold in 1 of 5 modules" in err
    row = next(line for line in err.splitlines() if "config_flow.py" in line)
    assert row.split(maxsplit=3) == ["config_flow.py", "99.00%", "100.00%", "12-14, 99"]
    assert "hub.py" not in err  # also 99 %, which is enough there


def test_failures_listed_worst_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every failing module is listed, furthest below its threshold first."""
    files = {
        **PASSING,
        "custom_components/iotitan/config_flow.py": file_entry(100, [5]),  # -1
        "custom_components/iotitan/sensor.py": file_entry(100, list(range(40))),
    }
    report = write_report(tmp_path / "coverage.json", files)
    assert check_coverage.main([str(report)]) == 1
    err = capsys.readouterr().err
    assert "in 2 of 6 modules" in err
    assert err.index("sensor.py") < err.index("config_flow.py")
    row = next(line for line in err.splitlines() if "sensor.py" in line)
    assert row.split(maxsplit=3)[1:] == ["60.00%", "95.00%", "0-39"]


def test_never_rounds_a_failure_up_to_the_threshold(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """94.999 % fails, and is shown as 94.99 %, not as a confusing 95.00 %."""
    files = {
        **PASSING,
        "custom_components/iotitan/hub.py": file_entry(100_000, list(range(5001))),
    }
    report = write_report(tmp_path / "coverage.json", files)
    assert check_coverage.main([str(report)]) == 1
    row = next(
        line for line in capsys.readouterr().err.splitlines() if "hub.py" in line
    )
    assert row.split()[1:] == ["94.99%", "95.00%", "0-5000"]


def test_long_lists_of_missing_lines_are_cut_short() -> None:
    """Consecutive lines make one range; past `shown` ranges, an ellipsis."""
    assert check_coverage.line_ranges([7, 1, 2, 3, 9, 2]) == "1-3, 7, 9"
    assert check_coverage.line_ranges(range(0, 40, 2), shown=3) == "0, 2, 4, …"
    assert check_coverage.line_ranges([]) == ""


def test_paths_outside_the_package_are_ignored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Absolute paths are recognised; other packages' files are not checked."""
    files = {
        f"/somewhere/repo/custom_components/iotitan/{name.split('iotitan/')[1]}": data
        for name, data in PASSING.items()
    }
    files["/somewhere/repo/scripts/develop.py"] = file_entry(100, list(range(90)))
    files["/somewhere/repo/custom_components/iotitan_other/x.py"] = file_entry(1, [1])
    report = write_report(tmp_path / "coverage.json", files)
    assert check_coverage.main([str(report)]) == 0
    assert "all 5 modules" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no coverage report at"),
        ("{not json", "cannot read coverage report"),
        ('{"totals": {}}', "is not a coverage.py JSON report"),
        ('{"files": {"custom_components/iotitan/hub.py": {}}}', "unexpected entry"),
        ('{"files": {"other/module.py": {}}}', "covers no module under"),
    ],
)
def test_unusable_report_is_an_error(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    content: str | None,
    message: str,
) -> None:
    """A missing or foreign report fails with status 2 instead of passing."""
    report = tmp_path / "coverage.json"
    if content is not None:
        report.write_text(content, encoding="utf-8")
    assert check_coverage.main([str(report)]) == 2
    assert message in capsys.readouterr().err


def test_command_line(tmp_path: Path) -> None:
    """As scripts/test runs it: the exit status carries the verdict."""
    passing = write_report(tmp_path / "passing.json", PASSING)
    failing = write_report(
        tmp_path / "failing.json",
        {**PASSING, "custom_components/iotitan/config_flow.py": file_entry(100, [1])},
    )
    ok = subprocess.run(
        [sys.executable, str(SCRIPT), str(passing)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (ok.returncode, ok.stderr) == (0, "")
    assert ok.stdout.startswith("Coverage per module OK")
    bad = subprocess.run(
        [sys.executable, str(SCRIPT), str(failing)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 1
    assert "config_flow.py" in bad.stderr


def test_scripts_test_runs_the_gate() -> None:
    """scripts/test writes the JSON report and checks it right after pytest."""
    text = (SCRIPT.parent / "test").read_text(encoding="utf-8")
    pytest_line = next(
        line for line in text.splitlines() if line.startswith(".venv/bin/pytest")
    )
    assert "--cov-report=json:artifacts/coverage.json" in pytest_line
    lines = [line for line in text.splitlines() if not line.startswith("echo")]
    after = lines[lines.index(pytest_line) + 1]
    assert after == ".venv/bin/python scripts/check_coverage.py artifacts/coverage.json"
