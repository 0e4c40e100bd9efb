#!/usr/bin/env python3
"""On-demand mutation testing of IoTitan's engine and the hub's message path.

Not part of CI (a full run takes a long time). For each target module it
makes small, deliberate mistakes ("mutants") one at a time, the kind a
developer might make, and runs the tests that should notice:

* comparison flips and edges: ``==``/``!=``, ``<``/``>=``, ``<``/``<=``, ``in``/``not in``,
  ``is``/``is not``;
* arithmetic: ``+``/``-``, ``*``/``/``; integer constants off by one;
* booleans: ``and``/``or``, ``not x`` -> ``x``, ``True``/``False``;
* removed statements: a call, an augmented assignment (``n += 1``),
  ``break``/``continue`` become ``pass``.

Mutants are made from the module's syntax tree (`ast`), written into a
temporary copy of the working tree (the real files are never touched), and
the target's test files run there with ``pytest -x -q``, each run bounded by
``--timeout``. A mutant is *killed* when the tests fail (or time out) and
*survives* when they pass; the score is killed / all. Survivors are listed
with their line: each is a missing test or an equivalent change (one that
cannot alter behaviour, such as a bound no input reaches).

Usage (from the repository root, with the test venv)::

    .venv/bin/python scripts/mutation.py payload            # one target
    .venv/bin/python scripts/mutation.py hub --max 40       # a sample of 40
    .venv/bin/python scripts/mutation.py --list             # targets, mutant counts
    .venv/bin/python scripts/mutation.py window --timeout 300 --only-line 250-300

Mutants are in a fixed order, so ``--max`` with ``--seed`` picks a reproducible
sample. Exit status: 0 when the run completed (whatever the score), 2 when the
unmutated tests fail in the copy (nothing to measure).
"""

from __future__ import annotations

import argparse
import ast
from collections.abc import Iterator
from dataclasses import dataclass
import os
from pathlib import Path
import random
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = Path("custom_components/iotitan")


@dataclass(frozen=True)
class Target:
    """A module to mutate, the tests that should notice, optionally some functions."""

    module: str
    tests: tuple[str, ...]
    functions: tuple[str, ...] = ()
    """Qualified names (``Class.method``); empty: the whole module."""


SYSLOG_TESTS = (
    "tests/engine/test_syslog_format.py",
    "tests/engine/test_syslog_send_failure.py",
    "tests/engine/test_syslog_rsyslog.py",
)
HUB_TESTS = (
    "tests/test_retained.py",
    "tests/test_rejections.py",
    "tests/test_log_filters.py",
    "tests/test_retention_window.py",
    "tests/test_message_log.py",
    "tests/test_sensor.py",
    "tests/test_init.py",
    "tests/test_journal_replay.py",
    "tests/test_sources_in_place.py",
    "tests/test_hub_bounds.py",
)
TARGETS: dict[str, Target] = {
    "payload": Target("engine/payload.py", ("tests/engine/test_payload.py",)),
    # The insert tests first: their hand-worked edges fail fast, and their
    # in-order comparisons go through add, expire and every statistic too.
    "window": Target(
        "engine/window.py",
        ("tests/engine/test_window_insert.py", "tests/engine/test_window.py"),
    ),
    "sorted_floats": Target(
        "engine/sorted_floats.py",
        ("tests/engine/test_sorted_floats.py", "tests/engine/test_window.py"),
    ),
    "topic_names": Target("engine/topic_names.py", ("tests/test_topic_names.py",)),
    "journal": Target("engine/journal.py", ("tests/engine/test_journal.py",)),
    "record": Target(
        "engine/record.py",
        ("tests/engine/test_syslog_format.py", "tests/engine/test_journal.py"),
    ),
    "syslog": Target("engine/syslog.py", SYSLOG_TESTS),
    "alerts": Target("engine/alerts.py", ("tests/engine/test_alerts.py",)),
    "output": Target("engine/output.py", ("tests/engine/test_output.py",)),
    "window_statistic": Target(
        "engine/window_statistic.py", ("tests/engine/test_window_statistic.py",)
    ),
    "outbox": Target("engine/outbox.py", ("tests/engine/test_thingspeak.py",)),
    "thingspeak": Target("engine/thingspeak.py", ("tests/engine/test_thingspeak.py",)),
    "readings": Target("engine/readings.py", ("tests/engine/test_readings.py",)),
    "sensor_time": Target(
        "engine/sensor_time.py", ("tests/engine/test_sensor_time.py",)
    ),
    "fields": Target("engine/fields.py", ("tests/engine/test_fields.py",)),
    "discovery": Target("engine/discovery.py", ("tests/engine/test_discovery.py",)),
    # The hub's message path: from the MQTT callback to the windows, and the
    # journal replay that must rebuild the same windows.
    "source": Target(
        "source.py",
        HUB_TESTS,
        (
            "TopicState.add",
            "TopicState.is_repeat",
            "TopicState.expire",
            "TopicState.expire_windows",
            "SensorSource.topic_state",
            "SensorSource.ingest",
            "SensorSource.count_live",
        ),
    ),
    "hub": Target(
        "hub.py",
        HUB_TESTS,
        (
            "IoTitanHub._async_ingest_live",
            "IoTitanHub.async_replay_journal",
            "IoTitanHub._route",
            "IoTitanHub._message_handler",
            "IoTitanHub._async_tick",
        ),
    ),
    "message_log": Target(
        "message_log.py",
        HUB_TESTS,
        ("MessageLog.submit", "record_now"),
    ),
}

