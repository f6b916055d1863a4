"""What `footfall run` needs before it starts, checked by the same code for `run` and for
`footfall check-config`, so "settings valid" means the service will start (README D-044).

Each check returns the problems it found, each naming the setting to change: the calibration
(with how to point at one when the default file is missing), the model (digest, then loaded as
the service loads it: an empty, truncated or corrupt file fails here), the API (password, TLS
files, address and port free), the outbox (its folder writable) and a camera file. `run`
refuses to start on any problem except the camera's: a camera that is not there yet is the
service's to wait for.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from edge.api.server import check_listen, check_tls
from edge.calibration import load_calibration
from edge.config import Settings
from edge.deliver import default_outbox_path
from edge.doctor import CheckStatus, check_outbox
from edge.errors import ConfigError, FootfallError
from edge.pipeline import build_detector, model_path

# Sources that are not files: cameras and streams.
_DEVICE_PREFIXES = ("picamera", "usb:", "/dev/video")


@dataclass(frozen=True, slots=True)
class StartupProblem:
    """Something that stops (or, for the camera, may stop) the service from working.

    Attributes:
        setting: the setting to look at, e.g. "api.port".
        message: what is wrong and what to do, one line.
        blocks_run: `run` refuses to start on it.
    """

    setting: str
    message: str
    blocks_run: bool = True


def startup_problems(settings: Settings) -> list[StartupProblem]:
    """Every problem found, in the order a technician fixes them."""
    checks: list[Callable[[Settings], list[StartupProblem]]] = [
        _calibration_problems,
        _model_problems,
        _api_problems,
        _outbox_problems,
        _camera_problems,
    ]
    return [problem for check in checks for problem in check(settings)]


def require_startable(settings: Settings) -> None:
    """Raise ConfigError with the first problem that stops `run` (and how many more there are)."""
    blocking = [problem for problem in startup_problems(settings) if problem.blocks_run]
    if blocking:
        more = (
            f" (and {len(blocking) - 1} more: `footfall check-config` lists them)"
            if len(blocking) > 1
            else ""
        )
        raise ConfigError(blocking[0].message + more)


def _calibration_problems(settings: Settings) -> list[StartupProblem]:
    path = settings.calibration
    try:
        load_calibration(path)
    except FootfallError as exc:
        message = str(exc)
        if not path.exists():
            message += (
                f' (looked for {path.resolve()}): set `calibration = "/path/to/calibration.json"` in the '
                "config file or FOOTFALL_CALIBRATION=/path/to/calibration.json; calibration/examples/ has "
                "examples and calibration/README.md the format"
            )
        return [StartupProblem("calibration", message)]
    return []


def _model_problems(settings: Settings) -> list[StartupProblem]:
    try:
        build_detector(settings, model_path(settings))  # loaded as `run` loads it
    except FootfallError as exc:
        return [StartupProblem("detector.model", f"detector.model {settings.detector.model!r}: {exc}")]
    return []


def _api_problems(settings: Settings) -> list[StartupProblem]:
    api = settings.api
    if not api.enabled:
        return []
    problems = []
    if settings.api_password is None or not settings.api_password.get_secret_value():
        problems.append(
            StartupProblem(
                "api_password",
                "the status API needs a password: set FOOTFALL_API_PASSWORD or the systemd credential "
                "of that name (or FOOTFALL_API__ENABLED=false)",
            )
        )
    try:
        if api.tls_cert_file is not None:
            check_tls(api.tls_cert_file, api.tls_key_file)
    except FootfallError as exc:
        problems.append(StartupProblem("api.tls_cert_file", str(exc)))
    try:
        check_listen(api.host, api.port)
    except FootfallError as exc:
        problems.append(StartupProblem("api.port", str(exc)))
    if api.tls_key_file is not None and api.tls_cert_file is None:
        problems.append(
            StartupProblem("api.tls_cert_file", "api.tls_key_file is set but api.tls_cert_file is not")
        )
    return problems


def _outbox_problems(settings: Settings) -> list[StartupProblem]:
    path = settings.outbox.path or default_outbox_path()
    check = check_outbox(path, settings)
    if check.status is CheckStatus.FAIL:
        return [StartupProblem("outbox.path", f"outbox: {check.detail} ({check.fix})")]
    return []


def _camera_problems(settings: Settings) -> list[StartupProblem]:
    uri = settings.source.uri.strip()
    if uri.startswith(_DEVICE_PREFIXES) or "://" in uri or Path(uri).is_file():
        return []
    return [
        StartupProblem(
            "source.uri",
            f"source.uri {uri!r}: no such file (a camera is picamera, usb:N, /dev/videoN or an rtsp:// URL)",
            blocks_run=False,
        )
    ]
