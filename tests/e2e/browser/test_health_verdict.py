"""What the health page's verdict and tiles say, in Chromium: a failed validation, a late backlog, a device
that stops answering, the privacy tile in plain words, a model name that wraps (issue 16, item 8).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from pydantic import SecretStr

from edge.api import ApiServer, create_app
from edge.api.health import LATE_BACKLOG_S
from tests.e2e.browser.conftest import SCREENS
from tests.integration.api.conftest import PASSWORD
from tests.integration.api.device import MemoryDevice

PHONE = {"width": 390, "height": 844}


class Served:
    """A MemoryDevice on a uvicorn server this test can stop."""

    def __init__(self, tmp_path: Path) -> None:
        self.device = MemoryDevice(validation_store=tmp_path / "validations.sqlite3")
        self.server = ApiServer(
            create_app(self.device, password=SecretStr(PASSWORD)), host="127.0.0.1", port=0
        )
        self.server.start()
        self.base_url = f"http://127.0.0.1:{self.server.port}"
        self.running = True

    def stop(self) -> None:
        if self.running:
            self.server.stop()
            self.running = False


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    serving = Served(tmp_path)
    yield serving
    serving.stop()


def _log_in(browser: Browser, base_url: str, locale: str = "en-GB") -> Page:
    page = browser.new_context(viewport=PHONE, locale=locale).new_page()  # type: ignore[arg-type]
    page.goto(base_url + "/login")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(base_url + "/")
    return page


def _fail_a_validation(device: MemoryDevice) -> None:
    """Hand count 12, device 2 (in 2, out 0): 16.7 % accurate, as in the issue."""
    device.start_validation("vertical", "Alice")
    device.cross("vertical", "in", 2)
    device.finish_validation(6, 6)


def test_a_failed_validation_turns_the_verdict_red_until_the_line_is_recalibrated(
    browser: Browser, served: Served
) -> None:
    _fail_a_validation(served.device)
    page = _log_in(browser, served.base_url)
    expect(page.locator("#dot")).to_have_class("dot red")
    expect(page.locator("#verdict")).to_have_text("Counts are being lost")
    expect(page.locator("#reasons")).to_have_text("last validation of line vertical failed: 16.7 % accurate")
    page.screenshot(path=str(SCREENS / "health-validation-failed.png"), full_page=True)
    french = _log_in(browser, served.base_url, "fr-FR")
    expect(french.locator("#reasons")).to_have_text(
        "la dernière validation de la ligne vertical a échoué : exacte à 16.7 %"
    )
    # The technician moves the line and saves: the failure was about the old calibration.
    calibration = json.loads(served.device.current_calibration().to_json())
    calibration["lines"][0]["a"] = [0.3, 0.0]
    saved = httpx.put(
        served.base_url + "/api/calibration",
        headers={"Authorization": f"Bearer {PASSWORD}"},
        content=json.dumps(calibration),
    )
    assert saved.status_code == 200, saved.text
    expect(page.locator("#dot")).to_have_class("dot green", timeout=8000)
    expect(page.locator("#reasons li")).to_have_count(0)


@pytest.mark.parametrize(
    ("oldest_s", "reason"),
    [
        pytest.param(LATE_BACKLOG_S - 600, None, id="50 min: what the outbox is for"),
        pytest.param(LATE_BACKLOG_S + 60, "counts waiting for 61 min", id="61 min: late"),
    ],
)
def test_the_backlog_warning_waits_an_hour_as_the_readme_says(
    browser: Browser, served: Served, oldest_s: float, reason: str | None
) -> None:
    assert LATE_BACKLOG_S == 3600.0  # README, "What the status means": "more than an hour"
    served.device.set_status(outbox_backlog=40, outbox_oldest_s=oldest_s)
    page = _log_in(browser, served.base_url)
    expect(page.locator("#figures [data-figure=backlog]")).to_contain_text("40 intervals")
    if reason is None:
        expect(page.locator("#dot")).to_have_class("dot green")
    else:
        expect(page.locator("#dot")).to_have_class("dot amber")
        expect(page.locator("#reasons")).to_have_text(reason)


def test_a_device_that_stops_answering_greys_its_last_figures(browser: Browser, served: Served) -> None:
    page = _log_in(browser, served.base_url)
    expect(page.locator("#figures [data-figure=camera]")).to_contain_text("ok")
    served.stop()
    expect(page.locator("#verdict")).to_have_text(
        "Device not answering: the figures below are from its last answer", timeout=8000
    )
    expect(page.locator("#dot")).to_have_class("dot grey")
    expect(page.locator("#now")).to_have_class("card stale")
    opacity = page.locator("#figures .figure").first.evaluate("(node) => getComputedStyle(node).opacity")
    assert float(opacity) < 0.6
    page.screenshot(path=str(SCREENS / "health-not-answering.png"), full_page=True)


def test_privacy_is_in_plain_words_and_the_model_name_wraps_between_its_parts(
    browser: Browser, served: Served
) -> None:
    served.device.set_status(suppress_below=5, privacy_masks=1, model_name="yolox_nano_int8_static.onnx")
    page = _log_in(browser, served.base_url)
    privacy = page.locator("#figures [data-figure=privacy] .value")
    expect(privacy).to_have_text("1 mask · snapshots on · counts under 5 withheld")
    model = page.locator("#figures [data-figure=model] .value")
    expect(model).to_contain_text("yolox_nano_int8_static.onnx")
    # Break opportunities after "_" and "." only, and nothing sticks out of the tile.
    assert model.locator("wbr").count() == 4
    fits = model.evaluate("(node) => node.scrollWidth <= node.clientWidth")
    assert fits
