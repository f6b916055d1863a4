"""What the ingester hands from message parsing to storage: one record per message kind.

A message either becomes one of these records or a `Rejection` with the reason it will be
quarantined under; parsing never raises for bad input.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from edge.records import Direction


class TopicKind(StrEnum):
    """Last level of a device topic `{prefix}/{site_id}/{device_id}/{kind}`."""

    COUNTS = "counts"
    STATUS = "status"
    HEALTH = "health"
    VALIDATIONS = "validations"


@dataclass(frozen=True, slots=True)
class DeviceTopic:
    """Where a message came from, read from its topic."""

    site_id: str
    device_id: str
    kind: TopicKind


@dataclass(frozen=True, slots=True)
class LineCountRow:
    """People crossing one line in one direction; None when the device suppressed a small count."""

    line_id: str
    direction: Direction
    count: int | None


@dataclass(frozen=True, slots=True)
class IntervalRecord:
    """One counts message, native or NGSI-LD, normalised to the `interval` and `line_count` rows."""

    device_id: str
    site_id: str
    seq: int
    start_at: datetime
    end_at: datetime
    coverage: float
    observed_s: float | None
    backfill: bool
    payload_json: str
    lines: tuple[LineCountRow, ...]


@dataclass(frozen=True, slots=True)
class AvailabilityRecord:
    """The retained `.../status` of a device: online, offline or stopped."""

    device_id: str
    site_id: str
    status: str


@dataclass(frozen=True, slots=True)
class HealthRecord:
    """The retained `.../health` of a device (footfall-edge/health/v1)."""

    device_id: str
    site_id: str
    reported_at: datetime
    outbox_backlog_rows: int | None
    last_seq: int | None
    payload_json: str


@dataclass(frozen=True, slots=True)
class ValidationRecord:
    """The retained `.../validations` of a device: its latest accuracy check."""

    device_id: str
    site_id: str
    validation_id: str
    ended_at: datetime
    verdict: str
    accuracy: float | None
    payload_json: str


@dataclass(frozen=True, slots=True)
class Rejection:
    """A message that cannot be stored as data; it goes to the quarantine table with `reason`."""

    reason: str


DeviceRecord = IntervalRecord | AvailabilityRecord | HealthRecord | ValidationRecord
ParsedMessage = DeviceRecord | Rejection


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """One received MQTT message with what parsing made of it, ready for one transaction."""

    topic: str
    payload: bytes
    parsed: ParsedMessage
