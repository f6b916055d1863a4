"""Green, amber or red, with the reasons: the operator's verdict on a device, from its status.

Thresholds are deliberately simple and documented here; the README's technician guide explains the
colours. Red means counts are being lost or are wrong; amber means counts are degraded or at risk.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from edge.records import DeviceStatus, ValidationRecord

# No frame for this long means the camera is not delivering (seconds).
STALE_FRAME_S = 10.0
# Below this frame rate walking people can be missed between frames.
LOW_FPS = 3.0
# An interval observed less than this is degraded.
LOW_COVERAGE = 0.8
# Undelivered counts older than this mean the city's data is late (seconds): an hour, as the
# README's status table and footfall-doctor say; shorter broker outages are what the outbox is for.
LATE_BACKLOG_S = 3600.0
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
class Reason:
    """One thing not green: a `code` the pages translate with `values`, and its English `text`."""

    code: str
    text: str
    values: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Verdict:
    level: Level
    causes: tuple[Reason, ...]

    @property
    def reasons(self) -> tuple[str, ...]:
        """The causes in English, for logs, metrics and API clients that do not translate."""
        return tuple(cause.text for cause in self.causes)


def _reason(code: str, template: str, **values: str) -> Reason:
    return Reason(code, template.format(**values), tuple(values.items()))


def assess(
    status: DeviceStatus,
    validations: Sequence[ValidationRecord] = (),
    calibration_version: str | None = None,
) -> Verdict:
    """The worst level any rule gives, with every reason that is not green.

    Args:
        status: the device's state now.
        validations: stored validations, newest first; the newest of each line checked with the
            calibration in force (`calibration_version`) counts: a failed one is red, since the
            counts of that line are known to be wrong. After a new calibration it no longer counts.
        calibration_version: the version of the calibration in force.
    """
    red = _red_reasons(status) + _validation_reasons(validations, calibration_version)
    amber = _amber_reasons(status)
    level = Level.RED if red else Level.AMBER if amber else Level.GREEN
    return Verdict(level, tuple(red + amber))


def _red_reasons(status: DeviceStatus) -> list[Reason]:
    reasons = []
    if status.camera_state == "failed":
        reasons.append(_reason("camera_failed", "camera failed: {detail}", detail=status.camera_detail))
    elif status.last_frame_age_s is not None and status.last_frame_age_s > STALE_FRAME_S:
        seconds = f"{status.last_frame_age_s:.0f}"
        reasons.append(_reason("no_frame", "no frame for {seconds} s", seconds=seconds))
    if status.broker_state in ("not authorised", "refused"):
        reasons.append(
            Reason(
                "broker_refused",
                f"broker {status.broker_state}: {status.broker_detail}".rstrip(": "),
                (("state", status.broker_state), ("detail", status.broker_detail)),
            )
        )
    if status.outbox_dropped:
        text = "{n} undelivered intervals dropped (outbox full)"
        reasons.append(_reason("dropped", text, n=str(status.outbox_dropped)))
    if status.disk_free_bytes is not None and status.disk_free_bytes < FULL_DISK_BYTES:
        text = "disk almost full: {mb} MB free"
        reasons.append(_reason("disk_full", text, mb=f"{status.disk_free_bytes / 1e6:.0f}"))
    return reasons


def _amber_reasons(status: DeviceStatus) -> list[Reason]:
    reasons = []
    if status.outbox_write_errors:
        # Persisted since D-046: a refused write was held in memory, so it is a warning, not a loss
        # (an interval really lost is counted in `outbox_dropped`, red).
        text = "{n} intervals the disk refused (held in memory until written)"
        reasons.append(_reason("write_errors", text, n=str(status.outbox_write_errors)))
    if status.camera_state in ("starting", "stalled"):
        reasons.append(_reason("camera_state", "camera {state}", state=status.camera_state))
    if status.fps is not None and status.fps < LOW_FPS:
        reasons.append(_reason("low_fps", "low frame rate: {fps} frames/s", fps=f"{status.fps:.1f}"))
    if status.last_coverage is not None and status.last_coverage < LOW_COVERAGE:
        text = "last interval observed {percent}%"
        reasons.append(_reason("low_coverage", text, percent=f"{status.last_coverage * 100:.0f}"))
    if status.broker_state in ("disconnected", "unreachable", "connecting"):
        reasons.append(_reason("broker_down", "broker {state}", state=status.broker_state))
    if status.outbox_oldest_s is not None and status.outbox_oldest_s > LATE_BACKLOG_S:
        text = "counts waiting for {minutes} min"
        reasons.append(_reason("backlog_late", text, minutes=f"{status.outbox_oldest_s / 60:.0f}"))
    if status.temperature_c is not None and status.temperature_c > HOT_C:
        reasons.append(_reason("hot", "hot: {celsius} °C", celsius=f"{status.temperature_c:.0f}"))
    if status.throttled:
        reasons.append(_reason("throttled", "CPU throttled or under-voltage"))
    if status.disk_free_bytes is not None and FULL_DISK_BYTES <= status.disk_free_bytes < LOW_DISK_BYTES:
        text = "low disk: {gb} GB free"
        reasons.append(_reason("disk_low", text, gb=f"{status.disk_free_bytes / 1e9:.1f}"))
    return reasons


def _validation_reasons(
    validations: Sequence[ValidationRecord], calibration_version: str | None
) -> list[Reason]:
    reasons = []
    judged: set[str] = set()
    for record in validations:
        if record.calibration_version != calibration_version or record.line_id in judged:
            continue
        judged.add(record.line_id)
        if record.verdict == "fail" and record.accuracy is not None:
            text = "last validation of line {line} failed: {accuracy} % accurate"
            reasons.append(
                _reason(
                    "validation_failed", text, line=record.line_id, accuracy=f"{record.accuracy * 100:.1f}"
                )
            )
    return reasons
