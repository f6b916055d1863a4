"""/metrics: the device status in the Prometheus text format, rendered at scrape time."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily
from prometheus_client.registry import Collector

from edge.api.health import Level, assess
from edge.records import DeviceStatus


class _StatusCollector(Collector):
    def __init__(self, status: Callable[[], DeviceStatus]) -> None:
        self._status = status

    def collect(self) -> Iterator[GaugeMetricFamily | InfoMetricFamily]:
        status = self._status()
        yield InfoMetricFamily(
            "footfall_build",
            "Software and model of the device.",
            value={
                "version": status.software_version,
                "model": status.model_name,
                "model_sha256": status.model_sha256,
                "site": status.site_id,
                "device": status.device_id,
            },
        )
        gauges: dict[str, tuple[str, float | None]] = {
            "footfall_uptime_seconds": ("Seconds since the service started.", status.uptime_s),
            "footfall_fps": ("Frames counted per second.", status.fps),
            "footfall_detector_latency_ms": ("Inference time per frame.", status.detector_ms),
            "footfall_detected_share": ("Share of frames the detector ran on.", status.detected_share),
            "footfall_last_frame_age_seconds": ("Seconds since the last frame.", status.last_frame_age_s),
            "footfall_interval_coverage": ("Coverage of the last closed interval.", status.last_coverage),
            "footfall_outbox_backlog_rows": (
                "Intervals not yet acknowledged.",
                _number(status.outbox_backlog),
            ),
            "footfall_outbox_oldest_seconds": (
                "Age of the oldest undelivered interval.",
                status.outbox_oldest_s,
            ),
            "footfall_outbox_dropped_rows": (
                "Undelivered intervals dropped.",
                _number(status.outbox_dropped),
            ),
            "footfall_outbox_write_errors": (
                "Intervals that could not be stored.",
                _number(status.outbox_write_errors),
            ),
            "footfall_cpu_temperature_celsius": ("CPU temperature.", status.temperature_c),
            "footfall_disk_free_bytes": ("Free disk for the outbox.", _number(status.disk_free_bytes)),
            "footfall_camera_ok": ("1 while the camera delivers frames.", float(status.camera_state == "ok")),
            "footfall_broker_connected": (
                "1 while connected to the broker.",
                float(status.broker_state == "connected"),
            ),
        }
        for name, (help_text, value) in gauges.items():
            if value is not None:
                yield GaugeMetricFamily(name, help_text, value=value)
        level = assess(status).level
        health = GaugeMetricFamily("footfall_health", "1 for the current health level.", labels=["level"])
        for candidate in Level:
            health.add_metric([candidate.value], float(candidate is level))
        yield health


def _number(value: int | None) -> float | None:
    return None if value is None else float(value)


def render_metrics(status: Callable[[], DeviceStatus]) -> bytes:
    """One scrape: a registry holding only the status collector."""
    registry = CollectorRegistry()
    registry.register(_StatusCollector(status))
    return generate_latest(registry)
