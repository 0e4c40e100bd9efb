#!/usr/bin/env python3
"""How much does kill -9 of Home Assistant lose from IoTitan's journal?

Runs a real Mosquitto and a real Home Assistant with an IoTitan hub (as
scripts/develop starts them; see scripts/real_stack.py), publishes bursts of
500, 2,000 and 20,000 messages (QoS 0, each payload carrying its run and
sequence number), kill -9s Home Assistant at a random point during or just
after the burst, restarts it, and reads the journal back.

For each run it prints:
- journalled: messages of the burst found in the journal;
- lost: messages Home Assistant received but the journal does not hold. The
  sequence numbers in the journal are contiguous from 0 (Home Assistant
  receives them in order), so "received" is unknowable after the kill; the
  count printed is published minus journalled, an upper bound that also holds
  messages still in the broker's or the socket's buffers at the kill;
- window: the kill time minus the receive time of the newest journalled
  message of the burst, when anything was lost (else 0): how far back the
  journal ends at the crash. This is the figure the README's promise is about.

Usage: .venv/bin/python scripts/crash_loss.py [--reps 3] [--sizes 500,2000,20000]
Prints the worst window per burst size at the end. Takes a few minutes
(mostly Home Assistant restarting after each kill).
"""

from __future__ import annotations

import argparse
from pathlib import Path
import random
import sys
import tempfile
import time

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

sys.path.insert(0, str(Path(__file__).resolve().parent))
from real_stack import RealStack, wait_for

from custom_components.iotitan.engine.journal import read_since


def connect(port: int) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"crash-{time.time()}")
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", port, keepalive=60)
    client.loop_start()
    wait_for("the publisher to connect", client.is_connected, timeout=10)
    return client


def wait_receiving(stack: RealStack, client: mqtt.Client, tag: str) -> None:
    """Publish probes until the hub counts one (its subscription is in place)."""
    before = stack.diagnostics()["messages_received"]

    def received() -> bool:
        client.publish(f"probe/{tag}", b"probe", qos=0)
        return bool(stack.diagnostics()["messages_received"] > before)

    wait_for("the hub to receive", received, timeout=120)


def one_run(
    stack: RealStack, client: mqtt.Client, run: int, size: int, rng: random.Random
) -> tuple[int, int, float]:
    """(journalled, lost, window) of one burst with a kill -9 in it."""
    topic = f"crash/{run}"
    # Home Assistant takes roughly 0.1-0.3 ms a message here; kill anywhere
    # from the start of the burst to a little after it is all delivered.
    span = 0.5 + size * 0.00015
    kill_at = rng.uniform(0.05, span)
    start = time.monotonic()
    start_wall = time.time()
    published = 0
    for seq in range(size):
        client.publish(topic, b"%d %d %.6f" % (run, seq, time.time()), qos=0)
        published += 1
        if time.monotonic() - start >= kill_at:
            break
    delay = kill_at - (time.monotonic() - start)
    if delay > 0:
        time.sleep(delay)
    killed = stack.kill_hass()
    records = [r for r in read_since(stack.journal, killed - 3600) if r.topic == topic]
    sequences = [int(r.payload.split()[1]) for r in records]
    assert sequences == list(range(len(sequences))), "journal out of order or gaps"
    lost = published - len(records)
    window = killed - records[-1].timestamp if lost and records else 0.0
    if lost and not records:
        window = killed - start_wall  # nothing of the burst reached the journal
    return len(records), lost, window


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--sizes", default="500,2000,20000")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="iotitan-crash-") as tmp:
        stack = RealStack(Path(tmp))
        try:
            stack.start_mosquitto()
            started = time.monotonic()
            stack.start_hass()
            print(f"Home Assistant up in {time.monotonic() - started:.0f} s")
            client = connect(stack.mqtt_port)
            worst: dict[int, float] = {}
            run = 0
            print(
                f"{'burst':>6} {'rep':>3} {'sent':>6} {'journalled':>10} "
                f"{'lost':>6} {'window s':>8}"
            )
            for rep in range(args.reps):
                for size in sizes:
                    run += 1
                    wait_receiving(stack, client, str(run))
                    journalled, lost, window = one_run(stack, client, run, size, rng)
                    worst[size] = max(worst.get(size, 0.0), window)
                    print(
                        f"{size:>6} {rep + 1:>3} {journalled + lost:>6} "
                        f"{journalled:>10} {lost:>6} {window:>8.3f}",
                        flush=True,
                    )
                    stack.start_hass()
            client.loop_stop()
            client.disconnect()
        finally:
            stack.stop()
    flush = "1 s"
    for size, window in worst.items():
        print(
            f"worst loss window, bursts of {size}: {window:.3f} s "
            f"(journal flush interval {flush})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
