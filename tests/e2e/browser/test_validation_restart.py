"""A validation survives a restart of the service (SIGTERM, start again): the device keeps the hand
count, the technician's phone carries on, a phone without the count gets the device's copy, and
Stop then gives one record with the whole count (issue 16, items 1 and 9).
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from typing import Any

import httpx
from playwright.sync_api import Browser, Page, expect

from tests.e2e.browser.conftest import SCREENS
from tests.e2e.browser.test_validation import PHONE, _answers, _start, _stop, _stored, _tap, _wait_until
from tests.e2e.test_service import API_PASSWORD, API_PORT, broker, service  # noqa: F401 - the fixtures

API = f"http://127.0.0.1:{API_PORT}"


def _log_in_to(browser: Browser, path: str) -> Page:
    page = browser.new_page(viewport=PHONE)  # type: ignore[arg-type]
    page.goto(API + f"/login?next={path}")
    page.fill("#password", API_PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(API + path)
    return page


def test_a_restart_during_a_validation_keeps_the_hand_count(
    browser: Browser,
    service: Callable[[], Any],  # noqa: F811
) -> None:
    process = service()
    _wait_until(lambda: _answers(API + "/healthz"), timeout_s=30.0)
    phone = _log_in_to(browser, "/calibration")
    _start(phone, API, "exit", "restart technician")
    _tap(phone, "in", 3)
    expect(phone.locator("#sync")).to_have_text("✓ saved on the device")
    validation_id = _stored(phone)["id"]

    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    service()
    _wait_until(lambda: _answers(API + "/healthz"), timeout_s=30.0)
    bearer = {"Authorization": f"Bearer {API_PASSWORD}"}
    running = httpx.get(API + "/api/validations/running", headers=bearer, timeout=5.0).json()["current"]
    assert running is not None, "the validation did not survive the restart"
    assert running["validation_id"] == validation_id
    assert running["reference"] == {"in": 3, "out": 0}

    # A second phone, with nothing in its storage, takes the device's copy of the hand count.
    other = _log_in_to(browser, "/calibration")
    expect(other.locator("#tapbar")).to_be_visible()
    expect(other.locator("#count-in")).to_have_text("3")
    other.screenshot(path=str(SCREENS / "validation-after-restart.png"))
    other.close()
    # The first phone (logged in again if the restart ended its session) carries on and stops.
    phone.goto(API + "/calibration")
    if "/login" in phone.url:
        phone.fill("#password", API_PASSWORD)
        phone.click("button[type=submit]")
        expect(phone).to_have_url(API + "/calibration")
    expect(phone.locator("#count-in")).to_have_text("3")
    _tap(phone, "out", 1)
    expect(phone.locator("#sync")).to_have_text("✓ saved on the device")
    _stop(phone)
    record = httpx.get(API + "/api/validations", headers=bearer, timeout=5.0).json()[0]
    assert record["validation_id"] == validation_id
    assert record["reference"] == {"in": 3, "out": 1}
    assert httpx.get(API + "/api/validations/running", headers=bearer, timeout=5.0).json() == {
        "current": None
    }
    phone.close()
