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

It waits until the hub has counted every message and prints, per phase,
Home Assistant's RSS growth, the hub's bound counters, and the share of Home
Assistant's own MQTT match cache estimated from the topics sent (see
`core_cache_estimate`). Not a timed test: the figure is for the README (goal:
under 50 MiB of growth).

Then, unless `--no-split`, it splits the growth by measuring from inside
Home Assistant, through a small debugging integration the script installs in
the test configuration only (`soak_probe`, written below; not part of
IoTitan, which reads no private Home Assistant attribute):
1. `malloc_trim(0)` (glibc): the memory the allocator held free and gives
   back (freed payload copies the heap could not return: fragmentation);
2. the MQTT client's match cache cleared (Home Assistant's; it refills on
   demand), then trimmed again: what that cache held;
3. the IoTitan hub unloaded, then trimmed again: everything IoTitan still held
   (its share of the growth is at most that; it held a little at the start).
What is left is other growth of Home Assistant (registries, states and the
recorder for the topics' entities, caches) and free memory that malloc_trim
cannot give back (partly used pages, Python's own arenas). Run it with allocator settings in
the environment (`MALLOC_MMAP_THRESHOLD_=131072`, or jemalloc through
`LD_PRELOAD`) to compare: the script prints which ones Home Assistant got.
jemalloc has no malloc_trim; it gives freed memory back after its decay time,
so with it each step waits `--settle` seconds (45 by default) instead.
`--trim-between` (debugging) also trims after the fuzzed messages, to see the
first phase's fragmentation on its own (it changes the second phase's start).

Usage: .venv/bin/python scripts/soak_broker_junk.py [--messages N] [--topics N]
       [--no-split] [--trim-between] [--settle SECONDS]
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
import functools
import json
import os
from pathlib import Path
import random
import sys
import tempfile
import time
from typing import Any

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
# The split at the end measures it (`soak_probe`).
CORE_CACHE_ENTRY = 200
TOPICS_SENT: set[str] = set()


def core_cache_estimate(topics: set[str]) -> int:
    return sum(sys.getsizeof(topic) + CORE_CACHE_ENTRY for topic in topics)


# A debugging integration installed in the soak's own configuration only. It
# reads Home Assistant internals (the MQTT client's match cache) on purpose:
# IoTitan itself never does.
PROBE_MANIFEST = {
    "domain": "soak_probe",
    "name": "Soak probe (scripts/soak_broker_junk.py)",
    "version": "0.0.0",
    "documentation": "https://example.invalid",
    "codeowners": [],
    "requirements": [],
    "iot_class": "local_push",
}
PROBE_CODE = '''"""Debugging probe of scripts/soak_broker_junk.py: never installed for users."""

import ctypes
import gc
import os

from homeassistant.core import HomeAssistant, ServiceCall, SupportsResponse

DOMAIN = "soak_probe"
PAGE = os.sysconf("SC_PAGE_SIZE")


def _rss():
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * PAGE


def _trim():
    gc.collect()
    try:
        return int(ctypes.CDLL("libc.so.6").malloc_trim(0))
    except (OSError, AttributeError):
        return -1


def _match_cache():
    from homeassistant.components.mqtt.client import MQTT

    return MQTT._matching_subscriptions


async def async_setup(hass: HomeAssistant, config) -> bool:
    async def measure(call: ServiceCall):
        result = {"rss": _rss()}
        cache = _match_cache()
        result["match_cache_entries"] = cache.cache_info().currsize
        if call.data.get("unload"):
            for entry in hass.config_entries.async_entries("iotitan"):
                await hass.config_entries.async_unload(entry.entry_id)
        if call.data.get("clear_match_cache"):
            cache.cache_clear()
        if call.data.get("trim"):
            result["trim_released"] = _trim()
        result["rss_after"] = _rss()
        return result

    hass.services.async_register(
        DOMAIN, "measure", measure, supports_response=SupportsResponse.ONLY
    )
    return True
'''


def install_probe(stack: RealStack) -> None:
    """Put `soak_probe` in the test configuration (before Home Assistant starts)."""
    config = stack.state_dir.config
    probe_dir = config / "custom_components" / "soak_probe"
    probe_dir.mkdir(parents=True, exist_ok=True)
    (probe_dir / "manifest.json").write_text(
        json.dumps(PROBE_MANIFEST), encoding="utf-8"
    )
    (probe_dir / "__init__.py").write_text(PROBE_CODE, encoding="utf-8")
    configuration = config / "configuration.yaml"
    text = configuration.read_text(encoding="utf-8")
    if "\nsoak_probe:" not in text:
        configuration.write_text(text + "\nsoak_probe:\n", encoding="utf-8")


def probe(stack: RealStack, **steps: bool) -> dict[str, Any]:
    """Run the probe's steps (unload, clear_match_cache, trim) in that order."""
    answer = stack.api.request(
        "POST",
        "/api/services/soak_probe/measure?return_response",
        steps,
        timeout=300,
    )
    return dict(answer["service_response"])


def allocator_settings() -> str:
    """The allocator settings Home Assistant inherits from this environment."""
    names = sorted(
        name
        for name in os.environ
        if name.startswith("MALLOC_") or name == "LD_PRELOAD"
    )
    return ", ".join(f"{name}={os.environ[name]}" for name in names) or (
        "none (glibc malloc with its defaults)"
    )


def send_all(
    stack: RealStack,
    client: mqtt.Client,
    count: int,
    make: Callable[[int], tuple[str, bytes]],
    sent_before: int,
) -> tuple[int, set[str]]:
    """Publish `count` messages from `make(i)`, pacing on the hub's counter.

    Returns the hub's new total and the topics sent for the first time.
    """
    sent = sent_before
    new: set[str] = set()
    for index in range(count):
        topic, payload = make(index)
        if topic not in TOPICS_SENT:
            TOPICS_SENT.add(topic)
            new.add(topic)
        info = client.publish(topic, payload, qos=1)
        info.wait_for_publish(timeout=30)
        sent += 1
        if index % 500 == 499:  # keep at most ~1,000 messages in flight
            wait_for(
                "the hub to catch up",
                functools.partial(caught_up, stack, sent - 500),
                timeout=300,
            )
    wait_for(
        "the hub to count every message",
        functools.partial(caught_up, stack, sent),
        timeout=600,
    )
    return sent, new


def print_hub(hub: dict[str, Any]) -> None:
    """The hub's bound counters."""
    print(
        f"  payloads rejected: {json.dumps(hub['payloads_rejected'], sort_keys=True)}"
    )
    print(f"  route cache: {json.dumps(hub['route_cache'], sort_keys=True)}")
    journal = hub["journal"]
    print(
        f"  journal: {journal['records_written']} records written, "
        f"{journal['buffered']} waiting, {journal['truncated']} payloads cut "
        f"to 1 MiB; syslog: {hub['syslog']['state']}, "
        f"{hub['syslog']['queued']} queued"
    )
    for source in hub["sources"].values():
        print(
            f"  source {source['topic_filter']}: topics {len(source['topics'])}, "
            f"over limit {source['topics_over_limit']} "
            f"(+{source['topics_over_limit_untracked']} untracked), "
            f"too long {source['messages_topic_too_long']}"
        )


def phase_report(
    name: str, before: int, after: int, new_topics: set[str], hub: dict[str, Any]
) -> None:
    """One phase's RSS growth, the match cache's estimated share, the counters."""
    cache = core_cache_estimate(new_topics)
    print(
        f"{name}: RSS {after / MIB:.1f} MiB, growth {(after - before) / MIB:+.1f} "
        f"MiB; {len(new_topics)} new distinct topics, Home Assistant's match "
        f"cache for them about {cache / MIB:.1f} MiB (estimated); without it "
        f"{(after - before - cache) / MIB:+.1f} MiB",
        flush=True,
    )
    print_hub(hub)


def split(stack: RealStack, before: int, after: int, settle: float) -> None:
    """Measure what of the growth is whose (see the module doc).

    `settle`: seconds to wait after each step before reading RSS (jemalloc
    gives freed memory back only after its decay time; glibc at once).
    """

    def step(**steps: bool) -> int:
        probe(stack, **steps)
        time.sleep(settle)
        return rss(stack.hass_pid)

    start = rss(stack.hass_pid)
    trimmed = step(trim=True)
    entries = probe(stack)["match_cache_entries"]
    cleared = step(clear_match_cache=True, trim=True)
    unloaded = step(unload=True, trim=True)
    growth = after - before
    allocator = start - trimmed
    cache = trimmed - cleared
    iotitan = cleared - unloaded
    rest = growth - allocator - cache - iotitan
    print(
        f"Split of the {growth / MIB:.1f} MiB growth (measured inside Home Assistant):"
    )
    print(
        f"  allocator: {allocator / MIB:.1f} MiB held free by malloc and given "
        f"back by malloc_trim(0){f' and {settle:g} s' if settle else ''} "
        f"(fragmentation, not memory anyone keeps)"
    )
    print(
        f"  Home Assistant's MQTT match cache: {cache / MIB:.1f} MiB "
        f"({entries} topics before it was cleared; freed by clearing it; "
        f"estimated from the topics sent: "
        f"{core_cache_estimate(TOPICS_SENT) / MIB:.1f} MiB)"
    )
    print(
        f"  IoTitan: at most {iotitan / MIB:.1f} MiB (freed by unloading the "
        f"hub; includes what it held before the soak)"
    )
    print(
        f"  the rest: {rest / MIB:.1f} MiB (Home Assistant's other growth: "
        f"registries, states, recorder for the topics' entities and devices; "
        f"and free memory malloc_trim cannot give back: partly used pages, "
        f"Python's own arenas)"
    )
    print(
        f"RSS growth without the allocator's free memory and the match cache: "
        f"{(growth - allocator - cache) / MIB:.1f} MiB; IoTitan's part at most "
        f"{iotitan / MIB:.1f} MiB (goal: under 50 MiB)",
        flush=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=12_000)
    parser.add_argument("--topics", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument(
        "--no-split", action="store_true", help="skip the measured split at the end"
    )
    parser.add_argument(
        "--trim-between",
        action="store_true",
        help="debugging: malloc_trim after the fuzzed messages too",
    )
    parser.add_argument(
        "--settle",
        type=float,
        default=None,
        help="seconds to wait after each split step (default 0; 45 with jemalloc)",
    )
    args = parser.parse_args()
    rng = random.Random(args.seed)
    started = time.monotonic()
    print(f"allocator settings: {allocator_settings()}")
    with tempfile.TemporaryDirectory(prefix="iotitan-soak-") as tmp:
        stack = RealStack(Path(tmp))
        try:
            install_probe(stack)
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
                topic = f"{prefix}/warm/{index}"
                TOPICS_SENT.add(topic)
                client.publish(topic, payload, qos=1).wait_for_publish(30)
                sent += 1
            wait_for(
                "the warm-up",
                lambda: stack.diagnostics()["messages_received"] >= sent,
                120,
            )
            time.sleep(15)  # entities written, recorder settled
            before = rss(stack.hass_pid)
            print(f"RSS after warm-up: {before / MIB:.1f} MiB", flush=True)

            sent, new = send_all(
                stack, client, args.messages, lambda i: fuzzed(rng, i), sent
            )
            time.sleep(5)
            middle = rss(stack.hass_pid)
            phase_report(
                f"after {args.messages} fuzzed messages",
                before,
                middle,
                new,
                stack.diagnostics(),
            )
            if args.trim_between:
                trimmed = probe(stack, trim=True)
                print(
                    f"  malloc_trim(0) gave back "
                    f"{(trimmed['rss'] - trimmed['rss_after']) / MIB:.1f} MiB "
                    f"(the phase's growth without it: "
                    f"{(trimmed['rss_after'] - before) / MIB:+.1f} MiB)",
                    flush=True,
                )
                middle = rss(stack.hass_pid)

            def long_topic(index: int) -> tuple[str, bytes]:
                level = ("x" * 4096) if index % 2 == 0 else ("y" * 1000)
                return f"junk/{index}/{level}", b"1"

            sent, new = send_all(stack, client, args.topics, long_topic, sent)
            time.sleep(5)
            after = rss(stack.hass_pid)
            hub = stack.diagnostics()
            phase_report(f"after {args.topics} long topics", middle, after, new, hub)
            client.loop_stop()
            client.disconnect()
            # The hub also sees Home Assistant's own birth message (`#`).
            print(
                f"messages received by the hub: {hub['messages_received']} "
                f"of {sent} sent"
            )
            core = core_cache_estimate(TOPICS_SENT)
            print(
                f"RSS growth: {(after - before) / MIB:.1f} MiB "
                f"(goal: under 50 MiB) in {time.monotonic() - started:.0f} s; "
                f"without Home Assistant's MQTT match cache: about "
                f"{(after - before - core) / MIB:.1f} MiB (estimated from the "
                f"{len(TOPICS_SENT)} distinct topics sent: {core / MIB:.1f} MiB)",
                flush=True,
            )
            if not args.no_split:
                settle = args.settle
                if settle is None:
                    settle = (
                        45.0 if "jemalloc" in os.environ.get("LD_PRELOAD", "") else 0
                    )
                split(stack, before, after, settle)
        finally:
            stack.stop()
    return 0 if hub["messages_received"] >= sent else 1


if __name__ == "__main__":
    sys.exit(main())
