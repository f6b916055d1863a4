"""Salvage: the rows that can still be read from a damaged outbox file, and how many could not.

A corrupt outbox is moved aside (`sqlite_file`) and a new one started; this module then reads
what it can from the damaged file, so its undelivered intervals are still sent (README D-047):

1. The damaged database and its WAL are copied to a scratch folder (the moved-aside files are
   never changed), hard-linked if the disk has no room for a copy.
2. With the `sqlite3` command-line shell, `.recover` rebuilds every readable page into a fresh
   database; without it, or if it recovers nothing (Debian 12's 3.40.1 shell fails with "SQL
   logic error" even on a healthy file), rows are read one by one: the table is walked from both
   ends and every sequence number between where the walks stopped is looked up on its own, so
   only the rows on damaged pages are lost.
3. Sequence numbers missing between the rows found (and up to the file's last number) are
   reported as unsaved, as ranges: an upper bound, rows pruned after delivery look the same. A
   gap wider than `MAX_GAP` is the jump of a new outbox's numbering (D-013), not a loss, and
   ranges an earlier salvage recorded (`lost_seqs`) are carried on, not counted again. When
   nothing can be read at all, the loss is unknown and said so.
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

logger = logging.getLogger(__name__)

# Seconds `sqlite3 .recover` may take; a damaged 100,000-row outbox takes about one.
RECOVER_TIMEOUT_S = 120.0
# Widest run of missing sequence numbers counted as lost rows: a wider one is where a new outbox
# started numbering at its creation time (D-013), hundreds of millions above the old file's.
MAX_GAP = 10_000
# Most single-row lookups between the ends a table walk reached (a 69-day outbox has 100,000 rows).
MAX_LOOKUPS = 200_000
_COLUMNS = ("seq", "interval_start", "interval_end", "body", "created_at", "delivered_at", "checksum")


@dataclass(frozen=True, slots=True)
class SalvagedRow:
    """One undelivered row read back from a damaged file (`checksum` None for schema 1 files)."""

    seq: int
    interval_start: str
    interval_end: str
    body: str
    created_at: float
    checksum: str | None


@dataclass(frozen=True, slots=True)
class Salvage:
    """What could be read from a damaged outbox.

    Attributes:
        rows: undelivered rows found, lowest sequence number first.
        unsaved: sequence numbers known to be in the file that could not be read (upper bound).
        last_seq: the file's last sequence number, if it could be read.
        method: "recover" (sqlite3 .recover), "row by row", or "nothing readable".
        counters: the file's persisted totals (losses, salvages) that could be read, so a new
            outbox carries them on.
        lost_ranges: (first, last) sequence numbers known lost: the file's own record of
            earlier salvages plus what this one could not read.
    """

    rows: tuple[SalvagedRow, ...]
    unsaved: int
    last_seq: int | None
    method: str
    counters: dict[str, int] = field(default_factory=dict)
    lost_ranges: tuple[tuple[int, int], ...] = ()


def salvage_outbox(damaged: Path, device_id: str) -> Salvage:
    """Read the undelivered rows of `device_id` from the damaged outbox at `damaged` (moved aside)."""
    with _scratch_copy(damaged) as copy:
        if copy is None:
            return Salvage((), 0, None, "nothing readable")
        recovered = copy.with_name("recovered.sqlite3")
        if _recover_with_cli(copy, recovered):
            found = _read_rows(recovered, device_id, "recover")
            if found.rows or found.last_seq is not None:
                return found
        return _read_rows(copy, device_id, "row by row")


@contextmanager
def _scratch_copy(damaged: Path) -> Iterator[Path | None]:
    """The damaged database (with its WAL under the name SQLite expects) in a scratch folder."""
    folder = Path(tempfile.mkdtemp(prefix=f".{damaged.name}.salvage-", dir=damaged.parent))
    try:
        copy = folder / "damaged.sqlite3"
        wal = damaged.with_name(damaged.name.replace(".corrupt-", "-wal.corrupt-", 1))
        try:
            _copy_or_link(damaged, copy)
            if wal != damaged and wal.is_file():
                _copy_or_link(wal, folder / "damaged.sqlite3-wal")
        except OSError as exc:
            logger.error("cannot read the damaged outbox %s to salvage it: %s", damaged, exc)
            yield None
            return
        yield copy
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _copy_or_link(source: Path, destination: Path) -> None:
    try:
        shutil.copyfile(source, destination)
    except OSError:
        destination.unlink(missing_ok=True)
        destination.hardlink_to(source)  # no room for a copy; SQLite only reads the main file here


def _recover_with_cli(damaged: Path, recovered: Path) -> bool:
    """`sqlite3 damaged .recover | sqlite3 recovered`; False if the shell is missing or fails."""
    shell = shutil.which("sqlite3")
    if shell is None:
        logger.info("the sqlite3 shell is not installed: salvaging the outbox row by row")
        return False
    try:
        dump = subprocess.run(
            [shell, str(damaged), ".recover"], capture_output=True, timeout=RECOVER_TIMEOUT_S, check=False
        )
        load = subprocess.run(
            [shell, str(recovered)],
            input=dump.stdout,
            capture_output=True,
            timeout=RECOVER_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        logger.warning("sqlite3 .recover failed (%s): salvaging the outbox row by row", exc)
        return False
    return load.returncode == 0 and recovered.is_file()


def _read_rows(database: Path, device_id: str, method: str) -> Salvage:
    try:
        conn = sqlite3.connect(database, isolation_level=None)
    except sqlite3.Error:
        return Salvage((), 0, None, "nothing readable")
    with closing(conn):
        last_seq = _last_seq(conn, device_id)
        counters = _counters(conn)
        columns = _outbox_columns(conn)
        if not columns:
            return Salvage((), 0, last_seq, "nothing readable", counters)
        seqs = _readable_seqs(conn, device_id, last_seq)
        rows: list[SalvagedRow] = []
        readable: set[int] = set()
        for seq in seqs:
            found = _read_one(conn, device_id, seq, columns)
            if found is None:
                continue
            readable.add(seq)
            if found[1] is None:  # undelivered
                rows.append(found[0])
        known_lost = _known_lost(conn, device_id)
    gaps = _gaps(sorted(readable), last_seq, known_lost)
    unsaved = sum(last - first + 1 for first, last in gaps)
    return Salvage(
        tuple(rows),
        unsaved,
        last_seq,
        method if readable else "nothing readable",
        counters,
        tuple(sorted(known_lost + gaps)),
    )


def _gaps(readable: list[int], last_seq: int | None, known: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Runs of missing numbers between the readable ones (and to `last_seq`), minus known losses."""
    if not readable:
        return []
    ends = [*readable, *([last_seq + 1] if last_seq is not None and last_seq >= readable[-1] else [])]
    runs = [(low + 1, high - 1) for low, high in pairwise(ends) if 1 < high - low <= MAX_GAP + 1]
    return [run for run in runs if not any(first <= run[0] and run[1] <= last for first, last in known)]


