"""Check that every `homeassistant` name IoTitan imports exists in the newest release.

The tests run on the Home Assistant that pytest-homeassistant-custom-component pins,
but users run the newest one, which needs a newer Python than these machines have.
So this script does not install it: it has pip fetch the newest `homeassistant` wheel
(`pip index versions` and `pip download --no-deps`, through pip's own configured
index or mirror; a copy is cached by version under .cache/forward-compat/), parses
the modules it needs straight out of the zip, and verifies statically that

- every module the integration imports (`import homeassistant.x`,
  `from homeassistant.x import ...`) exists;
- every imported name is defined or re-exported at that module's top level
  (assignment, def, class, import, star import, `__all__`, including names bound
  under `if TYPE_CHECKING:`), following re-exports such as `from .const import X`
  inside the wheel, or is a submodule of a package;
- every attribute used on an imported module alias (`mqtt.async_subscribe`,
  `dr.async_get`, `dt_util.utcnow`) exists in that module the same way.

A name found only as `_DEPRECATED_<name>` behind a module `__getattr__` (Home
Assistant's deprecated-constant helper), or defined with a `@deprecated_*`
decorator, is reported as deprecated: it still works, but will be removed.

Names are not enough: the newest code announces breaks inside functions whose names
stay. So it also finds every deprecation marker (`report_usage`, any call with a
literal `breaks_in_ha_version`, `_DEPRECATED_` constants such as a table of
deprecated keyword arguments, `deprecated_*` decorators, calls whose name contains
"deprecat", `warnings.warn(..., DeprecationWarning)`) in the release functions
IoTitan calls (imported functions; methods and properties, by attribute name, of
the HA classes IoTitan imports and of those their methods return or their attributes
hold; HA functions that run on what IoTitan hands over, see IMPLICIT_ROOTS) and in
the release functions those call, to --depth (2). Every marker must be listed in
scripts/forward_compat_reviewed.toml with why IoTitan does not trigger it; entries
that match nothing are reported as stale.

Exit status: 0 when every name exists and every marker is reviewed (or when PyPI cannot be reached and no copy
is cached: the check is skipped with a message), 1 when a name is missing or
deprecated or a marker is not reviewed, 2 on a usage error.

    .venv/bin/python scripts/check_forward_compat.py
    .venv/bin/python scripts/check_forward_compat.py --version 2026.11.0
    .venv/bin/python scripts/check_forward_compat.py --wheel path/to/homeassistant.whl
    .venv/bin/python scripts/check_forward_compat.py --source path/to/site-packages
"""

from __future__ import annotations

import argparse
import ast
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
import json
from pathlib import Path
import re
import subprocess
import sys
import tempfile
import tomllib
from typing import Protocol
import zipfile

REPO = Path(__file__).resolve().parent.parent
DEFAULT_PACKAGE = REPO / "custom_components" / "iotitan"
DEFAULT_CACHE = REPO / ".cache" / "forward-compat"
PROJECT = "homeassistant"
ROOT_PACKAGE = "homeassistant"
DOWNLOAD_TIMEOUT = 300.0
DEPRECATED_PREFIX = "_DEPRECATED_"

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_ERROR = 2


class Unreachable(Exception):
    """PyPI (or the download) could not be reached."""


# -- what the integration uses --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Use:
    """One `homeassistant` module, or a name in one, used at a place in our code."""

    module: str
    name: str | None
    """None: the module itself (`import homeassistant.x`)."""
    file: Path
    line: int
    attribute: bool = False
    """Used as `alias.name` on an imported module, not imported by name."""

    @property
    def target(self) -> str:
        """The dotted name that must exist."""
        return self.module if self.name is None else f"{self.module}.{self.name}"


def _is_homeassistant(module: str) -> bool:
    return module == ROOT_PACKAGE or module.startswith(ROOT_PACKAGE + ".")


def collect_uses(package_dir: Path) -> list[Use]:
    """Every `homeassistant` import and module attribute use in a package's sources."""
    uses: list[Use] = []
    for path in sorted(package_dir.rglob("*.py")):
        uses.extend(collect_file_uses(path))
    return uses


def collect_file_uses(path: Path) -> list[Use]:
    """The `homeassistant` imports of one file, and attributes used on module aliases."""
    tree = _parse_source(path.read_text(encoding="utf-8"), str(path))
    uses: list[Use] = []
    # alias -> (module, name): names bound by an import that may be modules.
    aliases: dict[str, tuple[str, str | None]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if not _is_homeassistant(alias.name):
                    continue
                uses.append(Use(alias.name, None, path, node.lineno))
                if alias.asname:
                    aliases[alias.asname] = (alias.name, None)
        elif isinstance(node, ast.ImportFrom):
            if node.level or not node.module or not _is_homeassistant(node.module):
                continue
            for alias in node.names:
                if alias.name == "*":
                    uses.append(Use(node.module, None, path, node.lineno))
                    continue
                uses.append(Use(node.module, alias.name, path, node.lineno))
                aliases[alias.asname or alias.name] = (node.module, alias.name)
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in aliases
        ):
            module, name = aliases[node.value.id]
            target = module if name is None else f"{module}.{name}"
            uses.append(Use(target, node.attr, path, node.lineno, attribute=True))
    return uses


# -- where the newest release's sources are ---------------------------------------------


class SourceTree(Protocol):
    """Read-only access to a tree of Python sources (a wheel or a directory)."""

    def read(self, relative: str) -> str | None:
        """The text of a file, or None if there is no such file."""


class WheelTree:
    """The sources inside a wheel, read without extracting it."""

    def __init__(self, wheel: Path) -> None:
        """Open the wheel."""
        self.wheel = wheel
        self._zip = zipfile.ZipFile(wheel)
        self._names = set(self._zip.namelist())

    def read(self, relative: str) -> str | None:
        """The text of a file in the wheel."""
        if relative not in self._names:
            return None
        return self._zip.read(relative).decode("utf-8")

    def close(self) -> None:
        """Close the zip file."""
        self._zip.close()


