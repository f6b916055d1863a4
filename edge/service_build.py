"""Builds the service's parts from settings: the camera, delivery (MQTT or outbox only), identities.

Kept apart from `edge.service` so the service module holds only the running logic.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from edge.assets import load_manifest
from edge.config import Settings
from edge.deliver import (
    Delivery,
    MqttOptions,
    MqttProtocol,
    MqttPublisher,
    OutboxStats,
    PayloadFormat,
    PayloadRenderer,
    PipelineHealth,
    SqliteOutbox,
    TlsFiles,
    Topics,
)
from edge.deliver.evidence import EvidenceStore
from edge.errors import FootfallError
from edge.records import Direction, IntervalCount
from edge.sources import (
    FrameSource,
    PacedLoopSource,
    PicameraSource,
    UsbCameraSource,
    VideoFileSource,
    open_source,
    redact_url,
)
from edge.sources.sizing import first_frame_size, lores_size_for

logger = logging.getLogger(__name__)


class LocalOutbox:
    """Delivery when no broker is configured: intervals are committed to the outbox only."""

    def __init__(self, outbox: SqliteOutbox) -> None:
        self._outbox = outbox

    def start(self) -> None:
        logger.info("MQTT is off: counts are kept in the outbox %s", self._outbox.path)

    def submit(self, interval: IntervalCount) -> int | None:
        try:
            return self._outbox.enqueue(interval)
        except FootfallError:
            logger.exception("interval %s not stored", interval.start.isoformat())
            return None

    def stop(self, timeout_s: float = 0.0) -> None:
        del timeout_s  # nothing in flight

    def outbox_stats(self) -> OutboxStats | None:
        try:
            return self._outbox.stats()
        except FootfallError:
            return None


def mqtt_delivery(
    settings: Settings,
    outbox: SqliteOutbox,
    health: Callable[[], PipelineHealth],
    evidence: EvidenceStore | None = None,
) -> Delivery:
    """Outbox -> MQTT delivery as configured (not started); `evidence` validations on their own topic."""
    mqtt, payload = settings.mqtt, settings.payload
    renderer = PayloadRenderer(
        device_id(settings),
        mqtt.site_id,
        format=PayloadFormat(payload.format),
        suppress_below=payload.suppress_below,
        inbound=Direction(payload.ngsi_inbound),
        inbound_by_line={line: Direction(way) for line, way in payload.ngsi_inbound_by_line.items()},
        location=(payload.longitude, payload.latitude)
        if payload.longitude is not None and payload.latitude is not None
        else None,
    )
    options = MqttOptions(
        host=mqtt.host,
        port=mqtt.port,
        topics=Topics(mqtt.topic_prefix, mqtt.site_id, device_id(settings)),
        protocol=MqttProtocol(mqtt.protocol),
        client_id=mqtt.client_id,
        username=mqtt.username,
        keepalive_s=mqtt.keepalive_s,
        tls=TlsFiles(mqtt.ca_file, mqtt.client_cert_file, mqtt.client_key_file) if mqtt.tls else None,
        reconnect_min_delay_s=mqtt.reconnect_min_delay_s,
        reconnect_max_delay_s=mqtt.reconnect_max_delay_s,
        max_inflight=mqtt.inflight_window + 2,
        content_type=renderer.content_type,
    )
    password = settings.mqtt_password.get_secret_value() if settings.mqtt_password else None
    return Delivery(
        outbox,
        MqttPublisher(options, password=password),
        renderer,
        window=mqtt.inflight_window,
        health=health,
        evidence=evidence,
        health_interval_s=mqtt.health_interval_s,
        prune_interval_s=settings.outbox.prune_interval_s,
    )


def open_camera(settings: Settings, detector_input: tuple[int, int] | None = None) -> FrameSource:
    """The configured camera; a video file is played as one (real time, looped).

    Args:
        settings: the settings.
        detector_input: (width, height) the detector looks at; with `source.detector_stream` the
            Pi camera delivers its lores stream at the smallest size that fills it.
    """
    source = settings.source
    uri, fps = source.uri, source.fps
    if Path(uri).is_file():
        path = Path(uri)
        return PacedLoopSource(lambda: VideoFileSource(path, fps=fps))
    if uri == "picamera" or uri.startswith("picamera:"):
        number = int(uri.partition(":")[2] or 0)
        main = (source.width, source.height)
        lores = (
            lores_size_for(detector_input, source.width / source.height)
            if source.detector_stream and detector_input is not None
            else None
        )
        if lores is not None and (lores[0] > main[0] or lores[1] > main[1]):
            lores = None  # the main stream is already no larger than the detector needs
        return PicameraSource(
            size=main, lores_size=lores, fps=fps, camera_num=number, channel_order=source.channel_order
        )
    if uri.startswith("usb:"):
        return UsbCameraSource(int(uri[4:]), width=source.width, height=source.height, fps=fps)
    if uri.startswith("/dev/video"):
        return UsbCameraSource(uri, width=source.width, height=source.height, fps=fps)
    return open_source(uri, fps=fps)


def camera_frame_size(settings: Settings) -> tuple[int, int] | None:
    """(width, height) of the configured camera's picture, known before it is opened.

    The detector input is sized from it (input_size "auto", README D-016), and the Pi camera's
    lores stream then from the detector input (D-019). A video file is measured on its first
    frame; a Pi or USB camera is taken at `source.width` x `source.height` (a USB driver may pick
    a nearby mode: the letterbox pads any difference). A stream's size is known only once it
    connects: None, so the detector uses the model's own input.
    """
    source = settings.source
    uri = source.uri
    if Path(uri).is_file():
        with VideoFileSource(uri, fps=source.fps) as video:
            return first_frame_size(video)
    if uri == "picamera" or uri.startswith(("picamera:", "usb:", "/dev/video")):
        return source.width, source.height
    logger.info(
        "%s: frame size unknown before it connects; the detector uses the model's own input "
        "(set detector.input_size to the stream's shape)",
        redact_url(uri),
    )
    return None


def licence_of(model_file: Path) -> str:
    """The licence of a manifest model with this file name, else "unknown"."""
    try:
        assets = load_manifest()
    except FootfallError:
        return "unknown"
    return next((asset.licence for asset in assets if asset.file_name == model_file.name), "unknown")


def device_id(settings: Settings) -> str:
    return settings.mqtt.device_id or "footfall"
