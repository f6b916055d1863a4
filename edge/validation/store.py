"""`ValidationStore`: the device's evidence of accuracy, kept in SQLite next to the outbox.

One row per finished validation (its JSON document) and when the broker acknowledged it. Rare,
small and precious: kept for ever up to `max_rows` (oldest published rows go first), committed
with `synchronous=FULL` before the API answers, and a corrupt file is moved aside, never deleted.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

from edge.deliver.sqlite_file import SQLITE_CORRUPT, SQLITE_NOTADB, error_code, move_aside
from edge.errors import ValidationError
from edge.records import ValidationRecord
from edge.validation.codec import validation_document, validation_from_document

logger = logging.getLogger(__name__)

VALIDATION_FILE = "validations.sqlite3"
_SCHEMA = """CREATE TABLE IF NOT EXISTS validation (
    validation_id TEXT PRIMARY KEY,
    ended_at TEXT NOT NULL,
    document TEXT NOT NULL,
    published_at TEXT
)"""


def default_validation_path(outbox_path: Path) -> Path:
    """Next to the outbox, in the service's state directory."""
    return outbox_path.parent / VALIDATION_FILE


class ValidationStore:
    """Durable list of `ValidationRecord`s; thread-safe.

    Args:
        path: the SQLite file (created with its folder if missing).
        max_rows: most records kept; beyond it the oldest published ones are deleted.

    Raises:
        ValidationError: the file cannot be opened or created (permissions, disk).
    """

    def __init__(self, path: Path, *, max_rows: int = 10_000) -> None:
        if max_rows < 1:
            raise ValueError(f"max_rows must be >= 1, got {max_rows}")
        self.path = path
        self._max_rows = max_rows
        self._lock = threading.Lock()
        self._db = _open(path)

    def add(self, record: ValidationRecord) -> None:
        """Commit a finished validation durably (before it is shown as saved or published).

        Raises:
            ValidationError: it could not be written (disk full, read-only); nothing else changed.
        """
        document = json.dumps(validation_document(record), sort_keys=True)
        try:
            with self._lock, self._db:
                self._db.execute(
                    "INSERT INTO validation (validation_id, ended_at, document) VALUES (?, ?, ?)",
                    (record.validation_id, record.ended_at.astimezone(UTC).isoformat(), document),
                )
                self._db.execute(
                    """DELETE FROM validation WHERE validation_id IN (
                        SELECT validation_id FROM validation WHERE published_at IS NOT NULL
                        ORDER BY ended_at LIMIT max(0, (SELECT count(*) FROM validation) - ?))""",
                    (self._max_rows,),
                )
        except sqlite3.Error as exc:
            raise ValidationError(f"cannot store the validation in {self.path}: {exc}") from exc

    def recent(self, limit: int) -> list[ValidationRecord]:
        """The newest `limit` validations, newest first."""
        rows = self._query("SELECT document FROM validation ORDER BY ended_at DESC LIMIT ?", (limit,))
        return [validation_from_document(json.loads(str(row[0]))) for row in rows]

    def unpublished(self) -> list[tuple[str, bytes]]:
        """(id, JSON document) of each validation the broker has not acknowledged yet, oldest first."""
        rows = self._query(
            "SELECT validation_id, document FROM validation WHERE published_at IS NULL ORDER BY ended_at", ()
        )
        return [(str(row[0]), str(row[1]).encode()) for row in rows]

    def mark_published(self, validation_id: str) -> None:
        try:
            with self._lock, self._db:
                self._db.execute(
                    "UPDATE validation SET published_at = ? WHERE validation_id = ?",
                    (datetime.now(UTC).isoformat(), validation_id),
                )
        except sqlite3.Error as exc:
            raise ValidationError(f"cannot update {self.path}: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _query(self, sql: str, parameters: tuple[object, ...]) -> list[tuple[object, ...]]:
        try:
            with self._lock:
                return list(self._db.execute(sql, parameters))
        except sqlite3.Error as exc:
            raise ValidationError(f"cannot read {self.path}: {exc}") from exc


class _DamagedError(sqlite3.DatabaseError):
    """The file opened but fails SQLite's integrity check."""


def _open(path: Path) -> sqlite3.Connection:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return _connect(path)
    except _DamagedError:
        pass
    except sqlite3.DatabaseError as exc:
        if error_code(exc) not in (SQLITE_CORRUPT, SQLITE_NOTADB) or not path.is_file():
            raise ValidationError(f"cannot open the validation store {path}: {exc}") from exc
    except OSError as exc:
        raise ValidationError(f"cannot open the validation store {path}: {exc}") from exc
    try:
        aside = move_aside(path, datetime.now(UTC))
    except OSError as exc:
        raise ValidationError(
            f"the validation store {path} is corrupt and cannot be moved aside: {exc}"
        ) from exc
    logger.error("the validation store %s was corrupt; moved to %s and started a new one", path, aside.name)
    try:
        return _connect(path)
    except sqlite3.Error as exc:
        raise ValidationError(f"cannot create the validation store {path}: {exc}") from exc


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        check = db.execute("PRAGMA quick_check").fetchone()[0]
        if check != "ok":
            raise _DamagedError(f"integrity check failed: {check}")
        db.execute(_SCHEMA)
    except sqlite3.Error:
        db.close()
        raise
    db.isolation_level = "DEFERRED"  # `with db:` commits or rolls back a transaction from here on
    return db
