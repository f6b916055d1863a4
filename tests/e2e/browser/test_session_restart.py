"""In Chromium: a restart of the service keeps the technician logged in, logout ends it, and no
page breaks the Content-Security-Policy it is served with."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Browser, ConsoleMessage, expect
from pydantic import SecretStr

from edge.api import ApiServer, create_app
from tests.integration.api.conftest import PASSWORD
from tests.integration.api.device import MemoryDevice


@contextmanager
def _service(device: MemoryDevice, session_file: Path) -> Iterator[str]:
    """The API as `footfall run` serves it: the session keys in a file of the state directory."""
    server = ApiServer(
        create_app(device, password=SecretStr(PASSWORD), session_file=session_file), host="127.0.0.1", port=0
    )
    server.start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.stop()


def test_a_restart_keeps_the_page_logged_in_and_logout_ends_it(browser: Browser, tmp_path: Path) -> None:
    device = MemoryDevice(validation_store=tmp_path / "validations.sqlite3")
    session_file = tmp_path / "state" / "api-session.json"
    context = browser.new_context()
    page = context.new_page()
    with _service(device, session_file) as base_url:
        page.goto(base_url + "/login")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        expect(page).to_have_url(base_url + "/")
    # The service restarts (a new process would read the same file); the page reloads.
    with _service(device, session_file) as base_url:
        page.goto(base_url + "/calibration")
        expect(page).to_have_url(base_url + "/calibration")
        kept = [
            {"name": cookie["name"], "value": cookie["value"], "url": base_url}
            for cookie in context.cookies()
        ]
        page.request.post(base_url + "/logout")
        context.add_cookies(kept)  # type: ignore[arg-type]  # even a copy of the old cookie is refused now
        page.goto(base_url + "/")
        expect(page).to_have_url(base_url + "/login")
    context.close()


def test_no_page_breaks_its_content_security_policy(browser: Browser, tmp_path: Path) -> None:
    device = MemoryDevice(validation_store=tmp_path / "validations.sqlite3")
    violations: list[str] = []

    def watch(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            violations.append(message.text)

    page = browser.new_page()
    page.on("console", watch)
    with _service(device, tmp_path / "api-session.json") as base_url:
        page.goto(base_url + "/login?failed=1")
        expect(page.locator("#failed")).to_be_visible()  # the inline script ran: allowed by its hash
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        expect(page).to_have_url(base_url + "/")
        page.wait_for_load_state("networkidle")
        page.goto(base_url + "/calibration")
        page.wait_for_load_state("networkidle")
    page.close()
    assert violations == []
