"""What the HACS action and hassfest check for a custom integration, checked here.

Neither can run on these machines (no network beyond package registries), so this
test repeats their rules for IoTitan: hacs.json keys, manifest keys and order, the
brand icon, a standard licence, translations for everything the code refers to,
services.yaml against the translations, and quality_scale.yaml rule names.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
import importlib
import json
from pathlib import Path
import re
from typing import Any

import pytest
import yaml

from custom_components.iotitan.alert_runtime import AlertProblem
from custom_components.iotitan.engine.alerts import AlertRule
from custom_components.iotitan.engine.window import Statistic

from .test_quality_scale import RULES as QUALITY_SCALE_RULES

ROOT = Path(__file__).resolve().parent.parent
INTEGRATION = ROOT / "custom_components" / "iotitan"

# HACS's documented hacs.json keys (hacs.xyz, "Publish: include/hacs.json").
HACS_KEYS = {
    "name",
    "content_in_root",
    "zip_release",
    "filename",
    "hide_default_branch",
    "country",
    "homeassistant",
    "hacs",
    "persistent_directory",
    "render_readme",  # still accepted by HACS 2.x (rendered by default now)
}
# hassfest's manifest rules for a custom integration (script/hassfest/manifest.py)
# plus HACS's own (version, issue_tracker, codeowners, documentation).
MANIFEST_REQUIRED = {
    "domain",
    "name",
    "codeowners",
    "documentation",
    "issue_tracker",
    "version",
    "integration_type",
    "iot_class",
    "requirements",
    "dependencies",
    "config_flow",
}
MIT_TEXT = """Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE."""
# translation_key values the AST cannot read, and what they range over.
DYNAMIC_KEYS: dict[tuple[str, str], set[str]] = {
    ("sensor.py", "str(statistic)"): {str(s) for s in Statistic},
    ("binary_sensor.py", "str(settings.config.rule)"): {str(r) for r in AlertRule},
    ("alert_runtime.py", "problem.value"): {p.value for p in AlertProblem},
    # ImportRefusedError(key, path) in import_syslog.py: every key it is raised with.
    ("services.py", "err.key"): {"path_not_allowed", "path_is_link", "not_a_file"},
}


def _words(text: str) -> list[str]:
    return text.split()


def test_hacs_json_has_only_allowed_keys() -> None:
    """hacs.json: HACS refuses unknown keys."""
    hacs = json.loads((ROOT / "hacs.json").read_text())
    assert set(hacs) <= HACS_KEYS, set(hacs) - HACS_KEYS
    assert hacs["name"]
    assert re.fullmatch(r"\d{4}\.\d+\.\d+", hacs["homeassistant"])


def test_manifest_has_every_required_key_in_hassfest_order() -> None:
    """domain, name, then the rest alphabetically; every required key present."""
    manifest = json.loads((INTEGRATION / "manifest.json").read_text())
    assert set(manifest) >= MANIFEST_REQUIRED, MANIFEST_REQUIRED - set(manifest)
    keys = list(manifest)
    assert keys[:2] == ["domain", "name"]
    assert keys[2:] == sorted(keys[2:])


def test_brand_icon_exists() -> None:
    """HACS shows brand/icon.png (custom integrations ship their own brand)."""
    icon = INTEGRATION / "brand" / "icon.png"
    assert icon.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_license_is_the_standard_mit_text() -> None:
    """The LICENSE is the OSI MIT text word for word, after its copyright line."""
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License")
    assert re.search(r"^Copyright \(c\) \d{4} \S", text, re.MULTILINE)
    body = text[text.index("Permission is hereby granted") :]
    assert _words(body) == _words(MIT_TEXT)


# -- translations cover what the code refers to ------------------------------------------


def _strings() -> dict[str, Any]:
    return json.loads((INTEGRATION / "strings.json").read_text())


def _module(path: Path) -> Any:
    return importlib.import_module(f"custom_components.iotitan.{path.stem}")


def _value(path: Path, node: ast.expr) -> set[str]:
    """The string(s) an expression in `path` stands for."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):  # "a" if ... else "b": both can be shown
        return _value(path, node.body) | _value(path, node.orelse)
    source = ast.unparse(node)
    if (path.name, source) in DYNAMIC_KEYS:
        return DYNAMIC_KEYS[path.name, source]
    namespace = vars(_module(path))
    if isinstance(node, (ast.Name, ast.Attribute)):
        return {str(eval(source, namespace))}
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
        mapping = namespace[node.value.id]
        return {str(value) for value in mapping.values()}
    raise AssertionError(
        f"{path.name}: cannot tell what {source} is; add it to DYNAMIC_KEYS"
    )


def _calls(path: Path) -> Iterator[ast.Call]:
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call):
            yield node


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _callee(call: ast.Call) -> str:
    func = call.func
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")


