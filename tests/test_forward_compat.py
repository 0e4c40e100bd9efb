"""scripts/check_forward_compat.py against small fake releases, without network."""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
import importlib.util
from pathlib import Path
import subprocess
import sys
from types import ModuleType
from typing import Any
import zipfile

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "check_forward_compat.py"


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_forward_compat", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


fc = _load_script()

# A release that has everything the fake integration below uses.
GOOD_RELEASE = {
    "homeassistant/__init__.py": "",
    "homeassistant/const.py": (
        "from enum import StrEnum\n"
        "from functools import partial\n"
        "CONF_NAME = 'name'\n"
        "class Platform(StrEnum):\n"
        "    SENSOR = 'sensor'\n"
        "_DEPRECATED_OLD_CONSTANT = 1\n"
        "__getattr__ = partial(print)\n"
    ),
    "homeassistant/core.py": (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from .helpers.typing import ConfigType\n"
        "else:\n"
        "    ConfigType = dict\n"
        "class HomeAssistant:\n"
        "    pass\n"
        "def callback(func):\n"
        "    return func\n"
        "try:\n"
        "    import fastjson as json_impl\n"
        "except ImportError, ModuleNotFoundError:\n"  # Python 3.14 syntax (PEP 758)
        "    json_impl = None\n"
    ),
    "homeassistant/helpers/__init__.py": "",
    "homeassistant/helpers/typing.py": "type ConfigType = dict[str, object]\n",
    "homeassistant/helpers/device_registry.py": (
        "def async_get(hass):\n    return None\nclass DeviceInfo(dict):\n    pass\n"
    ),
    "homeassistant/components/__init__.py": "",
    "homeassistant/components/mqtt/__init__.py": (
        "from .client import async_subscribe, publish as async_publish\n"
        "from .models import *\n"
        "__all__ = ['async_wait_for_mqtt_client']\n"
        "def __getattr__(name):\n    raise AttributeError(name)\n"
    ),
    "homeassistant/components/mqtt/client.py": (
        "async def async_subscribe(hass, topic, cb):\n    pass\n"
        "async def publish(hass, topic, payload):\n    pass\n"
    ),
    "homeassistant/components/mqtt/models.py": (
        "from dataclasses import dataclass\n"
        "@dataclass\nclass ReceiveMessage:\n    topic: str\n"
    ),
    "homeassistant/components/sensor/__init__.py": (
        "from .const import SensorDeviceClass as SensorDeviceClass\n"
    ),
    "homeassistant/components/sensor/const.py": (
        "from enum import StrEnum\nclass SensorDeviceClass(StrEnum):\n    X = 'x'\n"
    ),
}

INTEGRATION = {
    "__init__.py": (
        "from homeassistant.components import mqtt\n"
        "from homeassistant.const import CONF_NAME, Platform\n"
        "from homeassistant.core import ConfigType, HomeAssistant, callback\n"
        "from homeassistant.helpers import device_registry as dr\n"
        "import homeassistant.helpers.typing\n"
        "from .local import thing\n"
        "\n"
        "async def setup(hass: HomeAssistant) -> None:\n"
        "    await mqtt.async_subscribe(hass, 't', print)\n"
        "    await mqtt.async_publish(hass, 't', b'')\n"
        "    message: mqtt.ReceiveMessage\n"
        "    await mqtt.async_wait_for_mqtt_client(hass)\n"
        "    dr.async_get(hass)\n"
        "    Platform.SENSOR.value  # attribute of a class: not checked\n"
    ),
    "sensor.py": (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from homeassistant.components.sensor import SensorDeviceClass\n"
        "def later():\n"
        "    from homeassistant.helpers.device_registry import DeviceInfo\n"
        "    return DeviceInfo\n"
    ),
}


