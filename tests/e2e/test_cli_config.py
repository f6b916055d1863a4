"""Configuration and start-up through the real `footfall` process: every mistake is one clear
line (no traceback), and `check-config` refuses exactly what `run` refuses, with the same words."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = PROJECT_ROOT / "calibration" / "examples"
FOOTFALL = Path(sys.executable).parent / "footfall"


def _footfall(
    *args: str, environment: dict[str, str], cwd: Path, timeout_s: float = 120
) -> subprocess.CompletedProcess[str]:
    clean = {key: value for key, value in os.environ.items() if not key.startswith("FOOTFALL_")}
    return subprocess.run(
        [str(FOOTFALL), *args],
        capture_output=True,
        text=True,
        env={**clean, **environment},
        cwd=cwd,
        timeout=timeout_s,
        check=False,
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def good(tmp_path: Path, model_cache: Path, shared_data: Path) -> dict[str, str]:
    """Settings `run` starts with: every case below breaks one thing."""
    return {
        "FOOTFALL_CACHE_DIR": str(model_cache),
        "FOOTFALL_CALIBRATION": str(EXAMPLES / "tud-campus.json"),
        "FOOTFALL_SOURCE__URI": str(shared_data / "TUD-Campus" / "video" / "TUD-Campus.mp4"),
        "FOOTFALL_OUTBOX__PATH": str(tmp_path / "state" / "outbox.sqlite3"),
        "FOOTFALL_API_PASSWORD": "a long enough device password",
        "FOOTFALL_API__PORT": str(_free_port()),
    }


def _one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("footfall: error: ")]
    assert errors, result.stderr
    return errors[0]


def test_the_good_settings_are_valid(good: dict[str, str], tmp_path: Path) -> None:
    result = _footfall("check-config", environment=good, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("settings valid")


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield int(taken.getsockname()[1])


def _model_file(tmp_path: Path, model_cache: Path, kind: str) -> str:
    real = (model_cache / "yolox_nano.onnx").read_bytes()
    content = {"empty": b"", "truncated": real[: len(real) // 2], "garbage": os.urandom(4096)}[kind]
    path = tmp_path / f"{kind}.onnx"
    path.write_bytes(content)
    return str(path)


def _tls_files(tmp_path: Path, kind: str) -> dict[str, str]:
    if kind == "missing":
        return {
            "FOOTFALL_API__TLS_CERT_FILE": str(tmp_path / "cert.pem"),
            "FOOTFALL_API__TLS_KEY_FILE": str(tmp_path / "key.pem"),
        }
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n")
    return {"FOOTFALL_API__TLS_CERT_FILE": str(garbage), "FOOTFALL_API__TLS_KEY_FILE": str(garbage)}


RUN_REFUSES = [
    ("empty-model", "detector.model"),
    ("truncated-model", "detector.model"),
    ("garbage-model", "detector.model"),
    ("corrupt-cached-model", "corrupt"),
    ("missing-tls-files", "no such file"),
    ("garbage-tls-files", "not a PEM certificate"),
    ("no-password", "needs a password"),
    ("port-in-use", "cannot listen on 127.0.0.1"),
    ("bad-host", "is not an address of this machine"),
    ("unwritable-outbox", "outbox"),
    ("missing-calibration", "calibration file not found"),
]


def _break(case: str, good: dict[str, str], tmp_path: Path, model_cache: Path, port: int) -> dict[str, str]:
    broken = dict(good)
    if case.endswith("-model") and case != "corrupt-cached-model":
        broken["FOOTFALL_DETECTOR__MODEL"] = _model_file(tmp_path, model_cache, case.removesuffix("-model"))
    elif case == "corrupt-cached-model":
        cache = tmp_path / "cache"
        cache.mkdir()
        (cache / "yolox_nano.onnx").write_bytes((model_cache / "yolox_nano.onnx").read_bytes()[:-1000])
        broken["FOOTFALL_CACHE_DIR"] = str(cache)
    elif case.endswith("-tls-files"):
        broken.update(_tls_files(tmp_path, case.removesuffix("-tls-files")))
    elif case == "no-password":
        del broken["FOOTFALL_API_PASSWORD"]
    elif case == "port-in-use":
        broken["FOOTFALL_API__PORT"] = str(port)
    elif case == "bad-host":
        broken["FOOTFALL_API__HOST"] = "no-such-host.invalid"
    elif case == "unwritable-outbox":
        blocker = tmp_path / "a-file"
        blocker.write_text("")
        broken["FOOTFALL_OUTBOX__PATH"] = str(blocker / "outbox.sqlite3")
    elif case == "missing-calibration":
        del broken["FOOTFALL_CALIBRATION"]  # the default calibration.json, not there
    return broken


@pytest.mark.parametrize(("case", "message"), RUN_REFUSES, ids=[case for case, _ in RUN_REFUSES])
def test_check_config_refuses_what_run_refuses(
    case: str, message: str, good: dict[str, str], tmp_path: Path, model_cache: Path, taken_port: int
) -> None:
    broken = _break(case, good, tmp_path, model_cache, taken_port)
    checked = _one_error_line(_footfall("check-config", environment=broken, cwd=tmp_path))
    assert message in checked
    assert "settings valid" not in checked
    ran = _one_error_line(_footfall("run", "--duration", "5", environment=broken, cwd=tmp_path))
    assert ran.split(" (and ")[0] == checked.split(" (and ")[0]


def test_a_missing_default_calibration_says_how_to_point_at_one(good: dict[str, str], tmp_path: Path) -> None:
    del good["FOOTFALL_CALIBRATION"]
    line = _one_error_line(_footfall("check-config", environment=good, cwd=tmp_path))
    assert "FOOTFALL_CALIBRATION=" in line
    assert "calibration = " in line


def test_a_missing_camera_file_is_reported(good: dict[str, str], tmp_path: Path) -> None:
    good["FOOTFALL_SOURCE__URI"] = str(tmp_path / "camera.mp4")
    line = _one_error_line(_footfall("check-config", environment=good, cwd=tmp_path))
    assert "source.uri" in line
    assert "no such file" in line


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(b"[" * 100_000 + b"]" * 100_000, "nested too deeply", id="deeply-nested"),
        pytest.param(
            b'{"lines": [{"id": "a", "a": [' + b"7" * 5000 + b', 0], "b": [1, 1]}]}',
            "too many digits",
            id="5000-digits",
        ),
    ],
)
def test_a_hostile_calibration_file_is_one_line(
    content: bytes, message: str, good: dict[str, str], tmp_path: Path
) -> None:
    calibration = tmp_path / "calibration.json"
    calibration.write_bytes(content)
    good["FOOTFALL_CALIBRATION"] = str(calibration)
    assert message in _one_error_line(_footfall("check-config", environment=good, cwd=tmp_path))


def test_a_config_file_that_is_not_utf8_is_one_line(good: dict[str, str], tmp_path: Path) -> None:
    config = tmp_path / "footfall.toml"
    config.write_bytes("[api]\n# caf\u00e9, as Latin-1\nport = 8081\n".encode("latin-1"))
    line = _one_error_line(_footfall("check-config", "--config", str(config), environment=good, cwd=tmp_path))
    assert "not UTF-8" in line
    assert str(config) in line


def test_malformed_json_in_a_table_variable_is_one_line(good: dict[str, str], tmp_path: Path) -> None:
    good["FOOTFALL_PAYLOAD__NGSI_INBOUND_BY_LINE"] = "{door: out"
    line = _one_error_line(_footfall("check-config", environment=good, cwd=tmp_path))
    assert "FOOTFALL_PAYLOAD__NGSI_INBOUND_BY_LINE" in line
    assert "JSON" in line


def test_a_misspelled_variable_is_warned_about(good: dict[str, str], tmp_path: Path) -> None:
    good["FOOTFALL_AGREGATE__INTERVAL_S"] = "30"
    good["FOOTFALL_CITY_DATABASE_URL"] = "postgresql://city@127.0.0.1/footfall"  # the city server's own
    result = _footfall("check-config", environment=good, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "FOOTFALL_AGREGATE__INTERVAL_S is not a setting" in result.stderr
    assert "FOOTFALL_CITY_DATABASE_URL" not in result.stderr
    assert "did you mean FOOTFALL_AGGREGATE__INTERVAL_S?" in result.stderr


def test_a_variable_does_not_hide_a_broken_file_section(good: dict[str, str], tmp_path: Path) -> None:
    config = tmp_path / "footfall.toml"
    config.write_text('detector = "yolox_nano"\n')  # meant [detector] model = ...
    good["FOOTFALL_DETECTOR__THREADS"] = "2"
    line = _one_error_line(_footfall("check-config", "--config", str(config), environment=good, cwd=tmp_path))
    assert "[detector] must be a section" in line


def test_a_rule_may_take_one_field_from_the_file_and_one_from_the_environment(
    good: dict[str, str], tmp_path: Path
) -> None:
    config = tmp_path / "footfall.toml"
    config.write_text('[mqtt]\ndevice_id = "cam-7"\n')
    good["FOOTFALL_MQTT__ENABLED"] = "true"
    result = _footfall("check-config", "--config", str(config), environment=good, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "MQTT on: localhost" in result.stdout


def test_an_offline_fetch_points_at_the_mirror(tmp_path: Path) -> None:
    # A proxy that refuses every connection stands for a device without internet.
    offline = {
        "FOOTFALL_CACHE_DIR": str(tmp_path / "cache"),
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "https_proxy": "http://127.0.0.1:9",
    }
    line = _one_error_line(_footfall("models", "fetch", "yolox_nano", environment=offline, cwd=tmp_path))
    assert "cannot download yolox_nano" in line
    assert "--mirror" in line
    assert "FOOTFALL_MIRROR" in line


def test_settings_json_output_stays_parseable(good: dict[str, str], tmp_path: Path) -> None:
    # Warnings go to stderr: `models list --json` still prints nothing but JSON on stdout.
    good["FOOTFALL_NOT_A_SETTING"] = "1"
    result = _footfall("models", "list", "--json", environment=good, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert isinstance(json.loads(result.stdout), list)
    assert "FOOTFALL_NOT_A_SETTING" in result.stderr