def _flow_sections(strings: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Flow class name -> its strings section."""
    from custom_components.iotitan import config_flow

    sections = {
        config_flow.IoTitanConfigFlow.__name__: strings["config"],
        config_flow.IoTitanOptionsFlow.__name__: strings["options"],
    }
    subentry_types = config_flow.IoTitanConfigFlow.async_get_supported_subentry_types(
        None  # type: ignore[arg-type]
    )
    for subentry_type, handler in subentry_types.items():
        sections[handler.__name__] = strings["config_subentries"][subentry_type]
    return sections


from custom_components.iotitan import config_flow, models  # noqa: E402
from custom_components.iotitan.channel_helpers import TEST_ROW_ERRORS  # noqa: E402


def _constants(node: ast.expr) -> list[str]:
    """The string constants an error value can be.

    "a", "a" if ... else "b", or MAPPING[...] (every value of a module-level
    dict of config_flow.py). Anything else fails: a key the check cannot see
    could be missing from strings.json.
    """
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _constants(node.body) + _constants(node.orelse)
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
        namespace = {**vars(models), **vars(config_flow)}
        mapping = namespace[node.value.id]
        return [str(value) for value in mapping.values()]
    if isinstance(node, ast.Name) and node.id == "readings_error":
        # `readings_error := check_readings(...)`: what that can return.
        return [
            "readings_required",
            "too_many_readings",
            "reading_keys_invalid",
            "reading_paths_repeated",
            "invalid_value_path",
        ]
    if isinstance(node, ast.Name) and node.id == "error":
        # `error := await async_send_test_row(...)`: what that can return.
        return [*map(str, TEST_ROW_ERRORS.values()), "rate_limited", "cannot_connect"]
    raise AssertionError(f"cannot tell which error keys {ast.unparse(node)} gives")


# Models whose form checks (`from_form`) report errors that a flow shows.
MODEL_FLOWS = {
    "SensorSourceConfig": "SensorSubentryFlowHandler",
    "AlertSubentryConfig": "AlertSubentryFlowHandler",
    "ChannelSubentryConfig": "ChannelSubentryFlowHandler",
}


def flow_references(path: Path) -> Iterator[tuple[str, str, str]]:
    """(flow class, "step"/"error"/"abort", key) the flows in `path` use.

    Errors set by a model's form checks count as its flow's (MODEL_FLOWS).
    """
    tree = ast.parse(path.read_text())
    for cls in tree.body:
        if not isinstance(cls, ast.ClassDef):
            continue
        flow = MODEL_FLOWS.get(cls.name, cls.name)
        for node in ast.walk(cls):
            if (
                isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
                and node.name.startswith("async_step_")
                # A step the user sees (reauth only forwards to reauth_confirm).
                and any(
                    isinstance(n, ast.Call)
                    and _callee(n) in {"async_show_form", "async_show_menu"}
                    for n in ast.walk(node)
                )
            ):
                yield flow, "step", node.name.removeprefix("async_step_")
            elif (
                isinstance(node, ast.Assign)
                and isinstance(node.targets[0], ast.Subscript)
                and isinstance(node.targets[0].value, ast.Name)
                and node.targets[0].value.id == "errors"
            ):
                for key in _constants(node.value):
                    yield flow, "error", key
            elif (
                isinstance(node, ast.Call)
                and _callee(node) == "async_show_form"
                and isinstance(errors := _keyword(node, "errors"), ast.Dict)
            ):
                for value in errors.values:
                    for key in _constants(value):
                        yield flow, "error", key
            elif (isinstance(node, ast.Call) and _callee(node) == "async_abort") or (
                isinstance(node, ast.Call)
                and _callee(node)
                in {
                    "async_update_reload_and_abort",
                    "async_update_and_abort",
                }
            ):
                reason = _keyword(node, "reason")
                if isinstance(reason, ast.Constant):
                    yield flow, "abort", reason.value


def missing_flow_translations(path: Path, strings: dict[str, Any]) -> list[str]:
    """Steps, errors and aborts used in `path` (and the models) that `strings` lacks."""
    sections = _flow_sections(strings)
    missing = []
    references = list(flow_references(path))
    if path.name == "config_flow.py":
        references += flow_references(path.parent / "models.py")
    for cls, kind, key in references:
        if cls not in sections:
            continue
        section = sections[cls]
        if key not in section.get(kind, {}):
            missing.append(f"{cls}: {kind} {key}")
    return missing


def test_every_flow_step_error_and_abort_is_translated() -> None:
    """Config, options and every subentry flow."""
    references = list(flow_references(INTEGRATION / "config_flow.py"))
    assert {kind for _, kind, _ in references} == {"step", "error", "abort"}
    model_errors = {
        (flow, key) for flow, _, key in flow_references(INTEGRATION / "models.py")
    }
    assert {
        ("SensorSubentryFlowHandler", "invalid_value_path"),
        ("SensorSubentryFlowHandler", "name_template_unknown"),
        ("AlertSubentryFlowHandler", "negative_delay"),
        ("ChannelSubentryFlowHandler", "invalid_write_key"),
    } <= model_errors
    assert missing_flow_translations(INTEGRATION / "config_flow.py", _strings()) == []


def _translation_keys() -> Iterator[tuple[Path, str, str]]:
    """(file, category, key) for every translation_key the code sets."""
    for path in sorted(INTEGRATION.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and (value := _keyword(node, "translation_key")) is not None
            ):
                callee = _callee(node)
                if callee == "async_create_issue":
                    category = "issues"
                elif callee.endswith("SelectorConfig"):
                    category = "selector"
                elif callee.endswith("EntityDescription"):
                    category = f"entity.{path.stem}"
                else:  # raise HomeAssistantError(translation_domain=..., ...)
                    category = "exceptions"
                for key in _value(path, value):
                    yield path, category, key
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                target = (
                    node.targets[0] if isinstance(node, ast.Assign) else node.target
                )
                name = (
                    target.attr
                    if isinstance(target, ast.Attribute)
                    else getattr(target, "id", "")
                )
                if name == "_attr_translation_key" and node.value is not None:
                    for key in _value(path, node.value):
                        yield path, f"entity.{path.stem}", key


def missing_keys(strings: dict[str, Any]) -> list[str]:
    """translation_keys used in code that `strings` lacks."""
    missing = []
    for path, category, key in _translation_keys():
        section: Any = strings
        for part in category.split("."):
            section = section.get(part, {})
        if key not in section:
            missing.append(f"{path.name}: {category}.{key}")
        elif category.startswith("entity.") and "name" not in section[key]:
            missing.append(f"{path.name}: {category}.{key}.name")
    return missing


def test_every_translation_key_in_code_is_translated() -> None:
    """Entity names, issues, exceptions and selectors."""
    categories = {category for _, category, _ in _translation_keys()}
    assert {"issues", "selector", "exceptions", "entity.sensor"} <= categories
    assert "entity.binary_sensor" in categories
    assert missing_keys(_strings()) == []


def test_every_selector_option_is_translated() -> None:
    """A select selector with a translation_key has a text for each option."""
    strings = _strings()
    checked = 0
    for path in sorted(INTEGRATION.glob("*.py")):
        namespace = vars(_module(path))
        for call in _calls(path):
            key, options = _keyword(call, "translation_key"), _keyword(call, "options")
            if not _callee(call).endswith("SelectorConfig") or key is None:
                continue
            assert options is not None, ast.unparse(call)
            (selector_key,) = _value(path, key)
            try:
                values = eval(ast.unparse(options), namespace)
            except NameError:  # built from a function's local variables
                continue
            texts = strings["selector"][selector_key]["options"]
            for option in values:
                value = option["value"] if isinstance(option, dict) else str(option)
                assert value in texts, f"selector {selector_key}: option {value}"
                checked += 1
    assert checked


def test_services_yaml_matches_translations() -> None:
    """Every service and field in services.yaml has a name and description, and
    the translations name nothing services.yaml lacks."""
    services = yaml.safe_load((INTEGRATION / "services.yaml").read_text())
    translated = _strings()["services"]
    assert set(services) == set(translated)
    for service, spec in services.items():
        assert translated[service]["name"] and translated[service]["description"]
        fields = set((spec or {}).get("fields", {}))
        assert fields == set(translated[service].get("fields", {})), service
        for field in fields:
            assert translated[service]["fields"][field]["name"], (service, field)
    # And the code registers exactly these services.
    registered = {
        ast.unparse(call.args[1])
        for call in _calls(INTEGRATION / "services.py")
        if _callee(call) in {"async_register", "async_register_entity_service"}
    }
    namespace = vars(_module(INTEGRATION / "services.py"))
    names = {str(eval(name, namespace)) for name in registered}
    assert names == set(services)


def test_quality_scale_names_only_real_rules() -> None:
    """Rule names from hassfest's quality_scale.py (not in the wheel; kept in
    tests/test_quality_scale.py)."""
    rules = yaml.safe_load((INTEGRATION / "quality_scale.yaml").read_text())["rules"]
    assert set(rules) <= QUALITY_SCALE_RULES, set(rules) - QUALITY_SCALE_RULES


# -- the checks catch a planted omission ---------------------------------------------------


@pytest.mark.parametrize(
    ("section", "key"),
    [
        (("config_subentries", "alert", "error"), "rate_needs_window"),
        (("config", "step"), "reauth_confirm"),
        (("options", "error"), "invalid_prefix"),
    ],
)
def test_a_missing_flow_text_is_caught(section: tuple[str, ...], key: str) -> None:
    """Remove one text from a copy of strings.json: the flow check names it."""
    strings = _strings()
    part: Any = strings
    for name in section:
        part = part[name]
    del part[key]
    assert missing_flow_translations(INTEGRATION / "config_flow.py", strings)


@pytest.mark.parametrize(
    ("category", "key"),
    [
        (("entity", "sensor"), "rows_waiting"),
        (("entity", "binary_sensor"), "stale"),
        (("issues",), "alert_source_missing"),
        (("exceptions",), "hub_not_loaded"),
    ],
)
def test_a_missing_key_text_is_caught(category: tuple[str, ...], key: str) -> None:
    """Remove one entity name, issue or exception text: the key check names it."""
    strings = _strings()
    part: Any = strings
    for name in category:
        part = part[name]
    del part[key]
    assert any(key in item for item in missing_keys(strings))
