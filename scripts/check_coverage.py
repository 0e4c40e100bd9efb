"""Fail when any module of the integration is under its coverage threshold.

`--cov-fail-under` only checks the total, so a small module can sit far below it
while the large ones carry the average. This script reads the JSON report that
coverage.py writes (`pytest --cov-report=json:PATH`) and checks each module under
custom_components/iotitan on its own: 95 % by default, 100 % for the config flow
(the quality scale's `test-coverage` and `config-flow-test-coverage` rules).

Exit status: 0 when every module meets its threshold (a one-line summary is
printed), 1 when some do not (a table lists them with their missing lines), 2
when the report cannot be read or covers no module of the integration.

    .venv/bin/python scripts/check_coverage.py                 # artifacts/coverage.json
    .venv/bin/python scripts/check_coverage.py path/to/coverage.json
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
import json
import math
from pathlib import Path, PurePosixPath
import sys
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DEFAULT_REPORT = REPO / "artifacts" / "coverage.json"

# The package whose modules are checked, as a path inside the repository.
PACKAGE = ("custom_components", "iotitan")
# Percent of statements (and branches, if measured) each module must cover.
DEFAULT_THRESHOLD = 95.0
# Stricter thresholds, by path relative to the package.
THRESHOLDS: Mapping[str, float] = {"config_flow.py": 100.0}
# How many of the lowest modules the summary names when all pass.
SUMMARY_LOWEST = 5
# Missing lines shown per failing module before "…".
MISSING_SHOWN = 12


class ReportError(Exception):
    """The report is missing, not coverage.py's JSON, or covers no module."""


@dataclass(frozen=True)
class ModuleCoverage:
    """One module's coverage as the report states it."""

    module: str  # path relative to the package, e.g. "engine/journal.py"
    percent: float
    missing_lines: tuple[int, ...]

    @property
    def threshold(self) -> float:
        """What this module must reach."""
        return THRESHOLDS.get(self.module, DEFAULT_THRESHOLD)

    @property
    def passes(self) -> bool:
        """Whether it reaches its threshold."""
        return self.percent >= self.threshold


def module_path(path: str) -> str | None:
    """A report path relative to the package; None if outside it."""
    parts = PurePosixPath(path.replace("\\", "/")).parts
    size = len(PACKAGE)
    for start in range(len(parts) - size):
        if parts[start : start + size] == PACKAGE:
            return "/".join(parts[start + size :])
    return None


def read_report(path: Path) -> list[ModuleCoverage]:
    """The package's modules in a coverage.py JSON report, sorted by path."""
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise ReportError(f"no coverage report at {path}") from err
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ReportError(f"cannot read coverage report {path}: {err}") from err
    files = report.get("files") if isinstance(report, dict) else None
    if not isinstance(files, dict):
        raise ReportError(f"{path} is not a coverage.py JSON report (no 'files')")
    modules = []
    for name, data in files.items():
        module = module_path(name)
        if module is None:
            continue
        try:
            modules.append(_module(module, data))
        except (KeyError, TypeError, ValueError) as err:
            raise ReportError(f"{path}: unexpected entry for {name}: {err!r}") from err
    if not modules:
        raise ReportError(f"{path} covers no module under {'/'.join(PACKAGE)}")
    return sorted(modules, key=lambda module: module.module)


def _module(module: str, data: Any) -> ModuleCoverage:
    summary = data["summary"]
    return ModuleCoverage(
        module=module,
        percent=float(summary["percent_covered"]),
        missing_lines=tuple(int(line) for line in data.get("missing_lines", ())),
    )


def percent_text(percent: float) -> str:
    """A percentage with two decimals, rounded down: 94.999 is never "95.00"."""
    # Rounded to 6 places first, so that float noise (94.9 * 100 being
    # 9489.999…) does not take a hundredth off.
    return f"{math.floor(round(percent * 100, 6)) / 100:.2f}%"


def line_ranges(lines: Iterable[int], shown: int = MISSING_SHOWN) -> str:
    """`[1, 2, 3, 7]` as "1-3, 7", at most `shown` ranges."""
    ranges: list[str] = []
    start = end = None
    for line in sorted(set(lines)):
        if end is not None and line == end + 1:
            end = line
            continue
        if start is not None:
            ranges.append(f"{start}-{end}" if start != end else str(start))
        start = end = line
    if start is not None:
        ranges.append(f"{start}-{end}" if start != end else str(start))
    if len(ranges) > shown:
        return ", ".join([*ranges[:shown], "…"])
    return ", ".join(ranges)


def table(modules: Sequence[ModuleCoverage]) -> str:
    """The modules as aligned columns: path, coverage, threshold, missing lines."""
    rows = [("Module", "Covered", "Required", "Missing lines")]
    rows += [
        (
            module.module,
            percent_text(module.percent),
            percent_text(module.threshold),
            line_ranges(module.missing_lines),
        )
        for module in modules
    ]
    width = [max(len(row[column]) for row in rows) for column in range(3)]
    return "\n".join(
        f"  {name:<{width[0]}}  {covered:>{width[1]}}  {required:>{width[2]}}  "
        f"{missing}".rstrip()
        for name, covered, required, missing in rows
    )


def check(modules: Sequence[ModuleCoverage]) -> tuple[bool, str]:
    """Whether every module passes, and the message saying so (or which fail)."""
    package = "/".join(PACKAGE)
    failing = [module for module in modules if not module.passes]
    if failing:
        failing.sort(
            key=lambda module: (module.percent - module.threshold, module.module)
        )
        return False, (
            f"Coverage below threshold in {len(failing)} of {len(modules)} modules "
            f"under {package}:\n{table(failing)}\n"
            "Add tests that exercise the missing lines (do not lower the thresholds)."
        )
    lowest = sorted(modules, key=lambda module: (module.percent, module.module))
    named = ", ".join(
        f"{module.module} {percent_text(module.percent)}"
        for module in lowest[:SUMMARY_LOWEST]
    )
    stricter = ", ".join(
        f"{percent_text(threshold)} for {module}"
        for module, threshold in sorted(THRESHOLDS.items())
    )
    return True, (
        f"Coverage per module OK: all {len(modules)} modules under {package} reach "
        f"{percent_text(DEFAULT_THRESHOLD)} ({stricter}). Lowest: {named}."
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Check the report; the exit status says whether every module passes."""
    parser = argparse.ArgumentParser(
        description="Check the coverage of each module of the integration."
    )
    parser.add_argument(
        "report",
        nargs="?",
        type=Path,
        default=DEFAULT_REPORT,
        help=f"coverage.py JSON report (default: {DEFAULT_REPORT.relative_to(REPO)})",
    )
    args = parser.parse_args(argv)
    try:
        modules = read_report(args.report)
    except ReportError as err:
        print(f"check_coverage: {err}", file=sys.stderr)
        return 2
    passed, message = check(modules)
    print(message, file=sys.stdout if passed else sys.stderr)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
