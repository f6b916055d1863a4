"""PostgreSQL storage of parsed messages: one transaction per batch, a savepoint per message.

An interval is inserted under its key (device_id, seq) with `ON CONFLICT DO NOTHING`: the first
copy wins, a re-sent one changes nothing. A copy whose key is stored for a *different* interval
(another start or end: a device whose outbox was reset) is quarantined, never merged. A message
the database refuses (e.g. a NUL character in JSON text) rolls back to its savepoint and is
quarantined in the same transaction; a lost connection or a deadlock fails the whole batch,
which the ingester retries without acknowledging anything (README D-030).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum

import psycopg
from psycopg import errors as pg_errors
from psycopg.conninfo import make_conninfo

from edge.city.errors import CityError
from edge.city.records import (
    AvailabilityRecord,
    DeviceRecord,
    HealthRecord,
    InboundMessage,
    IntervalRecord,
    Rejection,
)

logger = logging.getLogger(__name__)

# Bytes of a rejected message kept in quarantine (the reason says how big it was).
QUARANTINE_PAYLOAD_BYTES = 64 * 1024


class StoreOutcome(StrEnum):
    """What one message did to the database."""

    STORED = "stored"
    DUPLICATE = "duplicate"
    UPDATED = "updated"
    QUARANTINED = "quarantined"


class StoreUnavailableError(CityError):
    """The database cannot take the batch now (connection lost, shut down, deadlock): retry it later."""


class PostgresStore:
    """Writes batches of parsed messages through one connection (reopened after a failure).

    Args:
        conninfo: libpq URL or key=value string, without the password.
        password: the database password, if the server wants one (kept out of `conninfo` so it
            is never in a message).
    """

    def __init__(self, conninfo: str, *, password: str | None = None) -> None:
        self._conninfo = conninfo
        self._password = password
        self._connection: psycopg.Connection[tuple[object, ...]] | None = None

    def connect(self) -> psycopg.Connection[tuple[object, ...]]:
        """The open connection, opened now if needed; raises StoreUnavailableError."""
        if self._connection is None or self._connection.closed:
            conninfo = make_conninfo(self._conninfo, connect_timeout=10)
            if self._password is not None:
                conninfo = make_conninfo(conninfo, password=self._password)
            try:
                self._connection = psycopg.connect(conninfo)
            except psycopg.OperationalError as exc:
                raise StoreUnavailableError(f"cannot connect to the database: {_first_line(exc)}") from exc
        return self._connection

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def write(self, messages: Sequence[InboundMessage]) -> list[StoreOutcome]:
        """Store a batch in one committed transaction; the outcome of each message, in order.

        Raises StoreUnavailableError when nothing was committed (the batch must be retried).
        """
        connection = self.connect()
        try:
            with connection.transaction():
                _upsert_devices(
                    connection, [m.parsed for m in messages if not isinstance(m.parsed, Rejection)]
                )
                return [_write_one(connection, message) for message in messages]
        except (psycopg.OperationalError, pg_errors.TransactionRollback, psycopg.InterfaceError) as exc:
            self.close()
            raise StoreUnavailableError(f"batch not stored, will retry: {_first_line(exc)}") from exc


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _seen_at(record: DeviceRecord) -> datetime | None:
    if isinstance(record, IntervalRecord):
        return record.end_at
    if isinstance(record, HealthRecord):
        return record.reported_at
    return None


def _upsert_devices(connection: psycopg.Connection[tuple[object, ...]], records: list[DeviceRecord]) -> None:
    """Sites and devices first, in key order: concurrent ingesters then lock rows in one order."""
    seen: dict[str, tuple[str, datetime | None, datetime | None]] = {}
    for record in records:
        at = _seen_at(record)
        site, first, last = seen.get(record.device_id, (record.site_id, at, at))
        if at is not None:
            first = at if first is None else min(first, at)
            last = at if last is None else max(last, at)
            site = record.site_id if last == at else site
        seen[record.device_id] = (site, first, last)
    with connection.cursor() as cursor:
        for site_id in sorted({site for site, _, _ in seen.values()}):
            cursor.execute("INSERT INTO site (site_id) VALUES (%s) ON CONFLICT DO NOTHING", (site_id,))
        for device_id in sorted(seen):
            site_id, first, last = seen[device_id]
            cursor.execute(
                "INSERT INTO device (device_id, site_id, first_seen, last_seen) VALUES (%s, %s, %s, %s)"
                " ON CONFLICT (device_id) DO UPDATE SET"
                "  site_id = CASE WHEN device.last_seen IS NULL OR excluded.last_seen >= device.last_seen"
                "                 THEN excluded.site_id ELSE device.site_id END,"
                "  first_seen = least(device.first_seen, excluded.first_seen),"
                "  last_seen = greatest(device.last_seen, excluded.last_seen)",
                (device_id, site_id, first, last),
            )


def _write_one(connection: psycopg.Connection[tuple[object, ...]], message: InboundMessage) -> StoreOutcome:
    parsed = message.parsed
    if isinstance(parsed, Rejection):
        _quarantine(connection, message, parsed.reason)
        return StoreOutcome.QUARANTINED
    try:
        with connection.transaction():
            return _write_record(connection, parsed, message)
    except (pg_errors.DataError, pg_errors.IntegrityError) as exc:
        # Refused by the database for what it contains: keep it, with the database's reason.
        _quarantine(connection, message, f"database refused it: {_first_line(exc)}")
        return StoreOutcome.QUARANTINED


def _write_record(
    connection: psycopg.Connection[tuple[object, ...]], record: DeviceRecord, message: InboundMessage
) -> StoreOutcome:
    if isinstance(record, IntervalRecord):
        return _write_interval(connection, record, message)
    if isinstance(record, AvailabilityRecord):
        connection.execute(
            "INSERT INTO device_availability (device_id, status) VALUES (%s, %s)"
            " ON CONFLICT (device_id) DO UPDATE SET status = excluded.status, updated_at = now()",
            (record.device_id, record.status),
        )
    elif isinstance(record, HealthRecord):
        connection.execute(
            "INSERT INTO device_health (device_id, reported_at, outbox_backlog_rows, last_seq, payload)"
            " VALUES (%s, %s, %s, %s, %s::jsonb) ON CONFLICT (device_id) DO UPDATE SET"
            " reported_at = excluded.reported_at, outbox_backlog_rows = excluded.outbox_backlog_rows,"
            " last_seq = excluded.last_seq, payload = excluded.payload, received_at = now()"
            " WHERE excluded.reported_at >= device_health.reported_at",
            (record.device_id, record.reported_at, record.outbox_backlog_rows, record.last_seq,
             record.payload_json),
        )  # fmt: skip
    else:
        connection.execute(
            "INSERT INTO device_validation (device_id, validation_id, ended_at, verdict, accuracy, payload)"
            " VALUES (%s, %s, %s, %s, %s, %s::jsonb) ON CONFLICT (device_id) DO UPDATE SET"
            " validation_id = excluded.validation_id, ended_at = excluded.ended_at,"
            " verdict = excluded.verdict, accuracy = excluded.accuracy, payload = excluded.payload,"
            " received_at = now() WHERE excluded.ended_at >= device_validation.ended_at",
            (record.device_id, record.validation_id, record.ended_at, record.verdict, record.accuracy,
             record.payload_json),
        )  # fmt: skip
    return StoreOutcome.UPDATED


def _write_interval(
    connection: psycopg.Connection[tuple[object, ...]], record: IntervalRecord, message: InboundMessage
) -> StoreOutcome:
    inserted = connection.execute(
        "INSERT INTO interval (device_id, seq, site_id, start_at, end_at, coverage, observed_s, backfill,"
        " payload) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb)"
        " ON CONFLICT (device_id, seq) DO NOTHING RETURNING seq",
        (record.device_id, record.seq, record.site_id, record.start_at, record.end_at, record.coverage,
         record.observed_s, record.backfill, record.payload_json),
    ).fetchone()  # fmt: skip
    if inserted is None:
        stored = connection.execute(
            "SELECT start_at, end_at FROM interval WHERE device_id = %s AND seq = %s",
            (record.device_id, record.seq),
        ).fetchone()
        if stored is not None and stored != (record.start_at, record.end_at):
            reason = (
                f"seq {record.seq} of device {record.device_id!r} is stored for another interval"
                f" ({stored[0]} to {stored[1]}); was the device's outbox reset?"
            )
            _quarantine(connection, message, reason)
            return StoreOutcome.QUARANTINED
        return StoreOutcome.DUPLICATE
    with connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO line_count (device_id, seq, line_id, direction, count) VALUES (%s, %s, %s, %s, %s)",
            [
                (record.device_id, record.seq, line.line_id, line.direction.value, line.count)
                for line in record.lines
            ],
        )
    return StoreOutcome.STORED


def _quarantine(
    connection: psycopg.Connection[tuple[object, ...]], message: InboundMessage, reason: str
) -> None:
    logger.warning("quarantined a message on %s: %s", message.topic, reason)
    connection.execute(
        "INSERT INTO quarantine (topic, reason, payload) VALUES (%s, %s, %s)",
        (message.topic, reason, message.payload[:QUARANTINE_PAYLOAD_BYTES]),
    )
