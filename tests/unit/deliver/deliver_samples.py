"""Synthetic interval records for the delivery tests (no camera needed: deliver only sees records)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from edge.records import IntervalCount, IntervalQuality, LineId, LineInterval, ZoneId, ZoneInterval

BASE = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


def sample_interval(
    index: int,
    *,
    length_s: float = 60.0,
    base: datetime = BASE,
    in_count: int | None = None,
    out_count: int | None = None,
    coverage: float = 1.0,
) -> IntervalCount:
    """The `index`-th interval after `base`: two lines and one zone with counts derived from index."""
    start = base + timedelta(seconds=index * length_s)
    visits = index % 4
    return IntervalCount(
        start=start,
        end=start + timedelta(seconds=length_s),
        lines=(
            LineInterval(
                LineId("entrance"),
                index % 7 if in_count is None else in_count,
                (index * 3) % 5 if out_count is None else out_count,
            ),
            LineInterval(LineId("side door"), 0, index % 2),
        ),
        zones=(
            ZoneInterval(
                ZoneId("bench"),
                mean_occupancy=0.25 * (index % 3),
                peak_occupancy=index % 3,
                visits=visits,
                dwell_mean_s=12.5 if visits else None,
                dwell_median_s=11.0 if visits else None,
                dwell_max_s=20.0 if visits else None,
            ),
        ),
        quality=IntervalQuality(
            observed_s=length_s * coverage,
            coverage=coverage,
            frames=int(10 * length_s * coverage),
            effective_fps=10.0 if coverage else 0.0,
            frames_dropped=index % 2,
            low_light=False,
        ),
    )
