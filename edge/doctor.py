"""`footfall doctor`: the checks a technician runs on site, each with what to fix.

`run_checks(settings)` looks at what a device needs to count and deliver without starting the
service or disturbing a running one: the camera (a Pi camera is listed, not opened; a USB node is
opened; a file or stream must yield a frame), the model digest, the calibration, free disk, the
outbox, clock synchronisation (interval times depend on it), the broker (TCP, then a login under
its own client id that publishes nothing and sets no will) and the Pi's temperature and power
flags. No check raises; `format_report` renders them and `has_failures` sets the exit status.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import ssl
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from edge.assets import AssetState, default_cache_dir, find_asset, status
from edge.calibration import load_calibration
from edge.config import Settings
from edge.deliver import SqliteOutbox, default_outbox_path
from edge.errors import FootfallError
from edge.sources.base import redact_url
from edge.sources.factory import STREAM_SCHEMES, open_source
from edge.sources.live import StreamSource
from edge.sources.picamera import attached_cameras
from edge.system import THERMAL_ZONE, THROTTLED, read_system

__all__ = ["Check", "CheckStatus", "Probes", "format_report", "has_failures", "run_checks"]

logger = logging.getLogger(__name__)

# Free space on the outbox's file system below which the SD card is nearly full, bytes.
DISK_WARN_BYTES = 1_000_000_000
DISK_FAIL_BYTES = 100_000_000
# SoC temperature: the Pi firmware throttles from 80 °C and caps the clock hard at 85 °C.
TEMPERATURE_WARN_C = 80.0
TEMPERATURE_FAIL_C = 85.0
# Undelivered counts older than this (MQTT on) mean delivery is stuck, seconds.
BACKLOG_WARN_AGE_S = 3600.0
# systemd-timesyncd creates this file once the clock is synchronised.
TIMESYNC_FLAG = Path("/run/systemd/timesync/synchronized")
# Line id of the placeholder calibration that systemd/install.sh puts in place.
PLACEHOLDER_ID = "uncalibrated"
# get_throttled bits of the Pi firmware: under-voltage and throttling, now (0-3) and since boot (16-19).
_UNDER_VOLTAGE_NOW, _THROTTLED_NOW = 0x1, 0xE
_UNDER_VOLTAGE_SINCE_BOOT, _THROTTLED_SINCE_BOOT = 0x10000, 0xE0000
# CONNACK reasons for refused credentials (MQTT 5 codes; paho maps 3.1.1's 4 and 5 to them).
_REFUSED_LOGIN = (0x86, 0x87)

_FIX_PICAMERA2 = "sudo apt install python3-picamera2, then re-run systemd/install.sh"
_FIX_RIBBON = (
    "power off, reseat the ribbon cable at both ends (latches closed, contacts the right way round), "
    "power on, then `rpicam-hello --list-cameras`"
)
_FIX_USB_MISSING = "plug the camera in (a powered hub if it browns out); `v4l2-ctl --list-devices`"
_FIX_USB_ACCESS = "the service user needs the video group (the unit sets SupplementaryGroups=video)"
_FIX_SOURCE = "check source.uri in the config file"
_FIX_CALIBRATION = (
    "draw the lines and zones on the calibration page, or edit the file (calibration/README.md)"
)
_FIX_DISK = "free space on the SD card (old logs: journalctl --vacuum-size=100M) or use a larger card"
_FIX_CLOCK = (
    "let the device reach an NTP server (`timedatectl timesync-status`); interval times are wrong until then"
)
_FIX_NETWORK = "check mqtt.host, mqtt.port, the network and firewalls"
_FIX_LOGIN = "check mqtt.username and /etc/footfall/credentials/mqtt-password"
_FIX_TLS = "check mqtt.tls, mqtt.ca_file and the client certificate; a wrong clock also fails TLS"
_FIX_NO_CONNACK = "is it an MQTT port? TLS needs mqtt.tls = true (usually port 8883)"
_FIX_HEAT = "shade the enclosure from direct sun, fit a heatsink or a fan case, leave air around the Pi"
_FIX_SUPPLY = (
    "use the official supply (5.1 V 3 A for a Pi 4, 5 V 5 A for a Pi 5) and a short, thick cable; "
    "under-voltage corrupts SD cards"
)


class CheckStatus(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True, slots=True)
class Check:
    """The outcome of one check.

    Attributes:
        name: what was checked ("camera", "model", ...).
        status: ok, warn (works, but look at it) or fail (the device cannot do its job).
        detail: what was found, one line, never a secret.
        fix: what to do about it; empty when ok.
    """

    name: str
    status: CheckStatus
    detail: str
    fix: str = ""


def _ok(name: str, detail: str) -> Check:
    return Check(name, CheckStatus.OK, detail)


def _warn(name: str, detail: str, fix: str = "") -> Check:
    return Check(name, CheckStatus.WARN, detail, fix)


def _fail(name: str, detail: str, fix: str = "") -> Check:
    return Check(name, CheckStatus.FAIL, detail, fix)


def run_command(argv: Sequence[str]) -> str | None:
    """Stdout of a short command, or None if it is missing, fails or takes over 5 s."""
    try:
        done = subprocess.run(list(argv), capture_output=True, text=True, timeout=5.0, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _disk_free_bytes(path: Path) -> int | None:
    return read_system(path).disk_free_bytes


@dataclass(frozen=True, slots=True)
class Probes:
    """Where the checks look; the defaults are the real machine, tests point them elsewhere."""

    dev_dir: Path = Path("/dev")
    timesync_flag: Path = TIMESYNC_FLAG
    thermal_zone: Path = THERMAL_ZONE
    throttled: Path = THROTTLED
    run_command: Callable[[Sequence[str]], str | None] = run_command
    disk_free_bytes: Callable[[Path], int | None] = _disk_free_bytes
    network_timeout_s: float = 5.0


def run_checks(settings: Settings, *, probes: Probes | None = None) -> list[Check]:
    """Run every check for `settings`, in the order a technician fixes things."""
    probes = probes or Probes()
    outbox_path = settings.outbox.path or default_outbox_path()
    steps: list[tuple[str, Callable[[], list[Check]]]] = [
        ("camera", lambda: [check_camera(settings.source.uri, probes)]),
        ("model", lambda: [check_model(settings)]),
        ("calibration", lambda: [check_calibration(settings.calibration)]),
        ("disk", lambda: [check_disk(outbox_path.parent, probes)]),
        ("outbox", lambda: [check_outbox(outbox_path, settings)]),
        ("clock", lambda: [check_clock(probes)]),
        ("broker", lambda: check_broker(settings, probes)),
        ("temperature", lambda: [check_temperature(probes)]),
        ("power", lambda: [check_power(probes)]),
    ]
    checks: list[Check] = []
    for name, step in steps:
        try:
            checks += step()
        except Exception as exc:  # supervisor: one broken check must not hide the others
            logger.exception("the %s check crashed", name)
            checks.append(_fail(name, f"check crashed: {type(exc).__name__}: {exc}"))
    return checks


def has_failures(checks: Sequence[Check]) -> bool:
    """True if any check failed (the CLI then exits 1)."""
    return any(check.status is CheckStatus.FAIL for check in checks)


def format_report(checks: Sequence[Check]) -> str:
    """One line per check, a `fix:` line under each that is not ok, and a summary line."""
    width = max((len(check.name) for check in checks), default=0)
    lines = []
    for check in checks:
        lines.append(f"{check.status.upper():<4}  {check.name:<{width}}  {check.detail}")
        if check.fix and check.status is not CheckStatus.OK:
            lines.append(f"{'':<4}  {'':<{width}}  fix: {check.fix}")
    ok, warn, fail = (sum(check.status is state for check in checks) for state in CheckStatus)
    lines.append(f"{ok} ok, {warn} warning(s), {fail} failure(s)")
    return "\n".join(lines)


# --- camera -------------------------------------------------------------------------------------


def check_camera(uri: str, probes: Probes) -> Check:
    """Pi camera listed by libcamera; USB device node opens; a file or stream yields a frame."""
    uri = uri.strip()
    if uri == "picamera" or uri.startswith("picamera:"):
        return _check_picamera(int(uri.partition(":")[2] or 0))
    if uri.startswith(("usb:", "/dev/video")):
        node = probes.dev_dir / (f"video{uri[4:]}" if uri.startswith("usb:") else Path(uri).name)
        return _check_device_node(uri, node)
    return _check_frame_source(uri)


def _check_picamera(camera_num: int) -> Check:
    try:
        models = attached_cameras()
    except FootfallError as exc:
        return _fail("camera", str(exc), _FIX_PICAMERA2)
    if camera_num < len(models):
        return _ok("camera", f"picamera:{camera_num} is a {models[camera_num]} ({len(models)} attached)")
    found = f"{len(models)} camera(s) attached" if models else "no camera attached"
    return _fail("camera", f"picamera:{camera_num} not found: {found}", _FIX_RIBBON)


def _check_device_node(uri: str, node: Path) -> Check:
    try:
        descriptor = os.open(node, os.O_RDWR | os.O_NONBLOCK)
    except FileNotFoundError:
        return _fail("camera", f"{uri}: {node} does not exist", _FIX_USB_MISSING)
    except OSError as exc:
        return _fail("camera", f"{uri}: cannot open {node}: {exc.strerror}", _FIX_USB_ACCESS)
    os.close(descriptor)
    return _ok("camera", f"{uri}: {node} opens")


def _check_frame_source(uri: str) -> Check:
    shown = redact_url(uri)
    scheme, separator, _ = uri.partition("://")
    try:
        # A stream gets one attempt: the service's source would retry for ever.
        source = (
            StreamSource(uri, max_reconnects=0, sleep=lambda _: None)
            if separator and scheme.lower() in STREAM_SCHEMES
            else open_source(uri)
        )
        with source:
            frame = next(iter(source), None)
    except FootfallError as exc:
        return _fail("camera", f"{shown}: {exc}", _FIX_SOURCE)
    if frame is None:
        return _fail("camera", f"{shown}: no frame", _FIX_SOURCE)
    height, width = frame.image.shape[:2]
    return _ok("camera", f"{shown}: first frame {width}x{height}")


# --- model, calibration ---------------------------------------------------------------------------


def check_model(settings: Settings) -> Check:
    """The configured detector: a manifest asset verified by size and sha256, or an existing file."""
    name = settings.detector.model
    if Path(name).expanduser().is_file():
        return _ok("model", f"{name} (your own file: not in the manifest, digest not checked)")
    cache_dir = settings.cache_dir or default_cache_dir()
    fetch_hint = f"FOOTFALL_CACHE_DIR={cache_dir} footfall models fetch {name} (install.sh does this)"
    try:
        current = status(find_asset(name), cache_dir)
    except FootfallError as exc:
        return _fail("model", str(exc), "set detector.model to a name from `footfall models list`")
    if current.state is AssetState.PRESENT:
        return _ok("model", f"{name}: sha256 verified ({current.path})")
    if current.state is AssetState.MISSING:
        return _fail("model", f"{name}: not in the cache {cache_dir}", fetch_hint)
    return _fail("model", f"{name}: corrupt ({current.detail})", fetch_hint)


def check_calibration(path: Path) -> Check:
    """The calibration file loads and validates, and is not the installer's placeholder."""
    try:
        calibration = load_calibration(path)
    except FootfallError as exc:
        return _fail("calibration", str(exc), _FIX_CALIBRATION)
    summary = (
        f"{path}: {len(calibration.lines)} line(s), {len(calibration.zones)} zone(s), "
        f"{len(calibration.masks)} privacy mask(s)"
    )
    if any(line.line_id == PLACEHOLDER_ID for line in calibration.lines):
        return _warn("calibration", f"{summary}: still the installer's placeholder", _FIX_CALIBRATION)
    return _ok("calibration", summary)


