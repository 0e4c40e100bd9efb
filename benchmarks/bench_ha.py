"""Benchmark IoTitan against Home Assistant's own way and against bare MQTT dispatch.

Run from the repository root::

    .venv/bin/python -m benchmarks.bench_ha              # T = 10 and 100, ~5-6 min
    .venv/bin/python -m benchmarks.bench_ha --quick      # T = 10 only, ~1 min
    .venv/bin/python -m benchmarks.bench_ha --ablation   # + what each part costs
    .venv/bin/python -m benchmarks.bench_ha --json out.json   # + every figure
    .venv/bin/python -m benchmarks.bench_ha --large-home      # bench_large_home
    .venv/bin/python -m benchmarks.bench_ha --readings        # bench_readings_ha
    .venv/bin/python -m benchmarks.bench_ha --topics 10,1000 --no-restart --no-scaling
        # IoTitan's own cost at 10 and 1,000 topics (no chain above 100), ~6 min

Every contender runs inside Home Assistant's test harness
(pytest-homeassistant-custom-component: a real event loop, state machine,
entity platforms and config entries, the real MQTT integration over the
harness's mocked paho client), one scenario per process
(``benchmarks/ha_scenarios.py``, run by pytest; it is not part of the normal
test run, which collects ``tests/`` only):

1. bare: a subscription with a callback that only counts: the floor, Home
   Assistant's own MQTT dispatch. It runs inside each contender's process, a
   bare segment right after each of the contender's segments (as many
   messages, on topics only it subscribes to, the simulated clock standing
   still), so every ratio pairs segments run moments apart in one process:
   this machine's speed drifts by a third from one minute to the next;
2. IoTitan: the hub with a wildcard sensor source over T topics, two windows,
   1 hour at 1 Hz (3,600 samples) and 10 minutes (``--one-window``: the hour
   only), statistics mean, median, min, max, standard deviation and 95th
   percentile of each, a high alert (one per topic),
   journal on, syslog over UDP to a throwaway receiver on 127.0.0.1 (a thread
   of this process, so its CPU time is not counted), MQTT output on;
3. chain: core's way: an MQTT sensor per topic (YAML, ``force_update`` so that
   repeated readings reach the statistics), six ``statistics`` sensors per
   topic (max_age 1 h, sampling_size 4,000) and a ``threshold`` binary sensor
   per topic (the same on/off band as IoTitan's alert); not run above
   CHAIN_MAX_TOPICS topics (6,000 statistics sensors would take most of an
   hour to feed).

IoTitan's own cost is its CPU per message minus that of the bare-dispatch
segment right after it, by direct injection (median over the pairs), printed
per topic count against TARGET_OWN_US.

Windows are pre-filled first (IoTitan from a journal this process writes, as
after a restart; core's statistics buffers directly, since feeding 360,000
readings through the chain would take most of an hour), then every contender
gets the same stream: each simulated second one message per topic, then one
event loop iteration. Time is simulated, so timers (IoTitan's 10 s update
tick and 60 s MQTT output, core's purge timers, the journal's 1 s flush) fire
as they would with real traffic. After a 10 s warm-up both sides' statistics
of topic 0 and their alert states are compared (they must agree).

Messages are injected two ways, in alternating segments of the same stream:
``harness`` is the harness's ``async_fire_mqtt_message`` (which adds a Mock
and a recording MagicMock call per message, about 50-100 us here); ``direct``
hands a paho ``MQTTMessage`` straight to the real client's
``_async_mqtt_on_message``, as paho does with a broker, with Home Assistant's
MQTT API on the real client (not the harness's MagicMock around it) and the
mocked paho ``publish`` (which echoes every publish back through
``async_fire_mqtt_message``) replaced by a stub that only acknowledges it.
``direct`` is what production costs, less paho's socket and packet work.

CPU time is ``time.process_time()`` (every thread of the scenario's process:
the journal's executor writes count), from the first message of a segment
until its effects are done (tasks finished, journal flushed, syslog spool
sent, MQTT output published); figures are the median segment. Peak memory is
the growth of the process's peak RSS, through setup, pre-fill and the warm-up,
over its RSS before the contender was set up (the harness's mocks keep every
message they inject, so later segments would inflate it); "windows MiB" is
what the windows (IoTitan) or the statistics buffers (core) hold, by
tracemalloc.

This machine is shared: a busy neighbour moves every figure by tens of
percent from one process to the next, so the comparisons that must be exact
run in one process with their segments interleaved: the window-size table
(IoTitan at 600, 3,600 and 36,000 samples, T = 10, windows swapped between
segments) and, with ``--ablation``, IoTitan with syslog, the alert, the MQTT
output and entity updates switched off in turn.

Restart (T = 100): IoTitan replaying its journal (the hub is unloaded and set
up again) against core's 600 statistics sensors restoring the same hour from
the recorder (SQLite in a temporary file; the first 10 s of states go through
the recorder, the rest are bulk-inserted as the same rows: through the
recorder an hour of 100 sensors takes about 7 minutes here).
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
import json
import math
import os
from pathlib import Path
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any

if not __package__:  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.ha_common import HUB_ENTRY_ID, write_journal

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = "benchmarks/ha_scenarios.py"
SPEC_ENV = "IOTITAN_BENCH_SPEC"

TARGET_CHAIN_RATIO = 30.0  # IoTitan's throughput >= 30x the chain's
TARGET_BARE_RATIO = 3.0  # IoTitan's CPU per message <= 3x bare dispatch
TARGET_OWN_US = 25.0  # IoTitan's own CPU per message above bare dispatch (direct)
CHAIN_MAX_TOPICS = 100  # core's chain above this would take most of an hour
EXTRA_WINDOWS = (600,)  # IoTitan's second window (seconds), besides the main one
SCALING_WINDOWS = (600, 3600, 36_000)


@dataclass
class Plan:
    """What to run: simulated seconds and segments per contender and topic count."""

    topics: list[int]
    seconds: dict[str, dict[int, int]] = field(
        default_factory=lambda: {
            # One segment of 60 s holds six update ticks and one MQTT output
            # publication; the chain (~10 ms a message) gets shorter ones.
            "iotitan": {10: 60, 100: 60, 1000: 60},
            "chain": {10: 20, 100: 10},
        }
    )
    segments: dict[str, int] = field(default_factory=lambda: {"iotitan": 5, "chain": 3})
    scaling: tuple[int, ...] = SCALING_WINDOWS
    restart: bool = True
    ablation: bool = False
    chain: bool = True
    extra_windows: tuple[int, ...] = EXTRA_WINDOWS

    def spec(self, kind: str, topics: int) -> dict[str, Any]:
        """Stream length of one contender."""
        # At least 60 s: a segment holds one MQTT output publication.
        seconds = self.seconds[kind].get(topics, 60 if kind == "iotitan" else 10)
        return {"seconds": seconds, "segments": self.segments[kind]}


def load_average() -> str:
    """The 1-minute load average, and how many CPUs share it."""
    return f"{os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs)"


def print_report(
    lines: list[str],
    results: dict[str, Any],
    datagrams: int,
    began: float,
    json_path: Path | None,
) -> None:
    """Print the report with the run's closing line; write every figure as JSON."""
    lines.append("")
    lines.append(
        f"Syslog receiver got {datagrams:,} datagrams. Load average after the run"
        f" {load_average()}. Total benchmark time: {time.perf_counter() - began:.0f} s"
    )
    print("\n".join(lines))
    if json_path:
        json_path.write_text(json.dumps(results, indent=1), encoding="utf-8")


