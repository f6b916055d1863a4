"""Outbox bounds: how large the WAL grows, and what saving the open interval costs.

1. WAL: N intervals committed and acknowledged one by one (what a device does), on a temporary
   file on the project's disk: the largest `-wal` size seen, its size at the end, and after a
   clean close (README D-046: checkpoint every 64 pages, `journal_size_limit` 256 kB, TRUNCATE
   at close).
2. Open interval: `save_open_interval` (one upserted row, `synchronous=FULL`), median and p95 of
   M saves; the service saves every 5 s (D-049).

    python -m benchmarks.outbox_bounds [--intervals N] [--saves M] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.clips import PROJECT_ROOT, machine_line, write_section
from edge.deliver import SqliteOutbox
from tests.unit.deliver.deliver_samples import sample_interval

DEVICE = "bench-1"


def wal_sizes(folder: Path, intervals: int) -> dict[str, float]:
    """Largest, final and after-close size of the WAL, kB."""
    path = folder / "wal.sqlite3"
    wal = path.with_name(path.name + "-wal")
    largest = 0
    with SqliteOutbox(path, device_id=DEVICE) as outbox:
        for index in range(intervals):
            outbox.mark_delivered(outbox.enqueue(sample_interval(index)))
            largest = max(largest, wal.stat().st_size)
        final = wal.stat().st_size
    closed = wal.stat().st_size if wal.exists() else 0
    return {"largest_kb": largest / 1024, "final_kb": final / 1024, "after_close_kb": closed / 1024}


def save_cost(folder: Path, saves: int) -> dict[str, float]:
    """Milliseconds per `save_open_interval`."""
    durations: list[float] = []
    with SqliteOutbox(folder / "open.sqlite3", device_id=DEVICE) as outbox:
        for index in range(saves):
            started = time.perf_counter()
            outbox.save_open_interval(sample_interval(index))
            durations.append((time.perf_counter() - started) * 1000.0)
    durations.sort()
    return {"median_ms": statistics.median(durations), "p95_ms": durations[int(0.95 * (len(durations) - 1))]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--intervals", type=int, default=500)
    parser.add_argument("--saves", type=int, default=200)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=PROJECT_ROOT / "benchmarks") as name:
        folder = Path(name)
        wal = wal_sizes(folder, args.intervals)
        save = save_cost(folder, args.saves)
    result = {"machine": machine_line(), "intervals": args.intervals, "wal": wal, "open_interval_save": save}
    markdown = "\n".join(
        [
            "## Outbox bounds (`benchmarks/outbox_bounds.py`)",
            "",
            f"Measured {result['machine']}; a temporary file on the project's disk.",
            "",
            f"- WAL over {args.intervals} intervals committed and acknowledged one by one: largest "
            f"{wal['largest_kb']:.0f} kB, {wal['final_kb']:.0f} kB at the end, "
            f"{wal['after_close_kb']:.0f} kB after a clean close.",
            f"- `save_open_interval` ({args.saves} saves): median {save['median_ms']:.2f} ms, "
            f"p95 {save['p95_ms']:.2f} ms.",
        ]
    )
    write_section("outbox-bounds", markdown)
    print(json.dumps(result) if args.json else markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
