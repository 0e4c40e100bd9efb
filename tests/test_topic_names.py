"""Device names from topic levels (engine.topic_names)."""

from __future__ import annotations

from hypothesis import given, strategies as st
import pytest

from custom_components.iotitan.engine.topic_names import (
    MAX_NAME_CHARS,
    NameTemplateError,
    area_from_level,
    check_area_level,
    check_name_template,
    default_device_name,
    device_name,
)


@pytest.mark.parametrize(
    ("topic_filter", "topic", "name"),
    [
        # The levels from the first wildcard on, without generic ones.
        (
            "iotitan/home/+/temperature/value",
            "iotitan/home/kitchen/temperature/value",
            "Kitchen temperature",
        ),
        (
            "home/+/temperature",
            "home/living_room/temperature",
            "Living room temperature",
        ),
        ("home/#", "home/hall/motion", "Hall motion"),
        ("#", "garage/freezer-temp", "Garage freezer temp"),
        ("tele/+/SENSOR", "tele/sonoff-th/SENSOR", "Sonoff th"),
        ("zigbee2mqtt/+", "zigbee2mqtt/0x00158d0001", "0x00158d0001"),
        # Only the first letter changes case.
        ("+/co2", "office/co2", "Office co2"),
        ("home/+/CO2", "home/iPhone/CO2", "IPhone CO2"),
        # No wildcard: the last two levels that are not generic.
        (
            "iotitan/home/office/temperature/value",
            "iotitan/home/office/temperature/value",
            "Office temperature",
        ),
        ("room/t", "room/t", "Room t"),
        ("weather", "weather", "Weather"),
        # Nothing but generic or empty levels: the topic as it is.
        ("+/value", "state/value", "State/value"),
        ("+/+", "/", "/"),
    ],
)
def test_default_names_read_as_words(topic_filter: str, topic: str, name: str) -> None:
    assert device_name(topic_filter, topic) == name
    assert default_device_name(topic_filter, topic) == name


@pytest.mark.parametrize(
    ("template", "name"),
    [
        ("{2} climate", "Kitchen climate"),
        ("{-1}", "Value"),
        ("{-2} in the {2}", "Temperature in the kitchen"),
        ("{topic}", "Home/kitchen/temperature/value"),
        ("Sensor { 2 }", "Sensor kitchen"),
        # Levels this topic lacks read as empty; an empty result is the default.
        ("{9}", "Kitchen temperature"),
        ("   ", "Kitchen temperature"),
        # Stored before the flow checked it: the default, never an exception.
        ("{banana}", "Kitchen temperature"),
        ("{2", "Kitchen temperature"),
        # Literal text only (a discovered device's announced name): as written.
        ("weather_sensor", "weather_sensor"),
        ("  living   room climate ", "living room climate"),
    ],
)
def test_templates_name_levels_by_position(template: str, name: str) -> None:
    assert (
        device_name(
            "home/+/temperature/value", "home/kitchen/temperature/value", template
        )
        == name
    )


@pytest.mark.parametrize(
    ("template", "reason"),
    [
        ("{2", NameTemplateError.UNBALANCED),
        ("2}", NameTemplateError.UNBALANCED),
        ("{{2}}", NameTemplateError.UNBALANCED),
        ("{name}", NameTemplateError.UNKNOWN),
        ("{0}", NameTemplateError.UNKNOWN),
        ("{33}", NameTemplateError.UNKNOWN),
        ("{}", NameTemplateError.UNKNOWN),
        ("{5}", NameTemplateError.BEYOND_FILTER),
        ("{-5}", NameTemplateError.BEYOND_FILTER),
    ],
)
def test_the_flow_refuses_templates_it_cannot_render(
    template: str, reason: str
) -> None:
    with pytest.raises(NameTemplateError) as caught:
        check_name_template(template, "home/+/temperature/value")
    assert caught.value.reason == reason


def test_any_level_is_allowed_below_a_multi_level_wildcard() -> None:
    check_name_template("{12} {-7}", "home/#")
    check_name_template("", "a")
    check_name_template("{4} and {-4} of {topic}", "home/+/temperature/value")


def test_area_from_a_level() -> None:
    assert area_from_level("home/living_room/temperature", 2) == "Living room"
    assert area_from_level("home/living_room/temperature", None) is None
    assert area_from_level("home/living_room/temperature", 7) is None
    assert area_from_level("home//temperature", 2) is None
    assert check_area_level(3, "home/+/temperature")
    assert not check_area_level(4, "home/+/temperature")
    assert check_area_level(4, "home/#")
    assert not check_area_level(0, "home/#")


def test_a_hostile_topic_gives_a_bounded_name() -> None:
    name = device_name("#", "x" * 65_000)
    assert len(name) == MAX_NAME_CHARS
    assert name.endswith("…")


@given(
    levels=st.lists(
        st.text(st.characters(blacklist_characters="/"), max_size=12),
        min_size=1,
        max_size=6,
    ),
    template=st.text(max_size=20),
)
def test_any_topic_and_template_give_a_short_name(
    levels: list[str], template: str
) -> None:
    """Whatever a publisher sends and a person types: a name, never an error."""
    topic = "/".join(levels)
    name = device_name("#", topic, template)
    assert name.strip()
    assert len(name) <= MAX_NAME_CHARS