class TcpReceiver:
    """A syslog-over-TCP sink: accepts connections and discards what arrives.

    On its own loop in its own thread of this process, like `UdpReceiver`.
    """

    def __init__(self) -> None:
        """Nothing runs until the context is entered."""
        self.port = 0
        self.bytes = 0
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Future[None] | None = None
        self._thread = threading.Thread(target=asyncio.run, args=(self._serve(),))

    async def _handle(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        while data := await reader.read(1 << 16):
            self.bytes += len(data)
        writer.close()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = self._loop.create_future()
        server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        await self._stop
        server.close()

    def __enter__(self) -> TcpReceiver:
        """Start serving."""
        self._thread.start()
        self._ready.wait()
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Stop serving."""
        assert self._loop is not None and self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set_result, None)
        self._thread.join()


class Runner:
    """Runs scenarios in child processes and collects their figures."""

    scenarios = SCENARIOS
    """The module whose test functions the scenarios are."""

    def __init__(
        self,
        workdir: Path,
        syslog_port: int,
        syslog_tcp_port: int,
        profile: Path | None,
    ) -> None:
        """Scenarios write their config dirs and results under `workdir`."""
        self.workdir = workdir
        self.syslog_port = syslog_port
        self.syslog_tcp_port = syslog_tcp_port
        self.profile = profile
        self.count = 0

    def run(self, test: str, spec: dict[str, Any], label: str) -> dict[str, Any]:
        """Run one scenario; return its result (raise with its output if it failed)."""
        self.count += 1
        name = f"{self.count:02d}-" + "".join(
            char if char.isalnum() or char in "=-" else "_" for char in label
        )
        result_path = self.workdir / f"{name}.json"
        spec = {
            "syslog_port": self.syslog_port,
            "syslog_tcp_port": self.syslog_tcp_port,
            "config_dir": str(self.workdir / "config-none"),
            **spec,
            "result": str(result_path),
        }
        env = dict(os.environ)
        if self.profile is not None:
            spec["profile"] = str(self.profile / name)
            env["PYTHONPATH"] = os.pathsep.join(
                [*filter(None, [env.get("PYTHONPATH")]), *profiler_paths()]
            )
        env[SPEC_ENV] = json.dumps(spec)
        began = time.perf_counter()
        print(f"  {label:<28}", end="", flush=True, file=sys.stderr)
        process = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                f"{self.scenarios}::{test}",
                "-q",
                "-p",
                "no:cacheprovider",
                "--no-header",
                "-x",
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        elapsed = time.perf_counter() - began
        print(f" {elapsed:6.1f} s", file=sys.stderr)
        if process.returncode != 0 or not result_path.exists():
            # pytest's report without the captured log lines.
            report = [
                line
                for line in process.stdout.splitlines()
                if not line.startswith(("INFO ", "DEBUG ", "WARNING "))
            ]
            sys.stderr.write("\n".join(report[-150:]) + process.stderr[-3000:])
            raise RuntimeError(f"scenario {label} failed")
        result: dict[str, Any] = json.loads(result_path.read_text(encoding="utf-8"))
        result["process_seconds"] = elapsed
        return result

    def config_dir(self, label: str, topics: int, window: int) -> str:
        """A Home Assistant config dir holding a hub journal of `window` seconds."""
        directory = self.workdir / f"config-{label}"
        journal = directory / "iotitan" / HUB_ENTRY_ID
        if directory.exists():
            shutil.rmtree(directory)
        journal.mkdir(parents=True)
        write_journal(journal, topics, window)
        return str(directory)


def profiler_paths() -> list[str]:
    """site-packages of a separate venv with pyinstrument (see --profile)."""
    venv = Path(os.environ.get("IOTITAN_PROFILER_VENV", "/tmp/profvenv"))
    return [str(path) for path in venv.glob("lib/python3*/site-packages")]


def run_plan(plan: Plan, runner: Runner) -> dict[str, Any]:
    """Every scenario of the plan, in a fixed order."""
    results: dict[str, Any] = {"main": {}, "restart": {}}
    for topics in plan.topics:
        row: dict[str, Any] = {}
        restart = plan.restart and topics == 100
        row["iotitan"] = runner.run(
            "test_stream",
            {
                "kind": "iotitan",
                "topics": topics,
                **plan.spec("iotitan", topics),
                "window": 3600,
                "extra_windows": list(plan.extra_windows),
                "restart": restart,
                "config_dir": runner.config_dir(f"iotitan-{topics}", topics, 3600),
            },
            f"IoTitan T={topics}" + (" + restart" if restart else ""),
        )
        if plan.chain and topics <= CHAIN_MAX_TOPICS:
            row["chain"] = runner.run(
                "test_stream",
                {"kind": "chain", "topics": topics, **plan.spec("chain", topics)},
                f"chain T={topics}",
            )
        results["main"][topics] = row
        if restart:
            results["restart"]["iotitan"] = row["iotitan"]["restart"]
            results["restart"]["chain"] = runner.run(
                "test_chain_restart",
                {"kind": "chain_restart", "topics": topics, "window": 3600},
                f"chain restart T={topics}",
            )
    if plan.ablation:
        topics = plan.topics[0]
        results["ablation"] = runner.run(
            "test_stream",
            {
                "kind": "iotitan",
                "topics": topics,
                "seconds": plan.seconds["iotitan"].get(topics, 60),
                "segments": 7,
                "window": 3600,
                "extra_windows": list(plan.extra_windows),
                "ablation": True,
                "config_dir": runner.config_dir(f"ablation-{topics}", topics, 3600),
            },
            f"IoTitan T={topics}, ablation",
        )
    if plan.scaling:
        largest = max(plan.scaling)
        results["scaling"] = runner.run(
            "test_stream",
            {
                "kind": "iotitan",
                "topics": 10,
                "seconds": plan.seconds["iotitan"].get(10, 60),
                "segments": 5,
                "window": largest,
                "scaling": list(plan.scaling),
                "config_dir": runner.config_dir("scaling", 10, largest),
            },
            f"IoTitan T=10, windows {'/'.join(f'{size:,}' for size in plan.scaling)}",
        )
    return results


# -- report ---------------------------------------------------------------------------


def mode(result: dict[str, Any], name: str) -> dict[str, Any]:
    """The figures of one injection mode."""
    return result["modes"][name]


def mib(kib: float) -> float:
    """KiB to MiB."""
    return kib / 1024


def peak_growth(result: dict[str, Any]) -> float:
    """Peak RSS growth over the RSS before the contender was set up, MiB."""
    return mib(result["peak_rss_kib"] - result["rss_before_kib"])


def paired(result: dict[str, Any], name: str, key: str) -> float:
    """Median over rounds of a contender's segment against the floor right after it.

    `key` is "cpu" (CPU per message) or "wall" (time per message, the inverse
    of throughput); both segments of a pair hold the same number of messages.
    """
    own = mode(result, name)["segments"]
    floor = mode(result, f"floor {name}")["segments"]
    return statistics.median(a[key] / b[key] for a, b in zip(own, floor, strict=True))


def paired_difference(result: dict[str, Any], name: str) -> float:
    """Median over rounds of a contender's CPU per message minus the floor's
    right after it, us: its own cost above bare dispatch."""
    own = mode(result, name)["segments"]
    floor = mode(result, f"floor {name}")["segments"]
    return statistics.median(
        (a["cpu"] / a["messages"] - b["cpu"] / b["messages"]) * 1e6
        for a, b in zip(own, floor, strict=True)
    )


def report(results: dict[str, Any], modes: list[str]) -> list[str]:
    """The tables, as lines."""
    lines: list[str] = []
    out = lines.append
    for topics, row in results["main"].items():
        iot, chain = row["iotitan"], row.get("chain")
        windows = " and ".join(
            f"{seconds:,.0f} s" for seconds in iot.get("windows", [iot["window"]])
        )
        out("")
        out(
            f"T = {topics} topics, 3,600-sample windows"
            f" ({iot['window_samples'][0]:,}-{iot['window_samples'][1]:,} in IoTitan's"
            + (
                f", {chain['window_samples'][0]:,}-{chain['window_samples'][1]:,}"
                " in core's"
                if chain
                else ""
            )
            + f"), 1 msg/s per topic; IoTitan's windows: {windows}"
        )
        out(
            f"  {'':<22}{'injection':<10}{'messages':>9}{'msg/s':>10}"
            f"{'CPU us/msg':>12}{'peak MiB':>10}{'windows MiB':>13}{'setup s':>9}"
        )
        rows = [("IoTitan", iot, ""), ("bare, IoTitan's proc.", iot, "floor ")]
        if chain:
            rows += [("chain", chain, ""), ("bare, chain's proc.", chain, "floor ")]
        for label, result, prefix in rows:
            for name in modes:
                figures = mode(result, prefix + name)
                setup = None if prefix else result.get("setup_seconds")
                held = None if prefix else result.get("window_bytes")
                peak = "" if prefix else f"{peak_growth(result):.1f}"
                out(
                    f"  {label:<22}{name:<10}{figures['messages']:>9,}"
                    f"{figures['median_messages_per_second']:>10,.0f}"
                    f"{figures['median_cpu_per_message_us']:>12,.1f}"
                    f"{peak:>10}"
                    f"{'' if held is None else f'{held / 2**20:.1f}':>13}"
                    f"{'' if setup is None else f'{setup:.1f}':>9}"
                )
        for name in modes:
            cpu_ratio = paired(iot, name, "cpu")
            text = (
                f"  ratios ({name}): IoTitan/bare CPU x{cpu_ratio:.2f}"
                f" (target <= {TARGET_BARE_RATIO:g}:"
                f" {verdict(cpu_ratio <= TARGET_BARE_RATIO)})"
            )
            if chain:
                chain_cpu = paired(chain, name, "cpu") / cpu_ratio
                chain_rate = paired(chain, name, "wall") / paired(iot, name, "wall")
                i, c = mode(iot, name), mode(chain, name)
                raw_rate = (
                    i["median_messages_per_second"] / c["median_messages_per_second"]
                )
                text += (
                    f"; chain/IoTitan CPU x{chain_cpu:.1f}, throughput IoTitan/chain"
                    f" x{chain_rate:.1f} (target >= {TARGET_CHAIN_RATIO:g}:"
                    f" {verdict(chain_rate >= TARGET_CHAIN_RATIO)});"
                    f" across processes, unadjusted: throughput x{raw_rate:.1f}"
                )
            out(text)
        if "direct" in modes:
            own = paired_difference(iot, "direct")
            out(
                f"  T = {topics}: own cost above bare dispatch, direct injection:"
                f" {own:.1f} us/msg (target <= {TARGET_OWN_US:g}:"
                f" {verdict(own <= TARGET_OWN_US)}; bare dispatch"
                f" {mode(iot, 'floor direct')['median_cpu_per_message_us']:.1f} us/msg)"
            )
        if chain:
            same = iot["topic0_statistics"] == chain["topic0_statistics"]
            out(
                f"  check at second {iot['second']:,}: topic 0's statistics"
                f" {'agree' if same else 'DIFFER'}"
                f" (IoTitan {fmt_stats(iot['topic0_statistics'])};"
                f" core {fmt_stats(chain['topic0_statistics'])});"
                f" alerts on: IoTitan {iot['alerts_on']}, threshold {chain['alerts_on']}"
            )
        out(
            f"  IoTitan: syslog sent {iot['syslog_sent']:,}"
            f" (dropped {iot['syslog_dropped']}),"
            f" journal {iot['journal_written']:,} (dropped {iot['journal_dropped']}),"
            f" {iot['statistic_entities']:,} sensor entities"
        )
    if results["main"]:
        out(
            "  Ratios pair each segment with the bare-dispatch segment run right"
            " after it in the same process (median over the pairs); chain/IoTitan"
            " divides the two processes' multiples of bare dispatch, so a change"
            " in the machine's speed between processes cancels out."
        )
    if scaling := results.get("scaling"):
        sizes = sorted(scaling["scaling"], key=int)
        rounds = len(scaling["scaling"][sizes[0]]["segments_us"])
        out("")
        out(
            "IoTitan, T = 10, window size vs cost per message (one process, segments"
            f" interleaved, direct injection, {rounds} rounds)"
        )
        out(
            f"  {'window':>8}{'samples':>9}{'CPU us/msg':>12}{'vs smallest':>13}"
            f"{'add':>8}{'6 stats':>9}{'KiB/window':>12}"
        )
        for size in sizes:
            figures = scaling["scaling"][size]
            out(
                f"  {int(size):>8,}{figures['samples']:>9,}"
                f"{figures['median_cpu_per_message_us']:>12.1f}"
                f"{figures['median_difference_us']:>+13.1f}"
                f"{figures['window_add_us']:>8.2f}{figures['window_queries_us']:>9.2f}"
                f"{figures['window_bytes'] / 1024:>12,.0f}"
            )
        out(
            "  CPU us/msg: median segment; vs smallest: median difference to the"
            " smallest window's segment of the same round; add: SlidingWindow.add"
            " expiring the oldest sample, 6 stats: the six statistics read right"
            " after an add (entities read them once per update tick), both us"
        )
        windows = [int(size) for size in sizes]
        for label, key in (
            ("whole message path", "median_difference_us"),
            ("SlidingWindow.add", "window_add_us"),
            ("six statistics", "window_queries_us"),
        ):
            costs = [scaling["scaling"][size][key] for size in sizes]
            slopes = [
                (costs[k + 1] - costs[k]) / math.log2(windows[k + 1] / windows[k])
                for k in range(len(windows) - 1)
            ]
            text = ", ".join(
                f"{windows[k]:,}->{windows[k + 1]:,}: {slope:+.2f}"
                for k, slope in enumerate(slopes)
            )
            check = ""
            if key == "median_difference_us" and len(slopes) > 1:
                # Logarithmic growth costs the same per doubling of the window;
                # faster growth costs more per doubling at larger sizes. The
                # noise between segments is a few us: allow 50 % and 2 us.
                ok = all(
                    later <= 1.5 * max(slopes[0], 0.0) + 2.0 for later in slopes[1:]
                )
                check = (
                    " (target, growth no more than logarithmic, i.e. no more"
                    f" per doubling at larger sizes: {verdict(ok)})"
                )
            out(f"  us per doubling of the window, {label}: {text}{check}")
    if ablation := results.get("ablation"):
        variants = ablation["ablation"]
        out("")
        out(
            f"IoTitan, T = {ablation['topics']}, parts switched off in turn"
            " (one process, segments interleaved, direct injection, median of 7)"
        )
        out(f"  {'':<34}{'CPU us/msg':>11}{'vs all on':>11}")
        for label, figures in variants.items():
            cost = figures["median_cpu_per_message_us"]
            out(f"  {label:<34}{cost:>11.1f}{figures['median_difference_us']:>+11.1f}")
        if (iot := results["main"].get(ablation["topics"], {}).get("iotitan")) and (
            "floor direct" in iot["modes"]
        ):
            out(
                f"  {'bare dispatch (main table)':<34}"
                f"{mode(iot, 'floor direct')['median_cpu_per_message_us']:>11.1f}"
            )
        out(
            "  (CPU us/msg: median segment; vs all on: median difference to the"
            " everything-on segment of the same round)"
        )
    restart = results["restart"]
    if restart:
        iot, chain = restart["iotitan"], restart["chain"]
        out("")
        out("Restart, T = 100, 1 h windows")
        out(
            f"  IoTitan journal replay : {iot['replay_seconds']:.2f} s"
            f" ({iot['records_replayed']:,} records -> {iot['topics']} topics x"
            f" {iot['window_samples'][1]:,} samples); whole entry setup"
            f" {iot['setup_seconds']:.2f} s ({iot['setup_cpu']:.2f} s CPU)"
        )
        out(
            f"  core statistics from the recorder: {chain['setup_seconds']:.2f} s"
            f" ({chain['setup_cpu']:.2f} s CPU) for {chain['sensors']} sensors x"
            f" {chain['window_samples'][1]:,} samples"
            f" ({chain['samples_restored']:,} in all; recorder filled in"
            f" {chain['prefill_seconds']:.0f} s)"
        )
        out(
            f"  core / IoTitan: x{chain['setup_seconds'] / iot['setup_seconds']:.1f}"
            f" (whole setup), x{chain['setup_seconds'] / iot['replay_seconds']:.1f}"
            " (vs the replay alone)"
        )
    return lines


def log_ratio(first: int, last: int) -> float:
    """How much log2(n) grows from `first` to `last` samples."""
    import math

    return math.log2(last) / math.log2(first)


def fmt_stats(stats: dict[str, Any]) -> str:
    """mean/median/min/max/std/p95, compactly."""
    return "/".join(f"{float(value):g}" for value in stats.values())


def verdict(ok: bool) -> str:
    """Met or missed."""
    return "met" if ok else "MISSED"


def main() -> None:
    """Parse options, run every scenario, print the tables."""
    if "--large-home" in sys.argv[1:]:
        # The large home has its own driver; the other options are its own.
        from benchmarks.bench_large_home import main as large_home

        large_home([arg for arg in sys.argv[1:] if arg != "--large-home"])
        return
    if "--readings" in sys.argv[1:]:
        # Devices of several readings have their own driver too.
        from benchmarks.bench_readings_ha import main as readings

        readings([arg for arg in sys.argv[1:] if arg != "--readings"])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--large-home",
        action="store_true",
        help="run benchmarks/bench_large_home.py instead (500 topics, 1 h and 24 h"
        " windows; with its own options, e.g. --quick, --json)",
    )
    parser.add_argument(
        "--readings",
        action="store_true",
        help="run benchmarks/bench_readings_ha.py instead (10 devices of 4 readings"
        " in one JSON payload: IoTitan vs MQTT sensors with value_template feeding"
        " statistics; with its own options, e.g. --quick, --json)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="T = 10 only, no restart (< 2 minutes)"
    )
    parser.add_argument(
        "--topics", default="10,100", help="comma-separated topic counts (10,100)"
    )
    parser.add_argument(
        "--no-scaling", action="store_true", help="skip the window-size table"
    )
    parser.add_argument(
        "--no-restart", action="store_true", help="skip the restart comparison"
    )
    parser.add_argument(
        "--no-chain",
        action="store_true",
        help=f"skip core's chain (always skipped above {CHAIN_MAX_TOPICS} topics)",
    )
    parser.add_argument(
        "--one-window",
        action="store_true",
        help="IoTitan with its 1 h window only (default: also a 10-minute one)",
    )
    parser.add_argument(
        "--ablation",
        action="store_true",
        help="also run IoTitan (first topic count) with syslog, alert, MQTT output"
        " and entity updates switched off one at a time",
    )
    parser.add_argument("--json", type=Path, help="also write every figure here")
    parser.add_argument(
        "--profile",
        type=Path,
        help="write a pyinstrument profile of each scenario's stream into this"
        " directory (pyinstrument from the venv in $IOTITAN_PROFILER_VENV,"
        " default /tmp/profvenv; the figures are then not comparable)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()

    topics = [int(text) for text in args.topics.split(",") if text]
    if args.quick:
        plan = Plan(topics=[10], scaling=(600, 3600), restart=False)
        plan.segments = {"iotitan": 3, "chain": 2}
        plan.seconds["chain"] = {10: 15}
    else:
        plan = Plan(topics=topics)
    if args.no_scaling:
        plan.scaling = ()
    if args.no_restart:
        plan.restart = False
    plan.ablation = args.ablation
    plan.chain = not args.no_chain
    if args.one_window:
        plan.extra_windows = ()
    if args.profile is not None:
        args.profile.mkdir(parents=True, exist_ok=True)

    results, datagrams, began = run_with_receivers(
        "IoTitan vs Home Assistant: MQTT -> windows of statistics -> alert",
        "iotitan-bench-ha-",
        lambda workdir, udp, tcp: run_plan(
            plan, Runner(workdir, udp, tcp, args.profile)
        ),
        keep=args.keep,
    )
    modes = [
        name
        for name in next(iter(results["main"].values()))["iotitan"]["modes"]
        if not name.startswith("floor")
    ]
    lines = report(results, modes)
    print_report(lines, results, datagrams, began, args.json)


def run_with_receivers(
    title: str,
    prefix: str,
    run: Callable[[Path, int, int], dict[str, Any]],
    *,
    keep: bool = False,
) -> tuple[dict[str, Any], int, float]:
    """Print the title and the machine, then `run(workdir, udp_port, tcp_port)`
    in a new work directory with the syslog receivers listening.

    Returns the results, the datagrams the UDP receiver got and when it began.
    The receivers live in this process: their CPU time is not the scenario's.
    """
    from benchmarks.bench_logging import UdpReceiver

    began = time.perf_counter()
    print(title, flush=True)
    print(
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs,"
        f" Python {platform.python_version()}, Home Assistant {ha_version()};"
        f" load average before the run {load_average()}",
        flush=True,
    )
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        with UdpReceiver() as receiver, TcpReceiver() as tcp:
            results = run(workdir, receiver.port, tcp.port)
            datagrams = receiver.protocol.count
    finally:
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return results, datagrams, began


def ha_version() -> str:
    """The installed Home Assistant's version."""
    from importlib.metadata import version

    return version("homeassistant")


if __name__ == "__main__":
    main()
