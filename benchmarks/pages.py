"""Page weight and time to first render of the device's pages in Chromium, and their screenshots.

Serves the pages with the real app and uvicorn over an in-memory device (tests/integration/api)
with a real outbox of three hours of intervals and one stored validation, then loads each page
in Debian's headless Chromium as a phone (390x844) with a fresh cache: bytes transferred until the
load event (every request of the page, its scripts, styles, images and API calls) and the first
contentful paint, median of `--runs`. `--static DIR` serves another set of pages (e.g. the pages
before a change: `git archive <commit> edge/api/static | tar -x -C /tmp/before`), to compare.

    python -m benchmarks.pages --label after
    python -m benchmarks.pages --label before --static /tmp/before/edge/api/static
    python -m benchmarks.pages --screenshots docs/screenshots   # both languages, both orientations

Prints a markdown table; writes benchmarks/results/pages-<label>.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
from playwright.sync_api import Browser, BrowserContext, sync_playwright
from pydantic import SecretStr

import edge.api.app
from edge.api import ApiServer, create_app
from edge.deliver import SqliteOutbox
from edge.records import IntervalCount, IntervalQuality, LineId, LineInterval
from tests.e2e.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.integration.api.conftest import PASSWORD
from tests.integration.api.device import MemoryDevice

RESULTS = Path(__file__).parent / "results"
PAGES = {"login": "/login", "health": "/", "calibration": "/calibration"}
PHONE = {"width": 390, "height": 844}
LANDSCAPE = {"width": 844, "height": 390}


@dataclass(frozen=True, slots=True)
class PageFigures:
    page: str
    bytes: int
    requests: int
    first_render_ms: float


def _history(outbox: SqliteOutbox) -> None:
    last = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=1)
    for minutes in range(180, 0, -1):
        start = last - timedelta(minutes=minutes - 1)
        lines = (
            LineInterval(LineId("vertical"), minutes % 4, minutes % 3),
            LineInterval(LineId("horizontal"), 1, 0),
        )
        outbox.enqueue(
            IntervalCount(
                start,
                start + timedelta(minutes=1),
                lines,
                (),
                IntervalQuality(60.0, 1.0, 600, 10.0, 0, False),
            )
        )


@contextmanager
def _served(folder: Path, static: Path | None) -> Iterator[tuple[str, MemoryDevice]]:
    if static is not None:
        edge.api.app.STATIC = static  # the same server, other pages
    outbox = SqliteOutbox(folder / "outbox.sqlite3", device_id="cam-7")
    _history(outbox)
    device = MemoryDevice(validation_store=folder / "validations.sqlite3", outbox=outbox)
    device.jpeg = _synthetic_street()
    device.start_validation("vertical", "Alice")
    device.cross("vertical", "in", 9)
    device.finish_validation(10, 1)
    server = ApiServer(create_app(device, password=SecretStr(PASSWORD)), host="127.0.0.1", port=0)
    server.start()
    try:
        yield f"http://127.0.0.1:{server.port}", device
    finally:
        server.stop()
        outbox.close()


def _synthetic_street() -> bytes:
    """A drawn 1280x720 street scene (no photograph: nothing of ../shared ends up in docs)."""
    image = np.full((720, 1280, 3), (200, 196, 190), np.uint8)  # facade
    cv2.rectangle(image, (0, 300), (1280, 470), (150, 150, 150), -1)  # pavement
    cv2.rectangle(image, (0, 470), (1280, 720), (90, 90, 95), -1)  # road
    cv2.line(image, (0, 470), (1280, 470), (230, 230, 230), 6)  # kerb
    for x in range(60, 1280, 220):
        cv2.rectangle(image, (x, 80), (x + 120, 250), (120, 90, 70), -1)  # windows
    for left, top in ((400, 250), (820, 230)):  # two people, pixelated as the device does
        for row in range(4):
            for column in range(2):
                shade = 70 + 25 * ((row + column) % 3)
                corner = (left + column * 45, top + row * 45)
                cv2.rectangle(
                    image, corner, (corner[0] + 45, corner[1] + 45), (shade, shade - 10, shade + 20), -1
                )
    ok, encoded = cv2.imencode(".jpg", image)
    assert ok
    return bytes(encoded.tobytes())


def _logged_in(browser: Browser, base_url: str, viewport: dict[str, int], locale: str) -> BrowserContext:
    context = browser.new_context(viewport=viewport, has_touch=True, is_mobile=True, locale=locale)  # type: ignore[arg-type]
    page = context.new_page()
    page.goto(base_url + "/login")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base_url + "/")
    page.close()
    return context


def _measure(browser: Browser, base_url: str, name: str, path: str) -> PageFigures:
    context = _logged_in(browser, base_url, PHONE, "en-GB")
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    sizes: dict[str, int] = {}
    cdp.on(
        "Network.loadingFinished",
        lambda event: sizes.__setitem__(event["requestId"], int(event["encodedDataLength"])),
    )
    page.goto(base_url + path, wait_until="load")
    page.wait_for_timeout(300)  # the requests the scripts make at once (status, calibration, ...)
    paint = page.evaluate(
        "() => (performance.getEntriesByName('first-contentful-paint')[0] || {startTime: NaN}).startTime"
    )
    context.close()
    return PageFigures(name, sum(sizes.values()), len(sizes), float(paint))


def measure(static: Path | None, runs: int) -> list[PageFigures]:
    with (
        tempfile.TemporaryDirectory() as folder,
        _served(Path(folder), static) as (base_url, _),
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        figures = []
        for name, path in PAGES.items():
            samples = [_measure(browser, base_url, name, path) for _ in range(runs)]
            figures.append(
                PageFigures(
                    name,
                    int(statistics.median(s.bytes for s in samples)),
                    int(statistics.median(s.requests for s in samples)),
                    round(statistics.median(s.first_render_ms for s in samples), 1),
                )
            )
        browser.close()
    return figures


def screenshots(target: Path) -> list[Path]:
    """Each page in English and French, phone portrait and landscape, as viewport-sized PNGs."""
    target.mkdir(parents=True, exist_ok=True)
    written = []
    with (
        tempfile.TemporaryDirectory() as folder,
        _served(Path(folder), None) as (base_url, _),
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        for lang, locale in (("en", "en-GB"), ("fr", "fr-FR")):
            for orientation, viewport in (("portrait", PHONE), ("landscape", LANDSCAPE)):
                context = _logged_in(browser, base_url, viewport, locale)
                page = context.new_page()
                for name, path in PAGES.items():
                    page.goto(base_url + path)
                    page.wait_for_timeout(1200)  # the first poll drawn
                    written.append(target / f"{name}-{lang}-{orientation}.png")
                    page.screenshot(path=str(written[-1]))
                page.select_option("#validate-line", "vertical")
                page.click("#validate-start")
                page.locator("#tap-in").tap()
                page.wait_for_timeout(800)
                written.append(target / f"validation-{lang}-{orientation}.png")
                page.screenshot(path=str(written[-1]))
                page.click("#cancel")
                page.click("#confirm-yes")
                page.wait_for_timeout(300)
                context.close()
        browser.close()
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--label", default="after", help="name of this measurement (results file name)")
    parser.add_argument("--static", type=Path, help="serve these pages instead of the package's")
    parser.add_argument("--runs", type=int, default=5, help="loads per page (median reported)")
    parser.add_argument(
        "--screenshots", type=Path, help="write screenshots to this folder instead of measuring"
    )
    args = parser.parse_args()
    if args.screenshots:
        for path in screenshots(args.screenshots):
            print(f"{path} {path.stat().st_size} bytes")
        return
    figures = measure(args.static, args.runs)
    RESULTS.mkdir(exist_ok=True)
    document = {
        "label": args.label,
        "measured": datetime.now(UTC).isoformat(),
        "pages": [asdict(f) for f in figures],
    }
    (RESULTS / f"pages-{args.label}.json").write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(f"| page ({args.label}) | bytes | requests | first render (ms) |\n|---|---|---|---|")
    for f in figures:
        print(f"| {f.page} | {f.bytes} | {f.requests} | {f.first_render_ms} |")


if __name__ == "__main__":
    main()
