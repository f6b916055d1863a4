"""Durable outbox: every closed interval is committed to SQLite before anything is published.

One row per interval: a per-device sequence number assigned in the same transaction as the insert,
the interval as canonical JSON (`codec`), when it was committed and when the broker acknowledged
it (NULL until the PUBACK). WAL journal with `synchronous=FULL`: a commit that returned survives
SIGKILL and power loss, and everything not acknowledged is handed out again, oldest first.

Policies (README, D-010 to D-013):
- Full (`max_rows`): the oldest delivered rows are deleted first; if only undelivered rows remain,
  the oldest undelivered rows are dropped with an ERROR log and the persisted
  `dropped_undelivered` counter grows. Never silently.
- Disk full on insert: delivered rows are deleted and the insert retried once; if it still fails,
  or the database is read-only, `OutboxError` (counted in `write_errors`); the caller goes on.
- A corrupt file at open is renamed `<name>.corrupt-<UTC timestamp>` (never deleted) and a new
  outbox is created.
- A new outbox starts its sequence at its creation time in milliseconds since the epoch, so ids
  stay unique when a database is lost or replaced.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from edge.deliver.codec import interval_from_json, interval_to_json, iso_utc
from edge.deliver.sqlite_file import SQLITE_FULL, error_code, open_outbox_database, transaction
from edge.deliver.status import OutboxStats
from edge.errors import OutboxError
from edge.records import IntervalCount

logger = logging.getLogger(__name__)

OUTBOX_FILE = "outbox.sqlite3"


def _utc_now() -> datetime:
    return datetime.now(UTC)


def default_outbox_path() -> Path:
    """$STATE_DIRECTORY (systemd `StateDirectory=`), else $XDG_STATE_HOME or ~/.local/state, /footfall."""
    state = os.environ.get("STATE_DIRECTORY")
    if state:
        return Path(state.split(":")[0]) / OUTBOX_FILE
    xdg = os.environ.get("XDG_STATE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".local" / "state") / "footfall" / OUTBOX_FILE


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


class SqliteOutbox:
    """Durable, size-capped queue of interval counts for one device; thread-safe.

    Example:
        >>> outbox = SqliteOutbox(tmp / "outbox.sqlite3", device_id="cam-1")  # doctest: +SKIP
        >>> seq = outbox.enqueue(interval)  # committed durably before it returns
        >>> outbox.mark_delivered(seq)  # after the broker's PUBACK
    """

    def __init__(
        self,
        path: Path,
        *,
        device_id: str,
        max_rows: int = 100_000,
        retention_s: float = 7 * 86400.0,
        wall_clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        """Open (or create) the outbox; raises OutboxError if the file cannot be opened or created.

        Args:
            path: SQLite file; its folder is created if missing.
            device_id: the device whose rows this outbox holds (prefix of message ids).
            max_rows: most rows kept (see the module docstring for the policy when full).
            retention_s: seconds a delivered row is kept before `prune` deletes it.
            wall_clock: UTC now, injectable for tests.
        """
        if not device_id:
            raise ValueError("device_id must not be empty")
        if max_rows < 1:
            raise ValueError(f"max_rows must be >= 1, got {max_rows}")
        if retention_s <= 0:
            raise ValueError(f"retention_s must be > 0, got {retention_s}")
        self._path = Path(path)
        self._device_id = device_id
        self._max_rows = max_rows
        self._retention_s = retention_s
        self._wall_clock = wall_clock
        self._lock = threading.RLock()
        self._write_errors = 0
        self._conn: sqlite3.Connection | None = open_outbox_database(self._path, wall_clock)
        self._rows = self._count_rows()

    @property
    def path(self) -> Path:
        return self._path

    @property
    def device_id(self) -> str:
        return self._device_id

    def __enter__(self) -> SqliteOutbox:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the database; further calls raise OutboxError."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def enqueue(self, interval: IntervalCount) -> int:
        """Commit one interval durably and return its sequence number.

        Raises:
            ValueError: the interval has naive datetimes or NaN/infinite numbers.
            OutboxError: the row could not be committed (disk full, read-only); it is lost, logged
                by the caller and counted in `write_errors`.
        """
        body = interval_to_json(interval)
        with self._lock:
            conn = self._connection()
            try:
                return self._insert(conn, interval, body)
            except sqlite3.Error as exc:
                if error_code(exc) == SQLITE_FULL and self._free_delivered(conn) > 0:
                    logger.warning("outbox %s: disk full; deleted delivered rows and retrying", self._path)
                    return self._insert_or_raise(conn, interval, body)
                raise self._write_failure(interval, exc) from exc

    def pending(self, limit: int) -> tuple[OutboxRow, ...]:
        """Up to `limit` undelivered rows, lowest sequence number first."""
        with self._lock, self._reading("read pending rows from"):
            rows = (
                self._connection()
                .execute(
                    "SELECT seq, body, created_at FROM outbox WHERE device_id = ? AND delivered_at IS NULL "
                    "ORDER BY seq LIMIT ?",
                    (self._device_id, limit),
                )
                .fetchall()
            )
            return tuple(row for row in map(self._decode, rows) if row is not None)

    def history(self, since: datetime, limit: int) -> tuple[IntervalCount, ...]:
        """Stored intervals ending after `since`, delivered or not, by start time; the last `limit` stored.

        Read-only (for the health page's chart, which must survive restarts): a row that cannot be
        decoded is skipped here and left to `pending` to report.
        """
        with self._lock, self._reading("read the history of"):
            rows = (
                self._connection()
                .execute(
                    "SELECT body FROM outbox WHERE device_id = ? AND interval_end > ? "
                    "ORDER BY seq DESC LIMIT ?",
                    (self._device_id, iso_utc(since), limit),
                )
                .fetchall()
            )
        intervals = []
        for (body,) in rows:
            try:
                intervals.append(interval_from_json(body))
            except ValueError:
                continue
        return tuple(sorted(intervals, key=lambda interval: interval.start))

    def mark_delivered(self, seq: int) -> bool:
        """Record the broker's acknowledgement of one row; False if it was unknown or already marked."""
        return self.mark_delivered_many((seq,)) == 1

    def mark_delivered_many(self, seqs: Iterable[int]) -> int:
        """Record acknowledgements in one durable transaction; returns how many rows changed.

        On a full disk the acknowledged rows are deleted instead (that frees space and needs none).
        """
        params = [(self._wall_clock().timestamp(), self._device_id, seq) for seq in seqs]
        if not params:
            return 0
        with self._lock:
            conn = self._connection()
            try:
                with transaction(conn):
                    before = conn.total_changes
                    conn.executemany(
                        "UPDATE outbox SET delivered_at = ? WHERE device_id = ? AND seq = ? "
                        "AND delivered_at IS NULL",
                        params,
                    )
                    return conn.total_changes - before
            except sqlite3.Error as exc:
                if error_code(exc) == SQLITE_FULL:
                    return self._delete_acknowledged(conn, [seq for _, _, seq in params], exc)
                self._write_errors += 1
                raise OutboxError(f"cannot record deliveries in the outbox {self._path}: {exc}") from exc

    def prune(self, now: datetime | None = None) -> int:
        """Delete delivered rows acknowledged more than `retention_s` ago; returns how many."""
        cutoff = (now or self._wall_clock()).timestamp() - self._retention_s
        with self._lock:
            conn = self._connection()
            try:
                with transaction(conn):
                    deleted = conn.execute(
                        "DELETE FROM outbox WHERE device_id = ? AND delivered_at IS NOT NULL "
                        "AND delivered_at < ?",
                        (self._device_id, cutoff),
                    ).rowcount
            except sqlite3.Error as exc:
                self._write_errors += 1
                raise OutboxError(f"cannot prune the outbox {self._path}: {exc}") from exc
            self._rows -= deleted
            return deleted

    def stats(self) -> OutboxStats:
        """Backlog, age of the oldest undelivered row, drops and write errors."""
        with self._lock, self._reading("read statistics of"):
            conn = self._connection()
            backlog, oldest = conn.execute(
                "SELECT COUNT(*), MIN(created_at) FROM outbox WHERE device_id = ? AND delivered_at IS NULL",
                (self._device_id,),
            ).fetchone()
            last = conn.execute(
                "SELECT last_seq FROM sequence WHERE device_id = ?", (self._device_id,)
            ).fetchone()
            age_s = None if oldest is None else max(0.0, self._wall_clock().timestamp() - oldest)
            return OutboxStats(
                backlog_rows=int(backlog),
                oldest_undelivered_age_s=age_s,
                dropped_undelivered=self._counter(conn, "dropped_undelivered"),
                write_errors=self._write_errors,
                last_seq=None if last is None else int(last[0]),
                total_rows=self._rows,
            )

    def _count_rows(self) -> int:
        with self._reading("count rows of"):
            row = self._connection().execute(
                "SELECT COUNT(*) FROM outbox WHERE device_id = ?", (self._device_id,)
            )
            return int(row.fetchone()[0])

    # -- writing -------------------------------------------------------------------------------

    def _insert(self, conn: sqlite3.Connection, interval: IntervalCount, body: str) -> int:
        with transaction(conn):
            freed, dropped = self._make_room(conn)
            seq = self._next_seq(conn)
            conn.execute(
                "INSERT INTO outbox (device_id, seq, interval_start, interval_end, body, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    self._device_id,
                    seq,
                    iso_utc(interval.start),
                    iso_utc(interval.end),
                    body,
                    self._wall_clock().timestamp(),
                ),
            )
        self._rows += 1 - freed - len(dropped)
        if dropped:
            logger.error(
                "outbox %s is full (%d rows, none delivered): dropped %d undelivered row(s), seq %d-%d; "
                "they will never be sent",
                self._path,
                self._max_rows,
                len(dropped),
                dropped[0],
                dropped[-1],
            )
        return seq

    def _insert_or_raise(self, conn: sqlite3.Connection, interval: IntervalCount, body: str) -> int:
        try:
            return self._insert(conn, interval, body)
        except sqlite3.Error as exc:
            raise self._write_failure(interval, exc) from exc

    def _write_failure(self, interval: IntervalCount, exc: sqlite3.Error) -> OutboxError:
        self._write_errors += 1
        return OutboxError(
            f"cannot commit the interval {iso_utc(interval.start)}/{iso_utc(interval.end)} to the outbox "
            f"{self._path}: {exc}; the interval is lost"
        )

    def _make_room(self, conn: sqlite3.Connection) -> tuple[int, list[int]]:
        """Delete rows so one more fits; returns (delivered rows deleted, undelivered seqs dropped)."""
        excess = self._rows + 1 - self._max_rows
        if excess <= 0:
            return 0, []
        freed = conn.execute(
            "DELETE FROM outbox WHERE device_id = ? AND seq IN (SELECT seq FROM outbox WHERE device_id = ? "
            "AND delivered_at IS NOT NULL ORDER BY seq LIMIT ?)",
            (self._device_id, self._device_id, excess),
        ).rowcount
        if freed >= excess:
            return freed, []
        dropped = [
            int(seq)
            for (seq,) in conn.execute(
                "SELECT seq FROM outbox WHERE device_id = ? AND delivered_at IS NULL ORDER BY seq LIMIT ?",
                (self._device_id, excess - freed),
            )
        ]
        conn.executemany(
            "DELETE FROM outbox WHERE device_id = ? AND seq = ?", [(self._device_id, seq) for seq in dropped]
        )
        self._add_to_counter(conn, "dropped_undelivered", len(dropped))
        return freed, dropped

    def _next_seq(self, conn: sqlite3.Connection) -> int:
        row = conn.execute(
            "UPDATE sequence SET last_seq = last_seq + 1 WHERE device_id = ? RETURNING last_seq",
            (self._device_id,),
        ).fetchone()
        if row is not None:
            return int(row[0])
        first = int(self._wall_clock().timestamp() * 1000)
        conn.execute("INSERT INTO sequence (device_id, last_seq) VALUES (?, ?)", (self._device_id, first))
        return first

    def _free_delivered(self, conn: sqlite3.Connection) -> int:
        """Delete every delivered row (disk full); returns how many, 0 if that failed too."""
        try:
            with transaction(conn):
                deleted = conn.execute(
                    "DELETE FROM outbox WHERE device_id = ? AND delivered_at IS NOT NULL", (self._device_id,)
                ).rowcount
        except sqlite3.Error:
            return 0
        self._rows -= deleted
        return deleted

    def _delete_acknowledged(self, conn: sqlite3.Connection, seqs: list[int], full: sqlite3.Error) -> int:
        try:
            with transaction(conn):
                before = conn.total_changes
                conn.executemany(
                    "DELETE FROM outbox WHERE device_id = ? AND seq = ? AND delivered_at IS NULL",
                    [(self._device_id, seq) for seq in seqs],
                )
                deleted = conn.total_changes - before
        except sqlite3.Error as exc:
            self._write_errors += 1
            raise OutboxError(f"cannot record deliveries in the outbox {self._path}: {exc}") from full
        self._rows -= deleted
        logger.warning(
            "outbox %s: disk full; deleted %d acknowledged row(s) instead of marking them",
            self._path,
            deleted,
        )
        return deleted

    def _add_to_counter(self, conn: sqlite3.Connection, name: str, amount: int) -> None:
        conn.execute(
            "INSERT INTO counters (name, value) VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET value = value + excluded.value",
            (name, amount),
        )

    # -- reading -------------------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise OutboxError(f"the outbox {self._path} is closed")
        return self._conn

    @contextmanager
    def _reading(self, what: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise OutboxError(f"cannot {what} the outbox {self._path}: {exc}") from exc

    def _counter(self, conn: sqlite3.Connection, name: str) -> int:
        row = conn.execute("SELECT value FROM counters WHERE name = ?", (name,)).fetchone()
        return 0 if row is None else int(row[0])

    def _decode(self, row: tuple[int, str, float]) -> OutboxRow | None:
        seq, body, created_at = row
        try:
            interval = interval_from_json(body)
        except ValueError as exc:
            self._drop_unreadable(seq, exc)
            return None
        return OutboxRow(
            seq=int(seq),
            device_id=self._device_id,
            interval=interval,
            created_at=datetime.fromtimestamp(created_at, UTC),
        )

    def _drop_unreadable(self, seq: int, exc: ValueError) -> None:
        logger.error(
            "outbox %s: row seq %d cannot be decoded (%s); dropped, it will never be sent",
            self._path,
            seq,
            exc,
        )
        conn = self._connection()
        with transaction(conn):
            conn.execute("DELETE FROM outbox WHERE device_id = ? AND seq = ?", (self._device_id, seq))
            self._add_to_counter(conn, "dropped_undelivered", 1)
        self._rows -= 1
