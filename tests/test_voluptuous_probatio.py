"""voluptuous became probatio in Home Assistant 2026.9 (with a compatibility alias).

- The engine imports neither (nor Home Assistant): checked in a subprocess that
  refuses those imports.
- Every voluptuous name the HA layer uses exists in probatio's voluptuous alias
  (`probatio.compat.install_as_voluptuous`, as homeassistant/__init__.py calls it in
  2026.11, backed by `probatio._vol_shim`), read from the probatio release the newest
  Home Assistant pins (0.13.0).
- The flow tests pass with the alias installed before anything imports voluptuous:
  schemas, selectors and the error keys the flows return work under probatio.
- No test depends on voluptuous' wording of an error.
"""

from __future__ import annotations

import ast
from importlib.metadata import version
from pathlib import Path
import subprocess
import sys

from probatio._vol_shim import _surface

ROOT = Path(__file__).resolve().parent.parent
INTEGRATION = ROOT / "custom_components" / "iotitan"
ENGINE = INTEGRATION / "engine"

BLOCKER = """
import importlib, importlib.abc, pathlib, sys
BLOCKED = ("homeassistant", "voluptuous", "probatio")
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"blocked: {name}")
        return None
sys.meta_path.insert(0, Block())
for name in BLOCKED:
    sys.modules.pop(name, None)
# The engine as its own package (its parent package is the HA layer).
sys.path.insert(0, sys.argv[1])
loaded = []
for path in sorted(pathlib.Path(sys.argv[1], "engine").glob("*.py")):
    name = "engine" if path.stem == "__init__" else f"engine.{path.stem}"
    importlib.import_module(name)
    loaded.append(name)
leaked = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
assert not leaked, leaked
print(len(loaded), " ".join(loaded))
"""


def test_engine_loads_without_homeassistant_voluptuous_or_probatio() -> None:
    """Every engine module imports with those three refused."""
    result = subprocess.run(
        [sys.executable, "-c", BLOCKER, str(INTEGRATION)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    count, names = result.stdout.split(" ", 1)
    modules = sorted(ENGINE.glob("*.py"))
    assert int(count) == len(modules)
    assert "engine.window" in names.split()


def test_the_blocker_blocks(tmp_path: Path) -> None:
    """The same check fails for an engine module that imports voluptuous."""
    engine = tmp_path / "engine"
    engine.mkdir()
    (engine / "__init__.py").write_text("")
    (engine / "bad.py").write_text("import voluptuous\n")
    result = subprocess.run(
        [sys.executable, "-c", BLOCKER, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert "blocked: voluptuous" in result.stderr


def _voluptuous_names() -> dict[str, str]:
    """voluptuous names the integration uses, with a place."""
    names: dict[str, str] = {}
    for path in sorted(INTEGRATION.rglob("*.py")):
        tree = ast.parse(path.read_text())
        aliases = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                aliases |= {
                    a.asname or a.name for a in node.names if a.name == "voluptuous"
                }
            elif isinstance(node, ast.ImportFrom) and node.module == "voluptuous":
                for alias in node.names:
                    names.setdefault(alias.name, f"{path.name}:{node.lineno}")
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in aliases
            ):
                names.setdefault(node.attr, f"{path.name}:{node.lineno}")
    return names


def test_every_voluptuous_name_used_is_in_the_probatio_alias() -> None:
    """What IoTitan uses of voluptuous, the alias provides."""
    assert version("probatio") == "0.13.0"  # what homeassistant 2026.11.0 pins
    used = _voluptuous_names()
    assert {"Schema", "Required", "Optional", "Invalid"} <= set(used)
    missing = {name: where for name, where in used.items() if name not in _surface.TOP}
    assert missing == {}


FLOW_TESTS = [
    "tests/test_config_flow.py",
    "tests/test_thingspeak_flow.py",
    "tests/test_device_trigger.py",
]

UNDER_ALIAS = """
import sys
from probatio.compat import install_as_voluptuous
install_as_voluptuous()
import pytest
code = pytest.main(["-p", "no:cacheprovider", "-q", "-m", "not e2e", *sys.argv[1:]])
import voluptuous
assert voluptuous.__name__ == "probatio._vol_shim", voluptuous.__name__
import homeassistant.helpers.config_validation as cv
assert cv.vol is voluptuous
sys.exit(code)
"""


def test_flows_pass_under_the_probatio_alias() -> None:
    """Config, options, subentry flows and device triggers with voluptuous aliased."""
    result = subprocess.run(
        [sys.executable, "-c", UNDER_ALIAS, *FLOW_TESTS],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert " passed" in result.stdout


# Phrases voluptuous (and probatio, differently) puts in its error messages.
VOLUPTUOUS_WORDING = (
    "expected int",
    "expected float",
    "expected str",
    "expected a dictionary",
    "extra keys not allowed",
    "required key not provided",
    "not a valid value",
    "value must be at",
    "length of value must be",
    "@ data[",
)


def test_no_test_depends_on_voluptuous_wording() -> None:
    """Tests check our own error keys, never the validation library's text."""
    offenders = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        if path.name == Path(__file__).name:
            continue
        text = path.read_text()
        offenders += [f"{path.name}: {p!r}" for p in VOLUPTUOUS_WORDING if p in text]
    assert offenders == []
