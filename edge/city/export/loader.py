"""Read device intervals and their line counts from the city database (PostgreSQL, psycopg).

The only module of the export that talks to the database. It reads the ingester's `interval`
and `line_count` tables (README "Open data export"), never writes, and imports psycopg only when
opened, so the rest of the export (and the device) works without the `city` extra. One
read-only, repeatable-read transaction covers the whole export, so every device is read at the
same instant even while ingesters write; devices are read one at a time, so memory holds one
device's window, not the fleet's.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Protocol, Self

from edge.city.export.errors import ExportError
from edge.city.export.records import DeviceInterval, LineDirectionCount
from edge.records import Direction

# Intervals longer than an hour cannot fill any slot (rollup), so an interval that matters starts
# at most an hour before the window: this bound lets the (site_id, start_at) index do the work.
LONGEST_USEFUL_INTERVAL = timedelta(hours=1)
INTERVALS_QUERY = """
SELECT i.seq, i.site_id, i.start_at, i.end_at, i.coverage, c.line_id, c.direction, c.count
FROM "interval" AS i
LEFT JOIN line_count AS c ON c.device_id = i.device_id AND c.seq = i.seq
WHERE i.device_id = %(device)s AND i.site_id = ANY(%(sites)s)
  AND i.start_at < %(end)s AND i.start_at >= %(earliest)s AND i.end_at > %(start)s
ORDER BY i.seq, c.line_id, c.direction
"""
_CONNECT_TIMEOUT_S = 10
_DIRECTIONS = {direction.value: direction for direction in Direction}


class IntervalSource(Protocol):
    """Where the export reads one device's intervals from."""

    def intervals(
        self, device_id: str, site_ids: Sequence[str], start: datetime, end: datetime
    ) -> Sequence[DeviceInterval]:
        """The device's intervals reported from `site_ids` that overlap `[start, end)`."""
        ...


class PostgresIntervalSource:
    """Reads intervals from the city database inside one read-only snapshot; a context manager.

    `database_url` is a libpq connection string or URL; `password`, when given, is sent apart
    from it (so it is in no URL); libpq's own variables (PGPASSWORD, PGPASSFILE, ...) apply too.
    """

    def __init__(self, database_url: str, password: str | None = None) -> None:
        self._database_url = database_url
        self._password = password
        self._connection: Any = None

    def __enter__(self) -> Self:
        try:
            import psycopg  # noqa: PLC0415 (lazy: optional city extra)
        except ImportError:
            raise ExportError("the export needs psycopg: pip install 'footfall-edge[city]'") from None
        self._errors: type[Exception] = psycopg.Error
        try:
            # psycopg drops a None keyword, so no password means libpq's own sources.
            self._connection = psycopg.connect(
                self._database_url, connect_timeout=_CONNECT_TIMEOUT_S, password=self._password
            )
            self._connection.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            self._connection.read_only = True
        except psycopg.Error as exc:
            self.__exit__(None, None, None)
            raise _read_error(exc) from None
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._connection is not None:
            self._connection.close()  # ends the read-only transaction; nothing to commit
            self._connection = None

    def intervals(
        self, device_id: str, site_ids: Sequence[str], start: datetime, end: datetime
    ) -> list[DeviceInterval]:
        """The device's intervals from `site_ids` overlapping `[start, end)`, with their line counts.

        Raises:
            ExportError: the database cannot be read (message without URL or password).
        """
        if self._connection is None:
            raise ValueError("PostgresIntervalSource must be entered (with ...) before reading")
        parameters = {
            "device": device_id,
            "sites": list(site_ids),
            "start": start,
            "end": end,
            "earliest": start - LONGEST_USEFUL_INTERVAL,
        }
        try:
            rows = self._connection.execute(INTERVALS_QUERY, parameters).fetchall()
        except self._errors as exc:
            raise _read_error(exc) from None
        return list(_group(device_id, rows))


def _read_error(exc: Exception) -> ExportError:
    # The first line names the problem (refused, unknown table); never the URL or password.
    text = str(exc).strip()
    detail = text.splitlines()[0] if text else type(exc).__name__
    return ExportError(f"cannot read intervals from the city database: {detail}")


def _group(device_id: str, rows: Iterable[tuple[Any, ...]]) -> Iterator[DeviceInterval]:
    """Rows ordered by seq, one per line count -> one record per interval."""
    current: tuple[Any, ...] | None = None
    counts: list[LineDirectionCount] = []
    for seq, site_id, start_at, end_at, coverage, line_id, direction, count in rows:
        if current is not None and seq != current[0]:
            yield _record(device_id, current, counts)
            counts = []
        current = (seq, site_id, start_at, end_at, coverage)
        if line_id is not None:
            counts.append(LineDirectionCount(line_id, _DIRECTIONS[direction], count))
    if current is not None:
        yield _record(device_id, current, counts)


def _record(device_id: str, key: tuple[Any, ...], counts: list[LineDirectionCount]) -> DeviceInterval:
    seq, site_id, start_at, end_at, coverage = key
    return DeviceInterval(
        device_id=device_id,
        site_id=site_id,
        seq=seq,
        start=start_at.astimezone(UTC),
        end=end_at.astimezone(UTC),
        coverage=float(coverage),
        counts=tuple(counts),
    )
