"""Privacy audit of the running service: nothing identifying is written anywhere or leaves the device.

`footfall run` runs under strace on the demo clip with every feature on (pages and API with
logins, snapshot requests, MQTT delivery, Prometheus metrics). The test then proves:
- every file the process (and its threads and children) opened for writing is the outbox, its
  SQLite side files, compiled Python bytecode, or the detector model patched to the camera's input
  size in the model cache (README D-016; made from the model's weights, checked on a grey image):
  no image, no frame dump, no track log;
- every stored outbox row, every published MQTT message and every API answer holds only the
  documented aggregate fields (the counts schema forbids any other key), and no log line on
  stderr carries a track id, a box or a trajectory;
- every snapshot served is anonymised: the detector finds nobody in it.
The snapshot under every combination of crop, masks, input size and schedule is audited in
tests/integration/test_privacy_service_snapshot.py.
A data-protection officer can run this file alone: `pytest tests/e2e/test_privacy_audit.py`.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import httpx
import jsonschema
import numpy as np
import pytest

from edge.assets import fetch, find_asset
from edge.deliver import COUNTS_SCHEMA, HEALTH_SCHEMA, VALIDATION_SCHEMA, payload_schema
from edge.detect import OnnxDetector
from edge.records import DeviceStatus, Frame
from tests.conftest import SHARED_MIRROR
from tests.integration.deliver.mosquitto import MosquittoBroker, free_port
from tests.integration.deliver.subscriber import RecordingSubscriber

PROJECT_ROOT = Path(__file__).resolve().parents[2]
FOOTFALL = Path(sys.executable).parent / "footfall"
STRACE = shutil.which("strace") or "/usr/bin/strace"
RUN_S = 45.0
PASSWORD = "audit-password"
# openat(...) lines of strace that open a file for writing.
WRITE_OPEN = re.compile(r'(?:openat|open|creat)\([^"]*"(?P<path>[^"]+)"[^)]*(?:O_WRONLY|O_RDWR|O_CREAT)')
RENAME = re.compile(r'rename(?:at2?)?\([^"]*"(?P<source>[^"]+)"[^"]*"(?P<target>[^"]+)"')
# Identifying data has these names: none may appear in what is stored or leaves the device.
FORBIDDEN_KEYS = re.compile(
    r'"(track|track_id|tracks|box|boxes|bbox|trajectory|trajectories|foot|image|pixels)"'
)
STATUS_KEYS = {field.name for field in dataclasses.fields(DeviceStatus)} | {"health", "reasons", "causes"}


@pytest.fixture
def audited_run(tmp_path: Path, model_cache: Path) -> Iterator[dict[str, Any]]:
    """Run the service under strace with every feature on; yield what the test needs to inspect."""
    if not Path(STRACE).exists():
        pytest.fail("strace is not installed (.ci/run installs it)")
    broker_folder = tmp_path / "broker"
    broker_folder.mkdir()
    broker = MosquittoBroker(broker_folder)
    broker.start()
    state = tmp_path / "state"
    state.mkdir()
    clip = fetch(find_asset("demo-clip"), cache_dir=model_cache, mirror=SHARED_MIRROR)
    shutil.copyfile(PROJECT_ROOT / "calibration" / "examples" / "demo.json", state / "calibration.json")
    api_port = free_port()
    environment = {key: value for key, value in os.environ.items() if not key.startswith("FOOTFALL_")}
    environment.update(
        {
            "FOOTFALL_CACHE_DIR": str(model_cache),
            "FOOTFALL_SOURCE__URI": str(clip),
            "FOOTFALL_CALIBRATION": str(state / "calibration.json"),
            "FOOTFALL_OUTBOX__PATH": str(state / "outbox.sqlite3"),
            "FOOTFALL_AGGREGATE__INTERVAL_S": "10",
            "FOOTFALL_MQTT__ENABLED": "true",
            "FOOTFALL_MQTT__HOST": "127.0.0.1",
            "FOOTFALL_MQTT__PORT": str(broker.port),
            "FOOTFALL_MQTT__DEVICE_ID": "audit-1",
            "FOOTFALL_MQTT__HEALTH_INTERVAL_S": "5",
            "FOOTFALL_API__PORT": str(api_port),
            "FOOTFALL_API_PASSWORD": PASSWORD,
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    trace = tmp_path / "strace.log"
    subscriber = RecordingSubscriber(broker.port, "footfall/#").start()
    process = subprocess.Popen(
        [STRACE, "-f", "-qq", "-e", "trace=open,openat,creat,rename,renameat,renameat2", "-o", str(trace),
         str(FOOTFALL), "run"],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        yield {
            "process": process,
            "trace": trace,
            "state": state,
            "cache": model_cache,
            "subscriber": subscriber,
            "api": f"http://127.0.0.1:{api_port}",
        }
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()  # reaps it and closes its pipes
        subscriber.stop()
        broker.stop()


def test_nothing_identifying_is_written_or_leaves_the_device(
    audited_run: dict[str, Any], model_path: Path
) -> None:
    api, process = audited_run["api"], audited_run["process"]
    subscriber: RecordingSubscriber = audited_run["subscriber"]
    answers, snapshots = _use_every_feature(api, RUN_S)
    # Stop the service itself (strace's child), as systemd would; strace exits with it.
    service_pid = int(Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()[0])
    os.kill(service_pid, signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    assert subscriber.wait_for(lambda s: "stopped" in s.status_payloads(), timeout_s=10)

    _assert_only_allowed_files_written(
        audited_run["trace"].read_text(), audited_run["state"], audited_run["cache"]
    )
    _assert_outbox_holds_only_aggregates(audited_run["state"] / "outbox.sqlite3")
    _assert_evidence_holds_only_aggregates(audited_run["state"] / "validations.sqlite3")
    _assert_messages_hold_only_aggregates(subscriber)
    _assert_answers_hold_only_aggregates(answers)
    assert not FORBIDDEN_KEYS.search(stderr), stderr
    _assert_snapshots_show_nobody(snapshots, model_path)


def _use_every_feature(api: str, duration_s: float) -> tuple[dict[str, str], list[bytes]]:
    """Log in on the pages, read every API route and ask for snapshots while the service counts."""
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(api + "/healthz")
            break
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    answers: dict[str, str] = {}
    snapshots: list[bytes] = []
    bearer = {"Authorization": f"Bearer {PASSWORD}"}
    with httpx.Client(base_url=api) as pages:
        assert pages.post("/login", data={"password": PASSWORD}).status_code == 303
        # An on-site validation, so its evidence (stored, served, published) is audited too.
        assert pages.post(
            "/api/validations/current", json={"line_id": "exit", "operator": "Audit"}
        ).is_success
        finish = time.monotonic() + duration_s
        while time.monotonic() < finish:
            for page in ("/", "/calibration"):
                assert pages.get(page).status_code == 200
            for route in (
                "/api/validations",
                "/api/status",
                "/api/counts?limit=100",
                "/api/live",
                "/api/calibration",
                "/metrics",
            ):
                response = httpx.get(api + route, headers=bearer)
                assert response.status_code == 200, route
                answers[route] = response.text
            snapshot = pages.get("/api/snapshot.jpg")
            if snapshot.status_code == 200:
                assert snapshot.headers["cache-control"] == "no-store"
                snapshots.append(snapshot.content)
            time.sleep(2.0)
        finished = pages.post("/api/validations/current/finish", json={"reference_in": 0, "reference_out": 2})
        assert finished.status_code == 201
        answers["/api/validations/current/finish"] = finished.text
        answers["/api/validations"] = pages.get("/api/validations").text
    return answers, snapshots


def _assert_only_allowed_files_written(trace: str, state: Path, cache: Path) -> None:
    written = {match["path"] for match in WRITE_OPEN.finditer(trace)}
    written |= {match["target"] for match in RENAME.finditer(trace)}
    # outbox.sqlite3-marks: sequence high-water mark and loss totals (README D-046).
    # validation-running.json: a running validation's totals and operator, kept across a restart (D-053).
    allowed_in_state = re.compile(
        r"^(outbox|validations)\.sqlite3(-wal|-shm|-journal)?$|^outbox\.sqlite3-marks$"
        r"|^\.?validation-running\.json(\.\w+\.tmp)?$"
        # The API's session signing keys and ended sessions (random ids, no person): README D-040.
        r"|^\.?api-session\.json(\.\w+\.tmp)?$"
    )
    # edge.pipeline.sized_model: <model>-<digest>-<width>x<height>.onnx, written via a hidden temporary.
    allowed_in_cache = re.compile(r"^\.?yolox_nano-[0-9a-f]{12}-\d+x\d+\.onnx(\.\w+\.tmp)?$")
    unexpected = []
    for path in sorted(written):
        resolved = Path(path)
        if path.startswith(("/dev/", "/proc/", "/sys/")) or path.endswith(".pyc"):
            continue
        if resolved.parent == state and allowed_in_state.match(resolved.name):
            continue
        if resolved.parent == cache and allowed_in_cache.match(resolved.name):
            continue
        unexpected.append(path)
    assert unexpected == [], f"the service wrote files it must not: {unexpected}"
    assert any(path.endswith("outbox.sqlite3") for path in written)  # the trace did see the process


def _assert_outbox_holds_only_aggregates(outbox: Path) -> None:
    with sqlite3.connect(outbox) as database:
        rows = database.execute("SELECT * FROM outbox").fetchall()
        rows += database.execute("SELECT * FROM open_interval").fetchall()  # the same interval record
        tables = {name for (name,) in database.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert rows
    assert tables <= {"outbox", "sequence", "counters", "quarantine", "open_interval", "lost_seqs"}, tables
    for row in rows:
        assert not FORBIDDEN_KEYS.search(json.dumps(row, default=str)), row
        assert not any(isinstance(value, bytes) for value in row), "binary data in the outbox"


def _assert_evidence_holds_only_aggregates(store: Path) -> None:
    with sqlite3.connect(store) as database:
        documents = [json.loads(text) for (text,) in database.execute("SELECT document FROM validation")]
        tables = {name for (name,) in database.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == {"validation"}, tables
    assert len(documents) == 1
    validator = jsonschema.Draft202012Validator(payload_schema(VALIDATION_SCHEMA))
    for document in documents:
        validator.validate(document)  # additionalProperties: false: only counts and versions
        assert not FORBIDDEN_KEYS.search(json.dumps(document))


def _assert_messages_hold_only_aggregates(subscriber: RecordingSubscriber) -> None:
    assert len(subscriber.counts) >= 3
    counts_schema = jsonschema.Draft202012Validator(payload_schema(COUNTS_SCHEMA))
    health_schema = jsonschema.Draft202012Validator(payload_schema(HEALTH_SCHEMA))
    validation_schema = jsonschema.Draft202012Validator(payload_schema(VALIDATION_SCHEMA))
    for document in subscriber.counts:
        counts_schema.validate(document)  # additionalProperties: false at every level
        assert not FORBIDDEN_KEYS.search(json.dumps(document))
    assert subscriber.health
    for document in subscriber.health:
        health_schema.validate(document)
    assert set(subscriber.status_payloads()) <= {"online", "offline", "stopped"}
    assert subscriber.validations, "the validation was not published"
    for message in subscriber.validations:
        validation_schema.validate(message.document)


def _assert_answers_hold_only_aggregates(answers: dict[str, str]) -> None:
    assert set(json.loads(answers["/api/status"])) == STATUS_KEYS
    for route, text in answers.items():
        assert not FORBIDDEN_KEYS.search(text), (route, text[:500])
    validations = json.loads(answers["/api/validations"])
    assert [item["operator"] for item in validations] == ["Audit"]
    for interval in json.loads(answers["/api/counts?limit=100"]):
        assert set(interval) == {"start", "end", "lines", "zones", "quality"}
    assert "track" not in answers["/metrics"]


def _assert_snapshots_show_nobody(snapshots: list[bytes], model_path: Path) -> None:
    assert len(snapshots) >= 5
    detector = OnnxDetector(model_path)
    for number, jpeg in enumerate(snapshots):
        image = cv2.imdecode(np.frombuffer(jpeg, dtype=np.uint8), cv2.IMREAD_COLOR)
        assert image is not None
        found = detector.detect(Frame(number, 0.0, np.asarray(image, dtype=np.uint8)))
        assert not (found.scores >= 0.5).any(), f"a person is recognisable in snapshot {number}"
