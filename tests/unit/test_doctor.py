"""`footfall doctor` checks, each against small real resources: files, sockets, Mosquitto, the model.

Only the hardware edges are stand-ins: the Pi camera (the fake picamera2 module), sysfs readings
(small files in tmp_path) and the answer of `timedatectl` (an injected command runner).
"""

from __future__ import annotations

import shutil
import socket
import sys
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from edge.config import Settings
from edge.deliver import SqliteOutbox
from edge.doctor import (
    Check,
    CheckStatus,
    Probes,
    check_broker,
    check_calibration,
    check_camera,
    check_clock,
    check_disk,
    check_model,
    check_outbox,
    check_power,
    check_temperature,
    format_report,
    has_failures,
    run_checks,
    run_command,
)
from tests.fakes import picamera2 as fake_picamera2
from tests.integration.deliver.mosquitto import (
    MosquittoBroker,
    free_port,
    make_password_file,
    make_tls_material,
)
from tests.unit.deliver.deliver_samples import sample_interval

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEMO_CALIBRATION = PROJECT_ROOT / "calibration" / "examples" / "demo.json"
PLACEHOLDER_CALIBRATION = PROJECT_ROOT / "systemd" / "calibration.placeholder.json"
OK, WARN, FAIL = CheckStatus.OK, CheckStatus.WARN, CheckStatus.FAIL


def settings_for(**values: Any) -> Settings:
    """Settings from a dict shaped like the TOML file (no environment involved)."""
    return Settings.model_validate(values)


@pytest.fixture
def probes(tmp_path: Path) -> Probes:
    """Probes that look into tmp_path: an empty /dev, no sysfs readings, no timedatectl."""
    (tmp_path / "dev").mkdir()
    return Probes(
        dev_dir=tmp_path / "dev",
        timesync_flag=tmp_path / "synchronized",
        thermal_zone=tmp_path / "temp",
        throttled=tmp_path / "get_throttled",
        run_command=lambda argv: None,
        network_timeout_s=1.0,
    )


@pytest.fixture
def rig(monkeypatch: pytest.MonkeyPatch) -> Iterator[fake_picamera2.Rig]:
    monkeypatch.setitem(sys.modules, "picamera2", fake_picamera2)
    yield fake_picamera2.reset(cameras=1)
    fake_picamera2.reset()


@pytest.fixture
def brokers(tmp_path: Path) -> Iterator[Callable[..., MosquittoBroker]]:
    started: list[MosquittoBroker] = []

    def start(**options: Any) -> MosquittoBroker:
        folder = tmp_path / f"broker-{len(started)}"
        folder.mkdir()
        broker = MosquittoBroker(folder, **options)
        started.append(broker)
        broker.start()
        return broker

    yield start
    for broker in started:
        broker.stop()


def mqtt_settings(port: int, **mqtt: Any) -> Settings:
    password = mqtt.pop("password", None)
    values: dict[str, Any] = {
        "mqtt": {"enabled": True, "host": "127.0.0.1", "port": port, "device_id": "cam-1"}
    }
    values["mqtt"].update(mqtt)
    if password is not None:
        values["mqtt_password"] = password
    return settings_for(**values)


def write_video(path: Path, frames: int = 3) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 10.0, (64, 48))
    for number in range(frames):
        writer.write(np.full((48, 64, 3), number * 40, dtype=np.uint8))
    writer.release()


# --- camera -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cameras", "uri", "status", "detail"),
    [
        (1, "picamera", OK, "picamera:0 is a imx708 (1 attached)"),
        (2, "picamera:1", OK, "picamera:1 is a imx708 (2 attached)"),
        (0, "picamera", FAIL, "picamera:0 not found: no camera attached"),
        (1, "picamera:1", FAIL, "picamera:1 not found: 1 camera(s) attached"),
    ],
    ids=["one-camera", "second-camera", "no-camera", "camera-number-too-high"],
)
def test_pi_camera_is_listed_without_being_opened(
    rig: fake_picamera2.Rig, probes: Probes, cameras: int, uri: str, status: CheckStatus, detail: str
) -> None:
    fake_picamera2.reset(cameras=cameras)
    check = check_camera(uri, probes)
    assert (check.status, check.detail) == (status, detail)
    assert ("rpicam-hello --list-cameras" in check.fix) == (status is FAIL)
    assert rig.instances == []  # a running service keeps its camera


