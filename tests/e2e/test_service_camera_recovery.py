"""The service as a process with a camera that is missing at start, then fails mid-run, then comes back.

The camera is a short clip file played as a live camera (`PacedLoopSource` reopens it at every
loop): it is absent when `footfall run` starts, appears, is deleted (the next loop cannot open it:
a camera failure while running), and is restored. Through all of it the service must stay up,
publish `online`, deliver every interval slot (coverage 0 while blind), report the camera as
`failed` while it is, and count again when it is back, without a restart.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import httpx
import numpy as np
import pytest

from tests.integration.deliver.mosquitto import MosquittoBroker, free_port
from tests.integration.deliver.subscriber import RecordingSubscriber

PROJECT_ROOT = Path(__file__).resolve().parents[2]
FOOTFALL = Path(sys.executable).parent / "footfall"
INTERVAL_S = 10
PASSWORD = "camera-recovery-password"
CLIP_FRAMES = 30  # 3 s at 10 fps: the clip loops, so a deleted file is noticed within 3 s


def _write_clip(shared_data: Path, path: Path) -> None:
    folder = shared_data / "PETS09-S2L1-300" / "img1"
    images = [np.asarray(cv2.imread(str(folder / f"{n:06d}.jpg")), dtype=np.uint8) for n in range(1, 31)]
    height, width = images[0].shape[:2]
    temporary = path.with_suffix(".tmp.avi")
    writer = cv2.VideoWriter(str(temporary), cv2.VideoWriter.fourcc(*"MJPG"), 10.0, (width, height))
    for image in images[:CLIP_FRAMES]:
        writer.write(image)
    writer.release()
    temporary.rename(path)  # appears whole, as a camera does


@pytest.fixture
def running_service(tmp_path: Path, model_cache: Path) -> Iterator[dict[str, object]]:
    broker_folder = tmp_path / "broker"
    broker_folder.mkdir()
    broker = MosquittoBroker(broker_folder)
    broker.start()
    calibration = tmp_path / "calibration.json"
    shutil.copyfile(PROJECT_ROOT / "calibration" / "examples" / "pets09-s2l1.json", calibration)
    camera = tmp_path / "camera.avi"
    port = free_port()
    environment = {key: value for key, value in os.environ.items() if not key.startswith("FOOTFALL_")}
    environment.update(
        {
            "FOOTFALL_CACHE_DIR": str(model_cache),
            "FOOTFALL_SOURCE__URI": str(camera),
            "FOOTFALL_CALIBRATION": str(calibration),
            "FOOTFALL_OUTBOX__PATH": str(tmp_path / "outbox.sqlite3"),
            "FOOTFALL_AGGREGATE__INTERVAL_S": str(INTERVAL_S),
            "FOOTFALL_MQTT__ENABLED": "true",
            "FOOTFALL_MQTT__HOST": "127.0.0.1",
            "FOOTFALL_MQTT__PORT": str(broker.port),
            "FOOTFALL_MQTT__DEVICE_ID": "camera-1",
            "FOOTFALL_MQTT__SITE_ID": "test-site",
            "FOOTFALL_API__PORT": str(port),
            "FOOTFALL_API_PASSWORD": PASSWORD,
        }
    )
    subscriber = RecordingSubscriber(broker.port, "footfall/test-site/camera-1/#").start()
    log = (tmp_path / "service.log").open("w")
    process = subprocess.Popen([str(FOOTFALL), "run"], env=environment, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield {
            "process": process,
            "camera": camera,
            "subscriber": subscriber,
            "api": f"http://127.0.0.1:{port}",
            "log": tmp_path / "service.log",
            "outbox": tmp_path / "outbox.sqlite3",
        }
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        log.close()
        subscriber.stop()
        broker.stop()


def _wait(condition: Callable[[], bool], timeout_s: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, (
            f"{what} within {timeout_s:.0f} s; log:\n{log.read_text()[-3000:]}"
        )
        time.sleep(0.3)


def _camera_state(api: str) -> str | None:
    try:
        answer = httpx.get(api + "/api/status", headers={"Authorization": f"Bearer {PASSWORD}"}, timeout=2)
    except httpx.TransportError:
        return None
    return str(answer.json()["camera_state"]) if answer.status_code == 200 else None


def test_a_camera_missing_at_start_and_failing_mid_run_is_counted_again_when_back(
    running_service: dict[str, object], shared_data: Path
) -> None:
    process = running_service["process"]
    camera, api, log = running_service["camera"], running_service["api"], running_service["log"]
    subscriber = running_service["subscriber"]
    assert isinstance(process, subprocess.Popen)
    assert isinstance(camera, Path)
    assert isinstance(api, str)
    assert isinstance(log, Path)
    assert isinstance(subscriber, RecordingSubscriber)

    # Missing at start: the service runs, says online and failed, and delivers blind intervals.
    _wait(lambda: _camera_state(api) == "failed", 60, "camera reported failed at start", log)
    assert subscriber.wait_for(lambda s: "online" in s.status_payloads(), timeout_s=20)
    assert subscriber.wait_for(lambda s: len(s.counts) >= 2, timeout_s=3 * INTERVAL_S)
    assert all(document["quality"]["coverage"] == 0 for document in subscriber.counts)

    _write_clip(shared_data, camera)
    _wait(lambda: _camera_state(api) == "ok", 45, "camera ok once the file appeared", log)
    seen = len(subscriber.counts)
    assert subscriber.wait_for(
        lambda s: any(d["quality"]["coverage"] > 0.5 for d in s.counts[seen:]), timeout_s=4 * INTERVAL_S
    )

    # Fails while running (the next loop cannot open the clip), then comes back.
    camera.unlink()
    _wait(lambda: _camera_state(api) == "failed", 30, "camera failed after the file went", log)
    _write_clip(shared_data, camera)
    _wait(lambda: _camera_state(api) == "ok", 45, "camera ok again after the file came back", log)
    seen = len(subscriber.counts)
    assert subscriber.wait_for(
        lambda s: any(d["quality"]["coverage"] > 0.5 for d in s.counts[seen:]), timeout_s=4 * INTERVAL_S
    )
    assert process.poll() is None, "the service stopped"

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0, log.read_text()[-3000:]
    assert subscriber.duplicates == 0
    # Every interval slot of the run was delivered: one message per slot, consecutive seqs.
    assert subscriber.seqs == list(range(subscriber.seqs[0], subscriber.seqs[0] + len(subscriber.seqs)))
    starts = [document["start"] for document in subscriber.counts]
    ends = [document["end"] for document in subscriber.counts]
    assert starts[1:] == ends[:-1], "an interval slot is missing"
    # The outbox is the truth: every interval it committed reached the subscriber, none is waiting.
    outbox = running_service["outbox"]
    assert isinstance(outbox, Path)
    with sqlite3.connect(outbox) as database:
        rows = database.execute("SELECT seq, delivered_at FROM outbox ORDER BY seq").fetchall()
    assert rows, "nothing was committed"
    assert [seq for seq, _ in rows] == subscriber.seqs[-len(rows) :]
    assert all(delivered is not None for _, delivered in rows)
