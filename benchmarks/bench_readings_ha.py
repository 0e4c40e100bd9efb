"""Devices of several readings: IoTitan vs Home Assistant's own way, per reading.

Run from the repository root::

    .venv/bin/python -m benchmarks.bench_readings_ha            # ~3 minutes
    .venv/bin/python -m benchmarks.bench_readings_ha --quick    # < 2 minutes
    .venv/bin/python -m benchmarks.bench_ha --readings [--quick]  # the same
    .venv/bin/python -m benchmarks.bench_readings_ha --no-split --json out.json

The job: `devices` (10) Zigbee2MQTT-style devices, each publishing one JSON
payload a second on ``zigbee2mqtt/bench_dNNN``, e.g.
``{"battery":97,"humidity":48.21,"linkquality":120,"pressure":1012.3,
"temperature":21.4}``, of which four readings are wanted (temperature,
humidity, pressure, battery), each with a 1 h window (3,600 samples) and its
mean, minimum and maximum, and a high alert on the temperature. Contenders,
one process each (``benchmarks/ha_readings.py``, inside Home Assistant's test
harness, as ``bench_ha`` runs ``ha_scenarios``):

1. IoTitan, four readings: one sensor source per device holding the four
   readings (the payload parsed once for all four), the alert on its
   temperature reading; journal, syslog over UDP and MQTT output on, windows
   pre-filled from a journal this driver writes;
2. IoTitan, four sources (``--no-split`` skips it): the same readings
   published on four topics of their own (``bench/dNNN/temperature`` ...,
   plain numbers: four messages per device and second), four one-reading
   sources per device;
3. chain: Home Assistant's own way, as Zigbee2MQTT's discovery sets it up:
   four MQTT sensors per device on the one state topic, each with
   ``value_template: "{{ value_json.temperature }}"`` etc., three
   ``statistics`` sensors per reading (buffers pre-filled) and a
   ``threshold`` on the temperature, exactly as ``bench_ha``'s chain builds
   core's path for one reading per topic.

Costs are CPU per message (``time.process_time()``, every thread), median
segment, by harness and direct injection (see ``bench_ha``); "per device s"
is what one device's second of readings costs (one message, or four for the
four sources), "per reading" that over four. Ratios pair each segment with
the bare-dispatch segment right after it in the same process (as many
messages; bare dispatch does not depend on the payload), so the contenders
compare as multiples of Home Assistant's own dispatch: a change in the
machine's speed between processes cancels out. After a 10 s warm-up device
0's twelve statistics and the alerts on are compared across contenders (they
must agree).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path
import shutil
import statistics
import sys
from typing import Any

if not __package__:  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_ha import (
    Runner,
    mode,
    print_report,
    run_with_receivers,
)
from benchmarks.ha_common import (
    HUB_ENTRY_ID,
    READING_KEYS,
    READING_STATISTICS,
    write_device_journal,
)

DEVICES = 10
WINDOW = 3600
LABELS = {
    "readings_iotitan": "IoTitan, 4 readings",
    "readings_split": "IoTitan, 4 sources",
    "readings_chain": "HA chain",
}


class ReadingsRunner(Runner):
    """Runs the readings scenarios (``ha_readings``) in child processes."""

    scenarios = "benchmarks/ha_readings.py"


@dataclass
class Plan:
    """What to run: simulated seconds and segments per contender."""

    devices: int = DEVICES
    seconds: dict[str, int] = field(
        default_factory=lambda: {
            # 60 s hold six update ticks and one MQTT output publication.
            "readings_iotitan": 60,
            "readings_split": 60,
            "readings_chain": 20,
        }
    )
    segments: dict[str, int] = field(
        default_factory=lambda: {
            "readings_iotitan": 5,
            "readings_split": 5,
            "readings_chain": 3,
        }
    )
    split: bool = True
    chain: bool = True

    @classmethod
    def quick(cls) -> Plan:
        """Fewer segments, a shorter chain stream; every contender still runs."""
        plan = cls()
        plan.segments = {
            "readings_iotitan": 3,
            "readings_split": 3,
            "readings_chain": 2,
        }
        plan.seconds["readings_chain"] = 15
        return plan

    def kinds(self) -> list[str]:
        """The contenders, in the order they run."""
        return [
            kind
            for kind, wanted in (
                ("readings_iotitan", True),
                ("readings_split", self.split),
                ("readings_chain", self.chain),
            )
            if wanted
        ]


def run(plan: Plan, runner: ReadingsRunner, workdir: Path) -> dict[str, Any]:
    """Every contender of the plan."""
    results: dict[str, Any] = {"plan": plan.__dict__, "contenders": {}}
    for kind in plan.kinds():
        spec: dict[str, Any] = {
            "kind": kind,
            "devices": plan.devices,
            "seconds": plan.seconds[kind],
            "segments": plan.segments[kind],
        }
        if kind != "readings_chain":
            config = workdir / f"config-{kind}"
            journal = config / "iotitan" / HUB_ENTRY_ID
            journal.mkdir(parents=True)
            write_device_journal(
                journal, plan.devices, WINDOW, split=kind == "readings_split"
            )
            spec["config_dir"] = str(config)
        results["contenders"][kind] = runner.run(
            "test_readings", spec, f"{LABELS[kind]}, N={plan.devices}"
        )
        if kind != "readings_chain":
            shutil.rmtree(workdir / f"config-{kind}")
    return results


# -- report ------------------------------------------------------------------------------


def floor_multiple(result: dict[str, Any], name: str) -> float:
    """Median over the pairs of a segment's CPU over the bare dispatch's after it.

    Both segments hold as many messages: the contender's cost per message as a
    multiple of bare dispatch, in the same process moments apart.
    """
    own = mode(result, name)["segments"]
    floor = mode(result, f"floor {name}")["segments"]
    return statistics.median(
        a["cpu"] / b["cpu"] for a, b in zip(own, floor, strict=True)
    )


def above_floor_us(result: dict[str, Any], name: str) -> float:
    """Median over the pairs of CPU per message above bare dispatch, us."""
    own = mode(result, name)["segments"]
    floor = mode(result, f"floor {name}")["segments"]
    return statistics.median(
        (a["cpu"] / a["messages"] - b["cpu"] / b["messages"]) * 1e6
        for a, b in zip(own, floor, strict=True)
    )


def per_reading_multiple(result: dict[str, Any], name: str) -> float:
    """Cost per reading in units of one bare-dispatched message."""
    return floor_multiple(result, name) / result["readings_per_message"]


def figures(results: dict[str, Any], modes: list[str]) -> dict[str, Any]:
    """Per contender and mode: costs per message, device second and reading."""
    table: dict[str, Any] = {}
    for kind, result in results["contenders"].items():
        rows = {}
        for name in modes:
            cpu = mode(result, name)["median_cpu_per_message_us"]
            per_device = result["messages_per_device_second"]
            rows[name] = {
                "messages": mode(result, name)["messages"],
                "cpu_per_message_us": cpu,
                "cpu_per_device_second_us": cpu * per_device,
                "cpu_per_reading_us": cpu * per_device / len(READING_KEYS),
                "above_floor_per_message_us": above_floor_us(result, name),
                "floor_per_message_us": mode(result, f"floor {name}")[
                    "median_cpu_per_message_us"
                ],
                "floor_multiple": floor_multiple(result, name),
                "per_reading_floor_multiple": per_reading_multiple(result, name),
            }
        table[kind] = rows
    return table


def report(
    results: dict[str, Any], table: dict[str, Any], modes: list[str]
) -> list[str]:
    """The table and the ratios, as lines."""
    contenders = results["contenders"]
    plan = results["plan"]
    lines: list[str] = []
    out = lines.append
    first = next(iter(contenders.values()))
    samples = first["window_samples"]
    out("")
    out(
        f"N = {plan['devices']} Zigbee2MQTT-style devices, one JSON payload a second"
        f" each with {len(READING_KEYS)} readings ({', '.join(READING_KEYS)}),"
        f" 1 h windows ({samples[0]:,}-{samples[1]:,} samples), statistics"
        f" {'/'.join(READING_STATISTICS)} of each, a high alert on the temperature"
    )
    out(
        f"  {'':<21}{'injection':<10}{'messages':>9}{'CPU us/msg':>11}"
        f"{'us/device s':>12}{'us/reading':>11}{'above bare':>11}{'bare':>7}"
        f"{'x bare':>8}{'peak MiB':>9}{'setup s':>8}"
    )
    for kind, rows in table.items():
        result = contenders[kind]
        peak = (result["peak_rss_kib"] - result["rss_before_kib"]) / 1024
        for name in modes:
            row = rows[name]
            out(
                f"  {LABELS[kind]:<21}{name:<10}{row['messages']:>9,}"
                f"{row['cpu_per_message_us']:>11,.1f}"
                f"{row['cpu_per_device_second_us']:>12,.1f}"
                f"{row['cpu_per_reading_us']:>11,.1f}"
                f"{row['above_floor_per_message_us']:>11,.1f}"
                f"{row['floor_per_message_us']:>7.1f}"
                f"{row['floor_multiple']:>8.2f}"
                f"{peak:>9.1f}{result['setup_seconds']:>8.1f}"
            )
    for name in modes:
        parts = []
        chain = table.get("readings_chain", {}).get(name)
        for kind in ("readings_iotitan", "readings_split"):
            mine = table.get(kind, {}).get(name)
            if mine is None or chain is None:
                continue
            ratio = (
                mine["per_reading_floor_multiple"] / chain["per_reading_floor_multiple"]
            )
            raw = mine["cpu_per_reading_us"] / chain["cpu_per_reading_us"]
            parts.append(
                f"{LABELS[kind]} / HA chain x{ratio:.3f} (chain x{1 / ratio:.1f} the"
                f" CPU; across processes, unadjusted x{raw:.3f})"
            )
        if (one := table.get("readings_iotitan", {}).get(name)) and (
            four := table.get("readings_split", {}).get(name)
        ):
            ratio = (
                four["per_reading_floor_multiple"] / one["per_reading_floor_multiple"]
            )
            parts.append(f"4 sources / 4 readings x{ratio:.2f}")
        if parts:
            out(f"  per reading ({name}): " + "; ".join(parts))
    checks = {
        kind: (result["device0_statistics"], result["alerts_on"])
        for kind, result in contenders.items()
    }
    same = len({repr(check) for check in checks.values()}) == 1
    out(
        f"  check at second {first['second']}: device 0's statistics and the alerts on"
        f" {'agree' if same else 'DIFFER'} ("
        + "; ".join(
            f"{LABELS[kind]} "
            + ", ".join(
                f"{key} " + "/".join(f"{v:g}" for v in values)
                for key, values in stats.items()
            )
            + f", alerts on {alerts}"
            for kind, (stats, alerts) in checks.items()
        )
        + ")"
    )
    for kind, result in contenders.items():
        if kind == "readings_chain":
            out(
                f"  {LABELS[kind]}: {result['statistic_entities']:,} statistics"
                f" sensors, {plan['devices'] * len(READING_KEYS)} MQTT sensors"
                f" (value_template), {plan['devices']} thresholds"
            )
        else:
            out(
                f"  {LABELS[kind]}: {result['sources']} reading sources,"
                f" {result['records_replayed']:,} journal records replayed;"
                f" syslog sent {result['syslog_sent']:,} (dropped"
                f" {result['syslog_dropped']}), journal {result['journal_written']:,}"
                f" (dropped {result['journal_dropped']}),"
                f" {result['statistic_entities']:,} sensor entities"
            )
    out(
        "  us/device s: one device's second of readings (one message, four for"
        " the four sources); us/reading: that over 4; above bare / bare: CPU per"
        " message above / of bare dispatch in the same process; x bare: median"
        " over the pairs of segment / bare segment. Ratios per reading divide"
        " the contenders' multiples of bare dispatch (per reading), so a change"
        " in the machine's speed between processes cancels out."
    )
    return lines


def main(argv: list[str] | None = None) -> None:
    """Parse options, run the contenders, print the table."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bench_readings_ha",
        description=__doc__.split("\n\n")[0],
    )
    parser.add_argument(
        "--quick", action="store_true", help="fewer, shorter segments (< 2 minutes)"
    )
    parser.add_argument(
        "--devices", type=int, default=DEVICES, help=f"devices (default {DEVICES})"
    )
    parser.add_argument(
        "--no-split", action="store_true", help="skip IoTitan with four sources"
    )
    parser.add_argument("--no-chain", action="store_true", help="IoTitan only")
    parser.add_argument("--json", type=Path, help="also write every figure here")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args(argv)
    plan = Plan.quick() if args.quick else Plan()
    plan.devices = args.devices
    plan.split = not args.no_split
    plan.chain = not args.no_chain

    results, datagrams, began = run_with_receivers(
        "IoTitan vs Home Assistant: devices of several readings",
        "iotitan-bench-readings-",
        lambda workdir, udp, tcp: run(
            plan, ReadingsRunner(workdir, udp, tcp, None), workdir
        ),
        keep=args.keep,
    )
    modes = [
        name
        for name in next(iter(results["contenders"].values()))["modes"]
        if not name.startswith("floor")
    ]
    table = figures(results, modes)
    results["table"] = table
    lines = report(results, table, modes)
    print_report(lines, results, datagrams, began, args.json)


if __name__ == "__main__":
    main()
