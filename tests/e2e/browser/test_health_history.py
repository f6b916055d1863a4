"""The health page's history in headless Chromium: a time-axis chart and per-line totals read from a real
outbox file, so they survive a restart; gaps, blind slots and zero slots visible; tap for details; CSV.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from pydantic import SecretStr

from edge.api import ApiServer, create_app
from edge.deliver import SqliteOutbox
from edge.records import IntervalCount, IntervalQuality, LineId, LineInterval
from tests.e2e.browser.conftest import SCREENS
from tests.e2e.browser.test_i18n import LOCALES, assert_translated
from tests.integration.api.conftest import PASSWORD
from tests.integration.api.device import MemoryDevice

TIMEZONE = "Europe/Paris"
PHONE = {"width": 390, "height": 844}
# Minutes before now (counting back from the last closed minute) that have no stored interval: a
# 40-minute outage, and minutes the camera was blind (coverage 0).
GAP = range(60, 100)
BLIND = range(25, 30)
STORED_MINUTES = 180


def _interval(minute: datetime, ago: int) -> IntervalCount:
    blind = ago in BLIND
    door_in = 0 if blind or ago % 6 == 0 else ago % 4 + 1  # every sixth minute nobody crossed
    door_out = 0 if blind or ago % 6 == 0 else 1
    lines = (
        LineInterval(LineId("door"), door_in, door_out),
        LineInterval(LineId("kerb"), 0, int(ago % 3 == 1)),
    )
    if blind:
        lines = (LineInterval(LineId("door"), 0, 0), LineInterval(LineId("kerb"), 0, 0))
    quality = IntervalQuality(
        0.0 if blind else 60.0, 0.0 if blind else 1.0, 0 if blind else 600, 10.0, 0, False
    )
    return IntervalCount(minute, minute + timedelta(minutes=1), lines, (), quality)


@dataclass
class History:
    outbox_path: Path
    intervals: list[IntervalCount]
    ago: dict[datetime, int]  # start -> minutes before now

    def start_of(self, ago: int) -> datetime:
        return next(start for start, minutes in self.ago.items() if minutes == ago)


@pytest.fixture
def history(tmp_path: Path) -> History:
    last = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=1)
    intervals, ago = [], {}
    path = tmp_path / "outbox.sqlite3"
    with SqliteOutbox(path, device_id="cam-7") as outbox:
        for minutes in range(STORED_MINUTES, 0, -1):
            if minutes in GAP:
                continue
            interval = _interval(last - timedelta(minutes=minutes - 1), minutes)
            outbox.enqueue(interval)
            intervals.append(interval)
            ago[interval.start] = minutes
    return History(path, intervals, ago)


class Device:
    """A MemoryDevice over the history's outbox file, served by uvicorn; `restart` reopens both."""

    def __init__(self, tmp_path: Path, history: History) -> None:
        self.tmp_path, self.history = tmp_path, history
        self.outbox: SqliteOutbox | None = None
        self.server: ApiServer | None = None
        self.start()

    def start(self) -> None:
        self.outbox = SqliteOutbox(self.history.outbox_path, device_id="cam-7")
        device = MemoryDevice(validation_store=self.tmp_path / "validations.sqlite3", outbox=self.outbox)
        self.server = ApiServer(create_app(device, password=SecretStr(PASSWORD)), host="127.0.0.1", port=0)
        self.server.start()
        self.base_url = f"http://127.0.0.1:{self.server.port}"

    def stop(self) -> None:
        assert self.server is not None
        assert self.outbox is not None
        self.server.stop()
        self.outbox.close()

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture
def device(tmp_path: Path, history: History) -> Iterator[Device]:
    served = Device(tmp_path, history)
    yield served
    served.stop()


def _context(browser: Browser, *, phone: bool) -> BrowserContext:
    viewport = PHONE if phone else {"width": 1280, "height": 900}
    return browser.new_context(
        viewport=viewport,  # type: ignore[arg-type]
        has_touch=phone,
        is_mobile=phone,
        timezone_id=TIMEZONE,
        locale="en-GB",
        accept_downloads=True,
    )


def _log_in(page: Page, base_url: str) -> None:
    page.goto(base_url + "/login")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(base_url + "/")


def _slot(page: Page, start: datetime) -> str:
    return f"#chart g.slot[data-start='{start.strftime('%Y-%m-%dT%H:%M:%S.000Z')}']"


def _five_minutes_into_the_outage(history: History) -> datetime:
    """The start of a 5-minute slot inside the 40-minute outage."""
    inside = history.start_of(GAP.stop) + timedelta(minutes=20)
    return inside.replace(minute=inside.minute - inside.minute % 5)


