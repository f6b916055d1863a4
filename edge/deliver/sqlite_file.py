"""Opening the outbox's SQLite file: WAL, durable commits, schema, and what to do with a bad file.

Kept apart from the queue semantics in `outbox`: this module decides that a file that is not a
database (or fails `PRAGMA quick_check`) is renamed to `<name>.corrupt-<UTC timestamp>` (with its
-wal/-shm companions) and never deleted (the outbox then salvages what it can from it, `salvage`),
and that any other failure to open is an `OutboxError`.

The WAL is bounded (README D-046): SQLite checkpoints it every `WAL_AUTOCHECKPOINT_PAGES` and
truncates it to `JOURNAL_SIZE_LIMIT_BYTES` after; `checkpoint` truncates it to zero after deletes
and at close, so space freed by deleting rows is given back. Opening an existing, current database
writes nothing, so a restart on a full disk works.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from edge.deliver.checksum import row_checksum
from edge.errors import OutboxError

logger = logging.getLogger(__name__)

# Seconds a statement waits for a lock held by another connection (a second process) before failing.
BUSY_TIMEOUT_S = 5.0
# SQLite primary result codes (sqlite3.h) that decide how a failure is handled.
SQLITE_CORRUPT = 11
SQLITE_FULL = 13
SQLITE_NOTADB = 26
# Pages written to the WAL before SQLite checkpoints it (default 1000 = 4 MB): a small volume
# must not fill with WAL; at one interval a minute this checkpoints about every 10 minutes.
WAL_AUTOCHECKPOINT_PAGES = 64
# Bytes the WAL is truncated to after a checkpoint (it is otherwise reused at its largest size).
JOURNAL_SIZE_LIMIT_BYTES = 256 * 1024
SCHEMA_VERSION = 2
_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS outbox (
        device_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        interval_start TEXT NOT NULL,
        interval_end TEXT NOT NULL,
        body TEXT NOT NULL,
        created_at REAL NOT NULL,
        delivered_at REAL,
        checksum TEXT,
        PRIMARY KEY (device_id, seq)
    ) WITHOUT ROWID""",
    """CREATE INDEX IF NOT EXISTS outbox_undelivered ON outbox (device_id, seq)
        WHERE delivered_at IS NULL""",
    """CREATE INDEX IF NOT EXISTS outbox_delivered ON outbox (device_id, delivered_at)
        WHERE delivered_at IS NOT NULL""",
    "CREATE TABLE IF NOT EXISTS sequence (device_id TEXT PRIMARY KEY, last_seq INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
    # Rows that failed their checksum: kept for inspection, never published.
    """CREATE TABLE IF NOT EXISTS quarantine (
        device_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        body TEXT NOT NULL,
        checksum TEXT,
        reason TEXT NOT NULL,
        quarantined_at REAL NOT NULL
    )""",
    # Sequence numbers of damaged outbox files that could not be read (salvage): a later salvage
    # neither counts them again nor forgets them.
    """CREATE TABLE IF NOT EXISTS lost_seqs (
        device_id TEXT NOT NULL,
        first INTEGER NOT NULL,
        last INTEGER NOT NULL
    )""",
    # The interval being counted, saved every few seconds so a crash loses seconds, not a minute.
    """CREATE TABLE IF NOT EXISTS open_interval (
        device_id TEXT PRIMARY KEY,
        interval_start TEXT NOT NULL,
        body TEXT NOT NULL,
        checksum TEXT NOT NULL,
        saved_at REAL NOT NULL
    )""",
)
# Schema 1 -> 2: a checksum per row (filled in for the rows already there, which are trusted).
_MIGRATE_FROM_1 = ("ALTER TABLE outbox ADD COLUMN checksum TEXT",)


class _CorruptError(Exception):
    """The file opened but is not a healthy SQLite database."""


def error_code(exc: sqlite3.Error) -> int:
    """Primary SQLite result code of an error (SQLITE_FULL, ...), 0 if unknown."""
    return int(getattr(exc, "sqlite_errorcode", 0)) & 0xFF


