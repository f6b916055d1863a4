"""French and English pages in headless Chromium: every text from the dictionaries, the language chosen.

The untranslated-string check is a pseudo-localisation: with `window.I18N_PSEUDO` set, i18n.js wraps
every translation in ⟦ ⟧, so any letter left outside the brackets (and outside device data marked
`translate="no"`) was typed into a page or a script instead of coming from strings.js.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from edge.records import CountEvents, Crossing, Direction, LineId, Track, TrackedFrame, TrackId
from tests.e2e.browser.conftest import SCREENS
from tests.integration.api.conftest import PASSWORD, Served, served  # noqa: F401 - the fixture

PHONE = {"width": 390, "height": 844}
LOCALES = {"en": "en-GB", "fr": "fr-FR"}

# Every text node and user-visible attribute outside translate="no", with the ⟦…⟧ parts removed.
UNTRANSLATED_JS = r"""
() => {
  const strip = (text) => {
    let before;
    do { before = text; text = text.replace(/⟦[^⟦⟧]*⟧/g, ""); } while (text !== before);
    return text;
  };
  const data = (node) => node.closest('script, style, [translate="no"]');
  const found = [];
  const walker = document.createTreeWalker(document.documentElement, NodeFilter.SHOW_TEXT);
  let all = "";
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (!data(node.parentElement)) all += node.data + "\u0001";
  }
  for (const piece of strip(all).split("\u0001")) {
    if (/\p{L}/u.test(piece)) found.push(`text: ${piece.trim()}`);
  }
  for (const element of document.querySelectorAll("*")) {
    if (data(element)) continue;
    for (const name of ["aria-label", "title", "alt", "placeholder"]) {
      const value = element.getAttribute(name);
      if (value !== null && /\p{L}/u.test(strip(value))) {
        found.push(`${element.tagName.toLowerCase()}[${name}]: ${value}`);
      }
    }
  }
  return found;
}
"""


def _context(browser: Browser, lang: str, *, pseudo: bool) -> BrowserContext:
    context = browser.new_context(locale=LOCALES[lang], viewport=PHONE)  # type: ignore[arg-type]
    if pseudo:
        context.add_init_script("window.I18N_PSEUDO = true;")
    return context


def assert_translated(page: Page, where: str) -> None:
    untranslated = page.evaluate(UNTRANSLATED_JS)
    assert untranslated == [], f"{where}: text not from the dictionaries: {untranslated}"
    missing = page.evaluate("() => [...I18N.missing]")
    assert missing == [], f"{where}: keys missing from this language: {missing}"


def _log_in(page: Page, base_url: str) -> None:
    page.goto(base_url + "/login?failed=1")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(base_url + "/")


@pytest.fixture
def with_history(served: Served) -> Served:  # noqa: F811
    """The device with one stored validation and an amber status: tables and reasons to translate."""
    served.device.start_validation("vertical", "Alice")
    served.device.cross("vertical", "in", 3)
    served.device.finish_validation(3, 1)
    served.device.set_status(broker_state="unreachable", last_coverage=0.4, camera_detail="")
    # The live view's person, trail and crossing log.
    for step in range(3):
        track = Track(TrackId(1), (600.0 + 30 * step, 200.0, 660.0 + 30 * step, 400.0), 0.9, True)
        served.device.live.track(TrackedFrame(step, step * 0.2, 1280, 720, (track,)))
    crossing = Crossing(LineId("vertical"), Direction.OUT, 0.4, 2)
    served.device.live.count(CountEvents(2, 0.4, (crossing,), (), ()), datetime.now(UTC))
    return served


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_every_text_on_every_page_comes_from_the_dictionaries(
    browser: Browser,
    with_history: Served,
    lang: str,
) -> None:
    base_url = with_history.base_url
    context = _context(browser, lang, pseudo=True)
    page = context.new_page()
    page.goto(base_url + "/login?failed=1")
    expect(page.locator("#failed")).to_be_visible()
    assert_translated(page, "login")
    _log_in(page, base_url)

    expect(page.locator("#figures .figure")).to_have_count(15)
    expect(page.locator("#validations tbody tr")).to_have_count(1)
    expect(page.locator("#reasons li")).to_have_count(2)
    expect(page.locator("#chart rect")).not_to_have_count(0)
    assert_translated(page, "health")

    page.route("**/api/status", lambda route: route.abort())
    expect(page.locator("#dot")).to_have_class("dot grey", timeout=8000)
    assert_translated(page, "health, device not answering")
    page.unroute("**/api/status")

    page.goto(base_url + "/calibration")
    expect(page.locator("#items li")).to_have_count(2)
    expect(page.locator("#validate-line option")).to_have_count(2)
    expect(page.locator("#crossings li")).to_have_count(1)
    expect(page.locator("#overlay rect.person")).to_have_count(1)
    for mode in ("line", "zone", "mask", "move"):
        page.click(f"button[data-mode={mode}]")
        assert_translated(page, f"calibration, {mode} mode")
    page.click("button[data-mode=zone]")
    page.click("#finish")  # no corner yet: the "at least 3 corners" message
    expect(page.locator("#message")).to_have_class("error")
    assert_translated(page, "calibration, zone without corners")
    page.click("button[data-mode=move]")
    page.locator("#items li").nth(1).locator("input").fill("vertical")  # a duplicate id
    page.locator("#items li").nth(1).locator("input").press("Enter")
    page.click("#save")
    expect(page.locator("#items .problem")).to_have_count(2)
    assert_translated(page, "calibration, refused save")
    page.locator("#items li").nth(1).locator("input").fill("horizontal")
    page.locator("#items li").nth(1).locator("input").press("Enter")
    page.click("#save")
    expect(page.locator("#message")).to_have_class("ok")
    assert_translated(page, "calibration, saved")

    page.select_option("#validate-line", "vertical")
    page.click("#validate-start")
    expect(page.locator("#tapbar")).to_be_visible()
    page.click("#tap-in")
    page.click("#show-device")
    expect(page.locator("#sync")).to_have_class("sync ok")
    assert_translated(page, "validation, counting")
    page.click("#stop")
    expect(page.locator("#confirm")).to_be_visible()
    assert_translated(page, "validation, confirm")
    page.click("#confirm-yes")
    expect(page.locator("#result")).to_be_visible()
    assert_translated(page, "validation, result")
    context.close()


def test_both_dictionaries_hold_the_same_keys(browser: Browser, served: Served) -> None:  # noqa: F811
    page = browser.new_page()
    page.goto(served.base_url + "/login")
    only = page.evaluate(
        """() => {
          const en = Object.keys(STRINGS.en), fr = Object.keys(STRINGS.fr);
          return { en: en.filter((k) => !fr.includes(k)), fr: fr.filter((k) => !en.includes(k)) };
        }"""
    )
    assert only == {"en": [], "fr": []}
    page.close()


@pytest.mark.parametrize(
    ("lang", "verdict", "nav"),
    [("en", "Counting normally", "Calibration"), ("fr", "Comptage normal", "Calibrage")],
    ids=["english browser", "french browser"],
)
def test_the_language_follows_the_browser(
    browser: Browser,
    served: Served,  # noqa: F811
    lang: str,
    verdict: str,
    nav: str,
) -> None:
    context = _context(browser, lang, pseudo=False)
    page = context.new_page()
    _log_in(page, served.base_url)
    expect(page.locator("html")).to_have_attribute("lang", lang)
    expect(page.locator("#verdict")).to_have_text(verdict)
    expect(page.locator("header nav a").nth(1)).to_have_text(nav)
    page.screenshot(path=str(SCREENS / f"health-{lang}.png"), full_page=True)
    context.close()


def test_the_switch_changes_the_language_and_is_remembered(browser: Browser, served: Served) -> None:  # noqa: F811
    context = _context(browser, "en", pseudo=False)
    page = context.new_page()
    _log_in(page, served.base_url)
    expect(page.locator("#lang")).to_have_text("Français")
    page.click("#lang")
    expect(page.locator("#verdict")).to_have_text("Comptage normal")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    page.goto(served.base_url + "/calibration")  # another page, same choice
    expect(page.locator("#save")).to_have_text("Enregistrer")
    expect(page.locator("#items li").first).to_contain_text("entrées 3 · sorties 1")
    page.click("#lang")
    expect(page.locator("#save")).to_have_text("Save")
    context.close()
