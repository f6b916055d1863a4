"""The one port the API needs from the service: read status and counts, change calibration."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol

from edge.calibration import Calibration
from edge.records import DeviceStatus, IntervalCount, LiveView, ValidationProgress, ValidationRecord


class Device(Protocol):
    """What the running service exposes to the API; every method is thread-safe and quick."""

    def status(self) -> DeviceStatus:
        """The device's state now."""
        ...

    def recent_counts(self, limit: int) -> Sequence[IntervalCount]:
        """The last closed intervals, oldest first, at most `limit`."""
        ...

    def interval_history(self, since: datetime, limit: int) -> Sequence[IntervalCount]:
        """Closed intervals stored since `since` (from the outbox: they survive restarts), oldest first.

        At most the newest `limit`; delivered or not.
        """
        ...

    def live_view(self) -> LiveView:
        """People in view now (boxes, short trails), zone occupancy and the last crossings.

        For the calibration page's live view only: never stored or published; no people while
        snapshots are off.
        """
        ...

    def live_counts(self) -> Mapping[str, tuple[int, int]]:
        """(in, out) per line since the current calibration was applied: for technicians on site."""
        ...

    def current_calibration(self) -> Calibration:
        """The calibration in force."""
        ...

    def apply_calibration(self, calibration: Calibration) -> None:
        """Count with `calibration` from the next frame on; the previous one is kept on disk.

        Raises:
            edge.errors.ConfigError: it could not be saved; the old one stays in force.
        """
        ...

    def snapshot_jpeg(self) -> bytes | None:
        """The newest frame, every person pixelated and masks blacked out, as JPEG; None if none yet."""
        ...

    def start_validation(self, line_id: str, operator: str) -> ValidationProgress:
        """Start an on-site validation of `line_id` now.

        Raises:
            edge.errors.ValidationError: one is running already, or the line is unknown.
        """
        ...

    def validation_progress(self) -> ValidationProgress | None:
        """The running validation, if any."""
        ...

    def update_validation(self, reference_in: int, reference_out: int) -> ValidationProgress:
        """Record the technician's hand count so far (totals).

        Raises:
            edge.errors.ValidationError: none is running, or a count is out of range.
        """
        ...

    def finish_validation(self, reference_in: int, reference_out: int) -> ValidationRecord:
        """End the running validation with the final hand count; stored and queued for MQTT.

        Raises:
            edge.errors.ValidationError: none is running, a count is out of range, or it could not be stored.
        """
        ...

    def cancel_validation(self) -> bool:
        """Drop the running validation without a record; False when none was running."""
        ...

    def recent_validations(self, limit: int) -> Sequence[ValidationRecord]:
        """Stored validations, newest first, at most `limit`."""
        ...
