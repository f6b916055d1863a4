"""Bookkeeping of published counts messages waiting for their PUBACK: mid -> sequence number.

A bounded window: at most `size` messages in flight, so a long backlog after an outage is sent
steadily instead of being dumped into paho's memory-only queue. Entries remember the connection
generation they were published in; when the publisher reconnects, older entries are forgotten
(paho dropped them) and their rows, still undelivered in the outbox, are published again.
"""

from __future__ import annotations

from dataclasses import dataclass

from edge.deliver.mqtt import Ack


@dataclass(frozen=True, slots=True)
class _Entry:
    seq: int
    generation: int


class InFlightWindow:
    """Messages published and not yet acknowledged, keyed by MQTT message id."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError(f"size must be >= 1, got {size}")
        self._size = size
        self._by_mid: dict[int, _Entry] = {}
        self._seqs: set[int] = set()

    def __len__(self) -> int:
        return len(self._by_mid)

    @property
    def free(self) -> int:
        """How many more messages may be published now."""
        return max(0, self._size - len(self._by_mid))

    def holds(self, seq: int) -> bool:
        return seq in self._seqs

    def add(self, mid: int, seq: int, generation: int) -> None:
        """Remember that row `seq` went out as message `mid` in connection `generation`."""
        if mid in self._by_mid:
            raise ValueError(f"message id {mid} is already in flight")
        self._by_mid[mid] = _Entry(seq, generation)
        self._seqs.add(seq)

    def settle(self, ack: Ack) -> int | None:
        """The sequence number the ack belongs to, or None for an unknown or stale message id."""
        entry = self._by_mid.get(ack.mid)
        if entry is None or entry.generation != ack.generation:
            return None
        del self._by_mid[ack.mid]
        self._seqs.discard(entry.seq)
        return entry.seq

    def forget_older_than(self, generation: int) -> int:
        """Forget messages of earlier connections (paho dropped them); returns how many."""
        stale = [mid for mid, entry in self._by_mid.items() if entry.generation < generation]
        for mid in stale:
            self._seqs.discard(self._by_mid.pop(mid).seq)
        return len(stale)