def write_tree(root: Path, files: dict[str, str]) -> Path:
    """Write `files` (relative path -> text) under `root`."""
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def write_wheel(path: Path, files: dict[str, str]) -> Path:
    """A zip with `files`, named and laid out as a wheel."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as wheel:
        for relative, text in files.items():
            wheel.writestr(relative, text)
        wheel.writestr("homeassistant-0.dist-info/METADATA", "Name: homeassistant\n")
    return path


@pytest.fixture(autouse=True)
def no_reviewed_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake releases are checked against an empty reviewed list, not the real one."""
    monkeypatch.setattr(fc, "DEFAULT_REVIEWED", tmp_path / "no-reviewed.toml")


@pytest.fixture
def package(tmp_path: Path) -> Path:
    """A fake integration that uses the names GOOD_RELEASE has."""
    return write_tree(tmp_path / "integration", INTEGRATION)


def release(tmp_path: Path, changes: dict[str, str | None] | None = None) -> Path:
    """GOOD_RELEASE in a directory, with files replaced (text) or removed (None)."""
    files = dict(GOOD_RELEASE)
    for relative, text in (changes or {}).items():
        if text is None:
            files.pop(relative)
        else:
            files[relative] = text
    return write_tree(tmp_path / "release", files)


def run(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str]:
    """Run the script's main() and return its exit status and output."""
    code = fc.main([str(arg) for arg in args])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


# -- collecting what the integration uses ----------------------------------------------


def test_collects_imports_and_module_attributes(package: Path) -> None:
    """from-imports, plain imports, nested and TYPE_CHECKING imports, alias attributes."""
    uses = fc.collect_uses(package)
    targets = {(use.target, use.attribute) for use in uses}
    assert ("homeassistant.components.mqtt", False) in targets
    assert ("homeassistant.const.Platform", False) in targets
    assert ("homeassistant.helpers.typing", False) in targets
    assert ("homeassistant.components.sensor.SensorDeviceClass", False) in targets
    assert ("homeassistant.helpers.device_registry.DeviceInfo", False) in targets
    assert ("homeassistant.components.mqtt.async_subscribe", True) in targets
    assert ("homeassistant.helpers.device_registry.async_get", True) in targets
    # Relative imports are the integration's own business.
    assert not any("local" in use.target for use in uses)
    subscribe = next(u for u in uses if u.target.endswith("async_subscribe"))
    assert subscribe.file.name == "__init__.py"
    assert subscribe.line == 9


# -- checking against a release ---------------------------------------------------------