# --- disk, outbox ---------------------------------------------------------------------------------


def check_disk(directory: Path, probes: Probes) -> Check:
    """Free space on the file system that holds the outbox."""
    free = probes.disk_free_bytes(directory)
    if free is None:
        return _warn("disk", f"cannot read the free space of {directory}")
    detail = f"{free / 1e9:.2f} GB free for {directory}"
    if free < DISK_FAIL_BYTES:
        return _fail("disk", detail, _FIX_DISK)
    if free < DISK_WARN_BYTES:
        return _warn("disk", detail, _FIX_DISK)
    return _ok("disk", detail)


def check_outbox(path: Path, settings: Settings) -> Check:
    """The outbox opens (as the service opens it) and its backlog is moving; never creates one."""
    if not path.exists():
        probe = path.parent
        while not probe.exists() and probe != probe.parent:
            probe = probe.parent
        if probe.is_dir() and os.access(probe, os.W_OK):
            return _ok("outbox", f"{path} does not exist yet; the service creates it")
        return _fail("outbox", f"{path} cannot be created: {probe} is not writable", "check outbox.path")
    try:
        with SqliteOutbox(path, device_id=settings.mqtt.device_id or "footfall") as outbox:
            stats = outbox.stats()
    except FootfallError as exc:
        return _fail("outbox", str(exc), "check the SD card and outbox.path")
    age_s = stats.oldest_undelivered_age_s
    detail = f"{path}: {stats.backlog_rows} undelivered"
    if age_s is not None:
        detail += f", oldest {age_s / 60:.0f} min"
    if settings.mqtt.enabled and age_s is not None and age_s > BACKLOG_WARN_AGE_S:
        return _warn("outbox", detail, "delivery is stuck: see the broker checks")
    if stats.dropped_undelivered:
        detail += f"; {stats.dropped_undelivered} dropped when it was full"
        return _warn("outbox", detail, "the broker was away for longer than outbox.max_rows intervals")
    return _ok("outbox", detail)


