"""The demo in a real browser: log in, add a sensor source, look at devices.

Headless Chromium from Debian's `chromium` package, driven by Playwright for
Python (`pip install playwright`; no `playwright install`: the browser is
Debian's, `/usr/bin/chromium`), against `scripts/develop` running on free
ports. Screenshots go to `artifacts/browser/`; the device page's screenshot
also to `docs/images/device-page.png`, the README's picture of the demo.

Home Assistant's frontend is made of web components with open shadow roots;
Playwright's role and text locators pierce them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
import io
import math
import os
from pathlib import Path
import re
from typing import Any

import pytest

from .conftest import REPO, DevelopRun, MqttClient, develop, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(400)]

CHROMIUM = Path(os.environ.get("IOTITAN_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ARTIFACTS = REPO / "artifacts" / "browser"
README_SCREENSHOT = REPO / "docs" / "images" / "device-page.png"
VIEWPORT = {"width": 1280, "height": 900}
TIMEOUT_MS = 30_000

# The sensor source the test adds through the form.
NEW_SOURCE = "Pressure"
NEW_TOPIC = "iotitan/home/+/pressure/value"
NEW_READING_TOPIC = "iotitan/home/garage/pressure/value"
NEW_READING_DEVICE = "Garage pressure"  # the levels the wildcard matched
# The simulator's Zigbee2MQTT sensor, added from what it announces.
Z2M_TOPIC = "zigbee2mqtt/living_room_weather"
Z2M_DEVICE = "living_room_weather"
DISCOVERED_SCREENSHOT = REPO / "docs" / "images" / "discovered-sensors.png"
READINGS_SCREENSHOT = REPO / "docs" / "images" / "readings-device-page.png"
# The device whose page the README shows: warm enough for the demo's alert.
DEVICE = "Office temperature"
DEVICE_TOPIC = "iotitan/home/office/temperature/value"  # shown as its model

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="pip install playwright (see requirements_test.txt)"
)


@pytest.fixture
def page() -> Iterator[Any]:
    """A Chromium page; the browser is closed (and its processes gone) after."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} missing: apt-get install chromium")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for stale in ARTIFACTS.glob("*.png"):  # from an earlier run
        stale.unlink()
    console: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            context = browser.new_context(viewport=VIEWPORT, locale="en-US")
            page = context.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
            page.on("pageerror", lambda err: console.append(f"pageerror: {err}"))
            yield page
        finally:
            (ARTIFACTS / "console.log").write_text("\n".join(console) + "\n")
            browser.close()


def shoot(page: Any, name: str) -> bytes:
    """Save a screenshot of the viewport under artifacts/browser/."""
    return bytes(page.screenshot(path=str(ARTIFACTS / name)))


def save_small_png(png: bytes, path: Path) -> None:
    """Save a screenshot with a 256-colour palette: a UI needs no more."""
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    with Image.open(io.BytesIO(png)) as image:
        small = image.convert("RGB").quantize(colors=256)
        small.save(path, optimize=True)


def text_of(page: Any) -> str:
    """What the page shows, shadow roots included (its accessibility tree)."""
    return str(page.locator("body").aria_snapshot())


def log_in(page: Any, base: str) -> None:
    """Log in through Home Assistant's login page."""
    page.goto(f"{base}/")
    page.get_by_role("textbox", name="Username").fill(develop.DEMO_USER)
    page.get_by_role("textbox", name="Password").fill(develop.DEMO_PASSWORD)
    shoot(page, "01-login.png")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/auth/" not in url and "auth_callback" not in url)
    page.locator("ha-sidebar").wait_for()


