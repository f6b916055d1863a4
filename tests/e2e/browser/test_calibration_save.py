"""Saving a calibration on the running service (demo clip as a camera, Chromium on the calibration page)
gives one record per interval slot, fully observed, and leaves the verdict alone (issue 16, item 3).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
from playwright.sync_api import Browser, Page, expect

from tests.e2e.browser.conftest import SCREENS
from tests.e2e.test_service import API_PASSWORD, API_PORT, INTERVAL_S, broker, service  # noqa: F401 - fixtures

API = f"http://127.0.0.1:{API_PORT}"
BEARER = {"Authorization": f"Bearer {API_PASSWORD}"}


def _wait_until(check: Callable[[], Any], timeout_s: float, what: str) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            result = check()
        except httpx.HTTPError:
            result = None
        if result:
            return result
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def _intervals() -> list[dict[str, Any]]:
    response = httpx.get(API + "/api/intervals?hours=1", headers=BEARER, timeout=5.0)
    response.raise_for_status()
    intervals: list[dict[str, Any]] = response.json()["intervals"]
    return intervals


def _live() -> dict[str, dict[str, int]]:
    lines: dict[str, dict[str, int]] = httpx.get(API + "/api/live", headers=BEARER, timeout=5.0).json()
    return lines


def _save(page: Page) -> None:
    page.click("#save")
    expect(page.locator("#message")).to_have_text("Saved: counting with this calibration now.")
    expect(page.locator("#message")).to_have_class("ok")


def _slot_start(moment: datetime) -> str:
    seconds = int(moment.timestamp()) // INTERVAL_S * INTERVAL_S
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


def test_two_saves_in_one_interval_give_one_record_and_no_amber(
    browser: Browser,
    service: Callable[[], Any],  # noqa: F811
) -> None:
    service()
    _wait_until(lambda: httpx.get(API + "/healthz", timeout=1.0).status_code == 200, 30.0, "the API")
    # Two fully observed intervals first: the camera delivers, the verdict has a baseline.
    _wait_until(lambda: len([i for i in _intervals() if i["coverage"] >= 0.8]) >= 2, 60.0, "two intervals")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(API + "/login")
    page.fill("#password", API_PASSWORD)
    page.click("button[type=submit]")
    page.goto(API + "/calibration")
    expect(page.locator("#items li")).to_have_count(2)  # the line and the zone of demo.json
    # Start early in a slot, so both saves fall in it.
    _wait_until(lambda: datetime.now(UTC).timestamp() % INTERVAL_S < 2.0, INTERVAL_S + 1.0, "a new slot")
    saved_in = _slot_start(datetime.now(UTC))
    live_before = _live()["exit"]
    _save(page)  # as it is
    live_after = _live()["exit"]  # the live counts go on: a save resets nothing
    assert live_after["in"] >= live_before["in"]
    assert live_after["out"] >= live_before["out"]
    page.locator("#items li").first.locator("input").fill("door")  # the line renamed
    page.locator("#items li").first.locator("input").press("Enter")
    _save(page)
    assert _slot_start(datetime.now(UTC)) == saved_in, "the machine is too slow for this test"

    # The slot of the saves closes; the one after it too, with the new line only.
    _wait_until(lambda: any(i["start"] > saved_in for i in _intervals()), 3.0 * INTERVAL_S, "the next slot")
    intervals = _intervals()
    repeated = [start for start, n in Counter(i["start"] for i in intervals).items() if n > 1]
    assert repeated == [], f"several records for the slots {repeated}"
    (record,) = [i for i in intervals if i["start"] == saved_in]
    assert record["coverage"] >= 0.8, record
    assert {line["line_id"] for line in record["lines"]} == {"exit", "door"}  # each under its id then
    after = next(i for i in intervals if i["start"] > saved_in)
    assert [line["line_id"] for line in after["lines"]] == ["door"]
    status = httpx.get(API + "/api/status", headers=BEARER, timeout=5.0).json()
    assert "low_coverage" not in [cause["code"] for cause in status["causes"]], status["reasons"]

    page.goto(API + "/")
    expect(page.locator("#figures")).to_contain_text("Last interval observed")
    expect(page.locator("#reasons")).not_to_contain_text("last interval observed")
    page.screenshot(path=str(SCREENS / "health-after-saves.png"), full_page=True)
    page.close()
