"""The whole service as a process on the demo clip (played as a camera), delivering to a real broker."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import jsonschema
import pytest

from edge.assets import fetch, find_asset
from edge.deliver import COUNTS_SCHEMA, HEALTH_SCHEMA, payload_schema
from tests.conftest import SHARED_MIRROR
from tests.integration.deliver.mosquitto import MosquittoBroker, free_port
from tests.integration.deliver.subscriber import RecordingSubscriber

PROJECT_ROOT = Path(__file__).resolve().parents[2]
FOOTFALL = Path(sys.executable).parent / "footfall"
INTERVAL_S = 10
# Long enough for several intervals and some of the clip's visitors (one every ~20 s).
RUN_S = 120.0
API_PORT = free_port()
API_PASSWORD = "street-test-password"


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[MosquittoBroker]:
    folder = tmp_path / "broker"
    folder.mkdir()
    broker = MosquittoBroker(folder)
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
def service(
    tmp_path: Path, model_cache: Path, broker: MosquittoBroker
) -> Iterator[Callable[[], subprocess.Popen[str]]]:
    clip = fetch(find_asset("demo-clip"), cache_dir=model_cache, mirror=SHARED_MIRROR)
    calibration = tmp_path / "calibration.json"
    shutil.copyfile(PROJECT_ROOT / "calibration" / "examples" / "demo.json", calibration)
    environment = {key: value for key, value in os.environ.items() if not key.startswith("FOOTFALL_")}
    environment.update(
        {
            "FOOTFALL_CACHE_DIR": str(model_cache),
            "FOOTFALL_SOURCE__URI": str(clip),
            "FOOTFALL_CALIBRATION": str(calibration),
            "FOOTFALL_OUTBOX__PATH": str(tmp_path / "outbox.sqlite3"),
            "FOOTFALL_AGGREGATE__INTERVAL_S": str(INTERVAL_S),
            "FOOTFALL_MQTT__ENABLED": "true",
            "FOOTFALL_MQTT__HOST": "127.0.0.1",
            "FOOTFALL_MQTT__PORT": str(broker.port),
            "FOOTFALL_MQTT__DEVICE_ID": "demo-1",
            "FOOTFALL_MQTT__SITE_ID": "test-site",
            "FOOTFALL_MQTT__KEEPALIVE_S": "2",
            "FOOTFALL_MQTT__HEALTH_INTERVAL_S": "10",
            "FOOTFALL_API__PORT": str(API_PORT),
            "FOOTFALL_API_PASSWORD": API_PASSWORD,
        }
    )
    processes: list[subprocess.Popen[str]] = []

    def start() -> subprocess.Popen[str]:
        process = subprocess.Popen(
            [str(FOOTFALL), "run"], env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        processes.append(process)
        return process

    yield start
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.communicate()  # reaps it and closes its pipes


def test_counts_reach_a_subscriber_and_sigterm_delivers_the_partial_interval(
    broker: MosquittoBroker, service: Callable[[], subprocess.Popen[str]]
) -> None:
    subscriber = RecordingSubscriber(broker.port, "footfall/test-site/demo-1/#").start()
    process = service()
    try:
        assert subscriber.wait_for(lambda s: "online" in s.status_payloads(), timeout_s=30)
        time.sleep(RUN_S / 2)
        # A technician adds a line from the calibration page: counted from now on, no restart.
        api = f"http://127.0.0.1:{API_PORT}"
        bearer = {"Authorization": f"Bearer {API_PASSWORD}"}
        assert httpx.get(api + "/api/status").status_code == 401
        status = httpx.get(api + "/api/status", headers=bearer).json()
        assert status["camera_state"] == "ok"
        assert status["broker_state"] == "connected"
        calibration = httpx.get(api + "/api/calibration", headers=bearer).json()
        calibration["lines"].append({"id": "doorway", "a": [0.1, 0.9], "b": [0.9, 0.9]})
        changed = httpx.put(api + "/api/calibration", headers=bearer, content=json.dumps(calibration))
        assert changed.status_code == 200, changed.text
        # Applied at the next frame: the live counts then list the new line.
        deadline = time.monotonic() + 10.0
        while "doorway" not in httpx.get(api + "/api/live", headers=bearer).json():
            assert time.monotonic() < deadline, "the new calibration was not applied"
            time.sleep(0.2)
        snapshot = httpx.get(api + "/api/snapshot.jpg", headers=bearer)
        assert snapshot.headers["cache-control"] == "no-store"
        time.sleep(RUN_S / 2)
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        delivered_before_stop = len(subscriber.counts)
        process.send_signal(signal.SIGTERM)
        started = time.monotonic()
        _, stderr = process.communicate(timeout=30)
        assert process.returncode == 0, stderr
        assert time.monotonic() - started < 15.0
        assert subscriber.wait_for(lambda s: "stopped" in s.status_payloads(), timeout_s=10), stderr
        assert subscriber.wait_for(lambda s: len(s.counts) > delivered_before_stop, timeout_s=10)
    finally:
        subscriber.stop()
    counts = subscriber.counts
    # Whole intervals every INTERVAL_S, plus the partial one closed by SIGTERM (and a partial first).
    assert len(counts) >= RUN_S // INTERVAL_S
    assert subscriber.duplicates == 0
    assert subscriber.seqs == sorted(subscriber.seqs)
    assert subscriber.seqs == list(range(subscriber.seqs[0], subscriber.seqs[0] + len(subscriber.seqs)))
    validator = jsonschema.Draft202012Validator(payload_schema(COUNTS_SCHEMA))
    for document in counts:
        validator.validate(document)
    starts = [document["start"] for document in counts]
    assert starts == sorted(starts)
    # The camera delivered frames the whole time: intervals after the first are observed (almost) fully.
    # The calibration change closes the running interval early and a new one starts at the same
    # boundary: two partial messages share that start; every other interval is observed fully.
    shared = {start for start in starts if starts.count(start) > 1}
    assert len(shared) <= 1  # none if the change fell on a boundary
    middle = [document for document in counts[1:-1] if document["start"] not in shared]
    assert middle
    assert all(document["quality"]["coverage"] > 0.8 for document in middle), middle
    split = [document for document in counts if document["start"] in shared]
    assert not split or sum(document["quality"]["observed_s"] for document in split) > 0.8 * INTERVAL_S
    # People came to the table: visits counted, never a track id or a box in a message.
    visits = sum(zone["visits"] for document in counts for zone in document["zones"])
    assert visits >= 2
    assert "track" not in str(counts)
    # The retained health summary carries the device's own readings.
    health_schema = jsonschema.Draft202012Validator(payload_schema(HEALTH_SCHEMA))
    assert subscriber.health
    for document in subscriber.health:
        health_schema.validate(document)
    assert subscriber.health[-1]["camera_state"] == "ok"
    assert subscriber.health[-1]["disk_free_bytes"] > 0
    # After the change through the API, intervals carry the new line, without a restart.
    assert any(line["line_id"] == "doorway" for document in counts[-3:] for line in document["lines"])
    assert all(line["line_id"] != "doorway" for line in counts[0]["lines"])
