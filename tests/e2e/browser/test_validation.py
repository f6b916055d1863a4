"""On-site validation in headless Chromium: count by hand on the calibration page, compare, find the evidence.

Against the in-memory device (real `ValidationSession` and `ValidationStore`, simulated crossings),
and end to end against `footfall run` on the demo clip with a real Mosquitto subscriber.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import jsonschema
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from playwright.sync_api import Browser, Locator, Page, expect

from edge.deliver import VALIDATION_SCHEMA, payload_schema
from edge.deliver.mqtt import Topics
from tests.e2e.browser.conftest import SCREENS
from tests.e2e.test_service import API_PASSWORD, API_PORT, broker, service  # noqa: F401 - the fixtures
from tests.integration.api.conftest import PASSWORD, Served, served  # noqa: F401 - the fixture
from tests.integration.deliver.mosquitto import MosquittoBroker

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
STORE_KEY = "footfall-validation"


@dataclass(frozen=True, slots=True)
class Expected:
    """What the page and the record must say, worked out from the taps and the simulated crossings."""

    hand_in: int
    hand_out: int
    device_in: int
    device_out: int
    tolerance: float
    min_people: int

    @property
    def error_total(self) -> int:
        return abs(self.device_in - self.hand_in) + abs(self.device_out - self.hand_out)

    @property
    def accuracy(self) -> float:
        return 1.0 - self.error_total / (self.hand_in + self.hand_out)

    @property
    def verdict(self) -> str:
        if self.hand_in + self.hand_out < self.min_people:
            return "inconclusive"
        return "pass" if self.accuracy >= 1.0 - self.tolerance - 1e-9 else "fail"


def _log_in(browser: Browser, base_url: str, password: str, viewport: dict[str, int]) -> Page:
    page = browser.new_page(viewport=viewport)  # type: ignore[arg-type]
    page.goto(base_url + "/login")
    page.fill("#password", password)
    page.click("button[type=submit]")
    expect(page).to_have_url(base_url + "/")
    return page


def _start(page: Page, base_url: str, line: str, operator: str = "") -> None:
    page.goto(base_url + "/calibration")
    expect(page.locator("#validate-line option")).not_to_have_count(0)
    page.select_option("#validate-line", line)
    page.fill("#validate-operator", operator)
    page.click("#validate-start")
    expect(page.locator("#tapbar")).to_be_visible()
    expect(page.locator("#run-line")).to_have_text(line)


def _tap(page: Page, direction: str, times: int) -> None:
    for _ in range(times):
        page.click(f"#tap-{direction}")


def _stop(page: Page) -> None:
    page.click("#stop")
    expect(page.locator("#confirm")).to_be_visible()
    page.click("#confirm-yes")
    expect(page.locator("#result")).to_be_visible()


def _signed(value: int) -> str:
    return f"+{value}" if value > 0 else f"\u2212{-value}" if value < 0 else "0"


def _expect_comparison(result: Locator, expected: Expected) -> None:
    rows = {
        "in": (expected.hand_in, expected.device_in),
        "out": (expected.hand_out, expected.device_out),
    }
    for direction, (hand, device) in rows.items():
        cells = result.locator(f"tr[data-direction={direction}] td")
        expect(cells).to_have_text([str(hand), str(device), _signed(device - hand)])
    total = result.locator("tr[data-direction=total] td")
    expect(total).to_have_text(
        [
            str(expected.hand_in + expected.hand_out),
            str(expected.device_in + expected.device_out),
            str(expected.error_total),
        ]
    )
    expect(result.locator(".accuracy")).to_contain_text(f"{expected.accuracy * 100:.1f} %")
    expect(result.locator(".badge")).to_have_text(expected.verdict)
    expect(result.locator(".badge")).to_have_class(f"badge {expected.verdict}")


def _wait_until(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def _stored(page: Page) -> Any:
    return page.evaluate(f"JSON.parse(localStorage.getItem({STORE_KEY!r}))")


def test_a_phone_validation_survives_a_reload_and_ends_on_the_health_page(
    browser: Browser,
    served: Served,  # noqa: F811
) -> None:
    device = served.device
    page = _log_in(browser, served.base_url, PASSWORD, PHONE)
    _start(page, served.base_url, "vertical", "Alice Tech")
    # Thumb-sized buttons at the bottom, the chosen line's arrow above them, nothing to drag.
    tap_in, tap_out = page.locator("#tap-in").bounding_box(), page.locator("#tap-out").bounding_box()
    stage = page.locator("#stage").bounding_box()
    assert tap_in is not None
    assert tap_out is not None
    assert stage is not None
    for box in (tap_in, tap_out):
        assert box["width"] >= 0.45 * PHONE["width"]
        assert box["height"] >= 96
        assert box["y"] + box["height"] >= PHONE["height"] - 30
    assert stage["y"] + stage["height"] <= tap_in["y"], "the snapshot must stay visible above the buttons"
    expect(page.locator("#overlay .in-arrow")).to_have_count(1)
    expect(page.locator("#overlay")).to_contain_text("vertical: in")
    expect(page.locator("#overlay .handle")).to_have_count(0)
    assert page.eval_on_selector("#tap-in", "e => getComputedStyle(e).touchAction") == "manipulation"
    expect(page.locator("#device-live")).to_be_hidden()

    _tap(page, "in", 6)
    _tap(page, "out", 4)
    page.click("#undo")  # the last `out` was a mistake
    expect(page.locator("#count-in")).to_have_text("6")
    expect(page.locator("#count-out")).to_have_text("3")
    expect(page.locator("#tally")).to_have_text("By hand: 9 people (in 6 · out 3), 1 more for a verdict")
    _wait_until(lambda: _reference(device) == (6, 3))
    expect(page.locator("#sync")).to_have_text("✓ saved on the device")
    validation_id = _stored(page)["id"]
    assert (_stored(page)["in"], _stored(page)["out"]) == (6, 3)

    device.cross("vertical", "in", people=5)
    device.cross("vertical", "out", people=4)
    device.cross("horizontal", "in", people=7)  # another line: not part of this check
    page.click("#show-device")
    expect(page.locator("#device-live")).to_have_text("Device so far: in 5 · out 4", timeout=5000)
    page.screenshot(path=str(SCREENS / "validation-phone-running.png"))

    page.reload()  # a locked phone or a reload: the count comes back from the phone's storage
    expect(page.locator("#tapbar")).to_be_visible()
    expect(page.locator("#count-in")).to_have_text("6")
    expect(page.locator("#count-out")).to_have_text("3")
    _tap(page, "in", 1)
    expect(page.locator("#count-in")).to_have_text("7")
    page.click("#stop")
    expect(page.locator("#confirm-text")).to_have_text("Stop and compare? You counted in 7 · out 3.")
    page.screenshot(path=str(SCREENS / "validation-phone-confirm.png"))
    page.click("#confirm-yes")
    expect(page.locator("#result")).to_be_visible()
    facts = device.validation.facts
    expected = Expected(7, 3, 5, 4, facts.tolerance, facts.min_people)
    _expect_comparison(page.locator("#result"), expected)
    expect(page.locator("#result")).to_contain_text("by Alice Tech")
    expect(page.locator("#tapbar")).to_be_hidden()
    page.screenshot(path=str(SCREENS / "validation-phone-result.png"), full_page=True)
    assert _stored(page) is None

    records = page.request.get(served.base_url + "/api/validations").json()
    assert records[0]["validation_id"] == validation_id
    assert records[0]["reference"] == {"in": 7, "out": 3}
    assert records[0]["device"] == {"in": 5, "out": 4}
    assert records[0]["operator"] == "Alice Tech"
    assert records[0]["verdict"] == expected.verdict
    page.goto(served.base_url + "/")
    row = page.locator(f"#validations tr[data-validation='{validation_id}']")
    expect(row.locator("td")).to_have_text(
        [
            re.compile(r"\S"),
            "vertical",
            "7 · 3",
            "5 · 4",
            f"{expected.accuracy * 100:.1f} %",
            expected.verdict,
            "Alice Tech",
        ]
    )
    page.screenshot(path=str(SCREENS / "validation-health-phone.png"), full_page=True)
    page.close()


def test_on_a_desktop_a_close_count_passes_and_too_few_people_is_inconclusive(
    browser: Browser,
    served: Served,  # noqa: F811
) -> None:
    device = served.device
    facts = device.validation.facts
    page = _log_in(browser, served.base_url, PASSWORD, DESKTOP)
    _start(page, served.base_url, "horizontal")
    _tap(page, "in", 10)
    _tap(page, "out", 2)
    device.cross("horizontal", "in", people=9)
    device.cross("horizontal", "out", people=2)
    page.screenshot(path=str(SCREENS / "validation-desktop-running.png"))
    _stop(page)
    expected = Expected(10, 2, 9, 2, facts.tolerance, facts.min_people)
    assert expected.verdict == "pass"
    _expect_comparison(page.locator("#result"), expected)
    expect(page.locator("#result .sentence")).to_contain_text("Pass: the device was off by 1 of 12 people")
    page.screenshot(path=str(SCREENS / "validation-desktop-result.png"), full_page=True)

    _start(page, served.base_url, "horizontal")
    _tap(page, "out", 3)
    _stop(page)
    few = Expected(0, 3, 0, 0, facts.tolerance, facts.min_people)
    assert few.verdict == "inconclusive"
    _expect_comparison(page.locator("#result"), few)
    expect(page.locator("#result .sentence")).to_have_text(
        f"Inconclusive: only 3 people counted by hand; a verdict needs at least {facts.min_people} people "
        f"(then an error of at most {facts.tolerance * 100:g} % passes), so count for longer."
    )
    page.screenshot(path=str(SCREENS / "validation-desktop-inconclusive.png"), full_page=True)
    page.goto(served.base_url + "/")
    expect(page.locator("#validations tbody tr")).to_have_count(2)
    expect(page.locator("#validations tbody tr").first.locator(".badge")).to_have_text("inconclusive")
    expect(page.locator("#validations tbody tr").nth(1).locator(".badge")).to_have_text("pass")
    page.screenshot(path=str(SCREENS / "validation-health-desktop.png"), full_page=True)
    page.close()


def test_cancel_stores_nothing_and_a_validation_ended_by_the_device_keeps_the_count_in_view(
    browser: Browser,
    served: Served,  # noqa: F811
) -> None:
    device = served.device
    page = _log_in(browser, served.base_url, PASSWORD, PHONE)
    page.goto(served.base_url + "/calibration")
    page.locator("#items li").nth(0).locator("input").fill("renamed")
    page.locator("#items li").nth(0).locator("input").press("Enter")
    page.click("#validate-start")  # unsaved edits: the device would check another calibration
    expect(page.locator("#validate-message")).to_contain_text("Save (or reload to drop) your changes first")
    assert device.validation_progress() is None

    _start(page, served.base_url, "vertical")
    _tap(page, "in", 2)
    page.click("#cancel")
    page.click("#confirm-no")  # changed their mind: still counting
    expect(page.locator("#tapbar")).to_be_visible()
    page.click("#cancel")
    page.click("#confirm-yes")
    expect(page.locator("#validate-message")).to_have_text("Validation cancelled: nothing was stored.")
    expect(page.locator("#tapbar")).to_be_hidden()
    assert device.validation_progress() is None
    assert page.request.get(served.base_url + "/api/validations").json() == []

    _start(page, served.base_url, "vertical")
    _tap(page, "in", 2)
    _wait_until(lambda: _reference(device) == (2, 0))
    device.validation.cancel("the calibration changed while it ran")  # as the service does
    _tap(page, "out", 1)
    expect(page.locator("#validate-message")).to_have_text(
        "The device cancelled this validation: the calibration changed while it ran. "
        "Your hand count was in 2 · out 1; nothing was stored."
    )
    expect(page.locator("#tapbar")).to_be_hidden()
    assert _stored(page) is None
    page.screenshot(path=str(SCREENS / "validation-phone-cancelled.png"), full_page=True)
    page.close()


def test_a_second_phone_joins_with_the_device_copy_and_the_first_sees_the_result(
    browser: Browser,
    served: Served,  # noqa: F811
) -> None:
    first = _log_in(browser, served.base_url, PASSWORD, PHONE)
    first.add_init_script(
        "navigator.vibrate = (pattern) => { (window.buzzes ||= []).push(pattern); return true; }"
    )
    _start(first, served.base_url, "vertical", "Bo")
    _tap(first, "in", 4)
    _tap(first, "out", 1)
    first.click("#undo")
    assert first.evaluate("window.buzzes.length") == 6, "each tap and the undo buzz"
    _wait_until(lambda: _reference(served.device) == (4, 0))
    # Another phone (no copy of the count in its storage) picks up the device's totals.
    second = _log_in(browser, served.base_url, PASSWORD, PHONE)
    second.goto(served.base_url + "/calibration")
    expect(second.locator("#tapbar")).to_be_visible()
    expect(second.locator("#count-in")).to_have_text("4")
    expect(second.locator("#count-out")).to_have_text("0")
    _tap(second, "out", 2)
    _stop(second)
    expect(second.locator("#result tr[data-direction=out] td").first).to_have_text("2")
    # The first phone finds out within a poll and shows the stored record instead of its buttons.
    expect(first.locator("#tapbar")).to_be_hidden(timeout=5000)
    expect(first.locator("#result tr[data-direction=in] td").first).to_have_text("4")
    expect(first.locator("#result tr[data-direction=out] td").first).to_have_text("2")
    assert _stored(first) is None
    first.close()
    second.close()


class TopicListener:
    """Every message on one MQTT topic with its retain flag, as a city server would receive it."""

    def __init__(self, port: int, topic: str, client_id: str) -> None:
        self._port = port
        self._topic = topic
        self._changed = threading.Condition()
        self._subscribed = threading.Event()
        self.messages: list[tuple[dict[str, Any], bool]] = []
        self._client = paho.Client(
            callback_api_version=CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv311
        )
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_message = self._on_message

    def start(self) -> TopicListener:
        self._client.connect_async("127.0.0.1", self._port, keepalive=5)
        self._client.loop_start()
        if not self._subscribed.wait(10.0):
            raise AssertionError(f"could not subscribe to {self._topic}")
        return self

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def wait_for(self, count: int, timeout_s: float) -> list[tuple[dict[str, Any], bool]]:
        with self._changed:
            self._changed.wait_for(lambda: len(self.messages) >= count, timeout_s)
            return list(self.messages)

    def _on_connect(
        self, client: paho.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        if not reason.is_failure:
            client.subscribe(self._topic, qos=1)

    def _on_subscribe(
        self, client: paho.Client, userdata: Any, mid: int, reasons: Any, properties: Any
    ) -> None:
        self._subscribed.set()

    def _on_message(self, client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        with self._changed:
            self.messages.append((json.loads(message.payload), bool(message.retain)))
            self._changed.notify_all()


def test_a_validation_on_the_running_service_reaches_a_real_subscriber_retained(
    browser: Browser,
    broker: MosquittoBroker,  # noqa: F811
    service: Callable[[], Any],  # noqa: F811
) -> None:
    topic = Topics("footfall", "test-site", "demo-1").validations  # as the `service` fixture sets
    city = TopicListener(broker.port, topic, "city-server").start()
    service()
    api = f"http://127.0.0.1:{API_PORT}"
    try:
        _wait_until(lambda: _answers(api + "/healthz"), timeout_s=30.0)
        page = _log_in(browser, api, API_PASSWORD, PHONE)
        _start(page, api, "exit", "e2e technician")
        _tap(page, "in", 3)
        _tap(page, "out", 2)
        expect(page.locator("#sync")).to_have_text("✓ saved on the device")
        validation_id = _stored(page)["id"]
        _stop(page)
        record = page.request.get(api + "/api/validations").json()[0]
        assert record["validation_id"] == validation_id
        received = city.wait_for(1, timeout_s=15.0)
        assert len(received) == 1, "the validation was not published"
        published, _ = received[0]
        assert published == record
        assert published["reference"] == {"in": 3, "out": 2}
        assert published["line_id"] == "exit"
        assert published["operator"] == "e2e technician"
        assert published["coverage"] >= 0.8  # the camera delivered frames all along: a judged check
        jsonschema.Draft202012Validator(payload_schema(VALIDATION_SCHEMA)).validate(published)
        # What the technician sees is what the city server got.
        device_in, device_out = published["device"]["in"], published["device"]["out"]
        shown = Expected(3, 2, device_in, device_out, published["tolerance"], published["min_people"])
        assert published["verdict"] == shown.verdict
        _expect_comparison(page.locator("#result"), shown)
        page.screenshot(path=str(SCREENS / "validation-service-result.png"), full_page=True)
        page.goto(api + "/")
        expect(page.locator(f"#validations tr[data-validation='{validation_id}'] .badge")).to_have_text(
            published["verdict"]
        )
        page.close()
        # Retained: a server that subscribes later still gets the device's latest check.
        late = TopicListener(broker.port, topic, "late-server").start()
        try:
            later = late.wait_for(1, timeout_s=5.0)
        finally:
            late.stop()
        assert later == [(record, True)]
        assert len(city.messages) == 1, "published once"
    finally:
        city.stop()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


def _reference(device: Any) -> tuple[int, int] | None:
    progress = device.validation_progress()
    return None if progress is None else (progress.reference_in, progress.reference_out)