class DirectoryTree:
    """Sources in a directory (an unpacked wheel or a site-packages)."""

    def __init__(self, root: Path) -> None:
        """Use `root` as the directory that contains the `homeassistant` package."""
        self.root = root

    def read(self, relative: str) -> str | None:
        """The text of a file under the root."""
        path = self.root / relative
        return path.read_text(encoding="utf-8") if path.is_file() else None


# -- what a module defines --------------------------------------------------------------

# Python 3.14 (PEP 758) allows `except A, B:`, which 3.13's parser rejects; Home
# Assistant uses it. Such a line is rewritten to `except (A, B):` before parsing.
_UNPARENTHESIZED_EXCEPT = re.compile(
    r"^(?P<head>\s*except\*?\s+)(?P<types>[^():#]+,[^():#]+?)(?P<tail>\s*:.*)$"
)
_TOP_LEVEL_NAME = re.compile(
    r"^(?:async\s+def|def|class)\s+(?P<def>\w+)|^(?P<assign>[A-Za-z_]\w*)\s*(?::|=(?!=))"
)


def _parse_source(source: str, filename: str) -> ast.Module:
    return ast.parse(source, filename=filename)


def parse_newer_source(source: str, filename: str) -> ast.Module | None:
    """Parse a module written for a newer Python, or None if that fails."""
    try:
        return _parse_source(source, filename)
    except SyntaxError:
        pass
    # Rewrite every such line at once rather than one parse per error.
    lines = [_parenthesize_except(line) for line in source.splitlines()]
    try:
        return _parse_source("\n".join(lines), filename)
    except SyntaxError:
        return None


def _parenthesize_except(line: str) -> str:
    match = _UNPARENTHESIZED_EXCEPT.match(line)
    if match is None:
        return line
    return f"{match['head']}({match['types'].strip()}){match['tail']}"


@dataclass(slots=True)
class Binding:
    """How a module binds one top-level name."""

    kind: str
    """"definition", "import" (of a module) or "from" (a name from a module)."""
    source_module: str | None = None
    """For "import"/"from": the module it comes from (absolute)."""
    source_name: str | None = None
    """For "from": the name in that module."""
    deprecated: bool = False
    """Defined with a @deprecated_* decorator."""


@dataclass(slots=True)
class ModuleInfo:
    """The top-level names of one module."""

    name: str
    is_package: bool
    bindings: dict[str, Binding] = field(default_factory=dict)
    star_sources: list[str] = field(default_factory=list)
    exported: set[str] = field(default_factory=set)
    """Names listed in a literal `__all__`."""
    dynamic_getattr: bool = False
    """The module defines `__getattr__` (for example for deprecated constants)."""
    approximate: bool = False
    """The source could not be parsed; names come from a line scan."""


def _resolve_relative(module: str, is_package: bool, level: int, target: str) -> str:
    package = module if is_package else module.rpartition(".")[0]
    for _ in range(level - 1):
        package = package.rpartition(".")[0]
    if not target:
        return package
    return f"{package}.{target}" if package else target


def _assigned_names(target: ast.expr) -> Iterator[str]:
    if isinstance(target, ast.Name):
        yield target.id
    elif isinstance(target, (ast.Tuple, ast.List)):
        for element in target.elts:
            yield from _assigned_names(element)
    elif isinstance(target, ast.Starred):
        yield from _assigned_names(target.value)


def _string_list(value: ast.expr) -> set[str]:
    if isinstance(value, (ast.List, ast.Tuple, ast.Set)):
        return {
            element.value
            for element in value.elts
            if isinstance(element, ast.Constant) and isinstance(element.value, str)
        }
    return set()


def _is_deprecated_decorator(decorator: ast.expr) -> bool:
    if isinstance(decorator, ast.Call):
        decorator = decorator.func
    if isinstance(decorator, ast.Attribute):
        return decorator.attr.startswith("deprecated")
    return isinstance(decorator, ast.Name) and decorator.id.startswith("deprecated")


def _top_level_statements(body: Iterable[ast.stmt]) -> Iterator[ast.stmt]:
    """Module-level statements, descending into if/try/with blocks."""
    for statement in body:
        yield statement
        if isinstance(statement, ast.If):
            yield from _top_level_statements(statement.body)
            yield from _top_level_statements(statement.orelse)
        elif isinstance(statement, (ast.Try, ast.TryStar)):
            yield from _top_level_statements(statement.body)
            for handler in statement.handlers:
                yield from _top_level_statements(handler.body)
            yield from _top_level_statements(statement.orelse)
            yield from _top_level_statements(statement.finalbody)
        elif isinstance(statement, (ast.With, ast.AsyncWith)):
            yield from _top_level_statements(statement.body)


def module_info(name: str, is_package: bool, tree: ast.Module) -> ModuleInfo:
    """Collect the top-level names a parsed module binds."""
    info = ModuleInfo(name, is_package)
    bindings = info.bindings
    for statement in _top_level_statements(tree.body):
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bindings[statement.name] = Binding(
                "definition",
                deprecated=any(
                    _is_deprecated_decorator(d) for d in statement.decorator_list
                ),
            )
        elif isinstance(statement, ast.Assign):
            for target in statement.targets:
                for bound in _assigned_names(target):
                    bindings.setdefault(bound, Binding("definition"))
                if isinstance(target, ast.Name) and target.id == "__all__":
                    info.exported |= _string_list(statement.value)
        elif isinstance(statement, ast.AnnAssign):
            for bound in _assigned_names(statement.target):
                bindings.setdefault(bound, Binding("definition"))
        elif isinstance(statement, ast.AugAssign):
            if (
                isinstance(statement.target, ast.Name)
                and statement.target.id == "__all__"
            ):
                info.exported |= _string_list(statement.value)
        elif isinstance(statement, ast.TypeAlias):
            bindings[statement.name.id] = Binding("definition")
        elif isinstance(statement, ast.Import):
            for alias in statement.names:
                if alias.asname:
                    bindings[alias.asname] = Binding("import", alias.name)
                else:
                    top = alias.name.partition(".")[0]
                    bindings.setdefault(top, Binding("import", top))
        elif isinstance(statement, ast.ImportFrom):
            source = (
                _resolve_relative(
                    name, is_package, statement.level, statement.module or ""
                )
                if statement.level
                else statement.module or ""
            )
            for alias in statement.names:
                if alias.name == "*":
                    info.star_sources.append(source)
                else:
                    bindings[alias.asname or alias.name] = Binding(
                        "from", source, alias.name
                    )
        elif isinstance(statement, (ast.For, ast.AsyncFor)):
            for bound in _assigned_names(statement.target):
                bindings.setdefault(bound, Binding("definition"))
    info.dynamic_getattr = "__getattr__" in bindings
    return info


