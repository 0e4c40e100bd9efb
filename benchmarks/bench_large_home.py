"""The large home: 500 topics, windows of 1 h and 24 h, IoTitan vs Home Assistant.

Run from the repository root::

    .venv/bin/python -m benchmarks.bench_large_home           # ~10 minutes
    .venv/bin/python -m benchmarks.bench_large_home --quick   # 50 topics, ~2 minutes
    .venv/bin/python -m benchmarks.bench_ha --large-home      # the same
    .venv/bin/python -m benchmarks.bench_large_home --json out.json

The home: 500 sensors, each reading once every 10 s (50 messages a second in
all, the sensors out of step), each with a window of 1 h and one of 24 h (361
and 8,641 samples at steady state: 4.3 million samples) and the six statistics
(mean, median, minimum, maximum, standard deviation, 95th percentile) on both.

IoTitan (``benchmarks/ha_large_home.py::test_large_iotitan``, inside Home
Assistant's test harness, one process, as ``bench_ha`` runs its scenarios):
the hub with both windows, a high alert per topic, the journal, syslog over
UDP to a receiver in this process, and MQTT output, in its default
configuration. Its windows are at steady state from the start: this driver
synthesises the journal a hub would have written over the last 24 h and 10
minutes (``ha_common.write_journal``), which the hub replays at setup. Then:

1. memory: what the windows hold (tracemalloc on copies of ten topics'
   windows, scaled to all) and the process's RSS growth from before the setup
   to after it;
2. restart: the entry unloaded and set up again. If the hub leaves a snapshot
   file in its journal folder at unload (a build with snapshots), the restart
   with it is timed, then the entry is unloaded again, the snapshot deleted
   and the restart without it (the whole journal replayed) timed; a build
   without snapshots gets the second only and says so;
3. CPU per message by direct injection (``ha_scenarios.Injection``: messages
   handed to the real MQTT client as paho does), in segments each followed
   by one of bare dispatch (a subscription that only counts) in the same
   process: the cost above that floor is the median of the pairs;
4. the share of one core at the real rate: process CPU time (every thread)
   over a few simulated minutes of the stream, per simulated second. Time is
   simulated (``ha_common.SimClock``): each simulated second the 50 sensors
   due read, then the event loop runs once, and timers (the journal's flush,
   the 10 s entity update, the 60 s MQTT output, core's purge timers) fire as
   simulated time reaches them.

Home Assistant's chain (``test_large_chain``: an MQTT sensor, twelve
``statistics`` sensors and a ``threshold`` per topic) on 10 topics with
full-size buffers (pre-filled), the same stream, the same figures; and
``test_large_chain_restart``: the recorder filled with 24 h of those sensors'
states, then the statistics sensors restoring their buffers from it. At 500
topics the chain would be 6,000 statistics sensors holding 26 million samples
and a recorder restore of 4.3 million states: its figures are scaled from the
10 topics per topic, and the report says which figures are measured and which
are scaled, and why the full size is not run.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
import shutil
import sys
import time
from typing import Any

if not __package__:  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_ha import (
    Runner,
    print_report,
    run_with_receivers,
)
from benchmarks.ha_common import HUB_ENTRY_ID, STATISTICS, write_journal

TOPICS = 500
PERIOD = 10  # seconds between two readings of a sensor
WINDOWS = (3600, 86400)
MARGIN = 600  # journal history beyond the longest window, seconds
CHAIN_TOPICS = 10
BUDGET_SECONDS = 15 * 60  # what a run of this benchmark may take
MiB = 1024 * 1024


class LargeHomeRunner(Runner):
    """Runs the large home's scenarios (``ha_large_home``) in child processes."""

    scenarios = "benchmarks/ha_large_home.py"


@dataclass
class Plan:
    """What to run."""

    topics: int = TOPICS
    chain_topics: int = CHAIN_TOPICS
    seconds: int = 60  # simulated seconds per measured segment
    segments: int = 5
    steady_seconds: int = 180
    chain_seconds: int = 60
    chain_segments: int = 3
    chain_steady_seconds: int = 120
    chain: bool = True

    @classmethod
    def quick(cls) -> Plan:
        """Fewer topics and shorter streams; every scenario and path still runs."""
        return cls(
            topics=50,
            chain_topics=4,
            seconds=30,
            segments=3,
            steady_seconds=60,
            chain_seconds=50,
            chain_segments=2,
            chain_steady_seconds=50,
        )


