"""The calibration page on a phone in Chromium (touch, portrait and landscape): validation buttons that cover
nothing the technician needs, a picture that scrolls and zooms, a zoomed picture that still places
points where the finger is (issue 16, items 4 and 5).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.e2e.browser.conftest import SCREENS
from tests.integration.api.conftest import PASSWORD, Served, served  # noqa: F401 - the fixture

PORTRAIT = {"width": 390, "height": 844}
LANDSCAPE = {"width": 844, "height": 390}
# What the technician reads while counting: none may sit under the buttons or off the screen.
NEEDED = ["#run-line", "#elapsed", "#tally", "#overlay .in-arrow"]


def _phone(browser: Browser, viewport: dict[str, int]) -> BrowserContext:
    return browser.new_context(viewport=viewport, has_touch=True, is_mobile=True, locale="en-GB")  # type: ignore[arg-type]


def _log_in(context: BrowserContext, base_url: str) -> Page:
    page = context.new_page()
    page.goto(base_url + "/login?next=/calibration")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(base_url + "/calibration")
    expect(page.locator("#items li")).to_have_count(2)
    return page


def _overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return not (
        a["x"] + a["width"] <= b["x"]
        or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"]
        or b["y"] + b["height"] <= a["y"]
    )


def _box(page: Page, selector: str) -> dict[str, float]:
    box = page.locator(selector).first.bounding_box()
    assert box is not None, f"{selector} is not shown"
    return {"x": box["x"], "y": box["y"], "width": box["width"], "height": box["height"]}


@pytest.mark.parametrize("viewport", [PORTRAIT, LANDSCAPE], ids=["portrait", "landscape"])
def test_while_validating_the_buttons_cover_nothing_needed(
    browser: Browser,
    served: Served,  # noqa: F811
    viewport: dict[str, int],
) -> None:
    context = _phone(browser, viewport)
    page = _log_in(context, served.base_url)
    page.select_option("#validate-line", "vertical")
    page.click("#validate-start")
    expect(page.locator("#tapbar")).to_be_visible()
    page.locator("#tap-in").tap()
    expect(page.locator("#count-in")).to_have_text("1")
    bar = _box(page, "#tapbar")
    for selector in NEEDED:
        box = _box(page, selector)
        assert not _overlap(box, bar), f"{selector} {box} is under the buttons {bar}"
        assert box["y"] >= 0
        assert box["y"] + box["height"] <= viewport["height"], f"{selector} is off the screen"
    for button in ("#tap-in", "#tap-out"):
        tap = _box(page, button)
        assert tap["height"] >= 88
        assert tap["width"] >= 120, "a thumb-sized target"
    name = "portrait" if viewport is PORTRAIT else "landscape"
    page.screenshot(path=str(SCREENS / f"validation-phone-{name}.png"))
    context.close()


def _touch_scroll(page: Page, context: BrowserContext, x: float, y: float, distance: float) -> None:
    """A real one-finger swipe up from (x, y), through Chromium's input pipeline (touch-action applies)."""
    cdp = context.new_cdp_session(page)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y}]})
    for step in range(1, 11):
        point = {"x": x, "y": y - distance * step / 10}
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [point]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    page.wait_for_timeout(300)  # the scroll is applied by the compositor, after the events


def test_a_swipe_on_the_picture_scrolls_the_page_but_drawing_keeps_the_finger(
    browser: Browser,
    served: Served,  # noqa: F811
) -> None:
    context = _phone(browser, LANDSCAPE)
    page = _log_in(context, served.base_url)
    picture = _box(page, "#stage")
    assert picture["height"] > LANDSCAPE["height"] / 2
    page.evaluate("() => window.scrollTo(0, 0)")
    # Away from any handle (the lines' ends sit on the picture's edges and middle).
    x, y = picture["x"] + 0.3 * picture["width"], min(picture["y"] + 0.3 * picture["height"], 300)
    _touch_scroll(page, context, x, y, 150)
    scrolled = page.evaluate("() => window.scrollY")
    assert scrolled > 50, "a swipe on the picture must scroll the page"
    page.click("button[data-mode=line]")
    expect(page.locator("#stage")).to_have_class("stage drawing")
    touch_action = page.locator("#stage").evaluate("(node) => getComputedStyle(node).touchAction")
    assert touch_action == "none"
    page.click("button[data-mode=move]")
    touch_action = page.locator("#stage").evaluate("(node) => getComputedStyle(node).touchAction")
    assert touch_action in ("manipulation", "pan-x pan-y pinch-zoom")  # the same thing, as computed
    context.close()


def test_zoomed_the_picture_is_twice_as_wide_and_a_dragged_end_lands_under_the_finger(
    browser: Browser,
    served: Served,  # noqa: F811
) -> None:
    context = _phone(browser, PORTRAIT)
    page = _log_in(context, served.base_url)
    frame_width = _box(page, "#stage-frame")["width"]
    page.click("#zoom")
    expect(page.locator("#zoom")).to_have_attribute("aria-pressed", "true")
    assert _box(page, "#stage")["width"] == pytest.approx(2 * frame_width, abs=2)
    page.locator("#stage-frame").evaluate("(node) => { node.scrollLeft = node.scrollWidth; }")
    # The end of "horizontal" at (1, 0.5): now reachable at the right of the scrolled frame.
    end = _box(page, "#overlay .handle >> nth=3")
    picture = _box(page, "#overlay")
    frame_right = _box(page, "#stage-frame")["x"] + frame_width
    # Inside the frame's clip: the handle's centre sits on the picture's (scrolled) right edge.
    start_x, start_y = min(end["x"] + end["width"] / 2, frame_right - 6), end["y"] + end["height"] / 2
    target_x, target_y = picture["x"] + 0.9 * picture["width"], picture["y"] + 0.6 * picture["height"]
    page.mouse.move(start_x, start_y)
    page.mouse.down()
    page.mouse.move(target_x, target_y, steps=6)
    page.mouse.up()
    page.screenshot(path=str(SCREENS / "calibration-phone-zoomed.png"))
    page.click("#save")
    expect(page.locator("#message")).to_have_text("Saved: counting with this calibration now.")
    horizontal = next(line for line in served.device.applied[-1].lines if line.line_id == "horizontal")
    assert horizontal.b == pytest.approx((0.9, 0.6), abs=0.01)
    context.close()