def scan_module(name: str, is_package: bool, source: str) -> ModuleInfo:
    """Fallback for source that does not parse: names defined at column 0."""
    info = ModuleInfo(name, is_package, approximate=True)
    for line in source.splitlines():
        if (match := _TOP_LEVEL_NAME.match(line)) is not None:
            bound = match["def"] or match["assign"]
            info.bindings.setdefault(bound, Binding("definition"))
    info.dynamic_getattr = "__getattr__" in info.bindings
    return info


# -- resolving names in the newest release ------------------------------------------------


@dataclass(frozen=True, slots=True)
class Resolution:
    """Whether a dotted name exists, and how."""

    found: bool
    deprecated: bool = False
    detail: str = ""
    skipped: bool = False
    """Not checked: an attribute of a class or function, not of a module."""


class Release:
    """The modules of one Home Assistant release, parsed on demand."""

    def __init__(self, tree: SourceTree) -> None:
        """Read modules from `tree`."""
        self.tree = tree
        self._modules: dict[str, ModuleInfo | None] = {}
        self._trees: dict[str, ast.Module] = {}
        self.approximate: set[str] = set()

    def module(self, name: str) -> ModuleInfo | None:
        """The module's top-level names, or None if there is no such module."""
        if name in self._modules:
            return self._modules[name]
        info: ModuleInfo | None = None
        relative = name.replace(".", "/")
        for path, is_package in (
            (f"{relative}/__init__.py", True),
            (f"{relative}.py", False),
        ):
            if (source := self.tree.read(path)) is not None:
                parsed = parse_newer_source(source, path)
                if parsed is None:
                    info = scan_module(name, is_package, source)
                    self.approximate.add(name)
                else:
                    info = module_info(name, is_package, parsed)
                    self._trees[name] = parsed
                break
        self._modules[name] = info
        return info

    def tree_of(self, name: str) -> ast.Module | None:
        """The parsed module (None if missing or unparsable)."""
        self.module(name)
        return self._trees.get(name)

    def is_module(self, name: str) -> bool:
        """Whether `name` is a module of this release."""
        return self.module(name) is not None

    def resolve(self, module: str, name: str) -> Resolution:
        """Whether `module` has a top-level `name`, following re-exports."""
        return self._resolve(module, name, set())

    def _resolve(
        self, module: str, name: str, seen: set[tuple[str, str]]
    ) -> Resolution:
        if (module, name) in seen:
            return Resolution(False, detail="import cycle")
        seen.add((module, name))
        info = self.module(module)
        if info is None:
            return Resolution(False, detail=f"no module {module}")
        binding = info.bindings.get(name)
        if binding is not None:
            if binding.kind == "definition":
                if binding.deprecated:
                    return Resolution(
                        True, True, f"{module}.{name} has a @deprecated decorator"
                    )
                return Resolution(True)
            if binding.kind == "from":
                assert binding.source_module is not None
                assert binding.source_name is not None
                return self._follow(binding.source_module, binding.source_name, seen)
            return Resolution(True)  # `import x [as name]`
        # A submodule of a package: `from homeassistant.components import mqtt`.
        if info.is_package and self.is_module(f"{module}.{name}"):
            return Resolution(True)
        if not name.startswith("_"):
            for source in info.star_sources:
                if _is_homeassistant(source) and self.is_module(source):
                    result = self._resolve(source, name, seen)
                    if result.found:
                        return result
                elif not _is_homeassistant(source):
                    return Resolution(True, detail=f"maybe from `{source} import *`")
        if info.dynamic_getattr and f"{DEPRECATED_PREFIX}{name}" in info.bindings:
            return Resolution(
                True,
                True,
                f"{module}.{name} is a deprecated constant "
                f"({DEPRECATED_PREFIX}{name} behind the module's __getattr__)",
            )
        if name in info.exported:
            return Resolution(True, detail=f"listed in {module}.__all__")
        detail = f"{module} has no top-level name {name!r}"
        if info.dynamic_getattr:
            detail += " (it has a module __getattr__, which serves names dynamically)"
        return Resolution(False, detail=detail)

    def _follow(
        self, source_module: str, source_name: str, seen: set[tuple[str, str]]
    ) -> Resolution:
        """A name imported from `source_module` into the module being resolved."""
        if not _is_homeassistant(source_module):
            return Resolution(True)  # re-exported from a dependency
        if self.is_module(f"{source_module}.{source_name}"):
            return Resolution(True)  # `from package import submodule`
        result = self._resolve(source_module, source_name, seen)
        if result.found or not self.is_module(source_module):
            return result
        # Home Assistant imports it, so it exists at import time somehow (a
        # conditional import, a name set at run time): trust the import.
        return Resolution(True, detail=f"imported from {source_module}")

    def check(self, use: Use) -> Resolution:
        """Whether what `use` refers to exists in this release."""
        if use.name is None:
            if self.is_module(use.module):
                return Resolution(True)
            return Resolution(False, detail=f"no module {use.module}")
        if not self.is_module(use.module):
            if use.attribute:
                # `alias.attr` where alias is a class or function (attributes of
                # those are not checked), or where the import of alias itself
                # is already reported as missing.
                return Resolution(True, skipped=True)
            return Resolution(False, detail=f"no module {use.module}")
        return self.resolve(use.module, use.name)


