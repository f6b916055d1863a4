"""Read-only route of the calibration page's live view: people now, zone occupancy, last crossings.

Positions are normalised [0, 1] and exist for this view only (README D-052): the device never
stores or publishes them; with snapshots off there are none. Needs the device password.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.params import Depends

from edge.api.ports import Device
from edge.records import LiveView


def add_live_routes(app: FastAPI, device: Device, api: list[Depends]) -> None:
    """Mount /api/live/view on `app`, behind the `api` dependencies."""

    @app.get("/api/live/view", dependencies=api)
    def live_view() -> dict[str, Any]:
        counts = device.live_counts()
        return {
            **live_document(device.live_view()),
            "lines": {line: {"in": both[0], "out": both[1]} for line, both in counts.items()},
        }


def live_document(view: LiveView) -> dict[str, Any]:
    return {
        "people": [
            {
                "box": [round(v, 4) for v in person.box],
                "trail": [[round(x, 4), round(y, 4)] for x, y in person.trail],
            }
            for person in view.people
        ],
        "zones": dict(view.occupancy),
        "crossings": [
            {
                "at": crossing.at.isoformat().replace("+00:00", "Z"),
                "line_id": crossing.line_id,
                "direction": crossing.direction.value,
            }
            for crossing in view.crossings
        ],
    }
