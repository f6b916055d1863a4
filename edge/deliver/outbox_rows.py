"""Reading outbox rows back: checksum check, decoding, and quarantine of rows that fail either.

A row whose stored checksum does not match its payload fields (changed on disk: a flipped bit,
an edited digit) or whose body cannot be decoded is never handed out for publishing: it is moved
to the `quarantine` table, logged as an ERROR and counted (README D-048). If even that write fails
(a full disk), the row is skipped in memory and moved at the next read.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from edge.deliver.checksum import row_checksum
from edge.deliver.codec import interval_from_json
from edge.deliver.sqlite_file import transaction
from edge.deliver.unwritten import UnwrittenRow
from edge.records import IntervalCount

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """One undelivered interval as stored: its sequence number, interval and commit time (UTC)."""

    seq: int
    device_id: str
    interval: IntervalCount
    created_at: datetime

    @property
    def message_id(self) -> str:
        """Stable unique id consumers de-duplicate by: `{device_id}:{seq}`."""
        return f"{self.device_id}:{self.seq}"


@dataclass(frozen=True, slots=True)
class StoredRow:
    """The columns of an undelivered row as read: seq, body, created_at, checksum."""

    seq: int
    body: str
    created_at: float
    checksum: str | None


class RowReader:
    """Turns stored rows of one device into `OutboxRow`s, quarantining those that fail."""

    def __init__(self, device_id: str, path: Path, wall_clock: Callable[[], datetime]) -> None:
        self._device_id = device_id
        self._path = path
        self._wall_clock = wall_clock
        # Rows found bad whose move to the quarantine table failed (disk full): skipped until moved.
        self._bad: dict[int, str] = {}

    @property
    def quarantine_pending(self) -> int:
        return len(self._bad)

    def decode(self, conn: sqlite3.Connection, row: StoredRow) -> OutboxRow | None:
        """The row, or None if it failed its checksum or decoding (then it is quarantined)."""
        if row.checksum != row_checksum(self._device_id, row.seq, row.body):
            self._quarantine(conn, row, "its checksum does not match its contents (changed on disk)")
            return None
        try:
            interval = interval_from_json(row.body)
        except ValueError as exc:
            self._quarantine(conn, row, f"it cannot be decoded ({exc})")
            return None
        return OutboxRow(row.seq, self._device_id, interval, datetime.fromtimestamp(row.created_at, UTC))

    def held(self, row: UnwrittenRow) -> OutboxRow:
        """A row held in memory (checked when it was made)."""
        return OutboxRow(row.seq, self._device_id, row.interval, datetime.fromtimestamp(row.created_at, UTC))

    def open_interval(self, body: str, checksum: str | None) -> IntervalCount | None:
        """The saved open interval, or None (logged) if it fails its checksum or decoding."""
        if checksum != row_checksum(self._device_id, 0, body):
            logger.error("outbox %s: the saved open interval fails its checksum; discarded", self._path)
            return None
        try:
            return interval_from_json(body)
        except ValueError as exc:
            logger.error(
                "outbox %s: the saved open interval cannot be decoded (%s); discarded", self._path, exc
            )
            return None

    def _quarantine(self, conn: sqlite3.Connection, row: StoredRow, reason: str) -> None:
        first_time = row.seq not in self._bad
        try:
            with transaction(conn):
                conn.execute(
                    "INSERT INTO quarantine (device_id, seq, body, checksum, reason, quarantined_at) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        self._device_id,
                        row.seq,
                        row.body,
                        row.checksum,
                        reason,
                        self._wall_clock().timestamp(),
                    ),
                )
                conn.execute("DELETE FROM outbox WHERE device_id = ? AND seq = ?", (self._device_id, row.seq))
                conn.execute(
                    "INSERT INTO counters (name, value) VALUES ('quarantined', 1) "
                    "ON CONFLICT (name) DO UPDATE SET value = value + 1"
                )
        except sqlite3.Error as exc:
            self._bad[row.seq] = reason
            if first_time:
                logger.error(
                    "outbox %s: row seq %d is not published because %s; it cannot be quarantined yet (%s)",
                    self._path,
                    row.seq,
                    reason,
                    exc,
                )
            return
        self._bad.pop(row.seq, None)
        logger.error(
            "outbox %s: row seq %d is not published because %s; moved to the quarantine table",
            self._path,
            row.seq,
            reason,
        )
