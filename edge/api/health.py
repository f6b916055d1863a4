"""Green, amber or red, with the reasons: the operator's verdict on a device, from its status.

Thresholds are deliberately simple and documented here; the README's technician guide explains the
colours. Red means counts are being lost or are wrong; amber means counts are degraded or at risk.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from edge.records import DeviceStatus

# No frame for this long means the camera is not delivering (seconds).
STALE_FRAME_S = 10.0
# Below this frame rate walking people can be missed between frames.
LOW_FPS = 3.0
# An interval observed less than this is degraded.
LOW_COVERAGE = 0.8
# Undelivered counts older than this mean the city's data is late (seconds).
LATE_BACKLOG_S = 600.0
# The Pi throttles at 80-85 °C; warn before.
HOT_C = 75.0
# Free disk below which the outbox may fill (amber) or fail (red), bytes.
LOW_DISK_BYTES = 1_000_000_000
FULL_DISK_BYTES = 100_000_000


class Level(StrEnum):
    GREEN = "green"
    AMBER = "amber"
    RED = "red"


@dataclass(frozen=True, slots=True)
class Verdict:
    level: Level
    reasons: tuple[str, ...]


def assess(status: DeviceStatus) -> Verdict:
    """The worst level any rule gives, with every reason that is not green."""
    red = _red_reasons(status)
    amber = _amber_reasons(status)
    level = Level.RED if red else Level.AMBER if amber else Level.GREEN
    return Verdict(level, tuple(red + amber))


def _red_reasons(status: DeviceStatus) -> list[str]:
    reasons = []
    if status.camera_state == "failed":
        reasons.append(f"camera failed: {status.camera_detail}")
    elif status.last_frame_age_s is not None and status.last_frame_age_s > STALE_FRAME_S:
        reasons.append(f"no frame for {status.last_frame_age_s:.0f} s")
    if status.broker_state in ("not authorised", "refused"):
        reasons.append(f"broker {status.broker_state}: {status.broker_detail}".rstrip(": "))
    if status.outbox_write_errors:
        reasons.append(f"{status.outbox_write_errors} intervals could not be stored")
    if status.outbox_dropped:
        reasons.append(f"{status.outbox_dropped} undelivered intervals dropped (outbox full)")
    if status.disk_free_bytes is not None and status.disk_free_bytes < FULL_DISK_BYTES:
        reasons.append(f"disk almost full: {status.disk_free_bytes / 1e6:.0f} MB free")
    return reasons


def _amber_reasons(status: DeviceStatus) -> list[str]:
    reasons = []
    if status.camera_state in ("starting", "stalled") and status.camera_state != "failed":
        reasons.append(f"camera {status.camera_state}")
    if status.fps is not None and status.fps < LOW_FPS:
        reasons.append(f"low frame rate: {status.fps:.1f} frames/s")
    if status.last_coverage is not None and status.last_coverage < LOW_COVERAGE:
        reasons.append(f"last interval observed {status.last_coverage:.0%}")
    if status.broker_state in ("disconnected", "unreachable", "connecting"):
        reasons.append(f"broker {status.broker_state}")
    if status.outbox_oldest_s is not None and status.outbox_oldest_s > LATE_BACKLOG_S:
        reasons.append(f"counts waiting for {status.outbox_oldest_s / 60:.0f} min")
    if status.temperature_c is not None and status.temperature_c > HOT_C:
        reasons.append(f"hot: {status.temperature_c:.0f} °C")
    if status.throttled:
        reasons.append("CPU throttled or under-voltage")
    if status.disk_free_bytes is not None and FULL_DISK_BYTES <= status.disk_free_bytes < LOW_DISK_BYTES:
        reasons.append(f"low disk: {status.disk_free_bytes / 1e9:.1f} GB free")
    return reasons