@dataclass(slots=True)
class Report:
    """The outcome of checking every use against one release."""

    checked: list[Use]
    missing: list[tuple[Use, Resolution]]
    deprecated: list[tuple[Use, Resolution]]
    approximate: set[str]

    @property
    def ok(self) -> bool:
        """True when nothing is missing or deprecated."""
        return not self.missing and not self.deprecated


def check_uses(uses: Sequence[Use], release: Release) -> Report:
    """Check every use against a release."""
    checked: list[Use] = []
    missing: list[tuple[Use, Resolution]] = []
    deprecated: list[tuple[Use, Resolution]] = []
    for use in uses:
        result = release.check(use)
        if result.skipped:
            continue
        checked.append(use)
        if not result.found:
            missing.append((use, result))
        elif result.deprecated:
            deprecated.append((use, result))
    return Report(checked, missing, deprecated, set(release.approximate))


# -- deprecation markers in what IoTitan calls ---------------------------------------------

DEFAULT_REVIEWED = REPO / "scripts" / "forward_compat_reviewed.toml"
DEFAULT_DEPTH = 2
MARKER_CALLS = frozenset(
    {"report_usage", "report", "report_integration", "async_report_deprecated"}
)
"""Calls that announce a deprecation (besides any whose name contains "deprecat")."""
MARKER_TEXT_LIMIT = 100
MACHINERY_MODULES = frozenset(
    {"homeassistant.helpers.frame", "homeassistant.helpers.deprecation"}
)
"""The reporting helpers themselves: their insides announce nothing."""

IMPLICIT_ROOTS: dict[str, tuple[str, ...]] = {
    # An entity's device_info is registered by the entity platform, which calls
    # DeviceRegistry.async_get_or_create(config_entry_id=..., config_subentry_id=...,
    # **device_info): what IoTitan puts in a DeviceInfo reaches that function.
    "homeassistant.helpers.device_registry.DeviceInfo": (
        "homeassistant.helpers.device_registry.DeviceRegistry.async_get_or_create",
    ),
}
"""Home Assistant functions that run on what IoTitan hands over, keyed by the name
IoTitan uses to hand it over (the call itself happens inside Home Assistant)."""


@dataclass(frozen=True, slots=True)
class Function:
    """A function or method of the release: `module` plus `Class.method` or `func`."""

    module: str
    qualname: str
    owner: str | None = None
    """For a method: the class name (in `module`)."""

    @property
    def dotted(self) -> str:
        """module.qualname."""
        return f"{self.module}.{self.qualname}"


@dataclass(frozen=True, slots=True)
class Marker:
    """One deprecation marker inside a release function."""

    function: str
    """Dotted name of the function that contains it."""
    marker: str
    """`kind: text`, the key a reviewed entry must repeat."""
    breaks: str | None
    line: int


@dataclass(slots=True)
class Finding:
    """A marker, and how IoTitan reaches it."""

    marker: Marker
    path: tuple[str, ...]
    """Where IoTitan uses it (file:line), then the functions down to the marker."""

    @property
    def depth(self) -> int:
        """0: in the function IoTitan calls; 1: in one that calls; ..."""
        return len(self.path) - 2


@dataclass(frozen=True, slots=True)
class Reviewed:
    """One entry of the reviewed file."""

    function: str
    marker: str
    why: str