def run(plan: Plan, runner: LargeHomeRunner, workdir: Path) -> dict[str, Any]:
    """Every scenario of the plan."""
    config = workdir / "config-large-home"
    journal = config / "iotitan" / HUB_ENTRY_ID
    journal.mkdir(parents=True)
    print(f"  {'journal synthesised':<28}", end="", flush=True, file=sys.stderr)
    began = time.perf_counter()
    records = write_journal(journal, plan.topics, max(WINDOWS), PERIOD, MARGIN)
    journal_seconds = time.perf_counter() - began
    print(f" {journal_seconds:6.1f} s ({records:,} records)", file=sys.stderr)
    results: dict[str, Any] = {
        "plan": plan.__dict__,
        "period": PERIOD,
        "windows": list(WINDOWS),
        "journal": {
            "records": records,
            "seconds": journal_seconds,
            "margin": MARGIN,
        },
    }
    common = {"period": PERIOD}
    results["iotitan"] = runner.run(
        "test_large_iotitan",
        {
            **common,
            "kind": "large_iotitan",
            "topics": plan.topics,
            "seconds": plan.seconds,
            "segments": plan.segments,
            "steady_seconds": plan.steady_seconds,
            "config_dir": str(config),
        },
        f"IoTitan T={plan.topics}",
    )
    shutil.rmtree(config)
    if plan.chain:
        results["chain"] = runner.run(
            "test_large_chain",
            {
                **common,
                "kind": "large_chain",
                "topics": plan.chain_topics,
                "seconds": plan.chain_seconds,
                "segments": plan.chain_segments,
                "steady_seconds": plan.chain_steady_seconds,
            },
            f"chain T={plan.chain_topics}",
        )
    if plan.chain and 2 * plan.chain_topics <= TOPICS:
        results["chain_memory"] = runner.run(
            "test_large_chain",
            {
                **common,
                "kind": "large_chain",
                "topics": 2 * plan.chain_topics,
                "memory_only": True,
            },
            f"chain T={2 * plan.chain_topics}, memory",
        )
    if plan.chain:
        results["chain_restart"] = runner.run(
            "test_large_chain_restart",
            {**common, "kind": "large_chain_restart", "topics": plan.chain_topics},
            f"chain restart T={plan.chain_topics}",
        )
    return results


# -- report -------------------------------------------------------------------------


def kib_growth(result: dict[str, Any], key: str = "rss_after_setup_kib") -> float:
    """RSS growth from before the setup, bytes."""
    return (result[key] - result["rss_before_kib"]) * 1024.0


