"""What the outbox keeps while its disk takes no writes: the held intervals and the loss totals.

Owns the memory queue (`unwritten`), the watermark file (`watermark`) and the totals that must
survive a crash on a full disk: the highest sequence number given out, the write errors and the
undelivered rows dropped. `SqliteOutbox` asks it for numbers and totals and tells it when the
held rows were written; the logging of a disk-full episode lives here (README D-046).
"""

from __future__ import annotations

import logging
from pathlib import Path

from edge.deliver.codec import iso_utc
from edge.deliver.unwritten import UnwrittenQueue, UnwrittenRow
from edge.deliver.watermark import Marks, WatermarkFile
from edge.records import IntervalCount

logger = logging.getLogger(__name__)


class HeldIntervals:
    """Held rows, loss totals and their watermark file, for one outbox file (not thread-safe)."""

    def __init__(self, outbox_path: Path, capacity: int, *, write_errors: int, dropped: int) -> None:
        """`write_errors` and `dropped`: the totals stored in the database (the file's may be higher)."""
        self._path = outbox_path
        self.queue = UnwrittenQueue(capacity)
        self._marks = WatermarkFile(outbox_path.with_name(outbox_path.name + "-marks"))
        marks = self._marks.read()
        self.seq_floor = marks.last_seq
        self.write_errors = max(write_errors, marks.write_errors)
        self.dropped = max(dropped, marks.dropped_undelivered)
        self._since: str | None = None

    @property
    def owner(self) -> bool:
        """False when another live process counts with this outbox (see `watermark`)."""
        return self._marks.owner

    @property
    def last_seq(self) -> int:
        """The highest number given out in memory or recorded in the watermark (0 if none)."""
        return max(self.seq_floor, self.queue.last_seq or 0)

    def totals(self, dropped_now: int = 0) -> dict[str, int]:
        """Loss totals to store with a database write."""
        return {"dropped_undelivered": self.dropped + dropped_now, "write_errors": self.write_errors}

    def adopt(self, counters: dict[str, int]) -> None:
        """Carry on the totals of a replaced (damaged) outbox file (the watermark may hold them too)."""
        self.write_errors = max(self.write_errors, counters.get("write_errors", 0))
        self.dropped = max(self.dropped, counters.get("dropped_undelivered", 0))

    def raise_floor(self, seq: int) -> None:
        """Numbers up to `seq` are taken (a salvaged file's)."""
        self.seq_floor = max(self.seq_floor, seq)

    def hold(self, seq: int, interval: IntervalCount, body: str, created_at: float, reason: str) -> None:
        """Keep an interval the disk refused under `seq`, made safe in the watermark first."""
        self.write_errors += 1
        self.seq_floor = max(self.seq_floor, seq)
        announced = self._write_marks()
        overflow = self.queue.hold(UnwrittenRow(seq, interval, body, created_at, announced))
        if overflow is not None:
            self.dropped += 1
            self._write_marks()
            logger.error(
                "outbox %s: %d intervals wait for the disk, the most held: dropped seq %d (%s), it will "
                "never be sent",
                self._path,
                len(self.queue),
                overflow.seq,
                iso_utc(overflow.interval.start),
            )
        if self._since is None:
            self._since = iso_utc(interval.start)
            logger.error(
                "outbox %s cannot write (%s): holding closed intervals in memory (up to %d) and publishing "
                "them%s until the disk takes writes again",
                self._path,
                reason,
                self.queue.capacity,
                "" if announced else " (not: the watermark file cannot be written either)",
            )

    def written(self) -> None:
        """Every held row is now in the database."""
        logger.warning(
            "outbox %s takes writes again: wrote the %d interval(s) held in memory since %s",
            self._path,
            len(self.queue),
            self._since,
        )
        self.queue.clear()
        self._since = None

    def lose_all(self) -> None:
        """Stop on a disk that still takes no writes: the undelivered held rows are lost (counted)."""
        lost = [row for row in self.queue.rows() if row.delivered_at is None]
        self.dropped += len(lost)
        self._write_marks()
        self.queue.clear()
        if lost:
            logger.error(
                "outbox %s still takes no writes at stop: %d undelivered interval(s) held in memory are "
                "lost, seq %d-%d (a gap consumers can see)",
                self._path,
                len(lost),
                lost[0].seq,
                lost[-1].seq,
            )

    def close(self) -> None:
        self._marks.close()

    def _write_marks(self) -> bool:
        return self._marks.write(Marks(self.seq_floor, self.write_errors, self.dropped))
