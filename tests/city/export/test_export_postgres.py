"""`footfall export comptage-mobilites` end to end against a real PostgreSQL (the `city_db` fixture).

The known intervals of dataset.py are inserted with SQL into the ingester's tables, with rows the
export must ignore (a device no channel names, intervals outside the day); the real command then
writes files equal to the hand-computed ones.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from edge.city.export.records import DeviceInterval, LineDirectionCount
from edge.city.export.schema import Notion, file_name
from edge.records import Direction
from tests.city.export.dataset import CASES, PUBLISHER, SITES_TOML, known_intervals

EXPECTED = Path(__file__).parent / "expected"
FOOTFALL = Path(sys.executable).with_name("footfall")
SITES = ("main-street", "station-square", "elsewhere")


def _stranger_intervals() -> list[DeviceInterval]:
    """Rows the export must not use: a device without channels, at the same times as cam-1."""
    start = datetime(2026, 1, 5, 7, 0, tzinfo=UTC)
    counts = (
        LineDirectionCount("entrance", Direction.IN, 50),
        LineDirectionCount("entrance", Direction.OUT, 50),
    )
    return [
        DeviceInterval(
            "cam-9",
            "elsewhere",
            n + 1,
            start + timedelta(minutes=n),
            start + timedelta(minutes=n + 1),
            1.0,
            counts,
        )
        for n in range(120)
    ]


def _payload(interval: DeviceInterval) -> str:
    """A counts-v1 message, as the ingester keeps it beside the flattened rows."""
    lines: dict[str, dict[str, object]] = {}
    for item in interval.counts:
        line = lines.setdefault(item.line_id, {"line_id": item.line_id})
        line[item.direction.value] = item.count
        line[f"{item.direction.value}_suppressed"] = item.count is None
    length_s = (interval.end - interval.start).total_seconds()
    return json.dumps(
        {
            "schema": "footfall-edge/counts/v1",
            "id": f"{interval.device_id}:{interval.seq}",
            "device_id": interval.device_id,
            "site_id": interval.site_id,
            "seq": interval.seq,
            "start": interval.start.isoformat().replace("+00:00", "Z"),
            "end": interval.end.isoformat().replace("+00:00", "Z"),
            "backfill": False,
            "lines": list(lines.values()),
            "zones": [],
            "quality": {
                "observed_s": interval.coverage * length_s,
                "coverage": interval.coverage,
                "frames": 0,
                "effective_fps": 0.0,
                "frames_dropped": 0,
                "low_light": False,
            },
            "suppress_below": 2 if any(item.count is None for item in interval.counts) else None,
        }
    )


def _insert(database_url: str, intervals: list[DeviceInterval]) -> None:
    with psycopg.connect(database_url) as connection, connection.cursor() as cursor:
        cursor.executemany("INSERT INTO site (site_id) VALUES (%s)", [(site,) for site in SITES])
        cursor.executemany(
            'INSERT INTO "interval" (device_id, seq, site_id, start_at, end_at, coverage, observed_s,'
            " backfill, payload) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb)",
            [
                (
                    i.device_id,
                    i.seq,
                    i.site_id,
                    i.start,
                    i.end,
                    i.coverage,
                    i.coverage * (i.end - i.start).total_seconds(),
                    i.seq % 7 == 0,  # some arrived as backfill: they count the same
                    _payload(i),
                )
                for i in intervals
            ],
        )
        cursor.executemany(
            "INSERT INTO line_count (device_id, seq, line_id, direction, count) VALUES (%s, %s, %s, %s, %s)",
            [
                (i.device_id, i.seq, c.line_id, c.direction.value, c.count)
                for i in intervals
                for c in i.counts
            ],
        )


@pytest.mark.parametrize(("case", "first", "last", "step_s"), CASES, ids=[case[0] for case in CASES])
def test_footfall_export_writes_the_hand_computed_files(
    city_db: str, tmp_path: Path, case: str, first: str, last: str, step_s: int
) -> None:
    _insert(city_db, known_intervals() + _stranger_intervals())
    sites = tmp_path / "sites.toml"
    sites.write_text(SITES_TOML, encoding="utf-8")
    out = tmp_path / "open-data"

    window = ["--from", first, "--to", last, "--step", str(step_s)]
    files = ["--sites", str(sites), "--out", str(out), "--database-url", city_db]
    done = subprocess.run(
        [str(FOOTFALL), "export", "comptage-mobilites", *window, *files],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert "measures" in done.stdout
    for notion in Notion:
        name = file_name(notion, PUBLISHER)
        assert (out / name).read_text(encoding="utf-8") == (EXPECTED / case / name).read_text(
            encoding="utf-8"
        )


def test_database_from_the_city_servers_settings(city_db: str, tmp_path: Path) -> None:
    """Without --database-url: FOOTFALL_CITY_DATABASE_URL without the password, and the password
    as a systemd credential file, as `footfall ingest` reads them."""
    _insert(city_db, known_intervals())
    parts = conninfo_to_dict(city_db)
    password = str(parts.pop("password"))
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    (credentials / "FOOTFALL_CITY_DATABASE_PASSWORD").write_text(password + "\n", encoding="utf-8")
    sites = tmp_path / "sites.toml"
    sites.write_text(SITES_TOML, encoding="utf-8")
    out = tmp_path / "open-data"
    environment = {
        **{key: value for key, value in os.environ.items() if not key.startswith(("FOOTFALL_", "PG"))},
        "FOOTFALL_CITY_DATABASE_URL": make_conninfo(**{key: str(value) for key, value in parts.items()}),
        "CREDENTIALS_DIRECTORY": str(credentials),
    }
    arguments = ["--from", "2026-01-05", "--to", "2026-01-05", "--sites", str(sites), "--out", str(out)]

    done = subprocess.run(
        [str(FOOTFALL), "export", "comptage-mobilites", *arguments],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=environment,
    )

    assert done.returncode == 0, done.stderr
    name = file_name(Notion.MEASURE, PUBLISHER)
    assert (out / name).read_text(encoding="utf-8") == (EXPECTED / "2026-01-05-900" / name).read_text(
        encoding="utf-8"
    )
    assert password not in done.stdout + done.stderr