def _callee_name(call: ast.Call) -> str | None:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _string_text(node: ast.expr) -> str | None:
    """A string constant, an f-string (placeholders as {}), or a concatenation."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(
            value.value
            if isinstance(value, ast.Constant) and isinstance(value.value, str)
            else "{}"
            for value in node.values
        )
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _string_text(node.left), _string_text(node.right)
        if left is not None or right is not None:
            return (left or "{}") + (right or "{}")
    return None


def _short(text: str) -> str:
    text = " ".join(text.split())
    if len(text) > MARKER_TEXT_LIMIT:
        text = text[: MARKER_TEXT_LIMIT - 3].rstrip() + "..."
    return text


def _keyword_text(call: ast.Call, name: str) -> str | None:
    for keyword in call.keywords:
        if keyword.arg == name:
            return _string_text(keyword.value)
    return None


def _is_deprecation_warning(call: ast.Call) -> bool:
    names = {
        node.id if isinstance(node, ast.Name) else node.attr
        for node in ast.walk(call)
        if isinstance(node, (ast.Name, ast.Attribute))
    }
    return bool(names & {"DeprecationWarning", "PendingDeprecationWarning"})


def function_markers(
    dotted: str, nodes: Sequence[ast.FunctionDef | ast.AsyncFunctionDef]
) -> list[Marker]:
    """Every deprecation marker in the bodies (and decorators) of one function."""
    found: dict[str, Marker] = {}

    def add(marker: str, breaks: str | None, line: int) -> None:
        found.setdefault(marker, Marker(dotted, _short(marker), breaks, line))

    for definition in nodes:
        for decorator in definition.decorator_list:
            if _is_deprecated_decorator(decorator):
                add(f"decorator: {ast.unparse(decorator)}", None, decorator.lineno)
        body = ast.Module(body=definition.body, type_ignores=[])
        for node in ast.walk(body):
            if isinstance(node, ast.Call):
                name = _callee_name(node)
                # A literal version marks an announcement; a variable passed on
                # (issue_registry forwarding its argument) does not.
                breaks = _keyword_text(node, "breaks_in_ha_version")
                is_warning = name == "warn" and _is_deprecation_warning(node)
                if not (
                    name in MARKER_CALLS
                    or (name is not None and "deprecat" in name.lower())
                    or breaks is not None
                    or is_warning
                ):
                    continue
                text = next(
                    (t for arg in node.args if (t := _string_text(arg)) is not None),
                    None,
                )
                if text is None:
                    text = _keyword_text(node, "what") or _keyword_text(
                        node, "translation_key"
                    )
                add(
                    f"{name}: {text if text is not None else '(dynamic)'}",
                    breaks,
                    node.lineno,
                )
            elif isinstance(node, (ast.Name, ast.Attribute)):
                identifier = node.id if isinstance(node, ast.Name) else node.attr
                if DEPRECATED_PREFIX in identifier:
                    add(f"constant: {identifier}", None, node.lineno)
    return sorted(found.values(), key=lambda m: m.line)


@dataclass(slots=True)
class _ClassInfo:
    module: str
    node: ast.ClassDef
    members: dict[str, list[ast.FunctionDef | ast.AsyncFunctionDef]]
    annotations: dict[str, ast.expr]


def _is_overload(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return any(
        (isinstance(d, ast.Name) and d.id == "overload")
        or (isinstance(d, ast.Attribute) and d.attr == "overload")
        for d in node.decorator_list
    )


class CallGraph:
    """Functions of a release, what they call, and the markers they hold."""

    def __init__(self, release: Release) -> None:
        """Read definitions from `release`."""
        self.release = release
        self._classes: dict[tuple[str, str], _ClassInfo | None] = {}
        self._mro: dict[tuple[str, str], list[tuple[str, str]]] = {}
        self._markers: dict[Function, list[Marker]] = {}
        self._callees: dict[Function, list[Function]] = {}

    # definitions

    def _statement(self, module: str, name: str) -> ast.stmt | None:
        tree = self.release.tree_of(module)
        if tree is None:
            return None
        found: ast.stmt | None = None
        for statement in _top_level_statements(tree.body):
            if not isinstance(
                statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
            ):
                continue
            if statement.name == name and (
                isinstance(statement, ast.ClassDef) or not _is_overload(statement)
            ):
                found = statement
        return found

    def locate(self, module: str, name: str) -> tuple[str, ast.stmt] | None:
        """Where `module.name` is defined (a def or class), following re-exports."""
        seen: set[tuple[str, str]] = set()
        while (module, name) not in seen:
            seen.add((module, name))
            info = self.release.module(module)
            if info is None:
                return None
            if (statement := self._statement(module, name)) is not None:
                return module, statement
            binding = info.bindings.get(name)
            if binding is not None and binding.kind == "from":
                assert binding.source_module is not None
                assert binding.source_name is not None
                if not _is_homeassistant(binding.source_module):
                    return None
                module, name = binding.source_module, binding.source_name
                continue
            for source in info.star_sources:
                if (
                    _is_homeassistant(source)
                    and (found := self.locate(source, name)) is not None
                ):
                    return found
            return None
        return None

    def class_info(self, module: str, name: str) -> _ClassInfo | None:
        """A class defined in `module`."""
        key = (module, name)
        if key not in self._classes:
            statement = self._statement(module, name)
            info = None
            if isinstance(statement, ast.ClassDef):
                members: dict[str, list[ast.FunctionDef | ast.AsyncFunctionDef]] = {}
                annotations: dict[str, ast.expr] = {}
                for item in statement.body:
                    if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        if not _is_overload(item):
                            members.setdefault(item.name, []).append(item)
                    elif isinstance(item, ast.AnnAssign) and isinstance(
                        item.target, ast.Name
                    ):
                        annotations[item.target.id] = item.annotation
                for init in members.get("__init__", []):
                    for node in ast.walk(init):
                        if (
                            isinstance(node, ast.AnnAssign)
                            and isinstance(node.target, ast.Attribute)
                            and isinstance(node.target.value, ast.Name)
                            and node.target.value.id == "self"
                        ):
                            annotations.setdefault(node.target.attr, node.annotation)
                info = _ClassInfo(module, statement, members, annotations)
            self._classes[key] = info
        return self._classes[key]

    def resolve_expr(self, module: str, node: ast.expr) -> tuple[str, ast.stmt] | None:
        """The definition a name or `alias.name` in `module` refers to."""
        if isinstance(node, ast.Name):
            return self.locate(module, node.id)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            info = self.release.module(module)
            binding = info.bindings.get(node.value.id) if info else None
            if binding is None:
                return None
            if binding.kind == "import" and binding.source_module:
                target = binding.source_module
            elif binding.kind == "from" and binding.source_module:
                target = f"{binding.source_module}.{binding.source_name}"
            else:
                return None
            if _is_homeassistant(target) and self.release.is_module(target):
                return self.locate(target, node.attr)
        return None

    def mro(self, module: str, name: str) -> list[tuple[str, str]]:
        """The class and its Home Assistant bases, depth first."""
        key = (module, name)
        if key in self._mro:
            return self._mro[key]
        self._mro[key] = [key]  # guards against cycles
        order = [key]
        info = self.class_info(module, name)
        if info is not None:
            for base in info.node.bases:
                if isinstance(base, ast.Subscript):
                    base = base.value
                found = self.resolve_expr(module, base)
                if found is not None and isinstance(found[1], ast.ClassDef):
                    for item in self.mro(found[0], found[1].name):
                        if item not in order:
                            order.append(item)
        self._mro[key] = order
        return order

    def member(self, module: str, name: str, attribute: str) -> Function | None:
        """The method (or property) `attribute` of a class, searched in its bases."""
        for owner_module, owner in self.mro(module, name):
            info = self.class_info(owner_module, owner)
            if info is not None and attribute in info.members:
                return Function(owner_module, f"{owner}.{attribute}", owner)
        return None

    def member_annotation(
        self, module: str, name: str, attribute: str
    ) -> tuple[str, ast.expr] | None:
        """The annotation of a class attribute, searched in its bases."""
        for owner_module, owner in self.mro(module, name):
            info = self.class_info(owner_module, owner)
            if info is not None and attribute in info.annotations:
                return owner_module, info.annotations[attribute]
        return None

    def nodes(self, function: Function) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
        """The definitions of a function (a property may have several)."""
        if function.owner is not None:
            info = self.class_info(function.module, function.owner)
            attribute = function.qualname.rpartition(".")[2]
            return info.members.get(attribute, []) if info else []
        statement = self._statement(function.module, function.qualname)
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return [statement]
        return []

    def function_at(self, dotted: str) -> Function | None:
        """A function given as `module.func` or `module.Class.method`."""
        parts = dotted.split(".")
        for split in range(len(parts) - 1, 0, -1):
            module = ".".join(parts[:split])
            if not self.release.is_module(module):
                continue
            rest = parts[split:]
            if len(rest) == 1:
                found = self.locate(module, rest[0])
                if found and not isinstance(found[1], ast.ClassDef):
                    return Function(found[0], rest[0])
            elif len(rest) == 2:
                found = self.locate(module, rest[0])
                if found and isinstance(found[1], ast.ClassDef):
                    return self.member(found[0], found[1].name, rest[1])
            return None
        return None

    def annotation_classes(self, module: str, node: ast.expr) -> list[tuple[str, str]]:
        """Home Assistant classes named in an annotation."""
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            try:
                node = ast.parse(node.value, mode="eval").body
            except SyntaxError:
                return []
        if isinstance(node, ast.BinOp):
            return self.annotation_classes(module, node.left) + self.annotation_classes(
                module, node.right
            )
        if isinstance(node, ast.Subscript):
            return self.annotation_classes(
                module, node.value
            ) + self.annotation_classes(module, node.slice)
        if isinstance(node, ast.Tuple):
            return [c for e in node.elts for c in self.annotation_classes(module, e)]
        found = self.resolve_expr(module, node)
        if found is not None and isinstance(found[1], ast.ClassDef):
            return [(found[0], found[1].name)]
        return []

    def return_classes(self, function: Function) -> list[tuple[str, str]]:
        """Home Assistant classes a function's return annotation names."""
        classes = []
        for node in self.nodes(function):
            if node.returns is not None:
                classes.extend(self.annotation_classes(function.module, node.returns))
        return classes

    # what a function holds and calls

    def markers(self, function: Function) -> list[Marker]:
        """The deprecation markers in a function."""
        if function.module in MACHINERY_MODULES:
            return []
        if function not in self._markers:
            self._markers[function] = function_markers(
                function.dotted, self.nodes(function)
            )
        return self._markers[function]

    def callees(self, function: Function) -> list[Function]:
        """The release functions a function calls, as far as the AST tells."""
        if function in self._callees:
            return self._callees[function]
        if function.module in MACHINERY_MODULES:
            return []
        found: list[Function] = []
        module = function.module
        for definition in self.nodes(function):
            for node in ast.walk(definition):
                if not isinstance(node, ast.Call):
                    continue
                callee = self._callee(module, function.owner, node.func)
                if callee is not None and callee != function and callee not in found:
                    found.append(callee)
        self._callees[function] = found
        return found

    def _callee(
        self, module: str, owner: str | None, func: ast.expr
    ) -> Function | None:
        if isinstance(func, ast.Attribute):
            receiver = func.value
            if (
                owner is not None
                and isinstance(receiver, ast.Name)
                and (receiver.id in {"self", "cls"})
            ):
                return self.member(module, owner, func.attr)
            if (
                owner is not None
                and isinstance(receiver, ast.Call)
                and isinstance(receiver.func, ast.Name)
                and receiver.func.id == "super"
            ):
                for base_module, base in self.mro(module, owner)[1:]:
                    if (found := self.member(base_module, base, func.attr)) is not None:
                        return found
                return None
            target = self.resolve_expr(module, receiver)
            if target is not None and isinstance(target[1], ast.ClassDef):
                return self.member(target[0], target[1].name, func.attr)
        found = self.resolve_expr(module, func)
        if found is None:
            return None
        def_module, statement = found
        if isinstance(statement, ast.ClassDef):
            return self.member(def_module, statement.name, "__init__")
        return Function(def_module, statement.name)


