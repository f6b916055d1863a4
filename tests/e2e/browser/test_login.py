"""Logging in, in Chromium: back to the page asked for (same-origin paths only), the password can be shown,
and no page load asks for anything that is not there (favicon, the validation state) (issue 16, item 9).
"""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Browser, Response, expect

from tests.e2e.browser.conftest import SCREENS
from tests.integration.api.conftest import PASSWORD, Served, served  # noqa: F401 - the fixture

PHONE = {"width": 390, "height": 844}


def test_a_stranger_sent_to_log_in_comes_back_to_the_page_asked_for(
    browser: Browser,
    served: Served,  # noqa: F811
) -> None:
    page = browser.new_page(viewport=PHONE)  # type: ignore[arg-type]
    page.goto(served.base_url + "/calibration")
    expect(page).to_have_url(served.base_url + "/login?next=/calibration")
    page.fill("#password", "not it")
    page.click("button[type=submit]")
    expect(page.locator("#failed")).to_be_visible()  # a wrong password keeps the way back
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(served.base_url + "/calibration")
    expect(page.locator("#items li")).to_have_count(2)
    page.close()


@pytest.mark.parametrize(
    ("requested", "landing"),
    [
        pytest.param("/calibration", "/calibration", id="a page of the device"),
        pytest.param("//evil.example/x", "/", id="another host, scheme-relative"),
        pytest.param("https://evil.example/", "/", id="another host, absolute"),
        pytest.param("/\\evil.example", "/", id="backslash trick"),
        pytest.param("javascript:alert(1)", "/", id="a script"),
        pytest.param("", "/", id="empty"),
    ],
)
def test_after_login_only_paths_of_the_device_are_followed(
    served: Served,  # noqa: F811
    requested: str,
    landing: str,
) -> None:
    response = httpx.post(served.base_url + "/login", params={"next": requested}, data={"password": PASSWORD})
    assert response.status_code == 303
    assert response.headers["location"] == landing


def test_the_password_can_be_shown_while_typing_it(browser: Browser, served: Served) -> None:  # noqa: F811
    page = browser.new_page(viewport=PHONE)  # type: ignore[arg-type]
    page.goto(served.base_url + "/login")
    page.fill("#password", PASSWORD)
    expect(page.locator("#password")).to_have_attribute("type", "password")
    page.click("label.check")
    expect(page.locator("#password")).to_have_attribute("type", "text")
    expect(page.locator("#password")).to_have_value(PASSWORD)
    page.screenshot(path=str(SCREENS / "login-shown.png"))
    page.click("label.check")
    expect(page.locator("#password")).to_have_attribute("type", "password")
    page.close()


def test_no_page_load_asks_for_something_missing(browser: Browser, served: Served) -> None:  # noqa: F811
    page = browser.new_page(viewport=PHONE)  # type: ignore[arg-type]
    failures: list[str] = []

    def record(response: Response) -> None:
        if response.status >= 400:
            failures.append(f"{response.status} {response.url}")

    page.on("response", record)
    page.goto(served.base_url + "/login")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("#figures .figure")).to_have_count(15)
    page.goto(served.base_url + "/calibration")  # no validation runs
    expect(page.locator("#validate-line option")).to_have_count(2)
    page.wait_for_load_state("networkidle")
    icon = page.evaluate("() => document.querySelector('link[rel=icon]').href")
    assert page.request.get(icon).status == 200
    assert failures == []
    page.close()
