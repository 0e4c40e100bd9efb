"""The soak and kill -9 scripts run, in a tiny mode, so they cannot rot.

Their figures are for the README; here only that they run to the end and
print them (no figure is asserted: this machine's load decides them).
"""

from __future__ import annotations

from pathlib import Path
import re
import subprocess
import sys

import pytest

from .conftest import develop

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]
REPO = Path(__file__).resolve().parents[2]


def run_script(*argv: str) -> str:
    result = subprocess.run(
        [sys.executable, *argv],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=540,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    return output


def test_soak_script_tiny(socket_enabled: None) -> None:
    if develop.find_mosquitto() is None:
        pytest.skip("mosquitto is not installed (apt-get install mosquitto)")
    output = run_script(
        "scripts/soak_broker_junk.py", "--messages", "200", "--topics", "200"
    )
    assert "NUL in a topic refused by the broker: True" in output
    assert re.search(r"RSS growth: -?[\d.]+ MiB", output), output
    assert re.search(r"after 200 fuzzed messages: RSS [\d.]+ MiB, growth", output)
    # The split measured inside Home Assistant ran to the end.
    assert re.search(r"IoTitan's part at most -?[\d.]+ MiB", output), output
    # Every message sent reached the hub (the script's own exit code says so
    # too); the hub also counts Home Assistant's birth message.
    received = re.search(r"messages received by the hub: (\d+) of (\d+) sent", output)
    assert received and int(received[1]) >= int(received[2]), output


def test_crash_loss_script_tiny(socket_enabled: None) -> None:
    if develop.find_mosquitto() is None:
        pytest.skip("mosquitto is not installed (apt-get install mosquitto)")
    output = run_script("scripts/crash_loss.py", "--reps", "1", "--sizes", "300")
    # One in-burst kill: "bursts of 300: K kills during the burst (...), M after
    # it (...); worst loss window X s" (or "nothing lost").
    summary = re.search(
        r"bursts of 300: (\d) kills during the burst \((.*?)\), (\d) after it "
        r"\((.*?)\); worst loss window ([\d.]+ s|nothing lost)",
        output,
    )
    assert summary and int(summary[1]) + int(summary[3]) == 1, output
