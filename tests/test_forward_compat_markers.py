"""The deprecation-marker half of scripts/check_forward_compat.py.

Small fabricated releases test the scanner (markers at depth 0, 1 and 2, the depth
limit, reviewed, unreviewed and stale entries); the cached 2026.11.0 wheel, when
present, shows that the check flags issue 14's items 1-3 in code written the old way.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .test_forward_compat import fc, run, write_tree

RELEASE = {
    "homeassistant/__init__.py": "",
    "homeassistant/helpers/__init__.py": "",
    "homeassistant/helpers/frame.py": (
        "def report_usage(what, *, breaks_in_ha_version=None):\n"
        "    _log(what)  # the machinery itself is not a finding\n"
        "def _log(what):\n    report_usage(what)\n"
    ),
    "homeassistant/helpers/deprecation.py": (
        "def deprecated_function(replacement):\n    return lambda f: f\n"
    ),
    "homeassistant/helpers/thing.py": (
        "from .frame import report_usage\n"
        "from .deprecation import deprecated_function\n"
        "_DEPRECATED_OLD = 1\n"
        "def depth0():\n"
        "    report_usage('depth zero', breaks_in_ha_version='2099.1.0')\n"
        "def depth1():\n    _middle()\n"
        "def _middle():\n    report_usage(f'depth one {1}')\n"
        "def depth2():\n    _a()\n"
        "def _a():\n    _b()\n"
        "def _b():\n    report_usage('depth two')\n"
        "def depth3():\n    _c()\n"
        "def _c():\n    _d()\n"
        "def _d():\n    _e()\n"
        "def _e():\n    report_usage('depth three')\n"
        "def clean():\n    return 1\n"
        "import warnings\n"
        "def warned():\n"
        "    warnings.warn('old thing', DeprecationWarning)\n"
        "    warnings.warn('only a hint', UserWarning)  # not a deprecation\n"
        "def _async_deprecated_alias(what):\n    return what\n"
        "def named():\n    _async_deprecated_alias('old alias')\n"
        "def async_create_issue(hass, key, breaks_in_ha_version=None):\n    pass\n"
        "def announced(hass, version):\n"
        "    async_create_issue(hass, 'old key', breaks_in_ha_version='2099.2.0')\n"
        "    async_create_issue(hass, 'forwarded', breaks_in_ha_version=version)\n"
        "class Base:\n"
        "    def inherited(self):\n        self._helper()\n"
        "    def _helper(self):\n        return _DEPRECATED_OLD\n"
        "class Registry(Base):\n"
        "    def method(self):\n        super().inherited()\n"
        "    @deprecated_function('method')\n"
        "    def old(self):\n        pass\n"
        "class Config:\n"
        "    registry: Registry\n"
        "def async_get(hass) -> 'Config':\n    return Config()\n"
        "def unused():\n    report_usage('never called by the integration')\n"
    ),
}

INTEGRATION = {
    "__init__.py": (
        "from homeassistant.helpers import thing\n"
        "from homeassistant.helpers.thing import depth0\n"
        "def setup(hass):\n"
        "    depth0()\n"
        "    thing.depth1()\n"
        "    thing.depth2()\n"
        "    thing.clean()\n"
        "    thing.warned()\n"
        "    thing.named()\n"
        "    thing.announced(hass, '2099.3.0')\n"
        "    thing.async_get(hass).registry.inherited()\n"
        "    thing.async_get(hass).registry.old()\n"
    ),
}

FUNCTION = "homeassistant.helpers.thing"


def check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], reviewed: str, *extra: str
) -> tuple[int, str]:
    """Run the script on the fabricated release with a reviewed file."""
    release = write_tree(tmp_path / "release", RELEASE)
    package = write_tree(tmp_path / "integration", INTEGRATION)
    reviewed_path = tmp_path / "reviewed.toml"
    reviewed_path.write_text(reviewed, encoding="utf-8")
    return run(
        capsys,
        "--source",
        release,
        "--package",
        package,
        "--reviewed",
        reviewed_path,
        *extra,
    )


def entry(function: str, marker: str) -> str:
    """One reviewed entry."""
    return f'[[marker]]\nfunction = "{function}"\nmarker = "{marker}"\nwhy = "tested"\n'


EXPECTED = {
    (f"{FUNCTION}.depth0", "report_usage: depth zero"): 0,
    (f"{FUNCTION}._middle", "report_usage: depth one {}"): 1,
    (f"{FUNCTION}._b", "report_usage: depth two"): 2,
    (f"{FUNCTION}.Base._helper", "constant: _DEPRECATED_OLD"): 1,
    (f"{FUNCTION}.Registry.old", "decorator: deprecated_function('method')"): 0,
    # warnings.warn with DeprecationWarning (not with UserWarning), a call whose
    # name says "deprecat", a literal breaks_in_ha_version (not a variable).
    (f"{FUNCTION}.warned", "warn: old thing"): 0,
    (f"{FUNCTION}.named", "_async_deprecated_alias: old alias"): 0,
    (f"{FUNCTION}.announced", "async_create_issue: old key"): 0,
}


@pytest.fixture
def findings(tmp_path: Path) -> dict[tuple[str, str], int]:
    """The markers the fabricated integration reaches, with their depth."""
    release = fc.Release(fc.DirectoryTree(write_tree(tmp_path / "release", RELEASE)))
    package = write_tree(tmp_path / "integration", INTEGRATION)
    report = fc.check_markers(package, fc.collect_uses(package), release, [])
    return {(f.marker.function, f.marker.marker): f.depth for f in report.findings}


def test_found_with_depth(findings: dict[tuple[str, str], int]) -> None:
    """Exactly the expected markers, each at its depth; depth three stays unseen."""
    assert findings == EXPECTED


def test_depth_limit_is_a_parameter(tmp_path: Path) -> None:
    """With depth 3 the marker three calls down is found too."""
    release = fc.Release(fc.DirectoryTree(write_tree(tmp_path / "release", RELEASE)))
    files = dict(INTEGRATION)
    files["__init__.py"] += "    thing.depth3()\n"
    package = write_tree(tmp_path / "integration", files)
    uses = fc.collect_uses(package)
    shallow = fc.check_markers(package, uses, release, [], depth=2)
    deep = fc.check_markers(package, uses, release, [], depth=3)
    key = (f"{FUNCTION}._e", "report_usage: depth three")
    assert key not in {(f.marker.function, f.marker.marker) for f in shallow.findings}
    assert key in {(f.marker.function, f.marker.marker) for f in deep.findings}


def test_unreviewed_markers_fail(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every unlisted marker is printed with its path and a ready entry; exit 1."""
    code, out = check(tmp_path, capsys, "")
    assert code == 1, out
    assert out.count("UNREVIEWED:") == len(EXPECTED)
    assert "(breaks in 2099.1.0)" in out
    assert f"{FUNCTION}.depth1 -> {FUNCTION}._middle" in out
    assert 'function = "homeassistant.helpers.thing._b"' in out
    assert f"FAILED: {len(EXPECTED)} deprecation markers not reviewed" in out


