"""The calibration page's live view in Chromium: people as boxes with short trails over the refreshing
snapshot, counts on each line in the picture, zone occupancy, a log of the last crossings; on the
running service with the demo clip, boxes for its people and every one of them pixelated (item 7).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import cv2
import httpx
import numpy as np
import pytest
from playwright.sync_api import Browser, Page, expect

from edge.records import (
    CountEvents,
    Crossing,
    Direction,
    LineId,
    Track,
    TrackedFrame,
    TrackId,
)
from tests.e2e.browser.conftest import SCREENS
from tests.e2e.test_service import API_PASSWORD, API_PORT, broker, service  # noqa: F401 - fixtures
from tests.integration.api.conftest import PASSWORD, Served, served  # noqa: F401 - the fixture

API = f"http://127.0.0.1:{API_PORT}"
BEARER = {"Authorization": f"Bearer {API_PASSWORD}"}
# Share of horizontally neighbouring pixels that differ visibly inside a person's box. Measured on
# the demo clip: 0.000-0.002 in the served snapshot (a few big blocks), 0.047-0.293 at the same
# places in the clip's raw frames (with or without a person there).
MAX_EDGE_SHARE = 0.02


def _open(browser: Browser, base_url: str, password: str) -> Page:
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="en-GB")
    page.goto(base_url + "/login?next=/calibration")
    page.fill("#password", password)
    page.click("button[type=submit]")
    expect(page).to_have_url(base_url + "/calibration")
    return page


def _walker(track_id: int, x: float) -> Track:
    return Track(TrackId(track_id), (x - 30.0, 200.0, x + 30.0, 400.0), 0.9, True)


def test_boxes_trails_counts_on_the_lines_and_the_crossing_log(browser: Browser, served: Served) -> None:  # noqa: F811
    live = served.device.live
    for step in range(5):  # one person walking right across "vertical" (x = 0.5 of 1280 px)
        live.track(TrackedFrame(step, step * 0.2, 1280, 720, (_walker(7, 500.0 + 40.0 * step),)))
    crossed_at = datetime(2026, 12, 3, 9, 30, 5, tzinfo=UTC)
    crossing = Crossing(LineId("vertical"), Direction.IN, 0.8, 4)
    live.count(CountEvents(4, 0.8, (crossing,), (), ()), crossed_at)
    page = _open(browser, served.base_url, PASSWORD)
    expect(page.locator("#overlay rect.person")).to_have_count(1)
    expect(page.locator("#overlay polyline.trail")).to_have_count(1)
    trail = page.locator("#overlay polyline.trail").get_attribute("points") or ""
    assert len(trail.split()) == 5  # the five foot points, oldest first
    first_x = float(trail.split()[0].split(",")[0])
    assert first_x == pytest.approx(500.0 / 1280.0 * page.evaluate("() => W"), abs=0.1)  # the oldest point
    expect(page.locator("#overlay text.line-count[data-line=vertical]")).to_have_text("in 3 · out 1")
    expect(page.locator("#crossings li")).to_have_text(
        [f"{crossed_at.astimezone().strftime('%H:%M:%S')} · vertical · in"]
    )
    page.screenshot(path=str(SCREENS / "calibration-live.png"))
    # The person leaves: the next frame without their track drops the box and the trail.
    live.track(TrackedFrame(5, 1.0, 1280, 720, ()))
    expect(page.locator("#overlay rect.person")).to_have_count(0, timeout=5000)
    expect(page.locator("#overlay polyline.trail")).to_have_count(0)
    page.click("#live-toggle")  # paused: the picture stops, the log stays
    expect(page.locator("#live-toggle")).to_have_attribute("aria-pressed", "false")
    expect(page.locator("#crossings li")).to_have_count(1)
    page.close()


def _edge_share(image: np.ndarray, box: list[float]) -> float:
    """Share of visibly different horizontal neighbours in the inner 60 % of a normalised box."""
    height, width = image.shape[:2]
    left, top, right, bottom = box
    inset_x, inset_y = 0.2 * (right - left), 0.2 * (bottom - top)
    x0, x1 = int((left + inset_x) * width), int((right - inset_x) * width)
    y0, y1 = int((top + inset_y) * height), int((bottom - inset_y) * height)
    grey = cv2.cvtColor(image[y0:y1, x0:x1], cv2.COLOR_BGR2GRAY).astype(np.int16)
    if grey.shape[1] < 2 or grey.shape[0] < 1:
        return 0.0
    return float(np.mean(np.abs(np.diff(grey, axis=1)) > 12))


def _view_and_picture() -> tuple[dict[str, Any], np.ndarray]:
    """The live view and a snapshot of the same detected frame (asked until two views agree)."""
    while True:
        before = httpx.get(API + "/api/live/view", headers=BEARER, timeout=5.0).json()
        picture = httpx.get(API + "/api/snapshot.jpg", headers=BEARER, timeout=5.0)
        after = httpx.get(API + "/api/live/view", headers=BEARER, timeout=5.0).json()
        if before["people"] and before["people"] == after["people"] and picture.status_code == 200:
            image = cv2.imdecode(np.frombuffer(picture.content, np.uint8), cv2.IMREAD_COLOR)
            assert image is not None, "the snapshot is not a JPEG"
            return before, np.asarray(image)
        time.sleep(0.1)


def test_on_the_running_service_the_demo_clips_people_are_boxed_and_pixelated(
    browser: Browser,
    service: Callable[[], Any],  # noqa: F811
) -> None:
    service()
    deadline = time.monotonic() + 30.0
    while True:
        try:
            if httpx.get(API + "/healthz", timeout=1.0).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "the API did not come up"
        time.sleep(0.3)
    page = _open(browser, API, API_PASSWORD)
    expect(page.locator("#overlay rect.person").first).to_be_attached(timeout=60_000)
    expect(page.locator("#overlay text.occupancy[data-zone=table]")).to_be_attached()
    page.screenshot(path=str(SCREENS / "calibration-live-demo.png"))
    checked = 0
    for _ in range(5):
        view, image = _view_and_picture()
        for person in view["people"]:
            share = _edge_share(image, person["box"])
            assert share <= MAX_EDGE_SHARE, f"a person at {person['box']} looks unblurred ({share:.2f})"
            checked += 1
        time.sleep(1.0)
    assert checked >= 5
    page.close()