def collect_attributes(package_dir: Path) -> dict[str, tuple[Path, int]]:
    """Every attribute name the package uses (`x.name`), with its first place."""
    attributes: dict[str, tuple[Path, int]] = {}
    for path in sorted(package_dir.rglob("*.py")):
        tree = _parse_source(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            # Dunders (`super().__init__`) are IoTitan's own classes' business.
            if isinstance(node, ast.Attribute) and not node.attr.startswith("__"):
                attributes.setdefault(node.attr, (path, node.lineno))
    return attributes


def find_roots(
    uses: Sequence[Use],
    attributes: dict[str, tuple[Path, int]],
    graph: CallGraph,
) -> dict[Function, str]:
    """The release functions IoTitan calls, each with where (file:line, how)."""
    roots: dict[Function, str] = {}
    classes: dict[tuple[str, str], str] = {}
    for use in uses:
        if use.name is None:
            continue
        where = f"{_relative(use.file)}:{use.line} ({use.target})"
        if graph.release.is_module(use.module):
            found = graph.locate(use.module, use.name)
        else:
            found = None
        if found is None:
            continue
        module, statement = found
        if isinstance(statement, ast.ClassDef):
            classes.setdefault((module, statement.name), where)
        else:
            roots.setdefault(Function(module, statement.name), where)
        for implicit in IMPLICIT_ROOTS.get(use.target, ()):
            if (function := graph.function_at(implicit)) is not None:
                roots.setdefault(function, f"{where}, handed to {implicit}")
    # Methods and properties IoTitan uses on objects of those classes, and the
    # classes those return or hold (a registry from `dr.async_get`, an entry's
    # subentries, `hass.config_entries`), until nothing new turns up.
    for function in list(roots):
        for cls in graph.return_classes(function):
            classes.setdefault(cls, f"{roots[function]} returns it")
    pending = list(classes)
    while pending:
        module, name = pending.pop()
        for attribute, (path, line) in attributes.items():
            where = f"{_relative(path)}:{line} (.{attribute} on {module}.{name})"
            method = graph.member(module, name, attribute)
            related: list[tuple[str, str]] = []
            if method is not None:
                roots.setdefault(method, where)
                related = graph.return_classes(method)
            elif annotated := graph.member_annotation(module, name, attribute):
                related = graph.annotation_classes(*annotated)
            for cls in related:
                if cls not in classes:
                    classes[cls] = where
                    pending.append(cls)
    return roots


def find_markers(
    roots: dict[Function, str], graph: CallGraph, depth: int = DEFAULT_DEPTH
) -> list[Finding]:
    """Markers in the roots and in the release functions they call, to `depth`."""
    findings: dict[tuple[str, str], Finding] = {}
    paths: dict[Function, tuple[str, ...]] = {
        root: (where, root.dotted) for root, where in roots.items()
    }
    frontier = list(roots)
    for level in range(depth + 1):
        next_frontier: list[Function] = []
        for function in frontier:
            for marker in graph.markers(function):
                key = (marker.function, marker.marker)
                if key not in findings:
                    findings[key] = Finding(marker, paths[function])
            if level == depth:
                continue
            for callee in graph.callees(function):
                if callee not in paths:
                    paths[callee] = (*paths[function], callee.dotted)
                    next_frontier.append(callee)
        frontier = next_frontier
    return sorted(findings.values(), key=lambda f: (f.marker.function, f.marker.line))


def load_reviewed(path: Path) -> list[Reviewed]:
    """The reviewed file's entries (none if it does not exist)."""
    if not path.is_file():
        return []
    with path.open("rb") as handle:
        data = tomllib.load(handle)
    entries = []
    for item in data.get("marker", []):
        entries.append(Reviewed(item["function"], item["marker"], item["why"].strip()))
    return entries


@dataclass(slots=True)
class MarkerReport:
    """Markers found, which are reviewed, and reviewed entries that match nothing."""

    roots: int
    findings: list[Finding]
    unreviewed: list[Finding]
    stale: list[Reviewed]
    reviewed: int

    @property
    def ok(self) -> bool:
        """True when every marker is reviewed."""
        return not self.unreviewed


def check_markers(
    package_dir: Path,
    uses: Sequence[Use],
    release: Release,
    reviewed: Sequence[Reviewed],
    depth: int = DEFAULT_DEPTH,
) -> MarkerReport:
    """Find the markers IoTitan reaches and compare them with the reviewed list."""
    graph = CallGraph(release)
    roots = find_roots(uses, collect_attributes(package_dir), graph)
    findings = find_markers(roots, graph, depth)
    keys = {(entry.function, entry.marker) for entry in reviewed}
    unreviewed = [
        f for f in findings if (f.marker.function, f.marker.marker) not in keys
    ]
    found_keys = {(f.marker.function, f.marker.marker) for f in findings}
    stale = [e for e in reviewed if (e.function, e.marker) not in found_keys]
    return MarkerReport(
        len(roots), findings, unreviewed, stale, len(findings) - len(unreviewed)
    )


def _toml_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def format_marker_report(report: MarkerReport, reviewed_path: Path, depth: int) -> str:
    """A summary; unreviewed markers come with a ready-to-fill reviewed entry."""
    lines = [
        f"  deprecation markers: {len(report.findings)} in the release functions "
        f"IoTitan calls ({report.roots} called directly) and those they call, "
        f"to depth {depth}; {report.reviewed} reviewed in {_relative(reviewed_path)}"
    ]
    for finding in report.unreviewed:
        marker = finding.marker
        lines.append(
            f"  UNREVIEWED: {marker.function}: {marker.marker}"
            + (f" (breaks in {marker.breaks})" if marker.breaks else "")
        )
        lines.append(f"    reached from {' -> '.join(finding.path)}")
        lines.append(
            f"    [[marker]]\n    function = {_toml_string(marker.function)}\n"
            f"    marker = {_toml_string(marker.marker)}\n"
            '    why = "why IoTitan does not trigger it"'
        )
    for entry in report.stale:
        lines.append(
            f"  STALE reviewed entry (no longer found; remove it): "
            f"{entry.function}: {entry.marker}"
        )
    return "\n".join(lines)


# -- fetching the newest release through pip ------------------------------------------

PIP_PYTHON_VERSION = "3.14.2"
"""The Python the newest releases require; pip filters releases by it."""


def run_pip(args: Sequence[str]) -> subprocess.CompletedProcess[str]:
    """Run this interpreter's pip, which uses its own configured index or mirror."""
    return subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", *args],
        capture_output=True,
        text=True,
        timeout=DOWNLOAD_TIMEOUT,
        check=False,
    )


