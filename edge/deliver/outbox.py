"""Durable outbox: every closed interval is committed to SQLite before anything is published.

One row per interval: a per-device sequence number assigned in the same transaction as the insert,
the interval as canonical JSON (`codec`), a checksum of both (`checksum`), when it was committed
and when the broker acknowledged it (NULL until the PUBACK). WAL journal with `synchronous=FULL`:
a commit that returned survives SIGKILL and power loss, and everything not acknowledged is handed
out again, oldest first.

Policies (README, D-010 to D-013, D-046 to D-048):
- Full (`max_rows`): the oldest delivered rows are deleted first; if only undelivered rows remain,
  the oldest undelivered rows are dropped with an ERROR log and the persisted
  `dropped_undelivered` counter grows. Never silently.
- Disk full or read-only on insert: the WAL is checkpointed, delivered rows are deleted and the
  insert retried once; if it still fails the interval is held in memory (`unwritten`) with its
  own sequence number, made safe first in the watermark file (`watermark`), published like any
  row, and written as soon as the disk takes writes. Each such failure counts a write error
  (persisted). A held interval lost (queue overflow, stop on a full disk) leaves a seq gap.
- A row whose checksum fails is moved to the `quarantine` table, logged and counted, never sent.
- A corrupt file at open is renamed `<name>.corrupt-<UTC timestamp>` (never deleted), a new
  outbox is created and the old file's undelivered rows are salvaged into it (`salvage`).
- The interval being counted can be saved (`save_open_interval`, one row, replaced each time);
  found at open, it was cut short by a crash and is committed as a row of its own.
- A new outbox starts its sequence at its creation time in milliseconds since the epoch, so ids
  stay unique when a database is lost or replaced.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from edge.deliver.codec import interval_from_json, interval_to_json, iso_utc
from edge.deliver.held import HeldIntervals
from edge.deliver.outbox_rows import OutboxRow, RowReader, StoredRow
from edge.deliver.outbox_sql import OutboxTables
from edge.deliver.salvage import salvage_outbox
from edge.deliver.sqlite_file import (
    SQLITE_FULL,
    checkpoint,
    error_code,
    open_outbox_database,
    transaction,
)
from edge.deliver.status import OutboxStats
from edge.errors import OutboxError
from edge.records import IntervalCount

__all__ = ["OUTBOX_FILE", "OutboxRow", "SqliteOutbox", "default_outbox_path"]

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


class SqliteOutbox:
    """Durable, size-capped queue of interval counts for one device; thread-safe.

    Example:
        >>> outbox = SqliteOutbox(tmp / "outbox.sqlite3", device_id="cam-1")  # doctest: +SKIP
        >>> seq = outbox.enqueue(interval)  # committed durably (or held, see above) before it returns
        >>> outbox.mark_delivered(seq)  # after the broker's PUBACK
    """

    def __init__(
        self,
        path: Path,
        *,
        device_id: str,
        max_rows: int = 100_000,
        retention_s: float = 7 * 86400.0,
        memory_rows: int = 1440,
        wall_clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        """Open (or create) the outbox; raises OutboxError if the file cannot be opened or created.

        Args:
            path: SQLite file; its folder is created if missing.
            device_id: the device whose rows this outbox holds (prefix of message ids).
            max_rows: most rows kept (see the module docstring for the policy when full).
            retention_s: seconds a delivered row is kept before `prune` deletes it.
            memory_rows: most intervals held in memory while the disk takes no writes (a day of
                1-minute intervals by default, about 1.5 MB); at most `max_rows`.
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
        self._tables = OutboxTables(device_id)
        # Acknowledged rows the disk did not let us mark yet: never handed out again meanwhile.
        self._acks_unrecorded: set[int] = set()
        opened = open_outbox_database(self._path, wall_clock)
        self._conn: sqlite3.Connection | None = opened.conn
        self._reader = RowReader(device_id, self._path, wall_clock)
        with self._reading("read"):
            self._held = HeldIntervals(
                self._path,
                min(memory_rows, max_rows),
                write_errors=self._counter("write_errors"),
                dropped=self._counter("dropped_undelivered"),
            )
            self._unwritten = self._held.queue
            self._rows = self._tables.count(opened.conn)
            self._stored_last_seq = self._tables.last_seq(opened.conn)
        if opened.moved_aside is not None:
            self._salvage(opened.moved_aside)
        if self._held.owner:  # else the open interval is a live process's, not a crashed one's
            self._recover_open_interval()

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
        """Write what is held if possible, truncate the WAL, close; further calls raise OutboxError."""
        with self._lock:
            if self._conn is None:
                return
            self.retry_writes()
            if len(self._unwritten):
                self._held.lose_all()
            checkpoint(self._conn)
            self._conn.close()
            self._conn = None
            self._held.close()

    def enqueue(self, interval: IntervalCount) -> int:
        """Commit one interval durably, or hold it in memory if the disk takes no writes.

        Returns its sequence number either way.

        Raises:
            ValueError: the interval has naive datetimes or NaN/infinite numbers.
            OutboxError: the outbox is closed.
        """
        body = interval_to_json(interval)
        created_at = self._wall_clock().timestamp()
        with self._lock:
            conn = self._connection()
            if len(self._unwritten) and not self._flush_unwritten(conn):
                return self._hold(interval, body, created_at, "earlier intervals still wait for the disk")
            try:
                return self._insert(conn, interval, body, created_at)
            except sqlite3.Error as exc:
                failure = exc
            if error_code(failure) == SQLITE_FULL:
                freed = self._free_space(conn)
                logger.warning(
                    "outbox %s: disk full; deleted %d delivered rows and retrying", self._path, freed
                )
                try:
                    return self._insert(conn, interval, body, created_at)
                except sqlite3.Error as exc:
                    failure = exc
            return self._hold(interval, body, created_at, str(failure))

    def retry_writes(self) -> bool:
        """Write what waits in memory (held intervals, acknowledgements); True when nothing waits."""
        with self._lock:
            conn = self._connection()
            if self._acks_unrecorded:
                self._record_acks(conn, set())
            if len(self._unwritten):
                self._flush_unwritten(conn)
            return not len(self._unwritten) and not self._acks_unrecorded

    def save_open_interval(self, interval: IntervalCount) -> None:
        """Replace the saved copy of the interval being counted (one row, one small transaction).

        Raises:
            ValueError: a malformed interval (naive time, NaN).
            OutboxError: it could not be saved (disk full, read-only); counting goes on.
        """
        body = interval_to_json(interval)
        with self._lock:
            conn = self._connection()
            try:
                with transaction(conn):
                    self._tables.save_open(conn, interval.start, body, self._wall_clock().timestamp())
            except sqlite3.Error as exc:
                raise OutboxError(f"cannot save the open interval in the outbox {self._path}: {exc}") from exc

    def pending(self, limit: int) -> tuple[OutboxRow, ...]:
        """Up to `limit` undelivered rows, lowest sequence number first (held ones included)."""
        with self._lock, self._reading("read pending rows from"):
            conn = self._connection()
            stored = self._tables.undelivered(conn, limit + len(self._acks_unrecorded))
            fresh = [StoredRow(*item) for item in stored if item[0] not in self._acks_unrecorded]
            rows = [row for row in (self._reader.decode(conn, item) for item in fresh) if row]
            rows += [self._reader.held(row) for row in self._unwritten.undelivered()]
            return tuple(sorted(rows, key=lambda row: row.seq)[:limit])

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

        On a full disk the acknowledged rows are deleted instead (that frees space); if even that
        fails, the acknowledgements are kept in memory (the rows are not handed out again) and
        recorded by `retry_writes`. Rows held in memory are marked there and written as delivered.
        """
        now_s = self._wall_clock().timestamp()
        wanted = set(seqs)
        with self._lock:
            held_before = {row.seq for row in self._unwritten.undelivered()}
            held = self._unwritten.mark_delivered(wanted, now_s)
            changed = len(held & held_before)
            if wanted - held:
                changed += self._record_acks(self._connection(), wanted - held)
            return changed

    def prune(self, now: datetime | None = None) -> int:
        """Delete delivered rows acknowledged more than `retention_s` ago; returns how many."""
        cutoff = (now or self._wall_clock()).timestamp() - self._retention_s
        with self._lock:
            conn = self._connection()
            try:
                with transaction(conn):
                    deleted = self._tables.delete_delivered_before(conn, cutoff)
            except sqlite3.Error as exc:
                raise OutboxError(f"cannot prune the outbox {self._path}: {exc}") from exc
            self._rows -= deleted
            if deleted:
                checkpoint(conn)  # deleting frees no space in WAL mode until the WAL is truncated
            return deleted

    def stats(self) -> OutboxStats:
        """Backlog, age of the oldest undelivered row, losses, write errors and salvage figures."""
        with self._lock, self._reading("read statistics of"):
            conn = self._connection()
            backlog, oldest = self._tables.backlog(conn, self._acks_unrecorded)
            waiting = [row.created_at for row in self._unwritten.rows() if row.delivered_at is None]
            oldest_s = min([*([] if oldest is None else [oldest]), *waiting], default=None)
            last = self._last_seq(conn)
            return OutboxStats(
                backlog_rows=backlog + len(waiting),
                oldest_undelivered_age_s=None
                if oldest_s is None
                else max(0.0, self._wall_clock().timestamp() - oldest_s),
                dropped_undelivered=self._held.dropped,
                write_errors=self._held.write_errors,
                last_seq=last or None,
                total_rows=self._rows + len(self._unwritten),
                unwritten_rows=len(self._unwritten),
                quarantined_rows=self._counter("quarantined") + self._reader.quarantine_pending,
                salvaged_rows=self._counter("salvaged"),
                unsalvaged_rows=self._counter("unsalvaged"),
            )

    # -- writing -------------------------------------------------------------------------------

    def _insert(self, conn: sqlite3.Connection, interval: IntervalCount, body: str, created_at: float) -> int:
        with transaction(conn):
            freed, dropped = self._make_room(conn, 1)
            first = int(self._wall_clock().timestamp() * 1000)
            seq = self._tables.next_seq(conn, self._held.last_seq, first)
            self._tables.insert(conn, seq, interval.start, interval.end, body, created_at)
            self._tables.raise_counters(conn, self._held.totals(len(dropped)))
        self._committed(1, freed, dropped)
        self._stored_last_seq = max(self._stored_last_seq, seq)
        return seq

    def _committed(self, added: int, freed: int, dropped: list[int]) -> None:
        self._rows += added - freed - len(dropped)
        self._held.dropped += len(dropped)
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

    def _make_room(self, conn: sqlite3.Connection, incoming: int) -> tuple[int, list[int]]:
        """Delete rows so `incoming` more fit; returns (delivered rows deleted, undelivered seqs dropped)."""
        excess = self._rows + incoming - self._max_rows
        if excess <= 0:
            return 0, []
        freed = self._tables.delete_oldest_delivered(conn, excess)
        if freed >= excess:
            return freed, []
        return freed, self._tables.drop_oldest_undelivered(conn, excess - freed)

    def _last_seq(self, conn: sqlite3.Connection) -> int:
        """The highest number given out: stored, in the watermark, or held."""
        self._stored_last_seq = max(self._stored_last_seq, self._tables.last_seq(conn))
        return max(self._stored_last_seq, self._held.last_seq)

    def _free_space(self, conn: sqlite3.Connection) -> int:
        """Disk full: truncate the WAL, delete every delivered row, truncate again; rows deleted."""
        checkpoint(conn)
        try:
            with transaction(conn):
                deleted = self._tables.delete_all_delivered(conn)
        except sqlite3.Error:
            deleted = 0
        self._rows -= deleted
        checkpoint(conn)
        return deleted

    def _record_acks(self, conn: sqlite3.Connection, seqs: set[int]) -> int:
        """Mark `seqs` (and acknowledgements kept from before) delivered; how many rows changed.

        On a full disk the rows are deleted instead (that needs no space); if that fails too, or
        the disk is read-only, the acknowledgements are kept in memory.
        """
        todo = sorted(seqs | self._acks_unrecorded)
        try:
            with transaction(conn):
                changed = self._tables.mark_delivered(conn, todo, self._wall_clock().timestamp())
        except sqlite3.Error as exc:
            if error_code(exc) != SQLITE_FULL:
                return self._keep_acks(seqs, exc)
            try:
                with transaction(conn):
                    changed = self._tables.delete_undelivered(conn, todo)
            except sqlite3.Error as again:
                return self._keep_acks(seqs, again)
            self._rows -= changed
            logger.warning(
                "outbox %s: disk full; deleted %d acknowledged row(s) instead", self._path, changed
            )
        known = len(self._acks_unrecorded)
        self._acks_unrecorded.clear()
        return max(0, changed - known)

    def _keep_acks(self, seqs: set[int], exc: sqlite3.Error) -> int:
        if not self._acks_unrecorded:
            logger.warning(
                "outbox %s cannot record deliveries (%s): kept in memory until it can", self._path, exc
            )
        new = seqs - self._acks_unrecorded
        self._acks_unrecorded |= seqs
        return len(new)

    # -- held in memory (disk full) ---------------------------------------------------------------

    def _hold(self, interval: IntervalCount, body: str, created_at: float, reason: str) -> int:
        try:
            last = self._last_seq(self._connection())
        except sqlite3.Error:  # the disk fails reads too: the numbers known here still rule
            last = self._stored_last_seq
        seq = max(last, self._stored_last_seq, self._held.last_seq) + 1
        self._held.hold(seq, interval, body, created_at, reason)
        return seq

    def _flush_unwritten(self, conn: sqlite3.Connection) -> bool:
        """Write every held interval in one transaction; False (nothing changed) if it failed."""
        held = self._unwritten.rows()
        try:
            with transaction(conn):
                freed, dropped = self._make_room(conn, len(held))
                for row in held:
                    start, end = row.interval.start, row.interval.end
                    self._tables.insert(
                        conn, row.seq, start, end, row.body, row.created_at, delivered_at=row.delivered_at
                    )
                self._tables.raise_seq(conn, held[-1].seq)
                self._tables.raise_counters(conn, self._held.totals(len(dropped)))
        except sqlite3.Error:
            return False
        self._committed(len(held), freed, dropped)
        self._held.written()
        return True

    # -- at open ------------------------------------------------------------------------------

    def _salvage(self, damaged: Path) -> None:
        """Commit the undelivered rows readable in the damaged file, under their own numbers."""
        found = salvage_outbox(damaged, self._device_id)
        self._held.raise_floor(max([found.last_seq or 0, *(row.seq for row in found.rows)]))
        conn = self._connection()
        try:
            with transaction(conn):
                for row in found.rows:
                    self._tables.insert(
                        conn, row.seq, row.interval_start, row.interval_end, row.body, row.created_at,
                        checksum=row.checksum,
                    )  # fmt: skip
                # The damaged file's totals carry on (losses are never forgotten with a file).
                amounts = dict(found.counters)
                amounts["salvaged"] = amounts.get("salvaged", 0) + len(found.rows)
                amounts["unsalvaged"] = amounts.get("unsalvaged", 0) + found.unsaved
                self._tables.add_to_counters(conn, amounts)
                self._tables.record_lost(conn, found.lost_ranges)
        except sqlite3.Error as exc:
            logger.error("cannot store the rows salvaged from %s: %s; the file is kept", damaged, exc)
            return
        self._rows += len(found.rows)
        self._held.adopt(found.counters)
        unknown = found.method == "nothing readable"
        (logger.error if found.unsaved or unknown else logger.warning)(
            "salvaged %d undelivered row(s) from the damaged outbox %s (%s); %s",
            len(found.rows),
            damaged,
            found.method,
            "nothing could be read from it: an unknown number of intervals is lost"
            if unknown
            else f"{found.unsaved} sequence number(s) in it could not be read",
        )

    def _recover_open_interval(self) -> None:
        """An interval saved while open and never closed was cut short by a crash: commit it."""
        conn = self._connection()
        with self._reading("read the open interval of"):
            saved = self._tables.read_open(conn)
        if saved is None:
            return
        interval = self._reader.open_interval(*saved)
        if interval is None:
            with suppress(sqlite3.Error), transaction(conn):
                self._tables.delete_open(conn)
            return
        seq = self.enqueue(interval)  # its insert deletes the saved copy in the same transaction
        logger.warning(
            "the last run ended without closing its interval %s: committed as seq %d with the %.0f s "
            "observed until its last save (coverage %.2f)",
            iso_utc(interval.start),
            seq,
            interval.quality.observed_s,
            interval.quality.coverage,
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

    def _counter(self, name: str) -> int:
        return self._tables.counter(self._connection(), name)
