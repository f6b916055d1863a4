"""Message bodies: the native counts payload, the health summary, and small-count suppression.

The native payload `footfall-edge/counts/v1` and the health payload `footfall-edge/health/v1` are
described by JSON Schemas shipped in `edge/deliver/schemas/` (`payload_schema`). The FIWARE
NGSI-LD alternative lives in `ngsi`. Only anonymous aggregates are rendered: never track ids,
positions, trajectories or images (the records handed in do not carry any).

Small-count suppression (off unless `suppress_below` >= 2): a people count c with 0 < c < k is
published as null with a `<field>_suppressed: true` flag; statistics computed from a suppressed
count are nulled with it (dwell times of suppressed visits; mean occupancy when the peak is
suppressed). Zero is never suppressed: an empty street is data.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from importlib import resources
from types import MappingProxyType
from typing import Any

from edge.deliver.codec import iso_utc
from edge.deliver.ngsi import ngsi_entities
from edge.deliver.status import OutboxStats, PipelineHealth
from edge.records import Direction, IntervalCount, LineInterval, ZoneInterval

COUNTS_SCHEMA = "footfall-edge/counts/v1"
HEALTH_SCHEMA = "footfall-edge/health/v1"
VALIDATION_SCHEMA = "footfall-edge/validation/v1"
_SCHEMA_FILES = {
    COUNTS_SCHEMA: "counts-v1.schema.json",
    HEALTH_SCHEMA: "health-v1.schema.json",
    VALIDATION_SCHEMA: "validation-v1.schema.json",
}


class PayloadFormat(StrEnum):
    """Format of the counts messages of one device."""

    NATIVE = "native"
    NGSI_LD = "ngsi-ld"


def payload_schema(name: str) -> dict[str, Any]:
    """The JSON Schema shipped for `COUNTS_SCHEMA`, `HEALTH_SCHEMA` or `VALIDATION_SCHEMA`."""
    if name not in _SCHEMA_FILES:
        raise ValueError(f"unknown schema {name!r}; known: {sorted(_SCHEMA_FILES)}")
    text = resources.files("edge.deliver").joinpath("schemas", _SCHEMA_FILES[name]).read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def suppress(count: int, below: int) -> int | None:
    """The count, or None when suppression is on (`below` >= 2) and 0 < count < below."""
    return None if 0 < count < below else count


def is_backfill(interval: IntervalCount, now: datetime) -> bool:
    """True when the interval after this one has also ended: the message is late (a replay)."""
    return now >= interval.end + (interval.end - interval.start)


def _dumps(document: object) -> bytes:
    return json.dumps(document, separators=(",", ":"), allow_nan=False).encode("utf-8")


@dataclass(frozen=True, slots=True)
class PayloadRenderer:
    """Turns one stored interval into the body of one counts message.

    Attributes:
        device_id: the device (prefix of message ids; NGSI-LD source).
        site_id: the site the device belongs to.
        format: native JSON or NGSI-LD `CrowdFlowObserved` entities.
        suppress_below: small-count suppression threshold k; 0 or 1 turns it off.
        inbound: line direction reported as NGSI-LD `inbound` (the other is `outbound`).
        inbound_by_line: per-line override of `inbound`.
        location: (longitude, latitude) in WGS84 for the NGSI-LD `location`, if known.
    """

    device_id: str
    site_id: str
    format: PayloadFormat = PayloadFormat.NATIVE
    suppress_below: int = 0
    inbound: Direction = Direction.IN
    inbound_by_line: Mapping[str, Direction] = field(default_factory=dict)
    location: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        if not self.device_id:
            raise ValueError("device_id must not be empty")
        if self.suppress_below < 0:
            raise ValueError(f"suppress_below must be >= 0, got {self.suppress_below}")
        if self.location is not None:
            longitude, latitude = self.location
            if not (-180.0 <= longitude <= 180.0 and -90.0 <= latitude <= 90.0):
                raise ValueError(f"location must be (longitude, latitude) in degrees, got {self.location}")
        object.__setattr__(self, "inbound_by_line", MappingProxyType(dict(self.inbound_by_line)))

    @property
    def content_type(self) -> str:
        """MIME type of the bodies (sent as an MQTT 5 property)."""
        return "application/ld+json" if self.format is PayloadFormat.NGSI_LD else "application/json"

    def render(self, seq: int, interval: IntervalCount, *, backfill: bool) -> bytes:
        """Body of the counts message with sequence number `seq`."""
        if self.format is PayloadFormat.NGSI_LD:
            return _dumps(
                ngsi_entities(
                    self.device_id,
                    seq,
                    interval,
                    inbound_for=lambda line_id: self.inbound_by_line.get(line_id, self.inbound),
                    location=self.location,
                    suppress_below=self.suppress_below,
                )
            )
        return _dumps(self.native(seq, interval, backfill=backfill))

    def native(self, seq: int, interval: IntervalCount, *, backfill: bool) -> dict[str, object]:
        """The `footfall-edge/counts/v1` document (see schemas/counts-v1.schema.json)."""
        quality = interval.quality
        below = self.suppress_below if self.suppress_below >= 2 else 0
        return {
            "schema": COUNTS_SCHEMA,
            "id": f"{self.device_id}:{seq}",
            "device_id": self.device_id,
            "site_id": self.site_id,
            "seq": seq,
            "start": iso_utc(interval.start),
            "end": iso_utc(interval.end),
            "backfill": backfill,
            "lines": [_native_line(line, below) for line in interval.lines],
            "zones": [_native_zone(zone, below) for zone in interval.zones],
            "quality": {
                "observed_s": quality.observed_s,
                "coverage": quality.coverage,
                "frames": quality.frames,
                "effective_fps": quality.effective_fps,
                "frames_dropped": quality.frames_dropped,
                "low_light": quality.low_light,
            },
            "suppress_below": below or None,
        }


def _native_line(line: LineInterval, below: int) -> dict[str, object]:
    in_count, out_count = suppress(line.in_count, below), suppress(line.out_count, below)
    return {
        "line_id": line.line_id,
        "in": in_count,
        "out": out_count,
        "in_suppressed": in_count is None,
        "out_suppressed": out_count is None,
    }


def _native_zone(zone: ZoneInterval, below: int) -> dict[str, object]:
    peak, visits = suppress(zone.peak_occupancy, below), suppress(zone.visits, below)
    return {
        "zone_id": zone.zone_id,
        "mean_occupancy": None if peak is None else zone.mean_occupancy,
        "peak_occupancy": peak,
        "peak_occupancy_suppressed": peak is None,
        "visits": visits,
        "visits_suppressed": visits is None,
        "dwell_mean_s": None if visits is None else zone.dwell_mean_s,
        "dwell_median_s": None if visits is None else zone.dwell_median_s,
        "dwell_max_s": None if visits is None else zone.dwell_max_s,
    }


def render_health(
    device_id: str,
    site_id: str,
    now: datetime,
    pipeline: PipelineHealth | None,
    outbox: OutboxStats | None,
) -> bytes:
    """Body of the retained `footfall-edge/health/v1` message; None marks what is unknown."""
    pipeline = pipeline or PipelineHealth()
    return _dumps(
        {
            "schema": HEALTH_SCHEMA,
            "device_id": device_id,
            "site_id": site_id,
            "time": iso_utc(now),
            "fps": pipeline.fps,
            "coverage": pipeline.coverage,
            "temperature_c": pipeline.temperature_c,
            "throttled": pipeline.throttled,
            "disk_free_bytes": pipeline.disk_free_bytes,
            "camera_state": pipeline.camera_state,
            "outbox_backlog_rows": None if outbox is None else outbox.backlog_rows,
            "oldest_undelivered_age_s": None if outbox is None else outbox.oldest_undelivered_age_s,
            "dropped_undelivered": None if outbox is None else outbox.dropped_undelivered,
            "outbox_write_errors": None if outbox is None else outbox.write_errors,
            "last_seq": None if outbox is None else outbox.last_seq,
            "outbox_unwritten_rows": None if outbox is None else outbox.unwritten_rows,
            "outbox_quarantined_rows": None if outbox is None else outbox.quarantined_rows,
            "outbox_salvaged_rows": None if outbox is None else outbox.salvaged_rows,
            "outbox_unsalvaged_rows": None if outbox is None else outbox.unsalvaged_rows,
        }
    )
