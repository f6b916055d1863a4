"""Open-data export cost: a month of a fleet's 1-minute intervals -> the three schema files.

Synthetic intervals (every minute of 30 days, coverage 0.99, one line counted both ways, a few
minutes missing) for N devices; timed separately: the roll-up into quarter-hours (or hours), the
tables with the schema checker, and the CSV writing, in a temporary folder. With `--database`
the intervals are also copied into a throwaway PostgreSQL (tests/city/postgres.py, migrated
schema) and the loader's read of the window is timed (the `city` extra and Debian's postgresql).

    python -m benchmarks.export [--devices N] [--days N] [--step 900|3600] [--database] [--json]
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.clips import write_section
from edge.city.export.checker import check_export
from edge.city.export.records import DeviceInterval, ExportWindow, LineDirectionCount
from edge.city.export.rollup import export_window, roll_up
from edge.city.export.schema import Notion
from edge.city.export.sites import parse_sites
from edge.city.export.tables import channel_table, measure_table, site_table
from edge.city.export.writer import write_tables
from edge.records import Direction

FIRST_DAY = date(2026, 3, 1)  # a month with the spring change, so one day has 92 quarter-hours


def _sites(devices: int) -> dict[str, Any]:
    return {
        "publisher": "Bench",
        "sites": [
            {
                "site_id": f"site-{n}",
                "name": f"Rue {n}",
                "longitude": 4.76 + n / 1000,
                "latitude": 44.71,
                "channels": [
                    {
                        "channel_id": f"site-{n}-{direction}",
                        "device_id": f"cam-{n}",
                        "line_id": "street",
                        "direction": direction,
                        "compass": "N" if direction == "in" else "S",
                        "started_at": datetime(2026, 1, 1, tzinfo=UTC),
                    }
                    for direction in ("in", "out")
                ],
            }
            for n in range(devices)
        ],
    }


def _intervals(devices: int, start: datetime, minutes: int) -> list[DeviceInterval]:
    intervals = []
    for n in range(devices):
        for minute in range(minutes):
            if minute % 997 == 0:  # an occasional missing interval
                continue
            begin = start + timedelta(minutes=minute)
            counts = (
                LineDirectionCount("street", Direction.IN, minute % 4),
                LineDirectionCount("street", Direction.OUT, minute % 3),
            )
            intervals.append(
                DeviceInterval(
                    f"cam-{n}", f"site-{n}", minute + 1, begin, begin + timedelta(minutes=1), 0.99, counts
                )
            )
    return intervals


def database_read(
    intervals: list[DeviceInterval], devices: tuple[str, ...], window: ExportWindow
) -> dict[str, Any]:
    """Seconds for the loader to read the window back from a real PostgreSQL holding `intervals`."""
    import psycopg

    from edge.city.export.loader import PostgresIntervalSource
    from edge.city.migrate import apply_migrations
    from tests.city.postgres import PostgresServer

    server = PostgresServer()
    server.start()
    try:
        url = server.create_database("export_bench")
        with psycopg.connect(url) as connection:
            apply_migrations(connection)
            with connection.cursor() as cursor:
                columns = "device_id, seq, site_id, start_at, end_at, coverage, observed_s, backfill, payload"
                with cursor.copy(f'COPY "interval" ({columns}) FROM STDIN') as copy:
                    for i in intervals:
                        length_s = (i.end - i.start).total_seconds()
                        row = (
                            i.device_id,
                            i.seq,
                            i.site_id,
                            i.start,
                            i.end,
                            i.coverage,
                            i.coverage * length_s,
                        )
                        copy.write_row((*row, False, "{}"))
                with cursor.copy(
                    "COPY line_count (device_id, seq, line_id, direction, count) FROM STDIN"
                ) as copy:
                    for i in intervals:
                        for c in i.counts:
                            copy.write_row((i.device_id, i.seq, c.line_id, c.direction.value, c.count))
            connection.execute("ANALYZE")
        started = time.perf_counter()
        with PostgresIntervalSource(url) as source:
            loaded = sum(
                len(source.intervals(device, [f"site-{device[4:]}"], window.start, window.end))
                for device in devices
            )
        read_s = time.perf_counter() - started
    finally:
        server.destroy()
    return {"database_read_s": round(read_s, 3), "database_intervals": loaded}


def measure(devices: int, days: int, step_s: int, database: bool = False) -> dict[str, Any]:
    """Seconds per stage and rows for one export."""
    config = parse_sites(_sites(devices), source="benchmark")
    window = export_window(FIRST_DAY, FIRST_DAY + timedelta(days=days - 1), config.zone, step_s)
    minutes = int((window.end - window.start).total_seconds()) // 60
    intervals = _intervals(devices, window.start, minutes)

    started = time.perf_counter()
    measures = roll_up(intervals, config.sites, window, config.minimum_coverage)
    rollup_s = time.perf_counter() - started
    started = time.perf_counter()
    tables = {
        Notion.SITE: site_table(config),
        Notion.CHANNEL: channel_table(config, step_s),
        Notion.MEASURE: measure_table(measures, config.zone),
    }
    problems = check_export(tables)
    tables_s = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        paths = write_tables(Path(folder), config.publisher, tables)
        write_s = time.perf_counter() - started
        measure_bytes = paths[-1].stat().st_size
    read = database_read(intervals, config.device_ids, window) if database else {}
    return {
        **read,
        "devices": devices,
        "days": days,
        "step_s": step_s,
        "intervals": len(intervals),
        "measures": len(measures),
        "problems": len(problems),
        "rollup_s": round(rollup_s, 3),
        "tables_and_check_s": round(tables_s, 3),
        "write_s": round(write_s, 3),
        "intervals_per_s": round(len(intervals) / rollup_s),
        "measure_file_mb": round(measure_bytes / 1e6, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=10)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--step", type=int, choices=(900, 3600), default=900)
    parser.add_argument("--database", action="store_true", help="also time the read from PostgreSQL")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = measure(args.devices, args.days, args.step, args.database)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key}: {value}")
    write_section(
        "export",
        f"## Open-data export (`python -m benchmarks.export`)\n\n"
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {platform.machine()}, "
        f"Python {platform.python_version()}\n\n"
        f"{result['devices']} devices x {result['days']} days of 1-minute intervals "
        f"({result['intervals']:,} intervals) -> {result['measures']:,} measures at {result['step_s']} s: "
        f"roll-up {result['rollup_s']} s ({result['intervals_per_s']:,} intervals/s), tables and "
        f"schema check {result['tables_and_check_s']} s, CSV writing {result['write_s']} s "
        f"({result['measure_file_mb']} MB measure file); {result['problems']} schema problems."
        + (
            f" Reading the window back from PostgreSQL: {result['database_read_s']} s "
            f"({result['database_intervals']:,} intervals).\n"
            if "database_read_s" in result
            else "\n"
        ),
    )


if __name__ == "__main__":
    main()