def test_everything_present_in_a_directory(
    tmp_path: Path, package: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Re-exports, star imports, __all__, TYPE_CHECKING and submodules all count."""
    code, out = run(capsys, "--source", release(tmp_path), "--package", package)
    assert code == 0, out
    assert "OK: every homeassistant name IoTitan uses exists there" in out
    assert "MISSING" not in out
    # 10 imports; 5 attributes on module aliases (Platform.SENSOR is not one).
    assert "checked 10 imports and 5 module attribute uses in 2 files" in out


def test_everything_present_in_a_wheel(
    tmp_path: Path, package: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same release read straight out of a wheel."""
    wheel = write_wheel(tmp_path / "homeassistant-9.9.9-py3-none-any.whl", GOOD_RELEASE)
    code, out = run(capsys, "--wheel", wheel, "--package", package)
    assert code == 0, out
    assert "homeassistant-9.9.9-py3-none-any.whl" in out
    assert "OK" in out


def test_missing_module(
    tmp_path: Path, package: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A module that is gone fails the import and every attribute used on it."""
    source = release(tmp_path, {"homeassistant/helpers/device_registry.py": None})
    code, out = run(capsys, "--source", source, "--package", package)
    assert code == 1
    assert (
        "MISSING: " + str(package / "__init__.py") + ":4: "
        "homeassistant.helpers.device_registry"
    ) in out
    assert (
        f"MISSING: {package / 'sensor.py'}:5: "
        "homeassistant.helpers.device_registry.DeviceInfo "
        "(no module homeassistant.helpers.device_registry)"
    ) in out
    # `dr.async_get` is not reported again: its import already is.
    assert "async_get" not in out
    assert "FAILED: 2 missing, 0 deprecated" in out


def test_missing_name(
    tmp_path: Path, package: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A name removed from a module is reported with its file and line."""
    source = release(
        tmp_path,
        {
            "homeassistant/core.py": "class HomeAssistant:\n    pass\nConfigType = dict\n"
        },
    )
    code, out = run(capsys, "--source", source, "--package", package)
    assert code == 1
    assert (
        f"MISSING: {package / '__init__.py'}:3: homeassistant.core.callback "
        "(homeassistant.core has no top-level name 'callback')"
    ) in out
    assert "FAILED: 1 missing, 0 deprecated" in out


def test_missing_attribute_on_module_alias(
    tmp_path: Path, package: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`mqtt.async_publish` fails when the package no longer re-exports it."""
    source = release(
        tmp_path,
        {
            "homeassistant/components/mqtt/__init__.py": (
                "from .client import async_subscribe\nfrom .models import *\n"
                "async def async_wait_for_mqtt_client(hass):\n    pass\n"
            )
        },
    )
    code, out = run(capsys, "--source", source, "--package", package)
    assert code == 1
    assert ":10: homeassistant.components.mqtt.async_publish" in out
    assert "FAILED: 1 missing" in out


def test_broken_reexport_chain(
    tmp_path: Path, package: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A re-export is followed: the name must exist where it comes from."""
    source = release(
        tmp_path,
        {
            "homeassistant/components/sensor/const.py": "OTHER = 1\n",
            "homeassistant/components/sensor/__init__.py": "from .const import *\n",
        },
    )
    code, out = run(capsys, "--source", source, "--package", package)
    assert code == 1
    assert "homeassistant.components.sensor.SensorDeviceClass" in out


def test_reexport_of_a_dependency_and_import_binding(tmp_path: Path) -> None:
    """Names imported from outside homeassistant, or bound by `import`, exist."""
    tree = fc.DirectoryTree(
        write_tree(
            tmp_path,
            {
                "homeassistant/__init__.py": "",
                "homeassistant/a.py": (
                    "from voluptuous import Schema\n"
                    "import os.path\n"
                    "import json as jsonlib\n"
                    "from homeassistant.b import *\n"
                    "from yaml import *\n"
                    "from .b import GONE\n"
                    "x, (y, *z) = 1, (2, 3)\n"
                    "for loop_var in ():\n    pass\n"
                    "counter: int\n"
                    "__all__ = ['listed']\n"
                    "__all__ += ['appended']\n"
                ),
                "homeassistant/b.py": "FROM_STAR = 1\n_PRIVATE = 2\n",
            },
        )
    )
    found = fc.Release(tree)
    for name in ("Schema", "os", "jsonlib", "FROM_STAR", "x", "y", "z"):
        assert found.resolve("homeassistant.a", name).found, name
    for name in ("loop_var", "counter", "listed", "appended"):
        assert found.resolve("homeassistant.a", name).found, name
    # `from yaml import *` could bind anything: trusted.
    assert found.resolve("homeassistant.a", "anything").found
    # Home Assistant imports GONE from b, which lacks it: trust the import.
    gone = found.resolve("homeassistant.a", "GONE")
    assert gone.found
    assert "imported from homeassistant.b" in gone.detail
    # Private names are not star-exported.
    assert found.resolve("homeassistant.b", "_PRIVATE").found
    assert not found.resolve("homeassistant.a", "_PRIVATE").found


def test_more_import_forms(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Aliased module imports, star imports, relative re-exports, `with` blocks."""
    package = write_tree(
        tmp_path / "integration",
        {
            "__init__.py": (
                "import homeassistant.helpers.pkg as pkg\n"
                "from homeassistant.helpers.pkg.inner import *\n"
                "import homeassistant.helpers.nope\n"
                "pkg.SUB.x\n"
                "pkg.FROM_PARENT\n"
                "pkg.IN_WITH\n"
                "pkg.DYNAMIC\n"
            )
        },
    )
    source = write_tree(
        tmp_path / "release",
        {
            "homeassistant/__init__.py": "",
            "homeassistant/helpers/__init__.py": "FROM_PARENT = 1\n",
            "homeassistant/helpers/pkg/__init__.py": (
                "from . import inner as SUB\n"
                "from .. import FROM_PARENT\n"
                "with open(__file__):\n    IN_WITH = 1\n"
                "__all__ = sorted(['DYNAMIC'])\n"
            ),
            "homeassistant/helpers/pkg/inner.py": "x = 1\n",
        },
    )
    code, out = run(capsys, "--source", source, "--package", package)
    assert code == 1
    assert "checked 3 imports and 4 module attribute uses" in out
    assert (
        ":3: homeassistant.helpers.nope (no module homeassistant.helpers.nope)" in out
    )
    # `__all__` built by a call is not read: DYNAMIC cannot be found statically.
    assert ":7: homeassistant.helpers.pkg.DYNAMIC" in out
    assert "FAILED: 2 missing, 0 deprecated" in out


def test_import_cycle_and_missing_source(tmp_path: Path) -> None:
    """Re-export cycles and re-exports from missing modules are not found."""
    tree = fc.DirectoryTree(
        write_tree(
            tmp_path,
            {
                "homeassistant/__init__.py": "",
                "homeassistant/a.py": "from .b import LOOP\nfrom .gone import LOST\n",
                "homeassistant/b.py": "from .a import LOOP\n",
            },
        )
    )
    found = fc.Release(tree)
    loop = found.resolve("homeassistant.a", "LOOP")
    assert loop.found  # imported by Home Assistant itself: trusted
    assert found._resolve("homeassistant.a", "LOOP", {("homeassistant.a", "LOOP")}) == (
        fc.Resolution(False, detail="import cycle")
    )
    lost = found.resolve("homeassistant.a", "LOST")
    assert not lost.found
    assert lost.detail == "no module homeassistant.gone"
    assert not found.resolve("homeassistant.nothing", "X").found


def test_deprecated_constant_and_function(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Names behind the deprecated-constant __getattr__ or @deprecated_* fail."""
    package = write_tree(
        tmp_path / "integration",
        {
            "__init__.py": (
                "from homeassistant.const import OLD_CONSTANT\n"
                "from homeassistant.helpers import util\n"
                "util.old_helper()\n"
            )
        },
    )
    source = release(
        tmp_path,
        {
            "homeassistant/helpers/util.py": (
                "from homeassistant.helpers.deprecation import deprecated_function\n"
                "@deprecated_function('new_helper')\n"
                "def old_helper():\n    pass\n"
            )
        },
    )
    code, out = run(capsys, "--source", source, "--package", package)
    assert code == 1
    assert (
        "DEPRECATED: " + str(package / "__init__.py") + ":1: "
        "homeassistant.const.OLD_CONSTANT (homeassistant.const.OLD_CONSTANT is a "
        "deprecated constant (_DEPRECATED_OLD_CONSTANT behind the module's __getattr__))"
    ) in out
    assert ":3: homeassistant.helpers.util.old_helper" in out
    assert "has a @deprecated decorator" in out
    assert "FAILED: 0 missing, 2 deprecated" in out


def test_module_getattr_is_mentioned(tmp_path: Path) -> None:
    """A missing name in a module with __getattr__ says the module is dynamic."""
    found = fc.Release(fc.DirectoryTree(release(tmp_path)))
    result = found.resolve("homeassistant.components.mqtt", "nope")
    assert not result.found
    assert "module __getattr__" in result.detail
    # An attribute-style decorator counts as deprecated too.
    decorator = ast.parse("deprecation.deprecated_x").body[0]
    assert isinstance(decorator, ast.Expr)
    assert fc._is_deprecated_decorator(decorator.value)


def test_newer_syntax_is_parsed() -> None:
    """PEP 758 except clauses are parenthesised; other errors give None."""
    tree = fc.parse_newer_source(
        "try:\n    pass\nexcept A, B:  # both\n    pass\nX = 1\n", "x.py"
    )
    assert tree is not None
    assert fc.module_info("m", False, tree).bindings.keys() == {"X"}
    assert fc.parse_newer_source("def broken(:\n", "x.py") is None


def test_unparsable_module_falls_back_to_a_line_scan(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A module in syntax this Python cannot parse is scanned for top-level names."""
    package = write_tree(
        tmp_path / "integration",
        {
            "__init__.py": (
                "from homeassistant.weird import CONST, func, Klass, later\n"
                "from homeassistant.weird import gone\n"
            )
        },
    )
    source = write_tree(
        tmp_path / "release",
        {
            "homeassistant/__init__.py": "",
            "homeassistant/weird.py": (
                "CONST: int = 1\n"
                "def func(): ...\n"
                "class Klass: ...\n"
                "async def later(): ...\n"
                "x = t'template' if new else syntax(:\n"
            ),
        },
    )
    code, out = run(capsys, "--source", source, "--package", package)
    assert code == 1
    assert "homeassistant.weird.gone" in out
    assert "CONST" not in out
    assert "note: homeassistant.weird did not parse" in out


# -- PyPI, the cache, and going offline -----------------------------------------------------


class FakePip:
    """Answers `pip index versions` and `pip download` as pip does, or fails."""

    def __init__(self, wheel: bytes, version: str = "2099.1.0") -> None:
        """Serve `wheel` as release `version`."""
        self.wheel = wheel
        self.version = version
        self.calls: list[list[str]] = []
        self.offline = False
        self.download_fails = False

    def run(self, args: list[str]) -> subprocess.CompletedProcess[str]:
        self.calls.append(list(args))
        # Never a hard-coded index: pip's own configuration decides.
        assert not any("index-url" in arg or "://" in arg for arg in args)
        assert "--python-version" in args
        if self.offline:
            return subprocess.CompletedProcess(
                args, 1, "", "WARNING: Retrying\nERROR: No matching distribution\n"
            )
        if args[:2] == ["index", "versions"]:
            out = (
                f"homeassistant ({self.version})\nAvailable versions: {self.version}\n"
            )
            return subprocess.CompletedProcess(args, 0, out, "")
        assert args[0] == "download"
        assert "--no-deps" in args
        if self.download_fails:
            return subprocess.CompletedProcess(args, 1, "", "ERROR: timed out\n")
        requested = next(a for a in args if a.startswith("homeassistant=="))
        version = requested.partition("==")[2]
        target = Path(args[args.index("-d") + 1])
        (target / f"homeassistant-{version}-py3-none-any.whl").write_bytes(self.wheel)
        return subprocess.CompletedProcess(args, 0, "Saved\n", "")


@pytest.fixture
def pip(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakePip]:
    """A fake pip serving GOOD_RELEASE as a wheel."""
    wheel = write_wheel(tmp_path / "served.whl", GOOD_RELEASE).read_bytes()
    fake = FakePip(wheel)
    monkeypatch.setattr(fc, "run_pip", fake.run)
    yield fake


def run_online(
    capsys: pytest.CaptureFixture[str], package: Path, cache: Path, *extra: str
) -> tuple[int, str]:
    """Run the default mode (newest release from pip's index)."""
    return run(capsys, "--package", package, "--cache-dir", cache, *extra)


def test_downloads_newest_wheel_once_and_prunes_older(
    tmp_path: Path,
    package: Path,
    pip: FakePip,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The newest wheel is downloaded through pip, cached by version and reused."""
    cache = tmp_path / "cache"
    old = write_wheel(cache / "homeassistant-2024.1.0-py3-none-any.whl", {})
    code, out = run_online(capsys, package, cache)
    assert code == 0, out
    assert "homeassistant 2099.1.0 (newest on the index;" in out
    assert "OK" in out
    assert [call[0] for call in pip.calls] == ["index", "download"]
    assert [p.name for p in cache.iterdir()] == [
        "homeassistant-2099.1.0-py3-none-any.whl"
    ]
    assert not old.exists()
    # The second run asks for the version only.
    code, out = run_online(capsys, package, cache)
    assert code == 0
    assert [call[0] for call in pip.calls] == ["index", "download", "index"]


def test_requested_version_is_downloaded(
    tmp_path: Path, package: Path, pip: FakePip, capsys: pytest.CaptureFixture[str]
) -> None:
    """--version skips the newest-version query."""
    code, out = run_online(capsys, package, tmp_path / "cache", "--version", "2098.2.0")
    assert code == 0, out
    assert "homeassistant 2098.2.0 (requested;" in out
    assert [call[0] for call in pip.calls] == ["download"]


def test_offline_without_cache_skips(
    tmp_path: Path, package: Path, pip: FakePip, capsys: pytest.CaptureFixture[str]
) -> None:
    """Offline and nothing cached: a clear message and exit 0."""
    pip.offline = True
    code, out = run_online(capsys, package, tmp_path / "cache")
    assert code == 0
    assert out.startswith(
        "forward compatibility: SKIPPED, the package index cannot be reached"
    )
    assert "No matching distribution" in out


def test_offline_with_cache_uses_newest_cached_copy(
    tmp_path: Path, package: Path, pip: FakePip, capsys: pytest.CaptureFixture[str]
) -> None:
    """Offline with cached wheels: the newest cached version is checked."""
    cache = tmp_path / "cache"
    write_wheel(cache / "homeassistant-2025.9.0-py3-none-any.whl", {})
    write_wheel(cache / "homeassistant-2025.10.1-py3-none-any.whl", GOOD_RELEASE)
    pip.offline = True
    code, out = run_online(capsys, package, cache)
    assert code == 0, out
    assert "homeassistant 2025.10.1 (cached copy; the package index cannot be" in out


def test_download_failure_is_unreachable(
    tmp_path: Path, package: Path, pip: FakePip, capsys: pytest.CaptureFixture[str]
) -> None:
    """A download that fails leaves no partial file and skips the check."""
    pip.download_fails = True
    cache = tmp_path / "cache"
    code, out = run_online(capsys, package, cache)
    assert code == 0
    assert "SKIPPED" in out
    assert "timed out" in out
    assert list(cache.iterdir()) == []


def test_run_pip_uses_this_interpreters_pip(monkeypatch: pytest.MonkeyPatch) -> None:
    """The real runner calls `python -m pip` with pip's own configuration."""
    seen: list[list[str]] = []

    def fake_run(argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        seen.append(argv)
        return subprocess.CompletedProcess(argv, 0, "homeassistant (1.2.3)\n", "")

    monkeypatch.setattr(fc.subprocess, "run", fake_run)
    assert fc.newest_version() == "1.2.3"
    assert seen[0][:3] == [sys.executable, "-m", "pip"]
    assert "index" in seen[0]


@pytest.mark.parametrize(
    ("make_args", "message"),
    [
        (lambda tmp: ["--package", tmp / "nope"], "no package at"),
        (
            lambda tmp: [
                "--package",
                tmp,
                "--wheel",
                write_tree(tmp, {"x.whl": "no"}) / "x.whl",
            ],
            "cannot read",
        ),
    ],
)
def test_usage_errors(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    make_args: Callable[[Path], list[Any]],
    message: str,
) -> None:
    """A missing package or an unreadable wheel is exit status 2."""
    code, out = run(capsys, *make_args(tmp_path))
    assert code == 2
    assert message in out


def test_version_ordering() -> None:
    """Cached versions sort numerically, not as text."""
    versions = ["2025.9.0", "2025.10.1", "2025.10.0b1", "2024.12.5"]
    assert sorted(versions, key=fc._version_key, reverse=True)[0] == "2025.10.1"


def test_real_integration_is_collected() -> None:
    """The real integration imports homeassistant names (the check is not vacuous)."""
    uses = fc.collect_uses(fc.DEFAULT_PACKAGE)
    assert any(use.target == "homeassistant.core.HomeAssistant" for use in uses)
    assert any(use.attribute for use in uses)