def test_pi_camera_without_picamera2(monkeypatch: pytest.MonkeyPatch, probes: Probes) -> None:
    monkeypatch.setitem(sys.modules, "picamera2", None)
    check = check_camera("picamera", probes)
    assert check.status is FAIL
    assert "picamera2 is not installed" in check.detail
    assert "apt install python3-picamera2" in check.fix


@pytest.mark.parametrize(
    ("uri", "node", "status"),
    [("usb:0", "video0", OK), ("/dev/video2", "video2", OK), ("usb:1", None, FAIL)],
    ids=["usb-index", "device-path", "unplugged"],
)
def test_usb_camera_device_node_opens(
    probes: Probes, uri: str, node: str | None, status: CheckStatus
) -> None:
    if node is not None:
        (probes.dev_dir / node).write_bytes(b"")
    check = check_camera(uri, probes)
    assert check.status is status
    assert str(probes.dev_dir) in check.detail
    assert ("v4l2-ctl --list-devices" in check.fix) == (status is FAIL)


def test_video_file_yields_a_frame(tmp_path: Path, probes: Probes) -> None:
    video = tmp_path / "clip.avi"
    write_video(video)
    check = check_camera(str(video), probes)
    assert (check.status, check.detail) == (OK, f"{video}: first frame 64x48")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda path: path.write_bytes(b"\x00not a video" * 100), "cannot"),
        (lambda path: None, "no such file"),
    ],
    ids=["corrupt", "missing"],
)
def test_unreadable_video_file_fails(
    tmp_path: Path, probes: Probes, make: Callable[[Path], object], message: str
) -> None:
    video = tmp_path / "clip.mp4"
    make(video)
    check = check_camera(str(video), probes)
    assert check.status is FAIL
    assert message in check.detail.lower()
    assert check.fix == "check source.uri in the config file"


def test_unreachable_stream_fails_once_without_leaking_the_password(probes: Probes) -> None:
    uri = f"rtsp://admin:s3cret@127.0.0.1:{free_port()}/stream"
    check = check_camera(uri, probes)
    assert check.status is FAIL
    assert "s3cret" not in check.detail
    assert check.detail.startswith("rtsp://127.0.0.1:")


# --- model, calibration ---------------------------------------------------------------------------


def test_model_with_the_manifest_digest_passes(model_cache: Path) -> None:
    check = check_model(settings_for(cache_dir=model_cache))
    assert check.status is OK
    assert check.detail == f"yolox_nano: sha256 verified ({model_cache / 'yolox_nano.onnx'})"


def test_missing_model_says_how_to_fetch_it(tmp_path: Path) -> None:
    check = check_model(settings_for(cache_dir=tmp_path))
    assert (check.status, check.detail) == (FAIL, f"yolox_nano: not in the cache {tmp_path}")
    assert check.fix.startswith(f"FOOTFALL_CACHE_DIR={tmp_path} footfall models fetch yolox_nano")


def test_corrupt_model_fails_on_its_digest(tmp_path: Path, model_cache: Path) -> None:
    data = bytearray((model_cache / "yolox_nano.onnx").read_bytes())
    data[1000] ^= 0xFF  # same size, one bit pattern changed
    (tmp_path / "yolox_nano.onnx").write_bytes(bytes(data))
    check = check_model(settings_for(cache_dir=tmp_path))
    assert check.status is FAIL
    assert check.detail.startswith("yolox_nano: corrupt (sha256 ")


def test_model_by_name_unknown_or_own_file(tmp_path: Path, model_path: Path) -> None:
    unknown = check_model(settings_for(cache_dir=tmp_path, detector={"model": "yolov99"}))
    assert unknown.status is FAIL
    assert "footfall models list" in unknown.fix
    own = check_model(settings_for(cache_dir=tmp_path, detector={"model": str(model_path)}))
    assert own.status is OK
    assert "digest not checked" in own.detail


