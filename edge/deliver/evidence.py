"""Validation evidence over MQTT: each stored validation published once, retained, until acknowledged.

Validations are rare (a few per device and year) and kept by their own store, so they do not
go through the counts outbox: on every connection the drain thread publishes whatever the store
has not seen acknowledged, oldest first, and marks each on its PUBACK. The topic's retained
message is therefore the device's latest check, what a city platform shows next to its counts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from edge.deliver.mqtt import Ack
from edge.errors import FootfallError

logger = logging.getLogger(__name__)


class EvidenceStore(Protocol):
    """What is needed of the validation store (`edge.validation.ValidationStore`)."""

    def unpublished(self) -> list[tuple[str, bytes]]: ...

    def mark_published(self, validation_id: str) -> None: ...


# publish(payload, generation) -> mid, or None when not connected in that generation.
PublishFunction = Callable[[bytes, int], "int | None"]


class EvidenceFeed:
    """Publishes a store's unacknowledged validations; driven by the delivery drain thread."""

    def __init__(self, store: EvidenceStore) -> None:
        self._store = store
        self._in_flight: dict[int, str] = {}  # mid -> validation id, for the current generation
        self._generation = -1

    def publish_pending(self, publish: PublishFunction, generation: int) -> None:
        """Publish what is neither acknowledged nor in flight on this connection."""
        if generation != self._generation:
            self._in_flight.clear()  # a new connection: whatever was in flight is sent again
            self._generation = generation
        try:
            pending = self._store.unpublished()
        except FootfallError as exc:
            logger.error("cannot read validations to publish: %s", exc)
            return
        waiting = set(self._in_flight.values())
        for validation_id, payload in pending:
            if validation_id in waiting:
                continue
            mid = publish(payload, generation)
            if mid is None:
                return
            self._in_flight[mid] = validation_id

    def settle(self, ack: Ack) -> bool:
        """Record `ack` if it answers a validation; False when it belongs to someone else."""
        if ack.generation != self._generation or ack.mid not in self._in_flight:
            return False
        validation_id = self._in_flight.pop(ack.mid)
        if not ack.ok:
            logger.error("the broker rejected validation %s (%s); it stays queued", validation_id, ack.reason)
            return True
        try:
            self._store.mark_published(validation_id)
        except FootfallError as exc:  # published but not marked: sent again later, consumers dedupe by id
            logger.error("validation %s published but not marked: %s", validation_id, exc)
        return True