_COMPARE_SWAPS: dict[type[ast.cmpop], tuple[type[ast.cmpop], ...]] = {
    ast.Eq: (ast.NotEq,),
    ast.NotEq: (ast.Eq,),
    ast.Lt: (ast.GtE, ast.LtE),
    ast.LtE: (ast.Gt, ast.Lt),
    ast.Gt: (ast.LtE, ast.GtE),
    ast.GtE: (ast.Lt, ast.Gt),
    ast.In: (ast.NotIn,),
    ast.NotIn: (ast.In,),
    ast.Is: (ast.IsNot,),
    ast.IsNot: (ast.Is,),
}
_BINOP_SWAPS: dict[type[ast.operator], type[ast.operator]] = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.Div,
    ast.Div: ast.Mult,
}
_SYMBOLS: dict[type[ast.AST], str] = {
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.In: "in",
    ast.NotIn: "not in",
    ast.Is: "is",
    ast.IsNot: "is not",
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.And: "and",
    ast.Or: "or",
}


@dataclass(frozen=True)
class Mutant:
    """One change: which node (by walk index) and which variant of it."""

    index: int
    node: int
    variant: int
    line: int
    description: str


def _scopes(tree: ast.Module, functions: tuple[str, ...]) -> list[ast.AST]:
    """The nodes to mutate within: the named functions, or the whole module."""
    if not functions:
        return [tree]
    found: dict[str, ast.AST] = {}

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                found[f"{prefix}{child.name}"] = child

    visit(tree, "")
    missing = [name for name in functions if name not in found]
    if missing:
        raise SystemExit(f"functions not found (renamed?): {', '.join(missing)}")
    return [found[name] for name in functions]


def _is_docstring(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    parent = parents.get(node)
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and (
            isinstance(node.value.value, str)
            or parent is None
            or isinstance(parent, ast.Module)
        )
    )


def _variants(node: ast.AST) -> list[str]:
    """Descriptions of the mutations possible at `node` (one per variant)."""
    if isinstance(node, ast.Compare) and len(node.ops) == 1:
        cmp = type(node.ops[0])
        return [
            f"{_SYMBOLS[cmp]} -> {_SYMBOLS[new]}" for new in _COMPARE_SWAPS.get(cmp, ())
        ]
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOP_SWAPS:
        binop = type(node.op)
        return [f"{_SYMBOLS[binop]} -> {_SYMBOLS[_BINOP_SWAPS[binop]]}"]
    if isinstance(node, ast.BoolOp):
        is_and = isinstance(node.op, ast.And)
        return ["and -> or" if is_and else "or -> and"]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return ["not x -> x"]
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool):
            return [f"{node.value} -> {not node.value}"]
        if isinstance(node.value, int):
            return [f"{node.value} -> {node.value + 1}"]
        return []
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call | ast.Await):
        return ["call removed"]
    if isinstance(node, ast.AugAssign):
        return ["augmented assignment removed"]
    if isinstance(node, ast.Break | ast.Continue):
        return [f"{type(node).__name__.lower()} removed"]
    return []


def _walk(scopes: list[ast.AST]) -> Iterator[ast.AST]:
    for scope in scopes:
        yield from ast.walk(scope)


def find_mutants(source: str, functions: tuple[str, ...]) -> list[Mutant]:
    """Every mutant of `source` (within `functions`), in a fixed order."""
    tree = ast.parse(source)
    parents = {
        child: parent
        for parent in ast.walk(tree)
        for child in ast.iter_child_nodes(parent)
    }
    mutants: list[Mutant] = []
    for number, node in enumerate(_walk(_scopes(tree, functions))):
        if _is_docstring(node, parents):
            continue
        if isinstance(node, ast.Constant) and isinstance(
            parents.get(node), ast.JoinedStr | ast.FormattedValue
        ):
            continue
        for variant, description in enumerate(_variants(node)):
            mutants.append(
                Mutant(
                    len(mutants),
                    number,
                    variant,
                    getattr(node, "lineno", 0),
                    description,
                )
            )
    return mutants


def _apply(node: ast.AST, variant: int) -> ast.AST:
    """Mutate `node` in place (or return its replacement)."""
    if isinstance(node, ast.Compare):
        node.ops = [_COMPARE_SWAPS[type(node.ops[0])][variant]()]
    elif isinstance(node, ast.BinOp):
        node.op = _BINOP_SWAPS[type(node.op)]()
    elif isinstance(node, ast.BoolOp):
        node.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
    elif isinstance(node, ast.UnaryOp):
        return node.operand
    elif isinstance(node, ast.Constant):
        value = node.value
        assert isinstance(value, int)  # bool is an int too
        node.value = not value if isinstance(value, bool) else value + 1
    else:  # a statement: removed
        return ast.copy_location(ast.Pass(), node)
    return node


