"""Run the service as a process: signals, the API server thread, and the demo's defaults.

SIGTERM (systemd stop) and SIGINT (Ctrl-C) set one stop event; the service then closes the partial
interval into the outbox, publishes `stopped`, flushes and returns, and the process exits 0.
"""

from __future__ import annotations

import logging
import math
import secrets
import shutil
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from pydantic import SecretStr

from edge.api import ApiServer, create_app
from edge.assets import default_cache_dir, fetch, find_asset
from edge.calibration_store import CalibrationStore
from edge.config import Settings
from edge.deliver import default_outbox_path
from edge.errors import ConfigError, SourceError
from edge.pipeline import build_detector, model_path
from edge.preflight import require_startable
from edge.service import Service
from edge.service_build import camera_frame_size, open_camera
from edge.sources import FrameSource

logger = logging.getLogger(__name__)

# File of the API's session keys, in the state directory (mode 0600).
SESSION_FILE = "api-session.json"
# Calibration of the demo clip, shipped in the checkout.
DEMO_CALIBRATION = Path(__file__).resolve().parents[1] / "calibration" / "examples" / "demo.json"


def run_service(settings: Settings, *, duration_s: float | None = None) -> None:
    """Build the service, serve the API, count until a signal (or `duration_s`), stop cleanly."""
    require_startable(settings)  # the checks of `footfall check-config`: one clear error, nothing started
    store = CalibrationStore(settings.calibration)
    model_file = model_path(settings)
    detector = build_detector(settings, model_file, frame_size=camera_frame_size(settings))
    view = detector_view(detector.input_size, settings.detector.crop)

    def reopen() -> FrameSource:
        return open_camera(settings, detector_input=view)

    camera: FrameSource | None
    try:
        camera = reopen()
    except SourceError as exc:
        # A camera missing at start must not stop the device: it reports `failed`, publishes
        # coverage-0 intervals and keeps trying (README D-025).
        logger.error("camera not available at start (%s); counting starts when it is", exc)
        camera = None
    service = Service(
        settings,
        source=camera,
        model_file=model_file,
        calibration=store,
        detector=detector,
        reopen_source=reopen,
    )
    stop = threading.Event()
    _stop_on_signals(stop)
    if duration_s is not None:
        timer = threading.Timer(duration_s, stop.set)
        timer.daemon = True
        timer.start()
    api = start_api(settings, service) if settings.api.enabled else None
    try:
        service.run(stop)
    finally:
        if api is not None:
            api.stop()
    logger.info("stopped")


def detector_view(
    input_size: tuple[int, int], crop: tuple[float, float, float, float] | None
) -> tuple[int, int]:
    """Frame size (width, height) the detector can use without losing detail: its input, or
    more when it looks at a crop (the crop must then hold the input's pixels)."""
    width, height = input_size
    if crop is None:
        return width, height
    left, top, right, bottom = crop
    return math.ceil(width / (right - left)), math.ceil(height / (bottom - top))


def start_api(settings: Settings, service: Service) -> ApiServer:
    """Serve the status API and pages in a thread; the password is required."""
    if settings.api_password is None or not settings.api_password.get_secret_value():
        raise ConfigError(
            "the status API needs a password: set FOOTFALL_API_PASSWORD or the systemd credential "
            "of that name (or FOOTFALL_API__ENABLED=false)"
        )
    tls = settings.api
    app = create_app(
        service,
        password=settings.api_password,
        secure_cookies=tls.tls_cert_file is not None,
        # Beside the outbox in the state directory, so a restart logs nobody out (README D-040).
        session_file=(settings.outbox.path or default_outbox_path()).parent / SESSION_FILE,
        allowed_hosts=tls.allowed_hosts,
    )
    server = ApiServer(
        app,
        host=tls.host,
        port=tls.port,
        tls_cert_file=str(tls.tls_cert_file) if tls.tls_cert_file else None,
        tls_key_file=str(tls.tls_key_file) if tls.tls_key_file else None,
        trusted_proxies=tls.trusted_proxies,
    )
    server.start()
    return server


def demo_settings(settings: Settings) -> Settings:
    """The service on the public demo clip, played as a camera; outbox and calibration in a state dir."""
    cache_dir = settings.cache_dir or default_cache_dir()
    model = fetch(find_asset(settings.detector.model), cache_dir=cache_dir, mirror=settings.mirror)
    clip = fetch(find_asset("demo-clip"), cache_dir=cache_dir, mirror=settings.mirror)
    state = cache_dir / "demo"
    state.mkdir(parents=True, exist_ok=True)
    calibration = state / "calibration.json"
    if not calibration.exists():
        shutil.copyfile(DEMO_CALIBRATION, calibration)
    password = settings.api_password
    if password is None:
        password = SecretStr(secrets.token_urlsafe(12))
        # The one place a secret is shown: it was just made up for this demo run.
        address = f"http://{settings.api.host}:{settings.api.port}/"
        print(f"demo: pages at {address} password {password.get_secret_value()}", file=sys.stderr)
    return settings.model_copy(
        update={
            "source": settings.source.model_copy(update={"uri": str(clip)}),
            "calibration": calibration,
            "outbox": settings.outbox.model_copy(
                update={"path": settings.outbox.path or state / "outbox.sqlite3"}
            ),
            "detector": settings.detector.model_copy(update={"model": str(model)}),
            "api_password": password,
        }
    )


def _stop_on_signals(stop: threading.Event) -> None:
    def handle(signum: int, frame: FrameType | None) -> None:
        del frame
        logger.info("signal %s: stopping", signal.Signals(signum).name)
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, handle)
        signal.signal(signal.SIGINT, handle)
