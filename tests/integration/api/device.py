"""An in-memory `Device` for API tests: the port the service implements, with real calibration logic."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np

from edge.calibration import Calibration, load_calibration
from edge.deliver import SqliteOutbox
from edge.live_view import LiveViewRecorder
from edge.records import (
    CountEvents,
    Crossing,
    DeviceStatus,
    Direction,
    IntervalCount,
    IntervalQuality,
    LineId,
    LineInterval,
    LiveView,
    ValidationProgress,
    ValidationRecord,
)
from edge.validation import DeviceFacts, ValidationSession, ValidationStore

PROJECT_ROOT = Path(__file__).resolve().parents[3]

STATUS = DeviceStatus(
    software_version="0.1.0",
    site_id="main-street",
    device_id="cam-7",
    uptime_s=3600.0,
    camera_state="ok",
    camera_detail="",
    last_frame_age_s=0.1,
    fps=9.8,
    detector_ms=42.0,
    detected_share=0.4,
    model_name="yolox_nano.onnx",
    model_sha256="695e750a5d5754bb5a8d5325643b59282191a7e7a564e435a415fd3c578eab14",
    model_licence="Apache-2.0",
    broker_state="connected",
    broker_detail="",
    outbox_backlog=0,
    outbox_oldest_s=None,
    outbox_dropped=0,
    outbox_write_errors=0,
    last_coverage=0.99,
    temperature_c=55.0,
    throttled=False,
    disk_free_bytes=20_000_000_000,
    snapshots_enabled=True,
    privacy_masks=0,
    suppress_below=0,
)


class MemoryDevice:
    """Holds a calibration, a status and some intervals; records what the API applied."""

    def __init__(
        self, validation_store: Path, status: DeviceStatus = STATUS, outbox: SqliteOutbox | None = None
    ) -> None:
        self._lock = threading.Lock()
        self.outbox = outbox
        self.live = LiveViewRecorder()
        # The real session and store: only the crossings are simulated (`cross`).
        self.validation = ValidationSession(
            DeviceFacts(
                site_id=status.site_id,
                device_id=status.device_id,
                software_version=status.software_version,
                model_name=status.model_name,
                model_sha256=status.model_sha256,
                tolerance=0.1,
                min_people=10,
            )
        )
        self.validations = ValidationStore(validation_store)
        self.state = status
        self.calibration = load_calibration(PROJECT_ROOT / "calibration" / "examples" / "pets09-s2l1.json")
        self.applied: list[Calibration] = []
        start = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
        self.intervals = [
            IntervalCount(
                start + timedelta(minutes=n),
                start + timedelta(minutes=n + 1),
                (LineInterval(LineId("vertical"), n % 4, n % 3), LineInterval(LineId("horizontal"), 1, 0)),
                (),
                IntervalQuality(60.0, 1.0 if n % 5 else 0.5, 600, 10.0, 0, False),
            )
            for n in range(30)
        ]
        image = cv2.imread(
            str(PROJECT_ROOT.parent / "shared" / "data" / "PETS09-S2L1-300" / "img1" / "000001.jpg")
        )
        ok, encoded = cv2.imencode(".jpg", np.asarray(image))
        assert ok
        self.jpeg = bytes(encoded.tobytes())

    def status(self) -> DeviceStatus:
        with self._lock:
            return self.state

    def set_status(self, **changes: object) -> None:
        with self._lock:
            self.state = replace(self.state, **changes)  # type: ignore[arg-type]

    def recent_counts(self, limit: int) -> list[IntervalCount]:
        return self.intervals[-limit:]

    def interval_history(self, since: datetime, limit: int) -> tuple[IntervalCount, ...]:
        """From a real outbox file when one was given (it survives a "restart"), else none."""
        return () if self.outbox is None else self.outbox.history(since, limit)

    def live_view(self) -> LiveView:
        """What `self.live` (the service's real recorder) was fed by the test."""
        return self.live.view()

    def live_counts(self) -> dict[str, tuple[int, int]]:
        with self._lock:
            return {line.line_id: (3, 1) for line in self.calibration.lines}

    def current_calibration(self) -> Calibration:
        with self._lock:
            return self.calibration

    def apply_calibration(self, calibration: Calibration) -> None:
        with self._lock:
            self.calibration = calibration
            self.applied.append(calibration)

    def snapshot_jpeg(self) -> bytes | None:
        return self.jpeg

    def cross(self, line_id: str, direction: str, people: int = 1) -> None:
        """Pretend the counter saw `people` cross `line_id` in `direction` ("in" or "out")."""
        crossing = Crossing(LineId(line_id), Direction(direction), 0.0, 0)
        self.validation.add(CountEvents(0, 0.0, (crossing,) * people, (), ()))

    def start_validation(self, line_id: str, operator: str) -> ValidationProgress:
        calibration = self.current_calibration()
        return self.validation.start(
            line_id,
            operator,
            lines=tuple(line.line_id for line in calibration.lines),
            calibration_version=calibration.version,
            now=datetime.now(UTC),
        )

    def validation_progress(self) -> ValidationProgress | None:
        return self.validation.progress(datetime.now(UTC))

    def update_validation(self, reference_in: int, reference_out: int) -> ValidationProgress:
        return self.validation.set_reference(reference_in, reference_out, now=datetime.now(UTC))

    def finish_validation(self, reference_in: int, reference_out: int) -> ValidationRecord:
        record = self.validation.finish(reference_in, reference_out, now=datetime.now(UTC))
        self.validations.add(record)
        return record

    def cancel_validation(self) -> bool:
        return self.validation.cancel("cancelled by the technician")

    def recent_validations(self, limit: int) -> list[ValidationRecord]:
        return self.validations.recent(limit)