def _pip(args: Sequence[str]) -> str:
    """pip's output, or Unreachable with its last error line."""
    try:
        result = run_pip(args)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise Unreachable(f"pip {args[0]}: {err}") from err
    if result.returncode != 0:
        errors = [
            line
            for line in result.stderr.splitlines()
            if line.strip() and not line.startswith("WARNING")
        ]
        raise Unreachable(f"pip {args[0]}: {errors[-1] if errors else 'failed'}")
    return result.stdout


def newest_version(project: str = PROJECT) -> str:
    """The newest release on pip's configured index."""
    out = _pip(["index", "versions", project, "--python-version", PIP_PYTHON_VERSION])
    match = re.search(rf"^{re.escape(project)} \(([^)\s]+)\)", out, re.MULTILINE)
    if match is None:
        raise Unreachable(f"pip index versions {project}: no version in {out!r}")
    return match[1]


def _version_key(version: str) -> tuple[tuple[int, int, str], ...]:
    """Sort key: numeric parts as numbers, a pre-release before its release."""
    key = []
    for part in version.split("."):
        match = re.match(r"(\d*)(.*)", part)
        assert match is not None  # the pattern matches any string
        number, suffix = match.groups()
        key.append((int(number or 0), 0 if suffix else 1, suffix))
    return tuple(key)


