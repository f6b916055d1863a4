"""The calibration editor in Chromium: no dot-sized line, flip a line's direction, both sides labelled apart,
no jump into a drawing mode, undo, and a warning before unsaved edits are lost (issue 16, item 6).
"""

from __future__ import annotations

from playwright.sync_api import Browser, BrowserContext, Dialog, Page, expect

from edge.count import CountingLine
from edge.records import Direction, LineSpec
from tests.e2e.browser.conftest import SCREENS
from tests.integration.api.conftest import PASSWORD, Served, served  # noqa: F401 - the fixture

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def _open(browser: Browser, base_url: str, *, phone: bool) -> tuple[BrowserContext, Page]:
    context = browser.new_context(
        viewport=PHONE if phone else DESKTOP,  # type: ignore[arg-type]
        has_touch=phone,
        is_mobile=phone,
        locale="en-GB",
    )
    page = context.new_page()
    page.goto(base_url + "/login?next=/calibration")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("#items li")).to_have_count(2)
    page.wait_for_function("() => document.getElementById('snapshot').complete")
    return context, page


def _walk_across(spec: LineSpec, start: tuple[float, float], end: tuple[float, float]) -> Direction | None:
    """The direction the real counting line gives a foot walking from `start` to `end` in ten steps."""
    line = CountingLine(spec, hysteresis=0.01)
    state = line.start(start)
    counted = None
    previous = start
    for step in range(1, 11):
        point = (start[0] + (end[0] - start[0]) * step / 10, start[1] + (end[1] - start[1]) * step / 10)
        state, direction = line.advance(state, previous, point)
        counted = direction or counted
        previous = point
    return counted


def test_a_double_tap_in_draw_line_adds_no_line_and_says_why(browser: Browser, served: Served) -> None:  # noqa: F811
    context, page = _open(browser, served.base_url, phone=True)
    page.click("button[data-mode=line]")
    box = page.locator("#overlay").bounding_box()
    assert box is not None
    x, y = box["x"] + 0.3 * box["width"], box["y"] + 0.7 * box["height"]
    page.touchscreen.tap(x, y)
    page.touchscreen.tap(x + 2, y + 1)
    expect(page.locator("#message")).to_have_text(
        "Too short: a line needs at least 40 pixels of the picture. Drag from A to B."
    )
    expect(page.locator("#items li")).to_have_count(2)
    context.close()


def test_flip_swaps_the_direction_and_the_saved_line_counts_the_other_way(
    browser: Browser,
    served: Served,  # noqa: F811
) -> None:
    before = next(line for line in served.device.calibration.lines if line.line_id == "vertical")
    walk = ((0.3, 0.5), (0.7, 0.5))
    counted_before = _walk_across(before, *walk)
    assert counted_before is not None
    context, page = _open(browser, served.base_url, phone=False)
    in_label = page.locator("#overlay text", has_text="vertical: in")
    x_before = float(in_label.get_attribute("x") or "nan")
    page.locator("#items li").first.locator(".flip").click()
    expect(page.locator("#message")).to_have_text("vertical: in and out swapped; Save to apply.")
    x_after = float(in_label.get_attribute("x") or "nan")
    middle = before.a[0] * page.evaluate("() => W")  # overlay units are the picture's pixels
    assert (x_before - middle) * (x_after - middle) < 0, "the in label must change sides"
    page.click("#save")
    expect(page.locator("#message")).to_have_text("Saved: counting with this calibration now.")
    after = next(line for line in served.device.applied[-1].lines if line.line_id == "vertical")
    assert (after.a, after.b) == (before.b, before.a)
    expected = Direction.OUT if counted_before is Direction.IN else Direction.IN
    assert _walk_across(after, *walk) is expected
    context.close()


