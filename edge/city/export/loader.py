"""Read device intervals and their line counts from the city database (PostgreSQL, psycopg).

The only module of the export that talks to the database. It reads the ingester's `interval`
and `line_count` tables (README "Open data export"), never writes, and imports psycopg only when
called, so the rest of the export (and the device) works without the `city` extra.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from edge.city.export.errors import ExportError
from edge.city.export.records import DeviceInterval, LineDirectionCount
from edge.records import Direction

# Every interval that overlaps the window: one whose midpoint is inside it overlaps it.
INTERVALS_QUERY = """
SELECT i.device_id, i.site_id, i.seq, i.start_at, i.end_at, i.coverage, c.line_id, c.direction, c.count
FROM "interval" AS i
LEFT JOIN line_count AS c ON c.device_id = i.device_id AND c.seq = i.seq
WHERE i.device_id = ANY(%(devices)s) AND i.start_at < %(end)s AND i.end_at > %(start)s
ORDER BY i.device_id, i.seq, c.line_id, c.direction
"""
# Rows fetched per round trip of the server-side cursor (a month of 1-minute intervals of a
# device with 2 lines is ~170,000 rows: stream them rather than load them at once).
_FETCH_ROWS = 10_000
_CONNECT_TIMEOUT_S = 10


def load_intervals(
    database_url: str, device_ids: Sequence[str], start: datetime, end: datetime
) -> list[DeviceInterval]:
    """The intervals of `device_ids` overlapping `[start, end)`, with their line counts.

    `database_url` is a libpq connection string or URL; an empty one uses the standard libpq
    environment (PGHOST, PGDATABASE, PGUSER, PGPASSWORD or PGPASSFILE, ...).

    Raises:
        ExportError: psycopg is not installed, or the database cannot be reached or read.
    """
    try:
        import psycopg  # noqa: PLC0415 (lazy: optional city extra)
    except ImportError:
        raise ExportError("the export needs psycopg: pip install 'footfall-edge[city]'") from None
    parameters = {"devices": list(device_ids), "start": start, "end": end}
    try:
        with (
            psycopg.connect(database_url, connect_timeout=_CONNECT_TIMEOUT_S) as connection,
            connection.transaction(),
            connection.cursor(name="footfall_export") as cursor,
        ):
            cursor.itersize = _FETCH_ROWS
            cursor.execute(INTERVALS_QUERY, parameters)
            return list(_group(cursor))
    except psycopg.Error as exc:
        # The first line names the problem (refused, unknown table); never the URL or password.
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ExportError(f"cannot read intervals from the city database: {detail}") from None


def _group(rows: Iterator[tuple[Any, ...]]) -> Iterator[DeviceInterval]:
    """Rows ordered by (device, seq), one per line count -> one record per interval."""
    current: tuple[Any, ...] | None = None
    counts: list[LineDirectionCount] = []
    for device_id, site_id, seq, start_at, end_at, coverage, line_id, direction, count in rows:
        key = (device_id, seq, site_id, start_at, end_at, coverage)
        if current is not None and key[:2] != current[:2]:
            yield _record(current, counts)
            counts = []
        current = key
        if line_id is not None:
            counts.append(LineDirectionCount(line_id, Direction(direction), count))
    if current is not None:
        yield _record(current, counts)


def _record(key: tuple[Any, ...], counts: list[LineDirectionCount]) -> DeviceInterval:
    device_id, seq, site_id, start_at, end_at, coverage = key
    return DeviceInterval(
        device_id=device_id,
        site_id=site_id,
        seq=seq,
        start=start_at.astimezone(UTC),
        end=end_at.astimezone(UTC),
        coverage=float(coverage),
        counts=tuple(counts),
    )