def cached_wheels(cache_dir: Path) -> list[tuple[str, Path]]:
    """Cached wheels as (version, path), newest first."""
    found = []
    for path in cache_dir.glob(f"{PROJECT}-*.whl"):
        version = path.name.split("-")[1]
        found.append((version, path))
    return sorted(found, key=lambda item: _version_key(item[0]), reverse=True)


def download(version: str, cache_dir: Path) -> Path:
    """The wheel in the cache, downloaded by pip unless that version is there."""
    for cached_version, path in cached_wheels(cache_dir):
        if cached_version == version:
            return path
    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache_dir, prefix=".download-") as partial:
        # pip checks the digests the index publishes.
        _pip(
            [
                "download",
                "--no-deps",
                "--only-binary=:all:",
                "--python-version",
                PIP_PYTHON_VERSION,
                f"{PROJECT}=={version}",
                "-d",
                partial,
            ]
        )
        wheels = sorted(Path(partial).glob(f"{PROJECT}-{version}-*.whl"))
        if not wheels:
            raise Unreachable(f"pip download {PROJECT}=={version}: no wheel")
        target = cache_dir / wheels[0].name
        wheels[0].replace(target)
    # Keep only the newest release: each wheel is tens of megabytes.
    for _, old in cached_wheels(cache_dir):
        if old != target:
            old.unlink(missing_ok=True)
    return target


# -- the command ----------------------------------------------------------------------


def _relative(path: Path) -> str:
    try:
        return str(path.relative_to(REPO))
    except ValueError:
        return str(path)


def format_report(report: Report, label: str, package_dir: Path) -> str:
    """A human-readable summary of a report."""
    files = {use.file for use in report.checked}
    imports = sum(1 for use in report.checked if not use.attribute)
    attributes = len(report.checked) - imports
    lines = [
        f"forward compatibility: {label}",
        f"  checked {imports} imports and {attributes} module attribute uses "
        f"in {len(files)} files of {_relative(package_dir)}",
    ]
    for title, problems in (
        ("MISSING", report.missing),
        ("DEPRECATED", report.deprecated),
    ):
        for use, result in problems:
            lines.append(
                f"  {title}: {_relative(use.file)}:{use.line}: {use.target}"
                + (f" ({result.detail})" if result.detail else "")
            )
    for module in sorted(report.approximate):
        lines.append(f"  note: {module} did not parse; its names come from a line scan")
    if report.ok:
        lines.append("  OK: every homeassistant name IoTitan uses exists there")
    else:
        lines.append(
            f"  FAILED: {len(report.missing)} missing, "
            f"{len(report.deprecated)} deprecated"
        )
    return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class Options:
    """What the marker check compares with."""

    reviewed: Path = DEFAULT_REVIEWED
    depth: int = DEFAULT_DEPTH


def run_check(
    tree: SourceTree, label: str, package_dir: Path, options: Options | None = None
) -> int:
    """Check the package against one release's sources and print the summary."""
    options = options or Options()
    uses = collect_uses(package_dir)
    release = Release(tree)
    report = check_uses(uses, release)
    print(format_report(report, label, package_dir))
    try:
        reviewed = load_reviewed(options.reviewed)
    except (OSError, tomllib.TOMLDecodeError, KeyError, AttributeError) as err:
        print(f"  cannot read {_relative(options.reviewed)}: {err}", file=sys.stderr)
        return EXIT_ERROR
    markers = check_markers(package_dir, uses, release, reviewed, options.depth)
    print(format_marker_report(markers, options.reviewed, options.depth))
    if markers.ok:
        print("  OK: every deprecation marker IoTitan reaches is reviewed")
    else:
        print(
            f"  FAILED: {len(markers.unreviewed)} deprecation markers not reviewed "
            f"(add them to {_relative(options.reviewed)} once IoTitan avoids them)"
        )
    return EXIT_OK if report.ok and markers.ok else EXIT_PROBLEMS


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--wheel", type=Path, help="check against this wheel")
    source.add_argument(
        "--source",
        type=Path,
        help="check against a directory that contains the homeassistant package",
    )
    source.add_argument(
        "--version", help="check against this release (downloaded by pip and cached)"
    )
    parser.add_argument("--package", type=Path, default=DEFAULT_PACKAGE)
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--reviewed", type=Path, default=DEFAULT_REVIEWED)
    parser.add_argument("--depth", type=int, default=DEFAULT_DEPTH)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the check; see the module docstring for the exit status."""
    args = _parser().parse_args(argv)
    package_dir: Path = args.package
    options = Options(args.reviewed, args.depth)
    if not package_dir.is_dir():
        print(f"forward compatibility: no package at {package_dir}", file=sys.stderr)
        return EXIT_ERROR
    if args.source is not None:
        return run_check(
            DirectoryTree(args.source), str(args.source), package_dir, options
        )
    if args.wheel is not None:
        wheel_path: Path = args.wheel
        label = wheel_path.name
    else:
        try:
            version = args.version or newest_version()
            wheel_path = download(version, args.cache_dir)
            label = (
                f"{PROJECT} {version} "
                f"({'requested' if args.version else 'newest on the index'}; "
                f"{_relative(wheel_path)})"
            )
        except Unreachable as err:
            cached = cached_wheels(args.cache_dir)
            if args.version:
                cached = [item for item in cached if item[0] == args.version]
            if not cached:
                print(
                    "forward compatibility: SKIPPED, the package index cannot be "
                    f"reached and no wheel is cached in {_relative(args.cache_dir)} "
                    f"({err})"
                )
                return EXIT_OK
            version, wheel_path = cached[0]
            label = (
                f"{PROJECT} {version} (cached copy; the package index cannot be "
                "reached, so a newer release may exist)"
            )
    try:
        tree = WheelTree(wheel_path)
    except (OSError, zipfile.BadZipFile) as err:
        print(
            f"forward compatibility: cannot read {wheel_path}: {err}", file=sys.stderr
        )
        return EXIT_ERROR
    try:
        return run_check(tree, label, package_dir, options)
    finally:
        tree.close()


if __name__ == "__main__":
    sys.exit(main())