# --- clock ------------------------------------------------------------------------------------------


def check_clock(probes: Probes) -> Check:
    """NTP synchronisation: `timedatectl` if it answers, else systemd-timesyncd's flag file."""
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    answer = probes.run_command(["timedatectl", "show", "--property=NTPSynchronized", "--value"])
    if answer == "yes" or (answer is None and probes.timesync_flag.exists()):
        return _ok("clock", f"synchronised; now {now}")
    if answer == "no":
        return _fail("clock", f"not synchronised; now {now}", _FIX_CLOCK)
    return _warn("clock", f"cannot tell whether the clock is synchronised; now {now}", _FIX_CLOCK)


# --- broker ------------------------------------------------------------------------------------------


def check_broker(settings: Settings, probes: Probes) -> list[Check]:
    """TCP reachability of the broker, then a login with the configured TLS and credentials."""
    mqtt = settings.mqtt
    if not mqtt.enabled:
        return [_ok("broker", "MQTT delivery is off: counts stay in the outbox")]
    where = f"{mqtt.host}:{mqtt.port}"
    started_s = time.monotonic()
    try:
        socket.create_connection((mqtt.host, mqtt.port), timeout=probes.network_timeout_s).close()
    except OSError as exc:
        reason = "unknown host" if isinstance(exc, socket.gaierror) else exc.strerror or type(exc).__name__
        return [
            _fail("broker", f"{where} unreachable: {reason}", _FIX_NETWORK),
            _warn("broker login", "not tried: the broker is unreachable"),
        ]
    reached = _ok("broker", f"{where} reachable ({(time.monotonic() - started_s) * 1000:.0f} ms)")
    return [reached, _check_login(settings, probes.network_timeout_s)]