def add_sensor_source(page: Any, base: str) -> None:
    """Add a sensor source with the integration page's form."""
    page.goto(f"{base}/config/integrations/integration/iotitan")
    add = page.get_by_role("button", name="Add sensor source")
    add.wait_for()
    page.get_by_text(DEVICE).first.wait_for()
    shoot(page, "03-integration.png")
    add.click()
    page.get_by_text("Enter a topic filter", exact=True).click()
    page.get_by_role("textbox", name="Topic or topic filter").fill(NEW_TOPIC)
    page.get_by_role("textbox", name="Name").fill(NEW_SOURCE)
    page.get_by_role("textbox", name="Unit of measurement").fill("hPa")
    # Windows: the form suggests 1h; add 10m through the chip picker.
    page.get_by_role("button", name="Windows").click()
    search = page.get_by_role("textbox", name="Search | Add custom item")
    removable = page.get_by_role("button", name="Remove 10m")
    # The picker's list filters as typed; an Enter pressed before it caught up
    # (seen once on a loaded machine) adds nothing: type it again then.
    for attempt in range(3):
        search.fill("10m")
        sync_api.expect(search).to_have_value("10m")
        page.keyboard.press("Enter")
        try:
            removable.wait_for(timeout=10_000)
            break
        except sync_api.TimeoutError:
            if attempt == 2:
                raise
            shoot(page, f"04-windows-picker-retry-{attempt}.png")
            if not search.is_visible():
                page.get_by_role("button", name="Windows").click()
    shoot(page, "04-form-topic-and-windows.png")
    # Statistics: mean, minimum and maximum are suggested; add the count.
    count = page.get_by_role("checkbox", name="Count")
    count.check()
    sync_api.expect(count).to_be_checked()
    sync_api.expect(page.get_by_role("checkbox", name="Mean")).to_be_checked()
    page.wait_for_timeout(300)  # the checkbox's animation, for the picture
    shoot(page, "05-form-statistics.png")
    # Device names: the help shows the template syntax (sent as placeholders,
    # which the frontend would otherwise read as its own); the default name
    # is kept, the area comes from the room's level.
    page.get_by_text("Device names and areas", exact=True).first.click()
    page.get_by_role("spinbutton", name="Area from topic level").fill("3")
    page.wait_for_timeout(300)
    text = " ".join(text_of(page).split())
    assert "Translation error" not in text
    assert 'so - code: "{2} climate" - text: gives Kitchen climate' in text, text
    shoot(page, "05b-form-device-names.png")
    page.get_by_role("button", name="Submit").click()
    # No value path: the flow listens to the filter first (nothing is
    # published there yet, so it saves one reading of the whole payload).
    page.get_by_text(f"Created configuration for {NEW_SOURCE}.").wait_for(
        timeout=TIMEOUT_MS + 10_000
    )
    shoot(page, "06-sensor-source-added.png")
    page.get_by_role("button", name="Finish").click()


