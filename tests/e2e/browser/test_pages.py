"""The pages in headless Chromium (Debian's, via Playwright): log in, read health, draw and save a line."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.browser.conftest import SCREENS
from tests.integration.api.conftest import PASSWORD, Served, served  # noqa: F401 - the fixture


def _log_in(browser: Browser, base_url: str, *, phone: bool = False) -> Page:
    viewport = {"width": 390, "height": 844} if phone else {"width": 1280, "height": 900}
    page = browser.new_page(viewport=viewport)  # type: ignore[arg-type]
    page.goto(base_url + "/")
    expect(page).to_have_url(base_url + "/login")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(base_url + "/")
    return page


def test_wrong_password_stays_on_the_login_page(browser: Browser, served: Served) -> None:  # noqa: F811
    page = browser.new_page()
    page.goto(served.base_url + "/login")
    page.fill("#password", "not it")
    page.click("button[type=submit]")
    expect(page.locator("#failed")).to_be_visible()
    page.close()


def test_health_page_shows_live_values_and_the_verdict(browser: Browser, served: Served) -> None:  # noqa: F811
    SCREENS.mkdir(exist_ok=True)
    page = _log_in(browser, served.base_url)
    expect(page.locator("#verdict")).to_have_text("Counting normally")
    expect(page.locator("#figures")).to_contain_text("9.8 frames/s")
    expect(page.locator("#figures")).to_contain_text("yolox_nano.onnx (Apache-2.0)")
    expect(page.locator("#chart g.slot")).not_to_have_count(0)
    expect(page.locator("#figures")).to_contain_text("nothing waiting")
    page.screenshot(path=str(SCREENS / "health.png"), full_page=True)
    served.device.set_status(broker_state="unreachable", last_coverage=0.4)
    expect(page.locator("#verdict")).to_have_text("Degraded: check the reasons", timeout=8000)
    expect(page.locator("#reasons")).to_contain_text("broker unreachable")
    expect(page.locator("#dot")).to_have_class("dot amber")
    page.screenshot(path=str(SCREENS / "health-amber.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    expect(page.locator("#chart g.slot")).not_to_have_count(0)
    page.screenshot(path=str(SCREENS / "health-phone.png"), full_page=True)
    page.close()


def test_draw_a_line_save_it_and_see_it_applied(browser: Browser, served: Served) -> None:  # noqa: F811
    page = _log_in(browser, served.base_url)
    page.goto(served.base_url + "/calibration")
    expect(page.locator("#items li")).to_have_count(2)  # the two lines of the PETS09 example
    expect(page.locator("#items")).to_contain_text("in 3 · out 1")
    page.click("button[data-mode=line]")
    box = page.locator("#overlay").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + 0.2 * box["width"], box["y"] + 0.8 * box["height"])
    page.mouse.down()
    page.mouse.move(box["x"] + 0.8 * box["width"], box["y"] + 0.8 * box["height"], steps=8)
    page.mouse.up()
    expect(page.locator("#items li")).to_have_count(3)
    expect(page.locator("#items li").nth(2)).to_contain_text("not saved yet")
    page.locator("#items li").nth(2).locator("input").fill("bus-stop")
    page.locator("#items li").nth(2).locator("input").press("Enter")
    page.screenshot(path=str(SCREENS / "calibration.png"), full_page=True)
    page.click("#save")
    expect(page.locator("#message")).to_have_text("Saved: counting with this calibration now.")
    applied = served.device.applied[-1]
    line = next(line for line in applied.lines if line.line_id == "bus-stop")
    assert line.a == pytest.approx((0.2, 0.8), abs=0.01)
    assert line.b == pytest.approx((0.8, 0.8), abs=0.01)
    assert json.loads(applied.to_json())["lines"][-1]["id"] == "bus-stop"
    page.close()


def test_a_bad_save_shows_the_validation_error(browser: Browser, served: Served) -> None:  # noqa: F811
    page = _log_in(browser, served.base_url, phone=True)
    page.goto(served.base_url + "/calibration")
    expect(page.locator("#items li")).to_have_count(2)
    page.locator("#items li").nth(1).locator("input").fill("vertical")  # a duplicate id
    page.locator("#items li").nth(1).locator("input").press("Enter")
    page.click("#save")
    expect(page.locator("#message")).to_contain_text("Not saved: fix the items marked in red below")
    # The message sits next to the item it is about, on both lines that share the id.
    for row in range(2):
        expect(page.locator("#items li").nth(row).locator(".problem")).to_have_text(
            'duplicate line id "vertical"'
        )
    page.screenshot(path=str(SCREENS / "calibration-phone-error.png"), full_page=True)
    assert served.device.applied == []
    page.locator("#items li").nth(1).locator("input").fill("horizontal")
    page.locator("#items li").nth(1).locator("input").press("Enter")
    expect(page.locator("#items .problem")).to_have_count(0)
    page.close()


def test_on_a_phone_an_endpoint_is_big_enough_to_drag_and_the_move_is_saved(
    browser: Browser,
    served: Served,  # noqa: F811
) -> None:
    page = _log_in(browser, served.base_url, phone=True)
    page.goto(served.base_url + "/calibration")
    expect(page.locator("#items li")).to_have_count(2)
    image = page.locator("#overlay").bounding_box()
    # Handles in DOM order: vertical a, vertical b, horizontal a, horizontal b (at x=1, y=0.5).
    end = page.locator("#overlay .handle").nth(3).bounding_box()
    assert image is not None
    assert end is not None
    assert end["width"] >= 40, "a fingertip needs a target of about 40 CSS pixels"
    start_x, start_y = end["x"] + end["width"] / 2, end["y"] + end["height"] / 2
    assert start_x == pytest.approx(image["x"] + image["width"], abs=2)
    target_x, target_y = image["x"] + 0.9 * image["width"], image["y"] + 0.7 * image["height"]
    page.mouse.move(start_x, start_y)
    page.mouse.down()
    page.mouse.move(target_x, target_y, steps=6)
    page.mouse.up()
    page.screenshot(path=str(SCREENS / "calibration-phone-moved.png"), full_page=True)
    page.click("#save")
    expect(page.locator("#message")).to_have_text("Saved: counting with this calibration now.")
    horizontal = next(line for line in served.device.applied[-1].lines if line.line_id == "horizontal")
    assert horizontal.a == (0.0, 0.5)
    assert horizontal.b == pytest.approx((0.9, 0.7), abs=0.01)
    page.close()
