"""Fault injection like the outside review's: what each fault costs in counts, with the outbox as truth.

Each scenario runs a device on the wall clock (`deliver_runner --slot-s`: the real outbox, MQTT
publisher and drain loop, one interval every 0.5 s) against a real Mosquitto (persistence,
autosave every second) and a de-duplicating subscriber with a persistent session, injects its
fault repeatedly, restarts what is down, waits until the outbox has nothing undelivered and
counts (`tests/integration/deliver/faults.py`): intervals committed, delivered, lost (in
brackets, how many of them the device itself reported lost), duplicated (one slot under two
numbers), redelivered (one message id twice, de-duplicated) and slots that ended while the
device ran but never arrived. Camera scenarios are for the service, not this device.

    python -m benchmarks.faults [--scale N] [--seed S] [--json]

Needs root (the disk-full scenario mounts a 2 MiB tmpfs). Prints the table, writes it to
benchmarks/RESULTS.md (section "faults") and benchmarks/results/faults.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
import time
from pathlib import Path

from benchmarks.clips import PROJECT_ROOT, machine_line, write_section
from tests.integration.deliver.faults import SCENARIOS, SLOT_S, TABLE_HEADER, Tally, run_scenario

# How many times each fault is injected in one run (times --scale).
REPEATS = {
    "broker killed": 5,
    "service killed at random": 5,
    "service killed at the commit": 5,
    "power cut (service + broker)": 3,
    "disk full, then freed": 2,
    "outbox corrupted": 1,
}
RESULTS_JSON = PROJECT_ROOT / "benchmarks" / "results" / "faults.json"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=1, help="multiply every scenario's repeats")
    parser.add_argument("--seed", type=int, default=14, help="seed of the random pauses")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    tallies: list[Tally] = []
    seconds: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="faults-") as name:
        for index, scenario in enumerate(SCENARIOS):
            started = time.monotonic()
            folder = Path(name) / f"{index}"
            folder.mkdir()
            tallies.append(run_scenario(scenario, folder, REPEATS[scenario] * args.scale, seed=args.seed))
            seconds[scenario] = round(time.monotonic() - started, 1)
            print(tallies[-1].row(), flush=True)
    result = {
        "machine": machine_line(),
        "slot_s": SLOT_S,
        "repeats": {scenario: REPEATS[scenario] * args.scale for scenario in SCENARIOS},
        "seconds": seconds,
        "scenarios": [dataclasses.asdict(tally) for tally in tallies],
    }
    RESULTS_JSON.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_JSON.write_text(json.dumps(result, indent=1) + "\n")
    markdown = to_markdown(result, tallies)
    write_section("faults", markdown)
    print(json.dumps(result) if args.json else markdown)
    return 0


def to_markdown(result: dict[str, object], tallies: list[Tally]) -> str:
    repeats = result["repeats"]
    assert isinstance(repeats, dict)
    lines = [
        "## Faults (`benchmarks/faults.py`)",
        "",
        f"Measured {result['machine']}. One interval every {SLOT_S} s; faults per scenario: "
        + ", ".join(f"{name} x{count}" for name, count in repeats.items())
        + ".",
        "",
        TABLE_HEADER,
        *(tally.row() for tally in tallies),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