def test_on_a_phone_both_sides_of_each_line_are_labelled_and_no_labels_overlap(
    browser: Browser,
    served: Served,  # noqa: F811
) -> None:
    context, page = _open(browser, served.base_url, phone=True)
    sides = page.locator("#overlay text:not(.line-count)")
    expect(sides).to_have_text(["vertical: in", "vertical: out", "horizontal: in", "horizontal: out"])
    texts = page.locator("#overlay text")  # with the live counts on both lines, at the same centre
    expect(texts).to_have_count(6)
    # In one go: the overlay is redrawn with each live update.
    boxes = page.evaluate(
        """() => [...document.querySelectorAll('#overlay text')].map((node) => {
          const r = node.getBoundingClientRect();
          return { x: r.x, y: r.y, width: r.width, height: r.height };
        })"""
    )
    for k, first in enumerate(boxes):
        for second in boxes[k + 1 :]:
            assert first is not None
            assert second is not None
            apart = (
                first["x"] + first["width"] <= second["x"]
                or second["x"] + second["width"] <= first["x"]
                or first["y"] + first["height"] <= second["y"]
                or second["y"] + second["height"] <= first["y"]
            )
            assert apart, f"labels overlap: {first} {second}"
    page.screenshot(path=str(SCREENS / "calibration-phone-labels.png"))
    context.close()


def test_drawing_modes_do_not_move_the_picture_and_a_mask_says_mask(browser: Browser, served: Served) -> None:  # noqa: F811
    context, page = _open(browser, served.base_url, phone=True)
    top = page.locator("#stage").bounding_box()
    for mode in ("zone", "mask"):
        page.click(f"button[data-mode={mode}]")
        now = page.locator("#stage").bounding_box()
        assert now == top, f"Draw {mode} moved the picture: {top} -> {now}"
    expect(page.locator("#finish")).to_be_visible()
    page.click("#finish")
    expect(page.locator("#message")).to_have_text("A mask needs at least 3 corners.")
    context.close()


def test_undo_brings_back_a_deleted_line_and_a_moved_end(browser: Browser, served: Served) -> None:  # noqa: F811
    original = served.device.calibration.lines
    context, page = _open(browser, served.base_url, phone=False)
    expect(page.locator("#undo-edit")).to_be_disabled()
    page.locator("#items li").first.locator(".delete").click()
    expect(page.locator("#items li")).to_have_count(1)
    page.click("#undo-edit")
    expect(page.locator("#items li")).to_have_count(2)
    expect(page.locator("#items li").first.locator("input")).to_have_value("vertical")
    handle = page.locator("#overlay .handle").nth(3).bounding_box()
    assert handle is not None
    page.mouse.move(handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2)
    page.mouse.down()
    page.mouse.move(handle["x"] - 200, handle["y"] + 100, steps=5)
    page.mouse.up()
    moved = page.locator("#overlay .handle").nth(3).bounding_box()
    assert moved != handle
    page.click("#undo-edit")
    assert page.locator("#overlay .handle").nth(3).bounding_box() == handle
    expect(page.locator("#undo-edit")).to_be_disabled()
    page.click("#save")
    expect(page.locator("#message")).to_have_text("Saved: counting with this calibration now.")
    assert served.device.applied[-1].lines == original  # back as it was
    context.close()


def test_leaving_with_unsaved_edits_asks_first(browser: Browser, served: Served) -> None:  # noqa: F811
    context, page = _open(browser, served.base_url, phone=False)
    asked: list[str] = []

    def stay(dialog: Dialog) -> None:
        asked.append(dialog.type)
        dialog.dismiss()

    page.on("dialog", stay)
    page.locator("#items li").first.locator(".delete").click()
    page.click("header nav a[href='/']")
    page.wait_for_timeout(500)
    assert asked == ["beforeunload"]
    expect(page).to_have_url(served.base_url + "/calibration")
    expect(page.locator("#items li")).to_have_count(1)  # the edit is still there
    page.click("#save")
    expect(page.locator("#message")).to_have_text("Saved: counting with this calibration now.")
    page.click("header nav a[href='/']")
    expect(page).to_have_url(served.base_url + "/")
    assert asked == ["beforeunload"], "nothing unsaved: no question"
    context.close()