def figures(results: dict[str, Any]) -> dict[str, Any]:
    """The table's rows: IoTitan's and the chain's figures, how each was had."""
    iot = results["iotitan"]
    scale = TOPICS / iot["topics"]
    how = "measured" if scale == 1 else f"scaled from {iot['topics']} topics"
    restart = iot["restart"]
    without = restart["without_snapshot"]
    with_ = restart.get("with_snapshot")
    rows: dict[str, Any] = {}
    peak = (iot["peak_rss_after_setup_kib"] - iot["rss_before_kib"]) * 1024.0

    def row(
        key: str,
        label: str,
        unit: str,
        mine: float | None,
        mine_how: str,
        chain: float | None = None,
        chain_how: str = "",
    ) -> None:
        rows[key] = {
            "label": label,
            "unit": unit,
            "iotitan": mine,
            "iotitan_how": mine_how,
            "chain": chain,
            "chain_how": chain_how,
            "ratio": None if mine in (None, 0) or chain is None else chain / mine,
        }

    chain = results.get("chain")
    chain_restart = results.get("chain_restart")
    c_scale = TOPICS / chain["topics"] if chain else 0.0
    c_how = ""
    if chain:
        c_how = "measured" if c_scale == 1 else f"scaled from {chain['topics']} topics"
    c_measured = f"measured, {chain['topics']} topics" if chain else ""

    row(
        "windows_mib",
        "windows / statistics buffers",
        "MiB",
        iot["window_bytes"] * scale / MiB,
        f"{how}, tracemalloc on {iot['window_bytes_topics_measured']} topics",
        chain["window_bytes_per_topic"] * TOPICS / MiB if chain else None,
        f"{c_how}, tracemalloc on 1 topic" if chain else "",
    )
    chain_rss = None
    rss_how = c_how
    if chain and c_scale == 1:
        chain_rss = kib_growth(chain)
    elif chain and (more := results.get("chain_memory")):
        # What one more topic adds (the components' own memory aside).
        slope = (kib_growth(more) - kib_growth(chain)) / (
            more["topics"] - chain["topics"]
        )
        chain_rss = kib_growth(chain) + slope * (TOPICS - chain["topics"])
        rss_how = (
            f"scaled: {chain['topics']} topics + the growth per topic from"
            f" {chain['topics']} to {more['topics']}"
        )
    row(
        "rss_mib",
        "process RSS growth after loading",
        "MiB",
        kib_growth(iot) * scale / MiB,
        how,
        None if chain_rss is None else chain_rss / MiB,
        rss_how,
    )
    row(
        "peak_rss_mib",
        "  peak RSS growth while loading (replay)",
        "MiB",
        peak * scale / MiB,
        how,
    )
    row(
        "restart_without_s",
        "restart, full journal replay / recorder restore",
        "s",
        without["setup_seconds"] * scale,
        how,
        chain_restart["setup_seconds"] * c_scale if chain_restart else None,
        c_how,
    )
    row(
        "restart_without_cpu_s",
        "  CPU of it (every thread)",
        "s",
        without["setup_cpu"] * scale,
        how,
        chain_restart["setup_cpu"] * c_scale if chain_restart else None,
        c_how,
    )
    if with_ is not None:
        row(
            "restart_with_s",
            "restart with the hub's snapshot",
            "s",
            with_["setup_seconds"] * scale,
            how,
        )
    mine = iot["per_message"]
    theirs = chain["per_message"] if chain else None
    row(
        "cpu_per_message_us",
        "CPU per message, direct injection",
        "us",
        mine["median_cpu_per_message_us"],
        f"measured, {iot['topics']} topics",
        theirs["median_cpu_per_message_us"] if theirs else None,
        c_measured,
    )
    row(
        "above_floor_us",
        "  above bare dispatch (same process)",
        "us",
        mine["median_above_floor_us"],
        f"measured, {iot['topics']} topics",
        theirs["median_above_floor_us"] if theirs else None,
        c_measured,
    )
    row(
        "floor_us",
        "  bare dispatch",
        "us",
        mine["median_floor_per_message_us"],
        f"measured, {iot['topics']} topics",
        theirs["median_floor_per_message_us"] if theirs else None,
        c_measured,
    )
    quiet = iot.get("per_message_no_entities")
    row(
        "no_entities_us",
        "  of which entity state writes",
        "us",
        None
        if quiet is None
        else mine["median_cpu_per_message_us"] - quiet["median_cpu_per_message_us"],
        f"measured, {iot['topics']} topics, segments without them",
    )
    row(
        "core_share_pct",
        f"share of one core at {TOPICS // PERIOD} messages/s",
        "%",
        100 * iot["steady"]["cpu_per_simulated_second"] * scale,
        how,
        100 * chain["steady"]["cpu_per_simulated_second"] * c_scale if chain else None,
        c_how,
    )
    return rows


def number(value: float | None, unit: str) -> str:
    """A figure for the table."""
    if value is None:
        return "-"
    if unit == "us" or value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def plan_minutes(results: dict[str, Any]) -> str:
    """The simulated minutes of the chain's stream, as text."""
    plan = results["plan"]
    seconds = (
        plan["chain_seconds"] * plan["chain_segments"] + plan["chain_steady_seconds"]
    )
    return f"{seconds / 60:.0f}"


def check_line(results: dict[str, Any]) -> str:
    """Whether topic 0's statistics agree between IoTitan and the chain."""
    iot, chain = results["iotitan"], results.get("chain")
    if chain is None:
        return ""
    same = iot["check"] == chain["check"]

    def text(check: dict[str, Any]) -> str:
        return "; ".join(
            f"{key}: {values[0]:,} samples, "
            + "/".join("-" if v is None else f"{v:g}" for v in values[1:])
            for key, values in check.items()
        )

    return (
        f"Check at second {iot['check_second']}: topic 0's windows and statistics"
        f" ({'/'.join(STATISTICS)}) {'agree' if same else 'DIFFER'}:"
        f" IoTitan {text(iot['check'])}; chain {text(chain['check'])}"
    )