def _known_lost(conn: sqlite3.Connection, device_id: str) -> list[tuple[int, int]]:
    try:
        rows = conn.execute("SELECT first, last FROM lost_seqs WHERE device_id = ?", (device_id,)).fetchall()
    except sqlite3.Error:
        return []
    return [(int(first), int(last)) for first, last in rows]


def _counters(conn: sqlite3.Connection) -> dict[str, int]:
    try:
        return {str(name): int(value) for name, value in conn.execute("SELECT name, value FROM counters")}
    except (sqlite3.Error, TypeError, ValueError):
        return {}


def _last_seq(conn: sqlite3.Connection, device_id: str) -> int | None:
    try:
        row = conn.execute("SELECT last_seq FROM sequence WHERE device_id = ?", (device_id,)).fetchone()
    except sqlite3.Error:
        return None
    return None if row is None else int(row[0])


def _outbox_columns(conn: sqlite3.Connection) -> list[str]:
    try:
        names = [str(row[1]) for row in conn.execute("PRAGMA table_info(outbox)")]
    except sqlite3.Error:
        return []
    return [name for name in _COLUMNS if name in names]


def _readable_seqs(conn: sqlite3.Connection, device_id: str, last_seq: int | None) -> list[int]:
    """Every sequence number that can be reached: walks from both ends of the table, then single
    lookups between where the walks stopped (a lookup reads one root-to-leaf path, so rows on
    intact pages beyond a damaged one are still found)."""
    forward = _walk(conn, device_id, "ASC")
    backward = _walk(conn, device_id, "DESC")
    found = set(forward) | set(backward)
    low = max(forward, default=None)
    high = max([*backward, *([last_seq] if last_seq is not None else [])], default=None)
    if low is not None and high is not None and 0 < high - low <= MAX_LOOKUPS:
        for seq in range(low + 1, high + 1):
            if seq not in found and _exists(conn, device_id, seq):
                found.add(seq)
    return sorted(found)


def _walk(conn: sqlite3.Connection, device_id: str, order: str) -> list[int]:
    seqs: list[int] = []
    try:
        for (seq,) in conn.execute(
            f"SELECT seq FROM outbox WHERE device_id = ? ORDER BY seq {order}", (device_id,)
        ):
            seqs.append(int(seq))
    except sqlite3.Error:
        logger.debug("walking the damaged outbox stopped at a bad page", exc_info=True)
    return seqs


def _exists(conn: sqlite3.Connection, device_id: str, seq: int) -> bool:
    try:
        row = conn.execute(
            "SELECT 1 FROM outbox WHERE device_id = ? AND seq = ?", (device_id, seq)
        ).fetchone()
    except sqlite3.Error:
        return False
    return row is not None


def _read_one(
    conn: sqlite3.Connection, device_id: str, seq: int, columns: list[str]
) -> tuple[SalvagedRow, float | None] | None:
    try:
        row = conn.execute(
            f"SELECT {', '.join(columns)} FROM outbox WHERE device_id = ? AND seq = ?",
            (device_id, seq),
        ).fetchone()
    except sqlite3.Error:
        return None
    if row is None:
        return None
    values = dict(zip(columns, row, strict=True))
    try:
        salvaged = SalvagedRow(
            seq=int(values["seq"]),
            interval_start=str(values["interval_start"]),
            interval_end=str(values["interval_end"]),
            body=str(values["body"]),
            created_at=float(values["created_at"]),
            checksum=None if values.get("checksum") is None else str(values["checksum"]),
        )
    except (KeyError, TypeError, ValueError):
        return None
    delivered = values.get("delivered_at")
    return salvaged, None if delivered is None else float(delivered)
