"""The outbox's SQL, one statement per method, for one device: no transactions, no policy.

`SqliteOutbox` decides what to do and when (and wraps these calls in transactions); this module
only knows the tables of `sqlite_file`'s schema. Every row written gets its checksum here.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime

from edge.deliver.checksum import row_checksum
from edge.deliver.codec import iso_utc

# The saved open interval is checksummed as if it were row 0 (it has no sequence number yet).
OPEN_INTERVAL_SEQ = 0


def _utc_text(moment: datetime | str) -> str:
    return moment if isinstance(moment, str) else iso_utc(moment)


class OutboxTables:
    """Statements on the outbox tables, bound to one device id."""

    def __init__(self, device_id: str) -> None:
        self._device_id = device_id

    # -- rows ------------------------------------------------------------------------------------

    def insert(
        self,
        conn: sqlite3.Connection,
        seq: int,
        start: datetime | str,
        end: datetime | str,
        body: str,
        created_at: float,
        *,
        delivered_at: float | None = None,
        checksum: str | None = None,
    ) -> None:
        """Insert one row; the saved copy of the same (or an earlier) open interval goes with it."""
        conn.execute(
            "INSERT INTO outbox (device_id, seq, interval_start, interval_end, body, created_at, "
            "delivered_at, checksum) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                self._device_id,
                seq,
                _utc_text(start),
                _utc_text(end),
                body,
                created_at,
                delivered_at,
                checksum or row_checksum(self._device_id, seq, body),
            ),
        )
        conn.execute(
            "DELETE FROM open_interval WHERE device_id = ? AND interval_start <= ?",
            (self._device_id, _utc_text(start)),
        )

    def count(self, conn: sqlite3.Connection) -> int:
        row = conn.execute("SELECT COUNT(*) FROM outbox WHERE device_id = ?", (self._device_id,)).fetchone()
        return int(row[0])

    def undelivered(self, conn: sqlite3.Connection, limit: int) -> list[tuple[int, str, float, str | None]]:
        """(seq, body, created_at, checksum) of undelivered rows, lowest seq first."""
        return conn.execute(
            "SELECT seq, body, created_at, checksum FROM outbox WHERE device_id = ? "
            "AND delivered_at IS NULL ORDER BY seq LIMIT ?",
            (self._device_id, limit),
        ).fetchall()

    def backlog(self, conn: sqlite3.Connection, excluded: set[int]) -> tuple[int, float | None]:
        """Undelivered rows not in `excluded`: how many, and the oldest's commit time."""
        count, oldest = conn.execute(
            "SELECT COUNT(*), MIN(created_at) FROM outbox WHERE device_id = ? AND delivered_at IS NULL "
            "AND seq NOT IN (SELECT value FROM json_each(?))",
            (self._device_id, json.dumps(sorted(excluded))),
        ).fetchone()
        return int(count), None if oldest is None else float(oldest)

    def mark_delivered(self, conn: sqlite3.Connection, seqs: list[int], at: float) -> int:
        before = conn.total_changes
        conn.executemany(
            "UPDATE outbox SET delivered_at = ? WHERE device_id = ? AND seq = ? AND delivered_at IS NULL",
            [(at, self._device_id, seq) for seq in seqs],
        )
        return conn.total_changes - before

    def delete_undelivered(self, conn: sqlite3.Connection, seqs: list[int]) -> int:
        before = conn.total_changes
        conn.executemany(
            "DELETE FROM outbox WHERE device_id = ? AND seq = ? AND delivered_at IS NULL",
            [(self._device_id, seq) for seq in seqs],
        )
        return conn.total_changes - before

    def delete_oldest_delivered(self, conn: sqlite3.Connection, limit: int) -> int:
        return int(
            conn.execute(
                "DELETE FROM outbox WHERE device_id = ? AND seq IN (SELECT seq FROM outbox "
                "WHERE device_id = ? AND delivered_at IS NOT NULL ORDER BY seq LIMIT ?)",
                (self._device_id, self._device_id, limit),
            ).rowcount
        )

    def delete_delivered_before(self, conn: sqlite3.Connection, cutoff: float) -> int:
        return int(
            conn.execute(
                "DELETE FROM outbox WHERE device_id = ? AND delivered_at IS NOT NULL AND delivered_at < ?",
                (self._device_id, cutoff),
            ).rowcount
        )

    def delete_all_delivered(self, conn: sqlite3.Connection) -> int:
        return int(
            conn.execute(
                "DELETE FROM outbox WHERE device_id = ? AND delivered_at IS NOT NULL", (self._device_id,)
            ).rowcount
        )

    def drop_oldest_undelivered(self, conn: sqlite3.Connection, limit: int) -> list[int]:
        """Delete the `limit` oldest undelivered rows; returns their sequence numbers."""
        dropped = [
            int(seq)
            for (seq,) in conn.execute(
                "SELECT seq FROM outbox WHERE device_id = ? AND delivered_at IS NULL ORDER BY seq LIMIT ?",
                (self._device_id, limit),
            )
        ]
        conn.executemany(
            "DELETE FROM outbox WHERE device_id = ? AND seq = ?", [(self._device_id, seq) for seq in dropped]
        )
        return dropped

    # -- sequence and counters -------------------------------------------------------------------

    def next_seq(self, conn: sqlite3.Connection, floor: int, first: int) -> int:
        """One above the stored last number and `floor`; `first` (or above floor) for a new outbox."""
        row = conn.execute(
            "UPDATE sequence SET last_seq = MAX(last_seq, ?) + 1 WHERE device_id = ? RETURNING last_seq",
            (floor, self._device_id),
        ).fetchone()
        if row is not None:
            return int(row[0])
        seq = max(first, floor + 1)
        conn.execute("INSERT INTO sequence (device_id, last_seq) VALUES (?, ?)", (self._device_id, seq))
        return seq

    def raise_seq(self, conn: sqlite3.Connection, seq: int) -> None:
        """Make the stored last number at least `seq` (rows written with numbers given earlier)."""
        conn.execute(
            "INSERT INTO sequence (device_id, last_seq) VALUES (?, ?) ON CONFLICT (device_id) "
            "DO UPDATE SET last_seq = MAX(last_seq, excluded.last_seq)",
            (self._device_id, seq),
        )

    def last_seq(self, conn: sqlite3.Connection) -> int:
        """The stored last number, 0 for a new outbox."""
        row = conn.execute("SELECT last_seq FROM sequence WHERE device_id = ?", (self._device_id,)).fetchone()
        return 0 if row is None else int(row[0])

    @staticmethod
    def counter(conn: sqlite3.Connection, name: str) -> int:
        row = conn.execute("SELECT value FROM counters WHERE name = ?", (name,)).fetchone()
        return 0 if row is None else int(row[0])

    @staticmethod
    def raise_counters(conn: sqlite3.Connection, totals: dict[str, int]) -> None:
        """Store totals kept in memory, never lowering a stored one."""
        conn.executemany(
            "INSERT INTO counters (name, value) VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET value = MAX(value, excluded.value)",
            list(totals.items()),
        )

    @staticmethod
    def add_to_counters(conn: sqlite3.Connection, amounts: dict[str, int]) -> None:
        conn.executemany(
            "INSERT INTO counters (name, value) VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET value = value + excluded.value",
            list(amounts.items()),
        )

    def record_lost(self, conn: sqlite3.Connection, ranges: tuple[tuple[int, int], ...]) -> None:
        """Remember sequence numbers a salvage could not read (ranges, both ends included)."""
        conn.executemany(
            "INSERT INTO lost_seqs (device_id, first, last) VALUES (?, ?, ?)",
            [(self._device_id, first, last) for first, last in ranges],
        )

    # -- the open interval -----------------------------------------------------------------------

    def save_open(self, conn: sqlite3.Connection, start: datetime, body: str, saved_at: float) -> None:
        conn.execute(
            "INSERT INTO open_interval (device_id, interval_start, body, checksum, saved_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (device_id) DO UPDATE SET "
            "interval_start = excluded.interval_start, body = excluded.body, "
            "checksum = excluded.checksum, saved_at = excluded.saved_at",
            (
                self._device_id,
                iso_utc(start),
                body,
                row_checksum(self._device_id, OPEN_INTERVAL_SEQ, body),
                saved_at,
            ),
        )

    def read_open(self, conn: sqlite3.Connection) -> tuple[str, str] | None:
        """(body, checksum) of the saved open interval, if any."""
        row = conn.execute(
            "SELECT body, checksum FROM open_interval WHERE device_id = ?", (self._device_id,)
        ).fetchone()
        return None if row is None else (str(row[0]), str(row[1]))

    def delete_open(self, conn: sqlite3.Connection) -> None:
        conn.execute("DELETE FROM open_interval WHERE device_id = ?", (self._device_id,))
