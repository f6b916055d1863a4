"""`footfall run` as a process: a page session survives a SIGTERM and a new start, through the
session file the service keeps beside its outbox (mode 0600)."""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx

from edge.assets import fetch, find_asset
from tests.conftest import SHARED_MIRROR
from tests.integration.deliver.mosquitto import free_port

PROJECT_ROOT = Path(__file__).resolve().parents[2]
FOOTFALL = Path(sys.executable).parent / "footfall"
PASSWORD = "session-test-password"
# Seconds the service may take to answer after starting (model load) before the test gives up.
START_S = 60.0


def _wait_until_serving(base_url: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + START_S
    while True:
        assert process.poll() is None, process.communicate()[1]
        try:
            if httpx.get(base_url + "/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "the service did not start serving"
        time.sleep(0.2)


def _stop(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr


def test_a_restarted_service_keeps_the_session(tmp_path: Path, model_cache: Path) -> None:
    clip = fetch(find_asset("demo-clip"), cache_dir=model_cache, mirror=SHARED_MIRROR)
    calibration = tmp_path / "calibration.json"
    shutil.copyfile(PROJECT_ROOT / "calibration" / "examples" / "demo.json", calibration)
    state = tmp_path / "state"
    port = free_port()
    environment = {key: value for key, value in os.environ.items() if not key.startswith("FOOTFALL_")}
    environment.update(
        {
            "FOOTFALL_CACHE_DIR": str(model_cache),
            "FOOTFALL_SOURCE__URI": str(clip),
            "FOOTFALL_CALIBRATION": str(calibration),
            "FOOTFALL_OUTBOX__PATH": str(state / "outbox.sqlite3"),
            "FOOTFALL_API__PORT": str(port),
            "FOOTFALL_API_PASSWORD": PASSWORD,
        }
    )
    base_url = f"http://127.0.0.1:{port}"

    def start() -> subprocess.Popen[str]:
        return subprocess.Popen(
            [str(FOOTFALL), "run"],
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )

    first = start()
    try:
        _wait_until_serving(base_url, first)
        login = httpx.post(base_url + "/login", data={"password": PASSWORD})
        assert login.status_code == 303
        cookie = {"footfall_session": login.cookies["footfall_session"]}
        assert httpx.get(base_url + "/api/status", cookies=cookie).status_code == 200
    finally:
        _stop(first)
    session_file = state / "api-session.json"
    assert stat.S_IMODE(session_file.stat().st_mode) == 0o600
    second = start()
    try:
        _wait_until_serving(base_url, second)
        assert httpx.get(base_url + "/api/status", cookies=cookie).status_code == 200
        assert httpx.get(base_url + "/", cookies=cookie).status_code == 200
    finally:
        _stop(second)