def add_discovered_source(page: Any, base: str) -> None:
    """Add the simulator's Zigbee2MQTT sensor from the sensors it announces,
    and see each reading's statistics on its device page, by name."""
    page.goto(f"{base}/config/integrations/integration/iotitan")
    add = page.get_by_role("button", name="Add sensor source")
    add.wait_for()
    add.click()
    page.get_by_text("Add from discovered sensors", exact=True).click()
    # Collecting the announcements takes two seconds; then the device list.
    group = page.get_by_text(f": {Z2M_TOPIC}", exact=False).first
    group.wait_for(timeout=TIMEOUT_MS)
    dialog = page.get_by_role("alertdialog", name="Discovered sensors")
    text = " ".join(str(dialog.aria_snapshot()).split())
    assert "Translation error" not in text and "component.iotitan" not in text
    # Announcements it cannot read are named with the reason.
    assert "Last seen: not a numeric sensor" in text, text
    # The Tasmota is a source already (the demo added it): not offered again.
    assert develop.DISCOVERED_TOPIC not in text, text
    group.click()
    page.wait_for_timeout(300)
    shoot(page, "08-discovered-devices.png")
    page.get_by_role("button", name="Submit").click()
    # The device's sensors: measurements ticked, diagnostics offered unticked.
    temperature = page.get_by_role("checkbox", name="Temperature (°C)")
    temperature.wait_for()
    sync_api.expect(temperature).to_be_checked()
    sync_api.expect(page.get_by_role("checkbox", name="Humidity (%)")).to_be_checked()
    sync_api.expect(
        page.get_by_role("checkbox", name="Linkquality (lqi)")
    ).not_to_be_checked()
    save_small_png(shoot(page, "09-discovered-sensors.png"), DISCOVERED_SCREENSHOT)
    page.get_by_role("button", name="Submit").click()
    page.get_by_text(f"Created configuration for {Z2M_DEVICE}.").wait_for()
    page.get_by_role("button", name="Finish").click()

    # Its device, IoTitan's own, named as announced, shows every reading's
    # statistics under the reading's name.
    # Home Assistant's MQTT integration made a device of that name from the
    # same announcement; IoTitan's is its own, the raw topic as its model.
    def ours() -> list[dict[str, Any]]:
        return [
            d
            for d in devices(page)
            if d["name"] == Z2M_DEVICE and d["model"] == Z2M_TOPIC
        ]

    wait_for("the discovered device", lambda: bool(ours()), interval=1)
    (device,) = ours()
    theirs = [
        d for d in devices(page) if d["name"] == Z2M_DEVICE and d["id"] != device["id"]
    ]
    assert [d["model"] for d in theirs] != [Z2M_TOPIC], theirs
    assert all(
        set(d["config_entries"]).isdisjoint(device["config_entries"]) for d in theirs
    )
    page.goto(f"{base}/config/devices/device/{device['id']}")
    value = r"(-?[\d,]+(?:\.\d+)?)"
    wanted = {  # Home Assistant writes "21.18 °C" but "47.96%"
        "temperature": rf"Temperature mean 1h {value} °C",
        "humidity": rf"Humidity mean 1h {value}%",
        "pressure": rf"Pressure mean 1h {value} hPa",
    }
    shown = {
        key: float(text.replace(",", ""))
        for key, text in wait_for_texts(
            page, "the discovered device's page to show each reading", wanted
        ).items()
    }
    # The simulator's random walks (scripts/simulator.py WeatherSensor).
    assert 5 <= shown["temperature"] <= 35, shown
    assert 15 <= shown["humidity"] <= 95, shown
    assert 950 <= shown["pressure"] <= 1060, shown
    page.wait_for_timeout(500)
    save_small_png(shoot(page, "10-readings-device-page.png"), READINGS_SCREENSHOT)


def check_options_form(page: Any, base: str) -> None:
    """The hub options as a person sees them: help texts render, errors show.

    Every section opened, no help text is replaced by "Translation error"; a bad
    retention, inside the collapsed Journal section, re-opens it with the error
    shown above it in words that name the field.
    """
    page.goto(f"{base}/config/integrations/integration/iotitan")
    page.get_by_role("button", name="Configure").first.click()
    page.get_by_text("Logging every message").first.wait_for()
    for header in ("Logging every message", "Journal", "MQTT output"):
        page.get_by_text(header, exact=True).first.click()
    page.get_by_role("textbox", name="Retention").wait_for()
    page.wait_for_timeout(300)
    shoot(page, "08-options-sections-open.png")
    text = " ".join(text_of(page).split())
    assert "Translation error" not in text
    assert "PREFIX/stats/TOPIC/WINDOW/STATISTIC" in text

    # Open the form afresh: its sections start collapsed again.
    page.goto(f"{base}/config/integrations/integration/iotitan")
    page.get_by_role("button", name="Configure").first.click()
    page.get_by_text("Journal", exact=True).first.click()
    page.get_by_role("textbox", name="Retention").fill("banana")
    page.get_by_text("Journal", exact=True).first.click()  # collapse it again
    page.get_by_role("button", name="Submit").click()
    message = "Retention: not a valid duration. Use, for example, 12h, 7d or 30d."
    page.get_by_text(message).wait_for()
    # The section holding the error is open, so the field can be corrected.
    sync_api.expect(page.get_by_role("textbox", name="Retention")).to_be_visible()
    page.wait_for_timeout(300)
    shoot(page, "09-options-error-in-section.png")
    page.get_by_role("textbox", name="Retention").fill("7d")
    page.get_by_role("button", name="Submit").click()
    page.get_by_text("Options successfully saved").or_(
        page.get_by_role("button", name="Finish")
    ).first.wait_for()


