"""The README's examples: valid YAML, valid automations, real entity ids.

Every ```yaml block of README.md must parse. The automation examples must pass
Home Assistant's own automation validation and run: a hub set up as the
README's *Examples* section describes (`readme_hub`) gets the readings that
trip its alerts, and every example automation must trigger without an error.
Every `sensor.` / `binary_sensor.` entity id the README uses must be one that
hub really creates.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
import copy
from dataclasses import dataclass
from datetime import timedelta
import json
import logging
from pathlib import Path
import re
import shutil
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.automation.config import async_validate_config_item
from homeassistant.config_entries import ConfigSubentryDataWithId
from homeassistant.const import __version__ as HA_VERSION
from homeassistant.core import HomeAssistant
from homeassistant.helpers import (
    device_registry as dr,
    entity_registry as er,
    script as script_helper,
)
from homeassistant.setup import async_setup_component
from packaging.version import Version
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_mqtt_message,
    async_fire_time_changed,
    async_mock_service,
)
import voluptuous as vol
import yaml

from custom_components.iotitan.const import DOMAIN, EVENT_ALERT
from custom_components.iotitan.models import ReadingConfig
from custom_components.iotitan.services import (
    IMPORT_SYSLOG_SCHEMA,
    PUSH_NOW_SCHEMA,
)

from .alerts_common import START, alert_subentry
from .common import channel_subentry, hub_entry, sensor_subentry

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
BLUEPRINT = ROOT / "blueprints" / "automation" / "iotitan" / "notify_on_alert.yaml"
BLUEPRINT_PATH = "iotitan/notify_on_alert.yaml"

SetupHub = Callable[[MockConfigEntry], Awaitable[MockConfigEntry]]

# -- the README's blocks ---------------------------------------------------------------

_FENCE_RE = re.compile(r"^(\s*)```(\S*)\s*$")
# An entity id in a YAML block, or alone in an inline code span of the prose.
_YAML_ENTITY_RE = re.compile(r"(?<![\w.])(?:binary_sensor|sensor)\.[a-z0-9_]+")
_PROSE_ENTITY_RE = re.compile(r"`((?:binary_sensor|sensor)\.[a-z0-9_]+)`")
# Home Assistant's device ids are 32 lower-case hex digits.
_DEVICE_ID_RE = re.compile(r"[0-9a-f]{32}")

# The cards Home Assistant's frontend has built in: examples must not need
# custom cards.
STOCK_CARDS = frozenset(
    {
        "alarm-panel",
        "area",
        "button",
        "calendar",
        "conditional",
        "entities",
        "entity",
        "entity-filter",
        "gauge",
        "glance",
        "grid",
        "heading",
        "history-graph",
        "horizontal-stack",
        "humidifier",
        "iframe",
        "light",
        "logbook",
        "map",
        "markdown",
        "media-control",
        "picture",
        "picture-elements",
        "picture-entity",
        "picture-glance",
        "plant-status",
        "sensor",
        "shopping-list",
        "statistic",
        "statistics-graph",
        "thermostat",
        "tile",
        "todo-list",
        "vertical-stack",
        "weather-forecast",
    }
)
REQUIRED_CARDS = {
    "entities",
    "sensor",
    "history-graph",
    "statistics-graph",
    "statistic",
}
SERVICE_SCHEMAS = {
    f"{DOMAIN}.import_syslog": IMPORT_SYSLOG_SCHEMA,
    f"{DOMAIN}.push_now": PUSH_NOW_SCHEMA,
}


@dataclass(frozen=True, slots=True)
class Block:
    """A fenced code block of the README."""

    lang: str
    line: int
    """README line of the block's first line of content (1-based)."""
    text: str


def fenced_blocks(markdown: str) -> list[Block]:
    """Every fenced code block, with its content un-indented as its fence."""
    blocks: list[Block] = []
    lang: str | None = None
    indent = ""
    start = 0
    lines: list[str] = []
    for number, line in enumerate(markdown.splitlines(), start=1):
        if lang is None:
            if match := _FENCE_RE.match(line):
                indent, lang, start, lines = match[1], match[2], number + 1, []
            continue
        if line.strip() == "```":
            blocks.append(Block(lang, start, "\n".join(lines) + "\n"))
            lang = None
            continue
        lines.append(line.removeprefix(indent))
    assert lang is None, f"README.md line {start - 1}: the code block is not closed"
    return blocks


