#!/usr/bin/env python3
"""Soak: junk from the broker must not grow Home Assistant's memory without bound.

Runs a real Mosquitto and a real Home Assistant with an IoTitan hub logging
`#` (as scripts/develop starts them; see scripts/real_stack.py), with two
sensor sources capped at 20 topics each: `junk/#` (plain numbers) and
`json/#` (JSON value path `a.b`). Then, through Home Assistant's real MQTT
client:

1. `--messages` (12,000) fuzzed messages: random bytes (0-4 KiB) on random
   topics, 1-2 MiB random payloads (1 in 40), deeply nested JSON (up to
   200,000 levels), JSON with huge numbers and exponents, and topics with
   random unicode levels. NUL is forbidden in MQTT topic names (MQTT 5.0
   section 4.7.3) and Mosquitto closes the connection of a client that
   publishes one: the script shows that once on a client of its own and
   sends no NUL topics to Home Assistant, since none can arrive;
2. `--topics` (20,000) distinct topics with long levels: every other one with
   a 4 KiB level (longer than the 1,024 characters a source keeps), the others
   with a 1,000-character level (kept: they hit the source's topic cap and
   the route cache).

It waits until the hub has counted every message, and prints Home Assistant's
RSS before and after and the hub's bound counters. Not a timed test: the
figure is for the README (goal: under 50 MiB of growth).

Usage: .venv/bin/python scripts/soak_broker_junk.py [--messages N] [--topics N]
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
import functools
import json
from pathlib import Path
import random
import sys
import tempfile
import time

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from real_stack import RealStack, wait_for

MIB = 1024 * 1024
SOURCE_TOPICS = 20


def connect(port: int, name: str) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=name)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", port, keepalive=60)
    client.loop_start()
    wait_for(f"{name} to connect", client.is_connected, timeout=10)
    return client


def nul_topic_refused(port: int) -> bool:
    """Whether the broker drops a client that publishes a topic with NUL."""
    client = connect(port, "soak-nul")
    client.publish("junk/a\x00b", b"1", qos=0)
    try:
        wait_for("the broker to drop the client", lambda: not client.is_connected(), 5)
        refused = True
    except TimeoutError:
        refused = False
    client.loop_stop()
    client.disconnect()
    return refused


def random_level(rng: random.Random, length: int) -> str:
    """Random unicode without NUL, wildcards, separators or surrogates."""
    chars: list[str] = []
    while len(chars) < length:
        code = rng.choice(
            (
                rng.randrange(0x20, 0x7F),
                rng.randrange(0xA0, 0x2FFF),
                rng.randrange(0x1F300, 0x1FAFF),
            )
        )
        char = chr(code)
        if char not in "+#/":
            chars.append(char)
    return "".join(chars)


def fuzzed(rng: random.Random, index: int) -> tuple[str, bytes]:
    """One junk message: (topic, payload)."""
    kind = index % 40
    if kind == 0:
        return f"junk/big/{index % 7}", rng.randbytes(rng.randrange(MIB, 2 * MIB))
    if kind < 16:
        return f"junk/r/{rng.randrange(60)}", rng.randbytes(rng.randrange(4096))
    if kind < 24:
        depth = rng.choice((10, 1000, 20_000, 200_000))
        shape = rng.choice(("[]", "ab"))
        if shape == "[]":
            payload = b"[" * depth + b"]" * depth
        else:
            payload = b'{"a":' * depth + b"1" + b"}" * depth
        return f"json/deep/{rng.randrange(30)}", payload
    if kind < 30:
        number = rng.choice(
            (
                "1" + "0" * rng.randrange(300, 5000),
                f"1e{rng.randrange(300, 10**6)}",
                f"-{2 ** rng.randrange(1000, 4000)}",
                "1.5",
                "NaN",
                "-Infinity",
            )
        )
        return f"json/num/{rng.randrange(30)}", b'{"a":{"b":' + number.encode() + b"}}"
    topic = "/".join(random_level(rng, rng.randrange(1, 40)) for _ in range(3))
    return rng.choice(("junk/u/", "json/u/", "")) + topic, rng.randbytes(16)


def rss(pid: int) -> int:
    return int(psutil.Process(pid).memory_info().rss)


def caught_up(stack: RealStack, target: int) -> bool:
    return bool(stack.diagnostics()["messages_received"] >= target)


# Home Assistant's MQTT client caches the subscriptions matching each topic
# in `MQTT._matching_subscriptions`, an `lru_cache(None)` (no bound) that is
# only cleared when a subscription changes (homeassistant/components/mqtt/
# client.py): every distinct topic that arrives stays in it, whoever
# subscribed. Its size is estimated from the topics sent: the topic string
# plus about 200 bytes (cache link, key, list of subscriptions) per topic.
CORE_CACHE_ENTRY = 200
TOPICS_SENT: set[str] = set()


def core_cache_estimate() -> int:
    return sum(sys.getsizeof(topic) + CORE_CACHE_ENTRY for topic in TOPICS_SENT)


def send_all(
    stack: RealStack,
    client: mqtt.Client,
    count: int,
    make: Callable[[int], tuple[str, bytes]],
    sent_before: int,
) -> int:
    """Publish `count` messages from `make(i)`, pacing on the hub's counter."""
    sent = sent_before
    for index in range(count):
        topic, payload = make(index)
        TOPICS_SENT.add(topic)
        info = client.publish(topic, payload, qos=1)
        info.wait_for_publish(timeout=30)
        sent += 1
        if index % 500 == 499:  # keep at most ~1,000 messages in flight
            wait_for(
                "the hub to catch up",
                functools.partial(caught_up, stack, sent - 500),
                timeout=300,
            )
    return sent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=12_000)
    parser.add_argument("--topics", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=12)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="iotitan-soak-") as tmp:
        stack = RealStack(Path(tmp))
        try:
            stack.start_mosquitto()
            stack.start_hass()
            stack.add_sensor("junk/#", max_topics=SOURCE_TOPICS)
            stack.add_sensor("json/#", max_topics=SOURCE_TOPICS, value_path="a.b")
            print(
                f"NUL in a topic refused by the broker: {nul_topic_refused(stack.mqtt_port)}"
            )
            client = connect(stack.mqtt_port, "soak")
            # Warm up: half of each source's topics exist, entities are
            # created (the fuzzed messages take the other half).
            sent = 0
            for index in range(3 * SOURCE_TOPICS // 2):
                prefix = ("junk", "json", "other")[index % 3]
                payload = b'{"a":{"b":1}}' if prefix == "json" else b"1"
                client.publish(
                    f"{prefix}/warm/{index}", payload, qos=1
                ).wait_for_publish(30)
                sent += 1
            wait_for(
                "the warm-up",
                lambda: stack.diagnostics()["messages_received"] >= sent,
                120,
            )
            time.sleep(15)  # entities written, recorder settled
            before = rss(stack.hass_pid)
            print(f"RSS after warm-up: {before / MIB:.1f} MiB")

            sent = send_all(
                stack, client, args.messages, lambda i: fuzzed(rng, i), sent
            )
            wait_for(
                "all fuzzed messages",
                lambda: stack.diagnostics()["messages_received"] >= sent,
                600,
            )
            middle = rss(stack.hass_pid)
            print(
                f"RSS after {args.messages} fuzzed messages: {middle / MIB:.1f} MiB "
                f"(+{(middle - before) / MIB:.1f} MiB)"
            )

            def long_topic(index: int) -> tuple[str, bytes]:
                level = ("x" * 4096) if index % 2 == 0 else ("y" * 1000)
                return f"junk/{index}/{level}", b"1"

            sent = send_all(stack, client, args.topics, long_topic, sent)
            wait_for(
                "all long topics",
                lambda: stack.diagnostics()["messages_received"] >= sent,
                600,
            )
            time.sleep(5)
            after = rss(stack.hass_pid)
            hub = stack.diagnostics()
            client.loop_stop()
            client.disconnect()
        finally:
            stack.stop()
    print(f"RSS after {args.topics} long topics: {after / MIB:.1f} MiB")
    # The hub also sees Home Assistant's own birth message (`#`).
    print(f"messages received by the hub: {hub['messages_received']} of {sent} sent")
    print(f"payloads rejected: {json.dumps(hub['payloads_rejected'], sort_keys=True)}")
    print(f"route cache: {json.dumps(hub['route_cache'], sort_keys=True)}")
    for source in hub["sources"].values():
        print(
            f"source {source['topic_filter']}: topics {len(source['topics'])}, "
            f"over limit {source['topics_over_limit']} "
            f"(+{source['topics_over_limit_untracked']} untracked), "
            f"too long {source['messages_topic_too_long']}"
        )
    core = core_cache_estimate()
    print(
        f"Home Assistant's MQTT match cache (no bound, not IoTitan's): about "
        f"{core / MIB:.1f} MiB for the {len(TOPICS_SENT)} distinct topics sent"
    )
    print(
        f"RSS growth: {(after - before) / MIB:.1f} MiB "
        f"(goal: under 50 MiB) in {time.monotonic() - started:.0f} s; "
        f"without Home Assistant's MQTT match cache: about "
        f"{(after - before - core) / MIB:.1f} MiB"
    )
    return 0 if hub["messages_received"] >= sent else 1


if __name__ == "__main__":
    sys.exit(main())
