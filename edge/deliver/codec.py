"""IntervalCount <-> canonical JSON, the form an interval is stored in the outbox.

Canonical: sorted keys, no spaces, UTC times as ISO 8601 with a `Z`. The outbox stores the
interval, not a rendered message, so the payload format and the backfill flag are decided when the
row is published (the format may change between restarts; the message id never does).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from edge.records import IntervalCount, IntervalQuality, LineId, LineInterval, ZoneId, ZoneInterval


def iso_utc(moment: datetime) -> str:
    """ISO 8601 in UTC with a `Z` suffix; raises ValueError for a naive datetime."""
    if moment.tzinfo is None:
        raise ValueError(f"expected a timezone-aware datetime, got naive {moment!r}")
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_utc(text: str) -> datetime:
    """Inverse of `iso_utc`."""
    return datetime.fromisoformat(text).astimezone(UTC)


def interval_to_json(interval: IntervalCount) -> str:
    """Serialise an interval canonically (see the module docstring).

    Raises:
        ValueError: a naive datetime, or a NaN or infinite number (JSON has none).
    """
    quality = interval.quality
    # Plain int/float casts: numpy scalars from a caller serialise the same as Python numbers.
    document = {
        "start": iso_utc(interval.start),
        "end": iso_utc(interval.end),
        "lines": [[line.line_id, int(line.in_count), int(line.out_count)] for line in interval.lines],
        "zones": [
            [
                zone.zone_id,
                _optional_float(zone.mean_occupancy),
                int(zone.peak_occupancy),
                int(zone.visits),
                _optional_float(zone.dwell_mean_s),
                _optional_float(zone.dwell_median_s),
                _optional_float(zone.dwell_max_s),
            ]
            for zone in interval.zones
        ],
        "quality": [
            float(quality.observed_s),
            float(quality.coverage),
            int(quality.frames),
            float(quality.effective_fps),
            int(quality.frames_dropped),
            bool(quality.low_light),
        ],
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":"), allow_nan=False)


def _optional_float(value: float | None) -> float | None:
    return None if value is None else float(value)


def interval_from_json(text: str) -> IntervalCount:
    """Rebuild the interval stored by `interval_to_json`; raises ValueError if it is malformed."""
    try:
        document: dict[str, Any] = json.loads(text)
        observed_s, coverage, frames, fps, dropped, low_light = document["quality"]
        return IntervalCount(
            start=parse_utc(document["start"]),
            end=parse_utc(document["end"]),
            lines=tuple(
                LineInterval(LineId(line_id), int(in_count), int(out_count))
                for line_id, in_count, out_count in document["lines"]
            ),
            zones=tuple(
                ZoneInterval(
                    ZoneId(zone_id), mean, int(peak), int(visits), dwell_mean, dwell_median, dwell_max
                )
                for zone_id, mean, peak, visits, dwell_mean, dwell_median, dwell_max in document["zones"]
            ),
            quality=IntervalQuality(
                float(observed_s), float(coverage), int(frames), float(fps), int(dropped), bool(low_light)
            ),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"malformed stored interval: {exc}") from exc