def add_alert(page: Any, base: str) -> None:
    """Add an alert: the rule first, then only what that rule asks for."""
    page.goto(f"{base}/config/integrations/integration/iotitan")
    page.get_by_role("button", name="Add alert").click()
    page.get_by_role("button", name="Next").or_(
        page.get_by_role("button", name="Submit")
    ).first.click()  # the suggested sensor source
    page.get_by_role("radio", name="Stale: no reading for a while").check()
    shoot(page, "10-alert-rule.png")
    page.get_by_role("button", name="Submit").click()
    stale_after = page.get_by_role("textbox", name="Stale after")
    stale_after.wait_for()
    text = " ".join(text_of(page).split())
    for unused in ("High limit", "Low limit", "Deadband", "Rate limit"):
        assert unused not in text, unused
    stale_after.fill("0s")
    page.get_by_role("button", name="Submit").click()
    page.get_by_text("Must be above zero.").wait_for()
    shoot(page, "11-alert-settings-error.png")
    stale_after.fill("10m")
    page.get_by_role("button", name="Submit").click()
    page.get_by_text("Created configuration for").wait_for()
    shoot(page, "12-alert-added.png")
    page.get_by_role("button", name="Finish").click()


def devices(page: Any) -> list[dict[str, Any]]:
    """The device registry, from the frontend's own websocket connection."""
    found: list[dict[str, Any]] = page.evaluate(
        "() => document.querySelector('home-assistant')"
        ".hass.callWS({type: 'config/device_registry/list'})"
    )
    return found


def device_id(page: Any, name: str) -> str:
    """A device's id, by its name."""
    (found,) = [device for device in devices(page) if device["name"] == name]
    return str(found["id"])


def number(state: str) -> float:
    """A state as a number (NaN for unknown/unavailable)."""
    try:
        return float(state)
    except ValueError:
        return math.nan


def friendly_state(api: Any, friendly_name: str) -> str | None:
    """The state of the entity with this friendly name, if it exists."""
    for state in api.request("GET", "/api/states"):
        if state["attributes"].get("friendly_name") == friendly_name:
            return str(state["state"])
    return None