def test_listed_markers_pass(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With every marker reviewed the check passes."""
    reviewed = "".join(entry(function, marker) for function, marker in EXPECTED)
    code, out = check(tmp_path, capsys, reviewed)
    assert code == 0, out
    assert f"{len(EXPECTED)} reviewed" in out
    assert "OK: every deprecation marker IoTitan reaches is reviewed" in out


def test_one_unlisted_marker_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Reviewing all but one still fails, naming that one."""
    missing = (f"{FUNCTION}._b", "report_usage: depth two")
    reviewed = "".join(entry(f, m) for f, m in EXPECTED if (f, m) != missing)
    code, out = check(tmp_path, capsys, reviewed)
    assert code == 1
    assert out.count("UNREVIEWED:") == 1
    assert f"UNREVIEWED: {missing[0]}: {missing[1]}" in out


def test_stale_entry_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An entry that matches nothing is reported (and does not fail the check)."""
    reviewed = "".join(entry(function, marker) for function, marker in EXPECTED)
    reviewed += entry(f"{FUNCTION}.gone", "report_usage: removed upstream")
    code, out = check(tmp_path, capsys, reviewed)
    assert code == 0, out
    assert (
        "STALE reviewed entry (no longer found; remove it): "
        f"{FUNCTION}.gone: report_usage: removed upstream"
    ) in out


def test_broken_reviewed_file_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A reviewed entry without `why` is a usage error."""
    code, out = check(tmp_path, capsys, '[[marker]]\nfunction = "x"\nmarker = "y"\n')
    assert code == 2
    assert "cannot read" in out


def test_the_repository_reviewed_file_is_well_formed() -> None:
    """Every entry of the real file has a function, a marker and a reason."""
    entries = fc.load_reviewed(fc.DEFAULT_REVIEWED)
    assert entries
    assert all(e.function.startswith("homeassistant.") and e.why for e in entries)
    assert len({(e.function, e.marker) for e in entries}) == len(entries)


# -- issue 14 items 1-3, against the real 2026.11.0 wheel --------------------------------

OLD_STYLE = {
    "__init__.py": (
        "from homeassistant.config_entries import ConfigEntry, ConfigFlow\n"
        "from homeassistant.core import HomeAssistant\n"
        "from homeassistant.helpers import device_registry as dr\n"
        "from homeassistant.helpers.device_registry import DeviceInfo\n"
        "async def async_setup_entry(hass: HomeAssistant, entry: ConfigEntry) -> bool:\n"
        "    entry.async_on_unload(entry.add_update_listener(reload))\n"
        "    device = dr.async_get(hass).async_get_device(identifiers={('d', 'x')})\n"
        "    ids = device.config_entries\n"
        "    info = DeviceInfo(identifiers={('d', 'y')}, via_device=('d', 'x'))\n"
        "    return bool(ids and info)\n"
        "class Flow(ConfigFlow, domain='d'):\n"
        "    async def async_step_reconfigure(self, user_input=None):\n"
        "        return self.async_update_reload_and_abort(self._get_reconfigure_entry())\n"
    ),
}

ITEMS = {
    "item 1": (
        "homeassistant.config_entries.ConfigFlow.async_update_reload_and_abort",
        "report_usage: has an update listener and should use it for scheduling a reload",
    ),
    "item 2": (
        "homeassistant.helpers.device_registry.DeviceRegistry."
        "_async_get_or_create_from_info",
        "report_usage: assigns an existing device to a different config subentry, "
        "by calling `async_get_or...",
    ),
    "item 3 via_device": (
        "homeassistant.helpers.device_registry.DeviceRegistry.async_get_or_create",
        "constant: _DEPRECATED_DEVICE_INFO_PARAMETERS",
    ),
    "item 3 async_get_device": (
        "homeassistant.helpers.device_registry.DeviceRegistry.async_get_device",
        "report_usage: calls `device_registry.async_get_device`, which is deprecated "
        "because device identi...",
    ),
    "item 3 config_entries": (
        "homeassistant.helpers.device_registry._report_deprecated_config_entries_property",
        "report_usage: accesses `{}.{}`, which is deprecated because a device belongs "
        "to a single config e...",
    ),
    "item 3 string fields": (
        "homeassistant.helpers.device_registry._validate_str",
        "report_usage: passes a non-string value of type {} as {} to the device registry",
    ),
}


# Functions IoTitan no longer calls, so their markers need no review.
NOT_CALLED = {"item 1"}


def _cached_2026_11() -> Path | None:
    wheel = fc.DEFAULT_CACHE / "homeassistant-2026.11.0-py3-none-any.whl"
    return wheel if wheel.is_file() else None


@pytest.mark.skipif(
    _cached_2026_11() is None,
    reason="homeassistant 2026.11.0 wheel not cached (scripts/check_forward_compat.py "
    "--version 2026.11.0 fetches it)",
)
@pytest.mark.parametrize("item", sorted(ITEMS))
def test_2026_11_flags_issue_14_items(tmp_path: Path, item: str) -> None:
    """Code written the pre-issue-14 way reaches each announced break, unreviewed."""
    wheel = _cached_2026_11()
    assert wheel is not None
    tree = fc.WheelTree(wheel)
    try:
        package = write_tree(tmp_path / "integration", OLD_STYLE)
        report = fc.check_markers(
            package, fc.collect_uses(package), fc.Release(tree), []
        )
    finally:
        tree.close()
    found = {(f.marker.function, f.marker.marker) for f in report.unreviewed}
    assert ITEMS[item] in found
    # And the repository's reviewed file covers it, with a reason, unless IoTitan
    # no longer calls the function at all (item 1: no flow reloads the entry).
    reviewed = {(e.function, e.marker) for e in fc.load_reviewed(fc.DEFAULT_REVIEWED)}
    if item in NOT_CALLED:
        function = ITEMS[item][0].rsplit(".", 1)[1]
        assert not [
            path
            for path in (fc.REPO / "custom_components" / "iotitan").rglob("*.py")
            if f".{function}(" in path.read_text()
        ]
    else:
        assert ITEMS[item] in reviewed
