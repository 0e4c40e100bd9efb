#!/usr/bin/env python3
"""How much does kill -9 of Home Assistant lose from IoTitan's journal?

Runs a real Mosquitto and a real Home Assistant with an IoTitan hub (as
scripts/develop starts them; see scripts/real_stack.py), publishes bursts of
500, 2,000 and 20,000 messages (QoS 0, each payload carrying its run and
sequence number), kill -9s Home Assistant, restarts it, and reads the journal
back. Two kinds of kill, alternating per burst size:

- in-burst: the script watches the hub's `messages_received` counter (its
  diagnostics) while the burst is published and kills as soon as the hub has
  received a chosen fraction of it (25%, 50%, 90%, in turn), so the kill lands
  while Home Assistant is still working through the burst (when the counter
  can be read in time: a short burst may be over before the first reading);
- random: at a random point from the start of the burst to a little after it
  is all delivered.

Just before each kill the hub's counter is read once more: a kill is
"during" the burst when that reading shows the hub had not yet received all
of it, "after" otherwise.

For each run it prints:
- journalled: messages of the burst found in the journal;
- lost: messages published but not in the journal. The sequence numbers in
  the journal are contiguous from 0 (Home Assistant receives them in order),
  so this is an upper bound on what Home Assistant received and lost: it
  also holds messages still in the broker's or the socket's buffers;
- received: the hub's count of the burst at the last reading before the kill;
- window: the kill time minus the receive time of the newest journalled
  message of the burst, when anything was lost ("-" when nothing was): how
  far back the journal ends at the crash. This is the figure the README's
  promise (at most the flush interval, 1 s) is about.

Usage: .venv/bin/python scripts/crash_loss.py [--reps 5] [--sizes 500,2000,20000]
Prints, per burst size, the kills during and after the burst and the worst
window among each. Takes a few minutes (mostly Home Assistant restarting
after each kill).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
import random
import sys
import tempfile
import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

sys.path.insert(0, str(Path(__file__).resolve().parent))
from real_stack import RealStack, wait_for

from custom_components.iotitan.engine.journal import read_since

FRACTIONS = (0.25, 0.5, 0.9)
"""Where in-burst kills land, in turn: this fraction of the burst received."""


@dataclass
class Run:
    """One burst and its kill."""

    size: int
    mode: str  # "in-burst" or "random"
    published: int
    received: int  # of the burst, at the last reading before the kill
    journalled: int
    window: float | None  # None: nothing lost

    @property
    def during(self) -> bool:
        """Whether the hub had not received the whole burst at the kill."""
        return self.received < self.size

    @property
    def lost(self) -> int:
        return self.published - self.journalled


def connect(port: int) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"crash-{time.time()}")
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", port, keepalive=60)
    client.loop_start()
    wait_for("the publisher to connect", client.is_connected, timeout=10)
    return client


def received(stack: RealStack) -> int:
    return int(stack.diagnostics()["messages_received"])


def wait_receiving(stack: RealStack, client: mqtt.Client, tag: str) -> int:
    """Publish probes until the hub counts one; its settled counter after."""
    before = received(stack)

    def counted() -> bool:
        client.publish(f"probe/{tag}", b"probe", qos=0)
        return received(stack) > before

    wait_for("the hub to receive", counted, timeout=120)
    time.sleep(0.5)  # a probe still in flight is counted before the burst
    return received(stack)


class Burst:
    """Publish a burst from a thread of its own, until done or stopped."""

    def __init__(self, client: mqtt.Client, topic: str, run: int, size: int) -> None:
        self.published = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._work, args=(client, topic, run, size), daemon=True
        )
        self._thread.start()

    def _work(self, client: mqtt.Client, topic: str, run: int, size: int) -> None:
        for seq in range(size):
            if self._stop.is_set():
                break
            client.publish(topic, b"%d %d %.6f" % (run, seq, time.time()), qos=0)
            self.published += 1

    def stop(self) -> int:
        """Stop publishing; how many were published."""
        self._stop.set()
        self._thread.join()
        return self.published


def one_run(
    stack: RealStack,
    client: mqtt.Client,
    run: int,
    size: int,
    mode: str,
    fraction: float,
    rng: random.Random,
) -> Run:
    """Publish one burst, kill -9 Home Assistant in it or after it, read back."""
    topic = f"crash/{run}"
    base = wait_receiving(stack, client, str(run))
    start = time.monotonic()
    start_wall = time.time()
    if mode == "in-burst":
        target = max(1, int(size * fraction))
        burst = Burst(client, topic, run, size)
        count = 0
        deadline = start + 120
        while time.monotonic() < deadline:
            count = received(stack) - base
            if count >= target:
                break
    else:
        # Home Assistant takes roughly 0.1-0.3 ms a message here; kill anywhere
        # from the start of the burst to a little after it is all delivered.
        kill_at = rng.uniform(0.05, 0.5 + size * 0.00015)
        burst = Burst(client, topic, run, size)
        delay = kill_at - (time.monotonic() - start)
        if delay > 0:
            time.sleep(delay)
        count = received(stack) - base
    killed = stack.kill_hass()
    published = burst.stop()
    records = [r for r in read_since(stack.journal, killed - 3600) if r.topic == topic]
    sequences = [int(r.payload.split()[1]) for r in records]
    assert sequences == list(range(len(sequences))), "journal out of order or gaps"
    window: float | None = None
    if published > len(records):
        # nothing of the burst in the journal: back to the burst's start
        window = killed - (records[-1].timestamp if records else start_wall)
    return Run(size, mode, published, count, len(records), window)


def worst(runs: list[Run]) -> str:
    """The worst window among `runs`, or what else there is to say."""
    if not runs:
        return "none landed"
    windows = [run.window for run in runs if run.window is not None]
    if not windows:
        return "nothing lost"
    return f"worst window {max(windows):.3f} s"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--sizes", default="500,2000,20000")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    rng = random.Random(args.seed)
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="iotitan-crash-") as tmp:
        stack = RealStack(Path(tmp))
        try:
            stack.start_mosquitto()
            started = time.monotonic()
            stack.start_hass()
            print(f"Home Assistant up in {time.monotonic() - started:.0f} s")
            client = connect(stack.mqtt_port)
            number = 0
            print(
                f"{'burst':>6} {'rep':>3} {'kill':>13} {'sent':>6} {'received':>8} "
                f"{'journalled':>10} {'lost':>6} {'at kill':>7} {'window s':>8}"
            )
            for rep in range(args.reps):
                # in-burst kills on even reps (and the first), random on odd
                mode = "in-burst" if rep % 2 == 0 else "random"
                fraction = FRACTIONS[(rep // 2) % len(FRACTIONS)]
                for size in sizes:
                    number += 1
                    run = one_run(stack, client, number, size, mode, fraction, rng)
                    runs.append(run)
                    label = f"{mode} {fraction:.0%}" if mode == "in-burst" else mode
                    window = "-" if run.window is None else f"{run.window:.3f}"
                    print(
                        f"{size:>6} {rep + 1:>3} {label:>13} {run.published:>6} "
                        f"{run.received:>8} {run.journalled:>10} {run.lost:>6} "
                        f"{'during' if run.during else 'after':>7} {window:>8}",
                        flush=True,
                    )
                    stack.start_hass()
            client.loop_stop()
            client.disconnect()
        finally:
            stack.stop()
    for size in sizes:
        of_size = [run for run in runs if run.size == size]
        during = [run for run in of_size if run.during]
        after = [run for run in of_size if not run.during]
        windows = [run.window for run in of_size if run.window is not None]
        overall = f"{max(windows):.3f} s" if windows else "nothing lost"
        print(
            f"bursts of {size}: {len(during)} kills during the burst "
            f"({worst(during)}), {len(after)} after it ({worst(after)}); "
            f"worst loss window {overall} (journal flush interval 1 s)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
