"""The real service process SIGKILLed mid-interval (what a power cut does to it): the interval it
was counting is not lost. Its partial totals were saved every few seconds; the next start commits
the last saved copy as an interval of its own, with the seconds actually observed as coverage."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from edge.assets import fetch, find_asset
from edge.deliver import SqliteOutbox, interval_from_json
from tests.conftest import SHARED_MIRROR

PROJECT_ROOT = Path(__file__).resolve().parents[3]
FOOTFALL = Path(sys.executable).parent / "footfall"
# An hour: no interval closes during the test (unless it straddles an hour, handled below).
INTERVAL_S = 3600
DEVICE = "footfall"  # the outbox's device id with MQTT off


@pytest.fixture
def outbox_path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "outbox.sqlite3"


@pytest.fixture
def service(tmp_path: Path, model_cache: Path, outbox_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`footfall run` on the demo clip played as a camera, outbox only (no broker, no API)."""
    clip = fetch(find_asset("demo-clip"), cache_dir=model_cache, mirror=SHARED_MIRROR)
    calibration = tmp_path / "calibration.json"
    shutil.copyfile(PROJECT_ROOT / "calibration" / "examples" / "demo.json", calibration)
    environment = {key: value for key, value in os.environ.items() if not key.startswith("FOOTFALL_")}
    environment.update(
        {
            "FOOTFALL_CACHE_DIR": str(model_cache),
            "FOOTFALL_SOURCE__URI": str(clip),
            "FOOTFALL_CALIBRATION": str(calibration),
            "FOOTFALL_OUTBOX__PATH": str(outbox_path),
            "FOOTFALL_AGGREGATE__INTERVAL_S": str(INTERVAL_S),
            "FOOTFALL_MQTT__ENABLED": "false",
            "FOOTFALL_API__ENABLED": "false",
        }
    )
    log = (tmp_path / "service.log").open("wb")
    process = subprocess.Popen([str(FOOTFALL), "run"], env=environment, stdout=log, stderr=subprocess.STDOUT)
    yield process
    if process.poll() is None:
        process.kill()
    process.wait()
    log.close()


def saved_open_interval(path: Path) -> tuple[str, float] | None:
    """The saved copy of the open interval (body, saved_at), read beside the running service."""
    if not path.exists():
        return None
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5.0)) as conn:
            row = conn.execute("SELECT body, saved_at FROM open_interval").fetchone()
    except sqlite3.Error:  # not created yet
        return None
    return None if row is None else (str(row[0]), float(row[1]))


def test_sigkill_mid_interval_loses_seconds_not_the_interval(
    service: subprocess.Popen[bytes], outbox_path: Path, tmp_path: Path
) -> None:
    saves: list[float] = []
    deadline = time.monotonic() + 90.0
    while len(saves) < 3:  # the copy is replaced as counting goes on
        assert service.poll() is None, (tmp_path / "service.log").read_text()
        assert time.monotonic() < deadline, "the open interval was never saved"
        found = saved_open_interval(outbox_path)
        if found is not None and (not saves or found[1] > saves[-1]):
            saves.append(found[1])
        time.sleep(0.5)
    service.send_signal(signal.SIGKILL)
    service.wait()
    last = saved_open_interval(outbox_path)
    assert last is not None
    saved = interval_from_json(last[0])
    assert saved.quality.frames > 0

    with SqliteOutbox(outbox_path, device_id=DEVICE) as outbox:
        rows = [row for row in outbox.pending(100) if row.interval.start == saved.start]
        stats = outbox.stats()
    assert len(rows) == 1  # committed once at the restart
    recovered = rows[0].interval
    assert recovered == saved  # the totals as last saved, a few seconds before the kill
    # Honest coverage: the seconds observed, not the whole interval.
    assert 0.0 < recovered.quality.observed_s < INTERVAL_S
    assert recovered.quality.coverage == pytest.approx(recovered.quality.observed_s / INTERVAL_S)
    assert stats.last_seq == rows[0].seq
    assert saved_open_interval(outbox_path) is None
    with SqliteOutbox(outbox_path, device_id=DEVICE) as again:  # a second start commits it no more
        assert [row.seq for row in again.pending(100) if row.interval.start == saved.start] == [rows[0].seq]
