"""Read-only routes of the interval history: the health page's chart and its CSV download.

Read from the outbox through the `Device` port, so the chart shows the same intervals after a
restart as before it (the in-memory `/api/counts` starts empty). Every route needs the password.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import FastAPI, Query, Response
from fastapi.params import Depends

from edge.api.ports import Device
from edge.records import IntervalCount

# Longest history one request covers, hours (the outbox keeps delivered rows a week by default).
MAX_HOURS = 168
# Most intervals one request returns: a day of 10-second intervals.
MAX_INTERVALS = 8640
CSV_COLUMNS = (
    "start",
    "end",
    "line_id",
    "in",
    "out",
    "coverage",
    "observed_s",
    "frames",
    "frames_dropped",
    "low_light",
)


def add_history_routes(app: FastAPI, device: Device, api: list[Depends]) -> None:
    """Mount /api/intervals (JSON) and /api/intervals.csv on `app`, behind the `api` dependencies."""

    @app.get("/api/intervals", dependencies=api)
    def intervals(hours: Annotated[int, Query(ge=1, le=MAX_HOURS)] = 24) -> dict[str, Any]:
        now = datetime.now(UTC)
        history = _history(device, now, hours)
        return {
            "since": _iso(now - timedelta(hours=hours)),
            "until": _iso(now),
            "intervals": [interval_document(interval) for interval in history],
        }

    @app.get("/api/intervals.csv", dependencies=api)
    def intervals_csv(hours: Annotated[int, Query(ge=1, le=MAX_HOURS)] = 24) -> Response:
        now = datetime.now(UTC)
        name = f"intervals-{now.strftime('%Y%m%dT%H%MZ')}.csv"
        return Response(
            render_csv(_history(device, now, hours)),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
        )


def _history(device: Device, now: datetime, hours: int) -> Sequence[IntervalCount]:
    return device.interval_history(now - timedelta(hours=hours), MAX_INTERVALS)


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def interval_document(interval: IntervalCount) -> dict[str, Any]:
    """One interval for the chart: UTC times, in/out per line and how much of it the camera saw."""
    quality = interval.quality
    return {
        "start": _iso(interval.start),
        "end": _iso(interval.end),
        "lines": [
            {"line_id": line.line_id, "in": line.in_count, "out": line.out_count} for line in interval.lines
        ],
        "coverage": round(quality.coverage, 4),
        "observed_s": round(quality.observed_s, 1),
        "frames_dropped": quality.frames_dropped,
        "low_light": quality.low_light,
    }


def render_csv(history: Sequence[IntervalCount]) -> str:
    """One row per interval and line (an interval without lines: one row, line_id empty), UTC times."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for interval in history:
        quality = interval.quality
        tail = (
            f"{quality.coverage:.4f}",
            f"{quality.observed_s:.1f}",
            quality.frames,
            quality.frames_dropped,
            int(quality.low_light),
        )
        head = (_iso(interval.start), _iso(interval.end))
        for line in interval.lines or ():
            writer.writerow((*head, line.line_id, line.in_count, line.out_count, *tail))
        if not interval.lines:
            writer.writerow((*head, "", "", "", *tail))
    return out.getvalue()
