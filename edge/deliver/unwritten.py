"""Closed intervals the outbox could not commit yet (disk full, read-only), held in memory.

A bounded queue in sequence order. Its rows are published like committed ones (once their
sequence number is safe in the watermark file, `announced`), can be acknowledged while waiting,
and are written to the database, acknowledged or not, as soon as it takes writes again. When the
queue is full, an acknowledged row goes first, else the oldest undelivered one is dropped: its
sequence number stays used, so the loss shows as a gap (README D-046).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from edge.records import IntervalCount


@dataclass(slots=True, eq=False)
class UnwrittenRow:
    """One interval waiting for the disk (mutable: it may be acknowledged while it waits)."""

    seq: int
    interval: IntervalCount
    body: str
    created_at: float
    announced: bool
    delivered_at: float | None = None


class UnwrittenQueue:
    """At most `capacity` rows waiting to be written, lowest sequence number first."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        self._capacity = capacity
        self._rows: deque[UnwrittenRow] = deque()

    def __len__(self) -> int:
        return len(self._rows)

    @property
    def capacity(self) -> int:
        return self._capacity

    @property
    def last_seq(self) -> int | None:
        return self._rows[-1].seq if self._rows else None

    def hold(self, row: UnwrittenRow) -> UnwrittenRow | None:
        """Queue `row`; if that overflows the queue, returns the undelivered row dropped for it."""
        self._rows.append(row)
        if len(self._rows) <= self._capacity:
            return None
        acknowledged = next((held for held in self._rows if held.delivered_at is not None), None)
        if acknowledged is not None:
            self._rows.remove(acknowledged)
            return None
        return self._rows.popleft()

    def rows(self) -> tuple[UnwrittenRow, ...]:
        return tuple(self._rows)

    def holds(self, seq: int) -> bool:
        return any(row.seq == seq for row in self._rows)

    def undelivered(self) -> list[UnwrittenRow]:
        """Rows that may be published and were not acknowledged yet."""
        return [row for row in self._rows if row.announced and row.delivered_at is None]

    def mark_delivered(self, seqs: set[int], at: float) -> set[int]:
        """Record acknowledgements of held rows; returns the sequence numbers that were held."""
        found: set[int] = set()
        for row in self._rows:
            if row.seq in seqs:
                found.add(row.seq)
                if row.delivered_at is None:
                    row.delivered_at = at
        return found

    def clear(self) -> None:
        self._rows.clear()