def test_the_chart_shows_the_outbox_after_a_restart_with_gaps_blind_and_zero_slots(
    browser: Browser, device: Device, history: History
) -> None:
    context = _context(browser, phone=False)
    page = context.new_page()
    _log_in(page, device.base_url)
    page.click("[data-hours='1']")  # one slot per interval: every minute of the last hour
    stored_last_hour = [i for i in history.intervals if history.ago[i.start] <= 60]
    expect(page.locator("#chart g.slot:not(.none)")).to_have_count(len(stored_last_hour))
    expect(page.locator("#chart g.slot.blind")).to_have_count(len(BLIND))
    zero = [
        i for i in stored_last_hour if history.ago[i.start] not in BLIND and history.ago[i.start] % 6 == 0
    ]
    expect(page.locator("#chart g.slot.ok rect.zero")).to_have_count(len(zero))
    page.click("[data-hours='6']")  # 5-minute slots at this width
    outage = _five_minutes_into_the_outage(history)
    expect(page.locator(_slot(page, outage))).to_have_attribute("data-state", "none")  # hatched, not 0
    page.screenshot(path=str(SCREENS / "health-history.png"), full_page=True)
    before = page.locator("#chart g.slot:not(.none)").count()
    assert before > 0

    device.restart()
    _log_in(page, device.base_url)
    page.click("[data-hours='6']")
    expect(page.locator("#chart g.slot:not(.none)")).to_have_count(before)
    context.close()


def test_on_a_phone_a_tap_shows_the_slot_and_totals_count_today_and_the_last_hour(
    browser: Browser, device: Device, history: History
) -> None:
    context = _context(browser, phone=True)
    page = context.new_page()
    _log_in(page, device.base_url)
    page.click("[data-hours='1']")
    start = history.start_of(7)
    interval = next(i for i in history.intervals if i.start == start)
    door = interval.lines[0]
    page.locator(_slot(page, start) + " rect.strip").tap()
    expect(page.locator("#chart-detail")).to_contain_text(f"door: in {door.in_count} · out {door.out_count}")
    expect(page.locator("#chart-detail")).to_contain_text("camera saw 100 % of the time")
    page.locator(_slot(page, history.start_of(27)) + " rect.strip").tap()
    expect(page.locator("#chart-detail")).to_contain_text("camera saw only 0 % of the time")
    page.screenshot(path=str(SCREENS / "health-history-phone.png"), full_page=True)

    now = datetime.now(UTC)
    midnight = datetime.now(ZoneInfo(TIMEZONE)).replace(hour=0, minute=0, second=0, microsecond=0)
    for k, line in enumerate(("door", "kerb")):
        today = [i.lines[k] for i in history.intervals if i.start >= midnight]
        hour = [i.lines[k] for i in history.intervals if i.start >= now - timedelta(hours=1)]
        expected = [
            line,
            *(
                str(sum(getattr(c, side) for c in group))
                for group in (today, hour)
                for side in ("in_count", "out_count")
            ),
        ]
        expect(page.locator(f"#totals tr[data-line='{line}'] > *")).to_have_text(expected)
    context.close()


def test_the_csv_download_has_one_row_per_interval_and_line(
    browser: Browser, device: Device, history: History
) -> None:
    context = _context(browser, phone=False)
    page = context.new_page()
    _log_in(page, device.base_url)
    with page.expect_download() as download:
        page.click("#csv")
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8"))))
    assert len(rows) == 2 * len(history.intervals)
    first = history.intervals[0]
    assert rows[0] == {
        "start": first.start.isoformat().replace("+00:00", "Z"),
        "end": first.end.isoformat().replace("+00:00", "Z"),
        "line_id": "door",
        "in": str(first.lines[0].in_count),
        "out": str(first.lines[0].out_count),
        "coverage": "1.0000",
        "observed_s": "60.0",
        "frames": "600",
        "frames_dropped": "0",
        "low_light": "0",
    }
    blind = [row for row in rows if row["coverage"] == "0.0000"]
    assert len(blind) == 2 * len(BLIND)
    context.close()


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_totals_and_the_slot_details_come_from_the_dictionaries(
    browser: Browser, device: Device, history: History, lang: str
) -> None:
    context = browser.new_context(locale=LOCALES[lang], viewport=PHONE, has_touch=True)  # type: ignore[arg-type]
    context.add_init_script("window.I18N_PSEUDO = true;")
    page = context.new_page()
    _log_in(page, device.base_url)
    page.click("[data-hours='1']")
    expect(page.locator("#totals tbody tr")).to_have_count(2)
    page.locator(_slot(page, history.start_of(7)) + " rect.strip").tap()
    expect(page.locator("#chart-detail div")).to_have_count(5)  # time, people, two lines, coverage
    assert_translated(page, "health history, slot selected")
    page.click("[data-hours='6']")  # 5-minute slots on a phone too
    page.locator(_slot(page, _five_minutes_into_the_outage(history)) + " rect.strip").tap()
    expect(page.locator("#chart-detail div")).to_have_count(2)
    assert_translated(page, "health history, gap selected")
    context.close()