def load_yaml(block: Block, source: str = "README.md") -> Any:
    """Parse a YAML block; fail with the README line of the error."""
    try:
        return yaml.safe_load(block.text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
        line = block.line + mark.line if mark is not None else block.line
        pytest.fail(f"{source} line {line}: invalid YAML: {err}")


README_TEXT = README.read_text(encoding="utf-8")
YAML_BLOCKS = [block for block in fenced_blocks(README_TEXT) if block.lang == "yaml"]


def is_automation(doc: Any) -> bool:
    """An automation: it has triggers, or comes from a blueprint."""
    return isinstance(doc, dict) and bool(
        {"triggers", "trigger", "use_blueprint"} & doc.keys()
    )


def is_action(doc: Any) -> bool:
    """A single script action, such as a service action call."""
    return isinstance(doc, dict) and "action" in doc and not is_automation(doc)


def is_card(doc: Any) -> bool:
    """A dashboard card."""
    return isinstance(doc, dict) and "type" in doc and not is_automation(doc)


def docs_where(kind: Callable[[Any], bool]) -> list[tuple[Block, dict[str, Any]]]:
    """The README's YAML blocks of one kind, parsed."""
    found = []
    for block in YAML_BLOCKS:
        doc = load_yaml(block)
        if kind(doc):
            found.append((block, doc))
    return found


def dicts(node: Any) -> Iterator[dict[str, Any]]:
    """Every mapping in a parsed YAML document, depth first."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from dicts(value)
    elif isinstance(node, list):
        for item in node:
            yield from dicts(item)


def example_entity_ids() -> set[str]:
    """The sensor and binary sensor entity ids of the README's YAML examples."""
    return {
        entity_id
        for block in YAML_BLOCKS
        for entity_id in _YAML_ENTITY_RE.findall(block.text)
    }


def readme_entity_ids() -> set[str]:
    """The sensor and binary sensor entity ids the README uses anywhere."""
    return example_entity_ids() | set(_PROSE_ENTITY_RE.findall(README_TEXT))


# -- the hub the examples describe ---------------------------------------------------------

ROOMS, FREEZER, GREENHOUSE, MOTION, CHANNEL = (
    "rooms",
    "freezer",
    "greenhouse",
    "motion",
    "channel",
)
FREEZER_TOPIC = "garage/freezer/temperature"
GREENHOUSE_TOPIC = "zigbee2mqtt/greenhouse"
FIRST_READINGS = {
    "home/kitchen/temperature": "21",
    "home/living_room/temperature": "20",
    FREEZER_TOPIC: "-20",
    GREENHOUSE_TOPIC: '{"temperature": 22.5, "humidity": 61}',
    "home/hall/motion": "0",
    "zigbee2mqtt/living_room_weather": (
        '{"battery":97,"humidity":48.2,"linkquality":120,"pressure":1012.3,'
        '"temperature":21.4,"voltage":2995}'
    ),
}


def source(subentry_id: str, topic: str, **kwargs: Any) -> ConfigSubentryDataWithId:
    """A sensor source with a known subentry id."""
    return ConfigSubentryDataWithId(
        **sensor_subentry(topic, **kwargs), subentry_id=subentry_id
    )


def readme_hub() -> MockConfigEntry:
    """The hub of the README's *Examples* section."""
    channel = ConfigSubentryDataWithId(
        **channel_subentry(
            {
                "1": {
                    "source": GREENHOUSE,
                    "topic": GREENHOUSE_TOPIC,
                    "window": 3600.0,
                    "statistic": "mean",
                }
            },
            upload_interval=86400,  # no row (and no upload) during the tests
        ),
        subentry_id=CHANNEL,
    )
    min_mean_max = ["mean", "value_min", "value_max"]
    return hub_entry(
        source(
            ROOMS,
            "home/+/temperature",
            windows=[600.0, 3600.0, 86400.0],
            statistics=min_mean_max,
        ),
        source(FREEZER, FREEZER_TOPIC, windows=[600.0], statistics=["mean"]),
        source(
            GREENHOUSE,
            GREENHOUSE_TOPIC,
            value_path="temperature",
            windows=[3600.0],
            statistics=min_mean_max,
        ),
        # As "Add from discovered sensors" stores a Zigbee2MQTT weather sensor:
        # named after the announced device, one reading per announced sensor.
        source(
            "weather",
            "zigbee2mqtt/living_room_weather",
            windows=[3600.0],
            statistics=min_mean_max,
            name_template="living_room_weather",
            readings=(
                ReadingConfig(
                    "temperature", "temperature", "Temperature", "°C", "temperature"
                ),
                ReadingConfig("humidity", "humidity", "Humidity", "%", "humidity"),
                ReadingConfig(
                    "pressure", "pressure", "Pressure", "hPa", "atmospheric_pressure"
                ),
                ReadingConfig(
                    "linkquality", "linkquality", "Linkquality", "lqi", diagnostic=True
                ),
            ),
        ),
        source(
            MOTION,
            "home/hall/motion",
            windows=[3600.0],
            statistics=["average_step"],
            unit=None,
            device_class=None,
        ),
        # Titles as the alert flow makes them: the user's name, or the source's
        # title and the rule. They name each alert's device and entities.
        alert_subentry(name="Too hot", high=30, source=ROOMS, subentry_id="rooms0hot"),
        alert_subentry(
            name="Freezer too warm",
            high=-18,
            deadband=2,
            watch="600/mean",
            on_delay=600,
            severity="critical",
            source=FREEZER,
            subentry_id="freezer0warm",
        ),
        alert_subentry(
            "stale",
            stale_after=1800,
            source=FREEZER,
            subentry_id="freezer0stale",
            title=f"{FREEZER_TOPIC}: no reading for 30m",
        ),
        alert_subentry(
            high=30,
            deadband=2,
            source=GREENHOUSE,
            subentry_id="greenhouse0hot",
            title=f"{GREENHOUSE_TOPIC}: above 30 °C",
        ),
        channel,
    )


async def report(hass: HomeAssistant, topic: str, payload: str) -> None:
    """One MQTT message, handled."""
    async_fire_mqtt_message(hass, topic, payload)
    await hass.async_block_till_done()


async def setup_readme_hub(hass: HomeAssistant, setup_hub: SetupHub) -> MockConfigEntry:
    """Set up the README's hub and let every topic report once."""
    entry = await setup_hub(readme_hub())
    for topic, payload in FIRST_READINGS.items():
        await report(hass, topic, payload)
    return entry


def install_blueprint(hass: HomeAssistant) -> None:
    """Put the blueprint where importing it puts it."""
    target = Path(hass.config.path("blueprints", "automation", BLUEPRINT_PATH))
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(BLUEPRINT, target)


def with_real_device_ids(hass: HomeAssistant, doc: dict[str, Any]) -> dict[str, Any]:
    """The example with its placeholder device ids replaced by the real ones.

    A device trigger gets the device of its entity; `iotitan.push_now` the
    ThingSpeak channel's device.
    """
    doc = copy.deepcopy(doc)
    entities = er.async_get(hass)
    channel = dr.async_get(hass).async_get_device(identifiers={(DOMAIN, CHANNEL)})
    assert channel is not None
    for node in dicts(doc):
        if node.get("trigger") == "device" and node.get("domain") == DOMAIN:
            assert _DEVICE_ID_RE.fullmatch(str(node["device_id"])), node
            registry_entry = entities.async_get(node["entity_id"])
            assert registry_entry is not None, f"no entity {node['entity_id']}"
            assert registry_entry.device_id is not None
            node["device_id"] = registry_entry.device_id
        if node.get("action") == f"{DOMAIN}.push_now":
            data = node["data"]
            placeholders: list[str] = PUSH_NOW_SCHEMA(data)["device_id"]
            assert all(_DEVICE_ID_RE.fullmatch(p) for p in placeholders), data
            data["device_id"] = [channel.id for _ in placeholders]
    return doc


def services_called(doc: dict[str, Any]) -> set[str]:
    """The service actions an example names (templates left out)."""
    names: set[str] = set()
    for node in dicts(doc):
        for key in ("action", "notify_action"):
            value = node.get(key)
            if isinstance(value, str) and re.fullmatch(r"\w+\.\w+", value):
                names.add(value)
    return names


# -- tests ----------------------------------------------------------------------------------


@pytest.mark.parametrize("block", YAML_BLOCKS, ids=lambda b: f"line{b.line}")
def test_yaml_block_parses(block: Block) -> None:
    """Every YAML block of the README is valid YAML."""
    load_yaml(block)


def test_invalid_yaml_is_reported_with_its_line() -> None:
    """A broken block fails with the README line of the error."""
    markdown = "Intro\n\n  ```yaml\n  a: 1\n  b: [unclosed\n  ```\n"
    (block,) = fenced_blocks(markdown)
    assert block.text == "a: 1\nb: [unclosed\n"
    with pytest.raises(pytest.fail.Exception, match=r"fake\.md line 6: invalid YAML"):
        load_yaml(block, "fake.md")


def test_examples_cover_cards_and_automations() -> None:
    """The README shows the stock cards and each way to automate on IoTitan."""
    cards = {doc["type"] for _, doc in docs_where(is_card)}
    assert cards <= STOCK_CARDS, f"not a stock card: {sorted(cards - STOCK_CARDS)}"
    assert cards >= REQUIRED_CARDS, f"no example of {sorted(REQUIRED_CARDS - cards)}"

    automations = [doc for _, doc in docs_where(is_automation)]
    triggers = [node for doc in automations for node in doc.get("triggers", [])]
    kinds = {
        "state trigger on an alert": any(
            t.get("trigger") == "state"
            and str(t.get("entity_id", "")).startswith("binary_sensor.")
            for t in triggers
        ),
        "iotitan_alert event trigger": any(
            t.get("trigger") == "event" and t.get("event_type") == EVENT_ALERT
            for t in triggers
        ),
        "device trigger": any(
            t.get("trigger") == "device" and t.get("domain") == DOMAIN for t in triggers
        ),
        "iotitan.push_now action": any(
            f"{DOMAIN}.push_now" in services_called(doc) for doc in automations
        ),
        "the blueprint": any(
            doc.get("use_blueprint", {}).get("path") == BLUEPRINT_PATH
            for doc in automations
        ),
    }
    missing = [kind for kind, found in kinds.items() if not found]
    assert not missing, f"the README has no automation example with {missing}"


async def test_entity_ids_are_those_iotitan_creates(
    hass: HomeAssistant, setup_hub: SetupHub, freezer: FrozenDateTimeFactory
) -> None:
    """Every sensor and binary sensor id in the README is one the hub creates.

    Those of the YAML examples must also be enabled by default: a card or an
    automation on a disabled entity shows an error.
    """
    freezer.move_to(START)
    entry = await setup_readme_hub(hass, setup_hub)
    registry_entries = er.async_entries_for_config_entry(
        er.async_get(hass), entry.entry_id
    )
    created = {registry_entry.entity_id for registry_entry in registry_entries}
    used = readme_entity_ids()
    assert len(used) >= 10, f"too few entity ids found in the README: {used}"
    unknown = sorted(used - created)
    assert not unknown, (
        f"the README uses entity ids IoTitan does not create: {unknown}; "
        f"the examples' hub creates {sorted(created)}"
    )
    disabled = sorted(
        registry_entry.entity_id
        for registry_entry in registry_entries
        if registry_entry.disabled_by is not None
        and registry_entry.entity_id in example_entity_ids()
    )
    assert not disabled, f"examples use entities disabled by default: {disabled}"


async def test_automation_and_action_examples_validate(
    hass: HomeAssistant, setup_hub: SetupHub, freezer: FrozenDateTimeFactory
) -> None:
    """Home Assistant accepts every automation and action example."""
    freezer.move_to(START)
    await setup_readme_hub(hass, setup_hub)
    install_blueprint(hass)
    automations = docs_where(is_automation)
    assert automations, "no automation examples"
    for block, doc in automations:
        try:
            await async_validate_config_item(
                hass, f"line{block.line}", with_real_device_ids(hass, doc)
            )
        except Exception as err:  # any failure: name the block
            pytest.fail(f"README.md line {block.line}: invalid automation: {err}")

    actions = docs_where(is_action)
    assert actions, "no action examples"
    for block, doc in actions + automations:
        for node in dicts(doc):
            schema = SERVICE_SCHEMAS.get(str(node.get("action")))
            if schema is None:
                continue
            action, _, service = str(node["action"]).partition(".")
            assert hass.services.has_service(action, service), node["action"]
            try:
                schema(node.get("data", {}))
            except vol.Invalid as err:
                pytest.fail(f"README.md line {block.line}: {node['action']}: {err}")
    for block, doc in actions:
        try:
            await script_helper.async_validate_actions_config(hass, [doc])
        except Exception as err:  # any failure: name the block
            pytest.fail(f"README.md line {block.line}: invalid action: {err}")


async def test_automation_examples_run(
    hass: HomeAssistant,
    setup_hub: SetupHub,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """On the examples' hub, every example automation runs when its alert trips."""
    freezer.move_to(START)
    await setup_readme_hub(hass, setup_hub)
    install_blueprint(hass)
    examples = docs_where(is_automation)
    configs = [with_real_device_ids(hass, doc) for _, doc in examples]
    mocked = {
        name: async_mock_service(hass, *name.split("."))
        for config in configs
        for name in services_called(config)
        if not name.startswith(f"{DOMAIN}.")
    }
    events = async_capture_events(hass, EVENT_ALERT)
    assert await async_setup_component(hass, "automation", {"automation": configs})
    await hass.async_block_till_done()
    states = hass.states.async_all("automation")
    assert len(states) == len(configs)
    assert all(state.state == "on" for state in states), [
        (state.entity_id, state.state) for state in states
    ]

    caplog.clear()
    caplog.set_level(logging.WARNING)
    # The greenhouse and the kitchen get too hot, the freezer too warm for
    # longer than its on delay, and the router says the internet is back.
    await report(hass, GREENHOUSE_TOPIC, '{"temperature": 31}')
    await report(hass, "home/kitchen/temperature", "31")
    await report(hass, FREEZER_TOPIC, "-10")
    freezer.tick(timedelta(seconds=601))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    await report(hass, "router/wan", "up")

    not_run = [
        state.attributes.get("friendly_name")
        for state in hass.states.async_all("automation")
        if state.attributes.get("last_triggered") is None
    ]
    assert not not_run, f"example automations that did not run: {not_run}"
    assert all(mocked.values()), {name: len(calls) for name, calls in mocked.items()}
    errors = [
        record.getMessage()
        for record in caplog.records
        if record.levelno >= logging.ERROR
        or record.name.startswith("homeassistant.components.automation")
    ]
    assert not errors, errors

    # The README's example of the event's data lists the keys it really has.
    (example,) = [
        doc["data"]
        for block in YAML_BLOCKS
        if isinstance(doc := load_yaml(block), dict)
        and doc.get("event_type") == EVENT_ALERT
    ]
    assert events, "no alert event"
    assert set(example) == set(events[0].data)


def test_the_supported_versions_are_those_tested_and_declared() -> None:
    """The README's version statements match hacs.json, the harness and the check."""
    text = README_TEXT
    minimum = json.loads((README.parent / "hacs.json").read_text())["homeassistant"]
    major_minor = ".".join(minimum.split(".")[:2])
    assert f"IoTitan needs Home Assistant {major_minor} or later" in text
    # The suite's Home Assistant, as the harness installed it.
    assert f"The test suite runs on Home Assistant {HA_VERSION}" in " ".join(
        text.split()
    )
    # The newest release the forward-compatibility check read, when cached.
    cache = README.parent / ".cache" / "forward-compat"
    wheels = sorted(
        cache.glob("homeassistant-*.whl"),
        key=lambda wheel: Version(wheel.name.split("-")[1]),
    )
    if wheels:
        newest = wheels[-1].name.split("-")[1]
        assert f"newest release on PyPI ({newest} at the" in " ".join(text.split())