@dataclass(frozen=True, slots=True)
class OpenedDatabase:
    """An open outbox connection and, if the file found was corrupt, where it was moved to.

    Attributes:
        conn: autocommit connection (transactions are explicit, see `transaction`).
        moved_aside: the corrupt database renamed aside, to salvage rows from; None if healthy.
    """

    conn: sqlite3.Connection
    moved_aside: Path | None = None


def open_outbox_database(path: Path, wall_clock: Callable[[], datetime]) -> OpenedDatabase:
    """Open or create the outbox database at `path`, moving a corrupt file aside first.

    The connection may be used from several threads under the caller's lock.

    Raises:
        OutboxError: the folder or file cannot be created or opened, or is from a newer version.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutboxError(f"cannot create the outbox folder {path.parent}: {exc}") from exc
    try:
        return _connect(path)
    except (_CorruptError, sqlite3.DatabaseError) as exc:
        if isinstance(exc, sqlite3.Error) and error_code(exc) not in (SQLITE_CORRUPT, SQLITE_NOTADB):
            raise OutboxError(f"cannot open the outbox {path}: {exc}") from exc
        moved = _move_aside(path, wall_clock())
        logger.error(
            "outbox %s is unreadable (%s): moved aside to %s, starting a new outbox and salvaging "
            "its undelivered rows",
            path,
            exc,
            moved,
        )
    try:
        return replace(_connect(path), moved_aside=moved)
    except (_CorruptError, sqlite3.Error) as exc:
        raise OutboxError(f"cannot create a new outbox at {path}: {exc}") from exc


def checkpoint(conn: sqlite3.Connection) -> bool:
    """Copy the WAL into the database and truncate it to zero bytes; False if it could not be.

    Frees the space a WAL holds (deleting rows alone frees none in WAL mode). It fails while
    another connection reads, and on a full disk when the database itself must grow.
    """
    try:
        busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    except sqlite3.Error:
        logger.debug("WAL checkpoint failed", exc_info=True)
        return False
    return not busy


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any error (SQLite may already have rolled back)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                logger.debug("rollback failed after an error", exc_info=True)
        raise


def _connect(path: Path) -> OpenedDatabase:
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
    try:
        mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if mode != "wal":
            raise OutboxError(f"the outbox {path} cannot use a WAL journal (got {mode})")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")
        conn.execute(f"PRAGMA journal_size_limit={JOURNAL_SIZE_LIMIT_BYTES}")
        check = conn.execute("PRAGMA quick_check").fetchone()[0]
        if check != "ok":
            raise _CorruptError(f"integrity check failed: {check}")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise OutboxError(f"the outbox {path} was written by a newer version (schema {version})")
        if version < SCHEMA_VERSION:  # only a new or older database is written to at open
            _create_or_migrate(conn, version)
    except BaseException:
        conn.close()
        raise
    return OpenedDatabase(conn)


def _create_or_migrate(conn: sqlite3.Connection, version: int) -> None:
    with transaction(conn):
        if version == 1:
            for statement in _MIGRATE_FROM_1:
                conn.execute(statement)
            rows = conn.execute("SELECT device_id, seq, body FROM outbox").fetchall()
            conn.executemany(
                "UPDATE outbox SET checksum = ? WHERE device_id = ? AND seq = ?",
                [(row_checksum(device, seq, body), device, seq) for device, seq, body in rows],
            )
        for statement in _SCHEMA:
            conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _move_aside(path: Path, now: datetime) -> Path:
    try:
        return move_aside(path, now)
    except OSError as exc:
        raise OutboxError(f"the outbox {path} is corrupt and cannot be moved aside: {exc}") from exc


def move_aside(path: Path, now: datetime) -> Path:
    """Rename a database (and its -wal/-shm) to `<name>.corrupt-<UTC stamp>[.N]`, never over a file.

    Returns the new path of the database. Raises OSError if a rename fails.
    """
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    moved: list[Path] = []
    for suffix in ("", "-wal", "-shm"):
        source = path.with_name(path.name + suffix)
        if not source.exists():
            continue
        destination = source.with_name(f"{source.name}.corrupt-{stamp}")
        index = 1
        while destination.exists():
            destination = source.with_name(f"{source.name}.corrupt-{stamp}.{index}")
            index += 1
        source.rename(destination)
        moved.append(destination)
    return moved[0] if moved else path