def report(results: dict[str, Any], rows: dict[str, Any]) -> list[str]:
    """The table and what goes with it, as lines."""
    iot = results["iotitan"]
    restart = iot["restart"]
    without = restart["without_snapshot"]
    with_ = restart.get("with_snapshot")
    chain = results.get("chain")
    chain_restart = results.get("chain_restart")
    lines: list[str] = []
    out = lines.append
    out("")
    out(
        f"The large home: {TOPICS} topics, a reading every {PERIOD} s on each"
        f" ({TOPICS // PERIOD} messages/s), windows of 1 h and 24 h"
        f" ({iot['window_samples'][0]:,}-{iot['window_samples'][1]:,} samples),"
        " six statistics on each, a high alert per topic"
    )
    width = max(len(row["label"]) for row in rows.values()) + 2
    out(
        f"  {'':<{width}}{'IoTitan':>10}{'chain':>10}{'chain/IoTitan':>15}"
        f"   how (IoTitan; chain)"
    )
    for row in rows.values():
        ratio = "" if row["ratio"] is None else f"x{row['ratio']:,.1f}"
        label = f"{row['label']}, {row['unit']}"
        out(
            f"  {label:<{width}}{number(row['iotitan'], row['unit']):>10}"
            f"{number(row['chain'], row['unit']):>10}{ratio:>15}"
            f"   {row['iotitan_how']}"
            + (f"; {row['chain_how']}" if row["chain_how"] else "")
        )
    if with_ is None:
        out(
            "  restart with the hub's snapshot: not available in this build (the"
            " hub left no snapshot file in its journal folder at unload)"
        )
    else:
        used = with_["snapshot_report"]
        if not used.get("restored"):
            out(
                "  THE SNAPSHOT WAS NOT USED: the hub replayed its whole journal"
                f" ({used.get('reason')})"
            )
        ratio = with_["setup_seconds"] / without["setup_seconds"]
        out(
            f"  restart with/without snapshot: x{ratio:.3f}"
            f" ({', '.join(restart['snapshot_files'])},"
            f" {restart['snapshot_bytes'] / MiB:.1f} MiB, read in"
            f" {restart['snapshot_read_seconds']:.2f} s: restore x"
            f"{with_['setup_seconds'] / restart['snapshot_read_seconds']:.1f} the read;"
            f" statistics after each"
            f" {'agree' if with_['statistics'] == without['statistics'] else 'DIFFER'})"
        )
    replay = without["replay_seconds"]
    out(
        f"  IoTitan restart without snapshot: {without['setup_seconds']:.1f} s"
        f" ({without['setup_cpu']:.1f} s CPU), of which the replay"
        f" {'-' if replay is None else f'{replay:.1f}'} s:"
        f" {without['records_replayed']:,} records,"
        f" {restart['journal_bytes'] / MiB:,.0f} MiB of journal (read bare in"
        f" {restart['journal_read_seconds']:.2f} s);"
        f" first setup {iot['setup_seconds']:.1f} s;"
        f" unload {restart['unload_seconds']:.1f} s"
    )
    steady = iot["steady"]
    out(
        f"  IoTitan stream: {steady['messages']:,} messages over"
        f" {steady['simulated_seconds']} simulated s in {steady['cpu_seconds']:.2f} s"
        f" CPU; x{iot['per_message']['median_ratio_to_floor']:.1f} bare dispatch;"
        f" windows {iot['window_bytes'] / iot['samples']:.1f} bytes/sample;"
        f" peak RSS growth {(iot['peak_rss_kib'] - iot['rss_before_kib']) / 1024:,.0f}"
        f" MiB (during the replay); syslog sent {iot['syslog_sent']:,}"
        f" (dropped {iot['syslog_dropped']}), journal {iot['journal_written']:,}"
        f" (dropped {iot['journal_dropped']}); alerts on {iot['alerts_on']}"
    )
    if chain and chain_restart and chain["topics"] < TOPICS:
        c_scale = TOPICS / chain["topics"]
        cores = chain["steady"]["cpu_per_simulated_second"] * c_scale
        fill = chain_restart["prefill_seconds"] * c_scale
        restore = chain_restart["setup_seconds"] * c_scale
        states = chain_restart["bulk_states"] * c_scale
        out(
            f"  chain measured on {chain['topics']} topics"
            f" ({chain['topics'] * len(WINDOWS) * len(STATISTICS)} statistics"
            f" sensors, {chain['samples']:,} buffered samples); restart: its"
            f" statistics sensors restored {chain_restart['samples_restored']:,}"
            f" samples (of {chain['samples']:,}: the recorder returns state changes"
            " only, so a repeated reading is not restored) in"
            f" {chain_restart['setup_seconds']:.1f} s"
            f" ({chain_restart['setup_cpu']:.1f} s CPU, RSS"
            f" +{chain_restart['rss_growth_kib'] / 1024:.0f} MiB) from"
            f" {chain_restart['bulk_states']:,} recorded states"
        )
        sensors = TOPICS * len(WINDOWS) * len(STATISTICS)
        out(
            f"  The chain is not run at {TOPICS} topics ({sensors:,} statistics"
            f" sensors, {chain['samples'] * c_scale / 1e6:.0f} million buffered"
            " samples); its figures there are scaled:"
        )
        if cores > 1:
            live = (
                "more than one core, and Home Assistant's event loop, where"
                " these sensors compute, runs on one: it would fall behind"
            )
        elif cores > 0.8:
            live = (
                "nearly all of the one core Home Assistant's event loop, where"
                " these sensors compute, runs on: little is left for anything else"
            )
        else:
            live = f"{100 * cores:.0f}% of the event loop's core"
        out(
            f"  - live: {cores:.2f} CPU seconds per second of traffic ({live});"
            f" streaming {plan_minutes(results)} simulated minutes would take as"
            " many minutes of CPU at least, after setting up the sensors and"
            " filling their buffers;"
        )
        out(
            f"  - restart: filling the recorder with {states / 1e6:.1f} million"
            f" states would take about {fill / 60:.0f} min here, and the restore"
            f" about {restore / 60:.1f} min"
            + (
                f": together beyond this benchmark's {BUDGET_SECONDS // 60}-minute"
                " budget."
                if fill + restore > BUDGET_SECONDS
                else f", within this benchmark's {BUDGET_SECONDS // 60}-minute"
                " budget on their own but not with the rest (use --chain-topics"
                f" {TOPICS} to run the chain at full size)."
            )
        )
        out(
            "  Scaled figures multiply the chain's by 500 / its topics (each topic"
            " has its own sensors, buffers, timers and recorder rows); CPU per"
            " message does not depend on the topics and is as measured."
        )
    if line := check_line(results):
        out("  " + line)
    return lines