@pytest.mark.usefixtures("socket_enabled")
def test_demo_in_the_browser(
    develop_run: DevelopRun,
    page: Any,
    mqtt_clients: Callable[[int, str], MqttClient],
) -> None:
    """Log in, see a device's values, and add a sensor source in the UI."""
    base = develop_run.base
    log_in(page, base)
    check_device_page(page, base)
    check_history_legend(page, base)
    check_options_form(page, base)
    add_alert(page, base)
    add_sensor_source(page, base)
    add_discovered_source(page, base)

    # The form created what it showed.
    api = develop_run.api()
    (hub,) = api.entries("iotitan")
    subentries = develop.subentries(api, hub["entry_id"]).values()
    (added,) = [s for s in subentries if s["data"].get("topic") == NEW_TOPIC]
    assert added["type"] == "sensor"
    assert added["title"] == NEW_SOURCE
    assert added["data"]["windows"] == [600.0, 3600.0]
    assert added["data"]["statistics"] == ["mean", "value_min", "value_max", "count"]
    (reading,) = added["data"]["readings"]
    assert (reading["value_path"], reading["unit_of_measurement"]) == ("", "hPa")
    assert added["data"]["device"] == {"name_template": "", "area_level": 3}

    # And it works: a reading on a matching topic gets a device with statistics.
    # (Sent until it arrives: the hub reloads with the new source and
    # subscribes a moment after the form closed.)
    publisher = mqtt_clients(develop_run.mqtt_port, "e2e-browser-publisher")

    def new_device_counts() -> bool:
        publisher.publish(NEW_READING_TOPIC, "1013.25")
        state = friendly_state(api, f"{NEW_READING_DEVICE} Count 10m")
        return state is not None and number(state) >= 1

    wait_for("the new source's first statistics", new_device_counts, interval=1)
    mean = friendly_state(api, f"{NEW_READING_DEVICE} Mean 10m")
    assert mean is not None and number(mean) == 1013.25
    garage = [d for d in devices(page) if d["name"] == NEW_READING_DEVICE]
    assert [d["model"] for d in garage] == [NEW_READING_TOPIC]
    areas = page.evaluate(
        "() => document.querySelector('home-assistant')"
        ".hass.callWS({type: 'config/area_registry/list'})"
    )
    assert [a["name"] for a in areas if a["area_id"] == garage[0]["area_id"]] == [
        "Garage"
    ]
    page.goto(f"{base}/config/devices/device/{device_id(page, NEW_READING_DEVICE)}")
    page.get_by_text("1,013.25 hPa").first.wait_for()
    shoot(page, "07-new-device-page.png")


def check_device_page(page: Any, base: str) -> None:
    """A simulated room's device page shows its statistics; picture it.

    Then the alert's own device page shows that room's alert (each alert has a
    device of its own, one entity per topic of a wildcard source).
    """
    page.goto(f"{base}/config/devices/device/{device_id(page, DEVICE)}")
    page.get_by_text(DEVICE).first.wait_for()
    # The raw topic is not lost: it is the device's model, on its page.
    page.get_by_text(DEVICE_TOPIC).first.wait_for()
    value = r"(-?\d+(?:\.\d+)?) °C"
    wanted = {
        "mean": rf"Mean 10m {value}",
        "minimum": rf"Minimum 1h {value}",
        "maximum": rf"Maximum 1h {value}",
        "deviation": rf"Standard deviation 10m {value}",
    }
    shown = wait_for_texts(page, "the device page to show statistics", wanted)
    assert float(shown["minimum"]) <= float(shown["mean"]) <= float(shown["maximum"])
    assert 5 <= float(shown["mean"]) <= 35  # the simulator's indoor range
    page.wait_for_timeout(500)  # let the cards finish their transitions
    png = shoot(page, "02-device-page.png")
    save_small_png(png, README_SCREENSHOT)

    # The alert agrees with the statistic it watches (on above 22 °C, off at
    # 21.5 °C or below, unchanged in between), beyond the display's rounding.
    page.goto(f"{base}/config/devices/device/{device_id(page, develop.ALERT['name'])}")
    alert_pattern = rf"{re.escape(DEVICE)} (OK|Problem)"
    alert: list[str] = []

    def alert_shown() -> bool:
        alert[:] = re.findall(alert_pattern, " ".join(text_of(page).split()))
        return bool(alert)

    wait_for(
        "the alert's device page to show the room's alert",
        alert_shown,
        interval=0.5,
        details=lambda: text_of(page),
    )
    mean_10m = float(shown["mean"])
    if mean_10m > develop.ALERT["high"] + 0.05:
        assert alert[0] == "Problem", (shown, alert)
    elif mean_10m < develop.ALERT["high"] - develop.ALERT["deadband"] - 0.05:
        assert alert[0] == "OK", (shown, alert)
    activity = activity_text(page)
    # One line per change, Home Assistant's own: no second line describing
    # the `iotitan_alert` event ("turned on (warning): value 22.38, limit 22").
    assert "(warning)" not in activity, activity
    assert not re.search(r"turned on \(|value -?\d", activity), activity
    shoot(page, "02b-alert-device-page.png")
    check_enum_states_in_activity(page, base)


