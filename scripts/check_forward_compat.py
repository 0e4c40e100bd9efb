"""Check that every `homeassistant` name IoTitan imports exists in the newest release.

The tests run on the Home Assistant that pytest-homeassistant-custom-component pins,
but users run the newest one, which needs a newer Python than these machines have.
So this script does not install it: it downloads the newest `homeassistant` wheel
from PyPI (or reuses a copy cached by version under .cache/forward-compat/), parses
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

Exit status: 0 when every name exists (or when PyPI cannot be reached and no copy
is cached: the check is skipped with a message), 1 when a name is missing or
deprecated, 2 on a usage or download integrity error.

    .venv/bin/python scripts/check_forward_compat.py
    .venv/bin/python scripts/check_forward_compat.py --wheel path/to/homeassistant.whl
    .venv/bin/python scripts/check_forward_compat.py --source path/to/site-packages
"""

from __future__ import annotations

import argparse
import ast
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
import hashlib
import json
import os
from pathlib import Path
import re
import sys
import tempfile
from typing import Protocol
import urllib.error
import urllib.parse
import urllib.request
import zipfile

REPO = Path(__file__).resolve().parent.parent
DEFAULT_PACKAGE = REPO / "custom_components" / "iotitan"
DEFAULT_CACHE = REPO / ".cache" / "forward-compat"
DEFAULT_INDEX = "https://pypi.org/pypi"
PROJECT = "homeassistant"
ROOT_PACKAGE = "homeassistant"
METADATA_TIMEOUT = 30.0
DOWNLOAD_TIMEOUT = 300.0
DEPRECATED_PREFIX = "_DEPRECATED_"

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_ERROR = 2


class Unreachable(Exception):
    """PyPI (or the download) could not be reached."""


class IntegrityError(Exception):
    """A downloaded wheel does not match the digest PyPI published."""


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
                break
        self._modules[name] = info
        return info

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


# -- PyPI -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WheelFile:
    """The newest release's wheel, as PyPI's JSON API describes it."""

    version: str
    filename: str
    url: str
    sha256: str | None


def latest_wheel(index_url: str, project: str = PROJECT) -> WheelFile:
    """Ask PyPI's JSON API for the newest release's pure-Python wheel."""
    url = f"{index_url.rstrip('/')}/{project}/json"
    try:
        with urllib.request.urlopen(url, timeout=METADATA_TIMEOUT) as response:
            metadata = json.load(response)
    except (OSError, ValueError) as err:  # URLError, timeouts, bad JSON
        raise Unreachable(f"{url}: {err}") from err
    version = metadata["info"]["version"]
    for file in metadata.get("urls", []):
        if file.get("packagetype") == "bdist_wheel" and file["filename"].endswith(
            "-none-any.whl"
        ):
            return WheelFile(
                version,
                file["filename"],
                urllib.parse.urljoin(url, file["url"]),
                file.get("digests", {}).get("sha256"),
            )
    raise Unreachable(f"{url}: release {version} has no pure-Python wheel")


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


def download(wheel: WheelFile, cache_dir: Path) -> Path:
    """The wheel in the cache, downloaded unless a copy of that version is there."""
    target = cache_dir / wheel.filename
    if target.is_file():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    handle, partial_name = tempfile.mkstemp(dir=cache_dir, suffix=".part")
    partial = Path(partial_name)
    try:
        with (
            os.fdopen(handle, "wb") as out,
            urllib.request.urlopen(wheel.url, timeout=DOWNLOAD_TIMEOUT) as response,
        ):
            while chunk := response.read(1 << 20):
                digest.update(chunk)
                out.write(chunk)
        if wheel.sha256 and digest.hexdigest() != wheel.sha256:
            raise IntegrityError(
                f"{wheel.filename}: sha256 {digest.hexdigest()}, "
                f"PyPI says {wheel.sha256}"
            )
        partial.chmod(0o644)
        partial.replace(target)
    except OSError as err:
        raise Unreachable(f"{wheel.url}: {err}") from err
    finally:
        partial.unlink(missing_ok=True)
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


def run_check(tree: SourceTree, label: str, package_dir: Path) -> int:
    """Check the package against one release's sources and print the summary."""
    report = check_uses(collect_uses(package_dir), Release(tree))
    print(format_report(report, label, package_dir))
    return EXIT_OK if report.ok else EXIT_PROBLEMS


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--wheel", type=Path, help="check against this wheel")
    source.add_argument(
        "--source",
        type=Path,
        help="check against a directory that contains the homeassistant package",
    )
    parser.add_argument("--package", type=Path, default=DEFAULT_PACKAGE)
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--index-url", default=DEFAULT_INDEX)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the check; see the module docstring for the exit status."""
    args = _parser().parse_args(argv)
    package_dir: Path = args.package
    if not package_dir.is_dir():
        print(f"forward compatibility: no package at {package_dir}", file=sys.stderr)
        return EXIT_ERROR
    if args.source is not None:
        return run_check(DirectoryTree(args.source), str(args.source), package_dir)
    if args.wheel is not None:
        wheel_path: Path = args.wheel
        label = wheel_path.name
    else:
        try:
            newest = latest_wheel(args.index_url)
            wheel_path = download(newest, args.cache_dir)
            label = (
                f"{PROJECT} {newest.version} (newest on PyPI; {_relative(wheel_path)})"
            )
        except IntegrityError as err:
            print(f"forward compatibility: {err}", file=sys.stderr)
            return EXIT_ERROR
        except Unreachable as err:
            cached = cached_wheels(args.cache_dir)
            if not cached:
                print(
                    "forward compatibility: SKIPPED, PyPI cannot be reached "
                    f"and no wheel is cached in {_relative(args.cache_dir)} ({err})"
                )
                return EXIT_OK
            version, wheel_path = cached[0]
            label = (
                f"{PROJECT} {version} (cached copy; PyPI cannot be reached, "
                "so a newer release may exist)"
            )
    try:
        tree = WheelTree(wheel_path)
    except (OSError, zipfile.BadZipFile) as err:
        print(
            f"forward compatibility: cannot read {wheel_path}: {err}", file=sys.stderr
        )
        return EXIT_ERROR
    try:
        return run_check(tree, label, package_dir)
    finally:
        tree.close()


if __name__ == "__main__":
    sys.exit(main())