def main(argv: list[str] | None = None) -> None:
    """Parse options, run the scenarios, print the table."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bench_large_home",
        description=__doc__.split("\n\n")[0],
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="50 topics for IoTitan, 4 for the chain, shorter streams (< 3 minutes)",
    )
    parser.add_argument(
        "--topics", type=int, help=f"IoTitan's topics (default {TOPICS}; others scale)"
    )
    parser.add_argument(
        "--chain-topics",
        type=int,
        help=f"the chain's topics, scaled to {TOPICS} (default {CHAIN_TOPICS})",
    )
    parser.add_argument("--no-chain", action="store_true", help="IoTitan only")
    parser.add_argument("--json", type=Path, help="also write every figure here")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args(argv)
    plan = Plan.quick() if args.quick else Plan()
    if args.topics:
        plan.topics = args.topics
    if args.chain_topics:
        plan.chain_topics = args.chain_topics
    plan.chain = not args.no_chain

    results, datagrams, began = run_with_receivers(
        "IoTitan vs Home Assistant: the large home",
        "iotitan-bench-large-",
        lambda workdir, udp, tcp: run(
            plan, LargeHomeRunner(workdir, udp, tcp, None), workdir
        ),
        keep=args.keep,
    )
    rows = figures(results)
    results["table"] = rows
    lines = report(results, rows)
    print_report(lines, results, datagrams, began, args.json)


if __name__ == "__main__":
    main()