# Every enum sensor's raw states (syslog connection, a channel's last error):
# the activity card must show them translated.
RAW_ENUM_STATES = (
    "disabled",
    "disconnected",
    "connecting",
    "connected",
    "none",
    "retry",
    "auth",
    "quota",
    "bad_request",
    "duplicate",
    "not_found",
)


def activity_text(page: Any) -> str:
    """The text of the device page's Activity card, once it has loaded."""
    card = page.locator("ha-card").filter(has=page.locator("ha-logbook"))
    card.wait_for()
    page.wait_for_timeout(1000)  # the logbook's first answer
    return " ".join(str(card.aria_snapshot()).split())


def check_enum_states_in_activity(page: Any, base: str) -> None:
    """The hub's and the channel's activity show enum states translated."""
    for name, shot in (
        (develop.HUB_NAME, "02c-hub-device-page.png"),
        ("Demo channel", "02d-channel-device-page.png"),
    ):
        page.goto(f"{base}/config/devices/device/{device_id(page, name)}")
        # The activity card can draw its first rows before the frontend has
        # the integration's state translations and keeps them until its
        # next rows (Home Assistant 2026.2's frontend; seen in about one run
        # of three): give it one fresh load. A raw value that stays then is
        # a missing translation, and fails.
        try:
            wait_for_translated_activity(page, name)
        except pytest.fail.Exception:
            page.reload()
            wait_for_translated_activity(page, name)
        shoot(page, shot)


def wait_for_texts(page: Any, what: str, wanted: dict[str, str]) -> dict[str, str]:
    """Wait until the page's text matches every pattern; each one's first group."""
    shown: dict[str, str] = {}

    def all_shown() -> bool:
        text = " ".join(text_of(page).split())
        shown.clear()
        for key, pattern in wanted.items():
            if match := re.search(pattern, text):
                shown[key] = match[1]
        return shown.keys() == wanted.keys()

    wait_for(
        what,
        all_shown,
        interval=0.5,
        details=lambda: f"found {shown} in:\n{text_of(page)}",
    )
    return shown


def wait_for_translated_activity(page: Any, name: str) -> None:
    """Wait up to 20 s for a device page's activity to show no raw enum state."""
    found: dict[str, Any] = {}

    def translated() -> bool:
        found["text"] = activity = activity_text(page)
        found["raw"] = [
            state
            for state in RAW_ENUM_STATES
            if re.search(rf"changed to {state}\b", activity)
        ]
        return not found["raw"]

    wait_for(
        f"{name}'s activity to show enum states translated",
        translated,
        timeout=20,
        interval=1,
        details=lambda: f"raw {found.get('raw')} in {found.get('text')}",
    )


# Three rooms' 10-minute means, as a person would compare them in History.
HISTORY_ROOMS = ("Office", "Kitchen", "Outside")


def check_history_legend(page: Any, base: str) -> None:
    """A history chart of three rooms' means tells them apart by name.

    Named by the raw topic, all three legend entries read
    "iotitan/home/...", cut off before the room.
    """
    entity_ids = ",".join(
        f"sensor.{room.lower()}_temperature_mean_10m" for room in HISTORY_ROOMS
    )
    page.goto(f"{base}/history?entity_id={entity_ids}")
    wanted = [f"{room} temperature Mean 10m" for room in HISTORY_ROOMS]

    def legend_shown() -> bool:
        text = " ".join(text_of(page).split())
        return all(name in text for name in wanted)

    wait_for(
        "the history legend to name the three rooms",
        legend_shown,
        interval=0.5,
        details=lambda: text_of(page),
    )
    assert "iotitan/home" not in text_of(page)
    page.wait_for_timeout(500)
    shoot(page, "02e-history-legend.png")