@pytest.mark.parametrize(
    ("content", "status", "detail"),
    [
        (DEMO_CALIBRATION.read_text(), OK, "1 line(s), 1 zone(s), 0 privacy mask(s)"),
        (
            PLACEHOLDER_CALIBRATION.read_text(),
            WARN,
            "1 line(s), 0 zone(s), 0 privacy mask(s): still the installer's placeholder",
        ),
        ('{"lines": [], "zones": []}', FAIL, "no lines and no zones"),
        ('{"lines": [', FAIL, "invalid JSON at line 1"),
        (None, FAIL, "calibration file not found"),
    ],
    ids=["valid", "placeholder", "empty", "broken-json", "missing"],
)
def test_calibration(tmp_path: Path, content: str | None, status: CheckStatus, detail: str) -> None:
    path = tmp_path / "calibration.json"
    if content is not None:
        path.write_text(content)
    check = check_calibration(path)
    assert check.status is status
    assert detail in check.detail
    assert ("calibration page" in check.fix) == (status is not OK)


# --- disk, outbox ---------------------------------------------------------------------------------


def test_disk_with_room_passes(tmp_path: Path) -> None:
    check = check_disk(tmp_path, Probes())
    assert check.status is OK
    assert check.detail.endswith(f"GB free for {tmp_path}")


@pytest.mark.parametrize(
    ("free_bytes", "status"),
    [(5_000_000_000, OK), (999_999_999, WARN), (99_999_999, FAIL), (None, WARN)],
    ids=["5-GB", "just-under-1-GB", "just-under-100-MB", "unknown"],
)
def test_disk_thresholds(tmp_path: Path, free_bytes: int | None, status: CheckStatus) -> None:
    check = check_disk(tmp_path, Probes(disk_free_bytes=lambda path: free_bytes))
    assert check.status is status


def test_outbox_not_created_yet_is_fine_and_is_not_created(tmp_path: Path) -> None:
    path = tmp_path / "state" / "outbox.sqlite3"
    check = check_outbox(path, settings_for())
    assert (check.status, check.detail) == (OK, f"{path} does not exist yet; the service creates it")
    assert not path.exists()