def mutate(source: str, functions: tuple[str, ...], mutant: Mutant) -> str:
    """The module's source with `mutant` applied."""
    tree = ast.parse(source)
    target = list(_walk(_scopes(tree, functions)))[mutant.node]

    class Replace(ast.NodeTransformer):
        def visit(self, node: ast.AST) -> ast.AST:
            if node is target:
                return _apply(node, mutant.variant)
            return super().visit(node)  # type: ignore[no-any-return]

    mutated = Replace().visit(tree)
    ast.fix_missing_locations(mutated)
    return ast.unparse(mutated)


def copy_tree(destination: Path) -> None:
    """Copy what the tests need (no venv, no git, no caches)."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache")
    for name in ("custom_components", "tests", "blueprints", "scripts"):
        if (ROOT / name).exists():
            shutil.copytree(ROOT / name, destination / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md", "requirements_test.txt", "hacs.json"):
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, destination / name)


def run_tests(workdir: Path, tests: tuple[str, ...], timeout: float) -> str:
    """'passed', 'failed' or 'timeout'."""
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-x",
        "-q",
        "-p",
        "no:cacheprovider",
        "-m",
        "not e2e",
        *tests,
    ]
    try:
        result = subprocess.run(
            command,
            cwd=workdir,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=timeout,
            check=False,
            start_new_session=True,
        )
    except subprocess.TimeoutExpired:
        return "timeout"
    return "passed" if result.returncode == 0 else "failed"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("targets", nargs="*", metavar="TARGET", help=", ".join(TARGETS))
    parser.add_argument("--list", action="store_true", help="list targets and exit")
    parser.add_argument("--timeout", type=float, default=180.0, help="per mutant, s")
    parser.add_argument("--max", type=int, help="run a random sample of this many")
    parser.add_argument("--seed", type=int, default=19, help="for --max")
    parser.add_argument("--only-line", help="only mutants on lines A-B")
    args = parser.parse_args()
    unknown = [name for name in args.targets if name not in TARGETS]
    if unknown:
        parser.error(f"unknown target(s) {', '.join(unknown)}; see --list")

    if args.list or not args.targets:
        for name, target in TARGETS.items():
            source = (ROOT / PACKAGE / target.module).read_text()
            count = len(find_mutants(source, target.functions))
            scope = ", ".join(target.functions) or "whole module"
            print(f"{name:12} {target.module:22} {count:4} mutants ({scope})")
            print(f"{'':12} tests: {' '.join(target.tests)}")
        return 0

    totals = {"killed": 0, "timeout": 0, "survived": 0}
    with tempfile.TemporaryDirectory(prefix="iotitan-mutation-") as temp:
        workdir = Path(temp)
        copy_tree(workdir)
        for name in args.targets:
            target = TARGETS[name]
            path = workdir / PACKAGE / target.module
            original = path.read_text()
            mutants = find_mutants(original, target.functions)
            if args.only_line:
                low, _, high = args.only_line.partition("-")
                mutants = [m for m in mutants if int(low) <= m.line <= int(high or low)]
            if args.max is not None and args.max < len(mutants):
                mutants = sorted(
                    random.Random(args.seed).sample(mutants, args.max),
                    key=lambda m: m.index,
                )
            print(f"== {name}: {target.module}, {len(mutants)} mutants")
            print(f"   tests: {' '.join(target.tests)}")
            started = time.monotonic()
            baseline = run_tests(workdir, target.tests, args.timeout)
            baseline_seconds = time.monotonic() - started
            if baseline != "passed":
                print(
                    f"   the unmutated tests {baseline} in the copy: nothing to measure"
                )
                return 2
            print(f"   unmutated tests pass in {baseline_seconds:.1f} s")
            counts = {"killed": 0, "timeout": 0, "survived": 0}
            try:
                for done, mutant in enumerate(mutants, 1):
                    path.write_text(mutate(original, target.functions, mutant))
                    outcome = run_tests(workdir, target.tests, args.timeout)
                    kind = {"failed": "killed", "passed": "survived"}.get(
                        outcome, outcome
                    )
                    counts[kind] += 1
                    line = original.splitlines()[mutant.line - 1].strip()
                    print(
                        f"   [{done}/{len(mutants)}] {kind.upper():8} "
                        f"{target.module}:{mutant.line} {mutant.description}: {line[:70]}",
                        flush=True,
                    )
            finally:
                path.write_text(original)
            total = sum(counts.values())
            caught = counts["killed"] + counts["timeout"]
            print(
                f"== {name}: {caught}/{total} killed "
                f"({counts['timeout']} by timeout), {counts['survived']} survived, "
                f"score {caught / total:.0%}"
                if total
                else f"== {name}: no mutants"
            )
            for key, value in counts.items():
                totals[key] += value
    if len(args.targets) > 1:
        total = sum(totals.values())
        caught = totals["killed"] + totals["timeout"]
        print(f"== all: {caught}/{total} killed, score {caught / max(total, 1):.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