def _check_login(settings: Settings, timeout_s: float) -> Check:
    mqtt = settings.mqtt
    password = settings.mqtt_password.get_secret_value() if settings.mqtt_password else None
    who = mqtt.username or "anonymous"
    if password is not None and mqtt.username is None:
        return _fail("broker login", "a password is set but no username", _FIX_LOGIN)
    try:
        if mqtt.tls:
            _tls_handshake(settings, timeout_s)  # paho leaks its socket when the handshake fails
        reason = _mqtt_connack(settings, password, timeout_s)
    except ssl.SSLError as exc:
        return _fail("broker login", f"TLS failed: {exc.reason or exc}", _FIX_TLS)
    except (OSError, ValueError) as exc:
        return _fail("broker login", f"cannot connect: {exc}", "check the mqtt settings")
    if reason is None:
        return _fail("broker login", f"no answer to CONNECT within {timeout_s:g} s", _FIX_NO_CONNACK)
    if not reason.is_failure:
        return _ok("broker login", f"accepted as {who} (MQTT {mqtt.protocol})")
    refused = reason.value in _REFUSED_LOGIN
    return _fail("broker login", f"refused for {who}: {reason}", _FIX_LOGIN if refused else _FIX_NETWORK)


def _tls_handshake(settings: Settings, timeout_s: float) -> None:
    """A TLS handshake as paho makes it (server certificate and host name verified); raises SSLError."""
    mqtt = settings.mqtt
    context = ssl.create_default_context(cafile=None if mqtt.ca_file is None else str(mqtt.ca_file))
    if mqtt.client_cert_file is not None:
        key_file = None if mqtt.client_key_file is None else str(mqtt.client_key_file)
        context.load_cert_chain(str(mqtt.client_cert_file), key_file)
    with (
        socket.create_connection((mqtt.host, mqtt.port), timeout=timeout_s) as raw,
        context.wrap_socket(raw, server_hostname=mqtt.host),
    ):
        pass