def test_outbox_that_cannot_be_created_fails(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    check = check_outbox(tmp_path / "a-file" / "outbox.sqlite3", settings_for())
    assert check.status is FAIL
    assert "is not writable" in check.detail


def test_outbox_backlog(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite3"
    two_hours_ago = datetime.now(UTC) - timedelta(hours=2)
    with SqliteOutbox(path, device_id="cam-1", wall_clock=lambda: two_hours_ago) as outbox:
        delivered = outbox.enqueue(sample_interval(0))
        outbox.mark_delivered(delivered)
        outbox.enqueue(sample_interval(1))

    stuck = check_outbox(path, settings_for(mqtt={"enabled": True, "device_id": "cam-1"}))
    assert stuck.status is WARN
    assert stuck.detail == f"{path}: 1 undelivered, oldest 120 min"
    assert "broker" in stuck.fix
    # Without MQTT every row stays undelivered by design: nothing to warn about.
    local = check_outbox(path, settings_for(mqtt={"device_id": "cam-1"}))
    assert (local.status, local.detail) == (OK, f"{path}: 1 undelivered, oldest 120 min")


def test_unreadable_outbox_is_set_aside_as_the_service_would(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    check = check_outbox(path, settings_for())
    assert (check.status, check.detail) == (OK, f"{path}: 0 undelivered")
    assert len(list(tmp_path.glob("outbox.sqlite3.corrupt-*"))) == 1


# --- clock ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "flag_file", "status", "detail"),
    [
        ("yes", False, OK, "synchronised"),
        ("no", True, FAIL, "not synchronised"),
        (None, True, OK, "synchronised"),
        (None, False, WARN, "cannot tell whether the clock is synchronised"),
    ],
    ids=["timedatectl-yes", "timedatectl-no", "timesyncd-flag", "unknown"],
)
def test_clock(tmp_path: Path, answer: str | None, flag_file: bool, status: CheckStatus, detail: str) -> None:
    asked: list[Sequence[str]] = []

    def timedatectl(argv: Sequence[str]) -> str | None:
        asked.append(argv)
        return answer

    if flag_file:
        (tmp_path / "synchronized").write_text("")
    check = check_clock(Probes(timesync_flag=tmp_path / "synchronized", run_command=timedatectl))
    assert check.status is status
    assert check.detail.startswith(detail + "; now 20")
    assert asked == [["timedatectl", "show", "--property=NTPSynchronized", "--value"]]


def test_run_command_returns_stdout_or_none() -> None:
    assert run_command([sys.executable, "-c", "print(' yes ')"]) == "yes"
    assert run_command([sys.executable, "-c", "import sys; sys.exit(1)"]) is None
    assert run_command(["footfall-no-such-program"]) is None


# --- broker ------------------------------------------------------------------------------------------


def test_broker_off_is_a_single_ok(probes: Probes) -> None:
    checks = check_broker(settings_for(), probes)
    assert [(check.name, check.status) for check in checks] == [("broker", OK)]


def test_closed_port_is_unreachable(probes: Probes) -> None:
    port = free_port()
    broker, login = check_broker(mqtt_settings(port), probes)
    assert (broker.status, broker.detail) == (FAIL, f"127.0.0.1:{port} unreachable: Connection refused")
    assert (login.name, login.status) == ("broker login", WARN)


def test_unknown_host_is_unreachable(probes: Probes) -> None:
    settings = settings_for(mqtt={"enabled": True, "host": "footfall-doctor.invalid", "device_id": "cam-1"})
    broker, _ = check_broker(settings, probes)
    assert (broker.status, broker.detail) == (FAIL, "footfall-doctor.invalid:1883 unreachable: unknown host")


def test_listener_that_never_answers_mqtt(probes: Probes) -> None:
    with socket.create_server(("127.0.0.1", 0)) as silent:
        port = silent.getsockname()[1]
        broker, login = check_broker(mqtt_settings(port), probes)
    assert broker.status is OK
    assert (login.status, login.detail) == (FAIL, "no answer to CONNECT within 1 s")
    assert "mqtt.tls" in login.fix


def test_anonymous_broker_accepts(brokers: Callable[..., MosquittoBroker], probes: Probes) -> None:
    broker = brokers()
    reached, login = check_broker(mqtt_settings(broker.port), probes)
    assert reached.status is OK
    assert (login.status, login.detail) == (OK, "accepted as anonymous (MQTT 5)")


@pytest.mark.parametrize(
    ("protocol", "password", "status", "detail"),
    [
        ("5", "right-pw", OK, "accepted as cam-1 (MQTT 5)"),
        ("3.1.1", "right-pw", OK, "accepted as cam-1 (MQTT 3.1.1)"),
        ("5", "wrong-pw", FAIL, "refused for cam-1: Not authorized"),
        ("3.1.1", "wrong-pw", FAIL, "refused for cam-1: Not authorized"),
    ],
    ids=["v5-right", "v311-right", "v5-wrong", "v311-wrong"],
)
def test_broker_login_with_credentials(
    tmp_path: Path,
    brokers: Callable[..., MosquittoBroker],
    probes: Probes,
    protocol: str,
    password: str,
    status: CheckStatus,
    detail: str,
) -> None:
    broker = brokers(password_file=make_password_file(tmp_path, {"cam-1": "right-pw"}))
    settings = mqtt_settings(broker.port, protocol=protocol, username="cam-1", password=password)
    checks = check_broker(settings, probes)
    assert (checks[1].status, checks[1].detail) == (status, detail)
    assert ("mqtt-password" in checks[1].fix) == (status is FAIL)
    assert password not in format_report(checks)


def test_password_without_username_fails_before_connecting(probes: Probes) -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        settings = mqtt_settings(listener.getsockname()[1], password="pw")
        _, login = check_broker(settings, probes)
    assert (login.status, login.detail) == (FAIL, "a password is set but no username")


def test_tls_broker(tmp_path: Path, brokers: Callable[..., MosquittoBroker], probes: Probes) -> None:
    tls = make_tls_material(tmp_path)
    broker = brokers(tls=tls)
    client = {"client_cert_file": str(tls.client_cert), "client_key_file": str(tls.client_key)}
    good = mqtt_settings(broker.port, tls=True, ca_file=str(tls.ca_file), **client)
    assert check_broker(good, probes)[1].status is OK
    # The system CAs did not sign the test broker's certificate.
    _, login = check_broker(mqtt_settings(broker.port, tls=True, **client), probes)
    assert (login.status, login.detail) == (FAIL, "TLS failed: CERTIFICATE_VERIFY_FAILED")
    assert "mqtt.ca_file" in login.fix


# --- Pi health -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("millidegrees", "status", "detail"),
    [
        ("45123\n", OK, "45.1 °C"),
        ("80000\n", WARN, "80.0 °C: the CPU is throttled"),
        ("85500\n", FAIL, "85.5 °C: the CPU is capped"),
        (None, OK, "not exposed by this machine"),
    ],
    ids=["cool", "throttling", "capped", "no-sensor"],
)
def test_temperature(probes: Probes, millidegrees: str | None, status: CheckStatus, detail: str) -> None:
    if millidegrees is not None:
        probes.thermal_zone.write_text(millidegrees)
    check = check_temperature(probes)
    assert (check.status, check.detail) == (status, detail)


@pytest.mark.parametrize(
    ("flags", "status", "detail"),
    [
        ("0x0", OK, "no under-voltage or throttling since boot (flags 0x0)"),
        ("0x50005", FAIL, "under-voltage now (flags 0x50005)"),
        ("0x50000", WARN, "under-voltage since boot (flags 0x50000)"),
        ("0x4", WARN, "CPU throttled now (flags 0x4)"),
        ("0x80000", WARN, "CPU throttled since boot (flags 0x80000)"),
        (None, OK, "no Raspberry Pi firmware flags on this machine"),
    ],
    ids=[
        "clean",
        "under-voltage-now",
        "under-voltage-earlier",
        "throttled-now",
        "throttled-earlier",
        "not-a-pi",
    ],
)
def test_power(probes: Probes, flags: str | None, status: CheckStatus, detail: str) -> None:
    if flags is not None:
        probes.throttled.write_text(flags + "\n")
    check = check_power(probes)
    assert (check.status, check.detail) == (status, detail)
    assert ("official supply" in check.fix) == detail.startswith("under-voltage")


# --- all together --------------------------------------------------------------------------------------


def test_run_checks_reports_every_check_in_order(tmp_path: Path, model_cache: Path, probes: Probes) -> None:
    calibration = tmp_path / "calibration.json"
    shutil.copyfile(DEMO_CALIBRATION, calibration)
    settings = settings_for(
        cache_dir=model_cache,
        calibration=calibration,
        source={"uri": "usb:0"},
        outbox={"path": tmp_path / "state" / "outbox.sqlite3"},
    )
    probes.thermal_zone.write_text("51000")
    probes.throttled.write_text("0x0")
    checks = run_checks(settings, probes=probes)

    names = [check.name for check in checks]
    assert names == [
        "camera",
        "model",
        "calibration",
        "disk",
        "outbox",
        "clock",
        "broker",
        "temperature",
        "power",
    ]
    statuses = {check.name: check.status for check in checks}
    assert statuses == {
        "camera": FAIL,  # no /dev/video0 in the probes' /dev
        "model": OK,
        "calibration": OK,
        "disk": OK,
        "outbox": OK,
        "clock": WARN,
        "broker": OK,
        "temperature": OK,
        "power": OK,
    }
    assert has_failures(checks)
    report = format_report(checks)
    assert report.splitlines()[0].startswith("FAIL  camera       usb:0: ")
    assert "             fix: plug the camera in" in report
    assert report.splitlines()[-1] == "7 ok, 1 warning(s), 1 failure(s)"


def test_a_crashing_check_is_a_failure_not_an_exception(
    tmp_path: Path, probes: Probes, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(path: Path) -> int | None:
        raise RuntimeError("statvfs exploded")

    settings = settings_for(calibration=tmp_path / "missing.json", outbox={"path": tmp_path / "o.sqlite3"})
    checks = run_checks(settings, probes=Probes(disk_free_bytes=broken, run_command=lambda argv: None))
    disk = next(check for check in checks if check.name == "disk")
    assert (disk.status, disk.detail) == (FAIL, "check crashed: RuntimeError: statvfs exploded")
    assert len(checks) == 9
    assert "the disk check crashed" in caplog.text


def test_all_ok_report_has_no_fix_lines() -> None:
    checks = [
        Check("camera", OK, "fine"),
        Check("clock", WARN, "unknown", "wait"),
        Check("disk", OK, "x", "ignored"),
    ]
    assert not has_failures(checks)
    assert format_report(checks).splitlines() == [
        "OK    camera  fine",
        "WARN  clock   unknown",
        "              fix: wait",
        "OK    disk    x",
        "2 ok, 1 warning(s), 0 failure(s)",
    ]