def _mqtt_connack(settings: Settings, password: str | None, timeout_s: float) -> ReasonCode | None:
    """Connect once; the CONNACK reason, or None if none came in time."""
    mqtt = settings.mqtt
    client = paho.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=f"footfall-doctor-{secrets.token_hex(3)}",
        protocol=paho.MQTTv5 if mqtt.protocol == "5" else paho.MQTTv311,
    )
    client.connect_timeout = timeout_s
    if mqtt.username is not None:
        client.username_pw_set(mqtt.username, password)
    if mqtt.tls:
        client.tls_set(
            ca_certs=None if mqtt.ca_file is None else str(mqtt.ca_file),
            certfile=None if mqtt.client_cert_file is None else str(mqtt.client_cert_file),
            keyfile=None if mqtt.client_key_file is None else str(mqtt.client_key_file),
            cert_reqs=ssl.CERT_REQUIRED,
            tls_version=ssl.PROTOCOL_TLS_CLIENT,
        )
    answers: list[ReasonCode] = []
    client.on_connect = lambda _client, _userdata, _flags, reason, _properties: answers.append(reason)
    deadline_s = time.monotonic() + timeout_s
    try:
        client.connect(mqtt.host, mqtt.port, keepalive=max(5, round(timeout_s) * 2))
        while not answers and time.monotonic() < deadline_s:
            if client.loop(timeout=0.05) != paho.MQTT_ERR_SUCCESS:
                break  # the broker closed the connection (after a refusing CONNACK, if any)
        if answers and not answers[0].is_failure:
            client.disconnect()
            client.loop(timeout=0.05)
    finally:
        sock = client.socket()
        if sock is not None:
            sock.close()
    return answers[0] if answers else None


# --- Pi health -----------------------------------------------------------------------------------------


def check_temperature(probes: Probes) -> Check:
    """SoC temperature against the Pi firmware's throttling limits."""
    readings = read_system(Path("/"), thermal_zone=probes.thermal_zone, throttled=probes.throttled)
    if readings.temperature_c is None:
        return _ok("temperature", "not exposed by this machine")
    detail = f"{readings.temperature_c:.1f} °C"
    if readings.temperature_c >= TEMPERATURE_FAIL_C:
        return _fail("temperature", f"{detail}: the CPU is capped", _FIX_HEAT)
    if readings.temperature_c >= TEMPERATURE_WARN_C:
        return _warn("temperature", f"{detail}: the CPU is throttled", _FIX_HEAT)
    return _ok("temperature", detail)


def check_power(probes: Probes) -> Check:
    """Under-voltage and throttling flags of the Pi firmware, now and since boot."""
    try:
        raw = probes.throttled.read_text().strip()
        flags = int(raw, 16 if raw.startswith("0x") else 10)
    except (OSError, ValueError):
        return _ok("power", "no Raspberry Pi firmware flags on this machine")
    if flags & _UNDER_VOLTAGE_NOW:
        return _fail("power", f"under-voltage now (flags {flags:#x})", _FIX_SUPPLY)
    if flags & _UNDER_VOLTAGE_SINCE_BOOT:
        return _warn("power", f"under-voltage since boot (flags {flags:#x})", _FIX_SUPPLY)
    if flags & (_THROTTLED_NOW | _THROTTLED_SINCE_BOOT):
        when = "now" if flags & _THROTTLED_NOW else "since boot"
        return _warn("power", f"CPU throttled {when} (flags {flags:#x})", _FIX_HEAT)
    return _ok("power", f"no under-voltage or throttling since boot (flags {flags:#x})")
