"""Composition root of the device: camera -> detector -> tracker -> counter -> intervals -> outbox -> MQTT.

`Service` builds every stage from `Settings` (none is started by building) and runs them with few
threads: the capture thread (`LatestFrameReader`, keeps only the newest frame), the counting loop
(the caller's thread), the delivery drain thread and the API server thread. On stop (SIGTERM or
SIGINT, through the `stop` event) the partial interval is closed into the outbox, `stopped` is
published and the outbox flushed, within a bounded time.

Frames never leave this process: the newest one is kept in memory for an authenticated snapshot
request, which is anonymised before it is encoded.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from edge import __version__
from edge.aggregate import CountTotals, IntervalAggregator, frame_brightness
from edge.calibration import Calibration
from edge.calibration_store import CalibrationStore
from edge.config import Settings
from edge.count import SceneCounter
from edge.deliver import (
    Delivery,
    DeliveryStatus,
    OutboxStats,
    PipelineHealth,
    SqliteOutbox,
    default_outbox_path,
)
from edge.detect import StagedDetector
from edge.errors import FootfallError
from edge.live_view import LiveViewRecorder
from edge.notify import SystemdNotifier
from edge.pipeline import build_counter, build_detector, build_scheduler, build_tracker
from edge.privacy.masks import MaskPainter
from edge.privacy.snapshot import anonymise, encode_jpeg
from edge.records import (
    CountEvents,
    Detections,
    DeviceStatus,
    Frame,
    FrameQuality,
    IntervalCount,
    LiveView,
    ValidationProgress,
    ValidationRecord,
)
from edge.schedule import skipped_events
from edge.service_build import LocalOutbox, device_id, licence_of, mqtt_delivery
from edge.sources import (
    FrameSource,
    LatestFrameReader,
)
from edge.system import read_system
from edge.validation import (
    RUNNING_FILE,
    DeviceFacts,
    RunningKeeper,
    ValidationSession,
    ValidationStore,
    default_validation_path,
)

logger = logging.getLogger(__name__)

# How long the counting loop waits for a frame before it ticks the aggregator anyway, seconds.
FRAME_WAIT_S = 1.0
# Smoothing of the fps and latency figures (exponential moving average weight of a new frame).
EMA_WEIGHT = 0.1
# How many closed intervals the status API can show.
RECENT_INTERVALS = 240
# Seconds between saves of the open interval's partial totals: what a SIGKILL or power cut loses.
OPEN_INTERVAL_SAVE_S = 5.0


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class LiveFigures:
    """What the counting loop measures, read by the API and the health message (under `lock`)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    started_s: float = 0.0
    frames: int = 0
    last_frame_s: float | None = None
    fps: float | None = None
    detector_ms: float | None = None
    # Share of frames the detector ran on (smoothed): below 1 when the scheduler skips frames.
    detected_share: float | None = None
    camera_state: str = "starting"
    camera_error: str = ""
    last_coverage: float | None = None
    recent: list[IntervalCount] = field(default_factory=list)
    latest_frame: Frame | None = None
    latest_boxes: Detections | None = None
    live_totals: CountTotals | None = None


class Service:
    """The whole device in one object: build with settings, then `run(stop)`.

    Args:
        settings: validated settings.
        source: the camera (or a clip played as one); None if it could not be opened at start.
        reopen_source: opens the camera again after it failed (or when `source` is None), with
            backoff, for ever; None: a camera failure is final (clips and tests).
        model_file: verified detector model.
        calibration: the calibration file store; live changes are applied between frames.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        source: FrameSource | None,
        model_file: Path,
        calibration: CalibrationStore,
        clock: Callable[[], datetime] = utc_now,
        monotonic: Callable[[], float] = time.monotonic,
        notifier: SystemdNotifier | None = None,
        detector: StagedDetector | None = None,
        reopen_source: Callable[[], FrameSource] | None = None,
    ) -> None:
        self.settings = settings
        self._notifier = notifier or SystemdNotifier()
        self.calibration = calibration
        self.model_file = model_file
        self._clock = clock
        self._monotonic = monotonic
        self.figures = LiveFigures(started_s=monotonic())
        self.live = LiveViewRecorder()  # positions for the live view, in memory only (D-052)
        self._model_digest = hashlib.sha256(model_file.read_bytes()).hexdigest()
        self._model_licence = licence_of(model_file)
        self._reader = LatestFrameReader(source, reopen=reopen_source)
        self._detector = detector or build_detector(settings, model_file)
        self._tracker = build_tracker(settings)
        self._last_events: CountEvents | None = None
        self._pending_calibration: Calibration | None = None
        self._last_events_s = 0.0
        self._calibration_lock = threading.Lock()
        self._counter, self._aggregator = self._count_stages(calibration.current())
        self.outbox = SqliteOutbox(
            settings.outbox.path or default_outbox_path(),
            device_id=device_id(settings),
            max_rows=settings.outbox.max_rows,
            retention_s=settings.outbox.retention_s,
        )
        self._next_open_save_s = 0.0
        self.validations = ValidationStore(default_validation_path(self.outbox.path))
        self.validation = ValidationSession(
            DeviceFacts(
                site_id=settings.mqtt.site_id,
                device_id=device_id(settings),
                software_version=__version__,
                model_name=model_file.name,
                model_sha256=self._model_digest,
                tolerance=settings.validation.tolerance,
                min_people=settings.validation.min_people,
            )
        )
        # A running validation survives a restart (D-053): kept next to the stored ones.
        self._running_keeper = RunningKeeper(self.validations.path.parent / RUNNING_FILE)
        self._resume_validation()
        self.delivery: Delivery | LocalOutbox = (
            mqtt_delivery(settings, self.outbox, self.health, self.validations)
            if settings.mqtt.enabled
            else LocalOutbox(self.outbox)
        )
        calibration.subscribe(self._calibration_saved)

    # --- public, thread-safe views (the API's `Device` port) -----------------------------------

    def status(self) -> DeviceStatus:
        """The device's state now, for the status API, the pages and /metrics."""
        now_s = self._monotonic()
        with self.figures.lock:
            figures = self.figures
            last_frame_age_s = None if figures.last_frame_s is None else now_s - figures.last_frame_s
            camera = (figures.camera_state, figures.camera_error, figures.fps, figures.detector_ms)
            detected_share = figures.detected_share
            coverage = figures.last_coverage
        delivery = self.delivery_status()
        outbox = self.outbox_stats()
        system = read_system(self.outbox.path.parent)
        return DeviceStatus(
            software_version=__version__,
            site_id=self.settings.mqtt.site_id,
            device_id=device_id(self.settings),
            uptime_s=now_s - self.figures.started_s,
            camera_state=camera[0],
            camera_detail=camera[1],
            last_frame_age_s=last_frame_age_s,
            fps=camera[2],
            detector_ms=camera[3],
            detected_share=detected_share,
            model_name=self.model_file.name,
            model_sha256=self._model_digest,
            model_licence=self._model_licence,
            broker_state=str(delivery.connection.state) if delivery else "off",
            broker_detail=delivery.connection.detail if delivery else "",
            outbox_backlog=outbox.backlog_rows if outbox else None,
            outbox_oldest_s=outbox.oldest_undelivered_age_s if outbox else None,
            outbox_dropped=outbox.dropped_undelivered if outbox else None,
            outbox_write_errors=outbox.write_errors if outbox else None,
            last_coverage=coverage,
            temperature_c=system.temperature_c,
            throttled=system.throttled,
            disk_free_bytes=system.disk_free_bytes,
            snapshots_enabled=self.settings.api.snapshots,
            privacy_masks=len(self.calibration.current().masks),
            suppress_below=self.settings.payload.suppress_below,
        )

    def recent_counts(self, limit: int) -> list[IntervalCount]:
        with self.figures.lock:
            return list(self.figures.recent[-limit:])

    def live_view(self) -> LiveView:
        """People, occupancy and crossings now; no people while snapshots are off (no live view)."""
        view = self.live.view()
        return view if self.settings.api.snapshots else replace(view, people=())

    def interval_history(self, since: datetime, limit: int) -> tuple[IntervalCount, ...]:
        return self.outbox.history(since, limit)

    def live_counts(self) -> dict[str, tuple[int, int]]:
        with self.figures.lock:
            totals = self.figures.live_totals
            summary = totals.summary() if totals is not None else None
        if summary is None:
            return {}
        return {line.line_id: (line.in_count, line.out_count) for line in summary.lines}

    def current_calibration(self) -> Calibration:
        return self.calibration.current()

    def apply_calibration(self, calibration: Calibration) -> None:
        """Save and use `calibration` from the next frame (the previous file is kept in the history)."""
        self.calibration.apply(calibration)

    def start_validation(self, line_id: str, operator: str) -> ValidationProgress:
        """Start an on-site check of `line_id` now (see `edge.validation.ValidationSession.start`)."""
        calibration = self.calibration.current()
        progress = self.validation.start(
            line_id,
            operator,
            lines=tuple(line.line_id for line in calibration.lines),
            calibration_version=calibration.version,
            now=self._clock(),
        )
        self._keep_validation()
        return progress

    def validation_progress(self) -> ValidationProgress | None:
        return self.validation.progress(self._clock())

    def update_validation(self, reference_in: int, reference_out: int) -> ValidationProgress:
        progress = self.validation.set_reference(reference_in, reference_out, now=self._clock())
        self._keep_validation()
        return progress

    def finish_validation(self, reference_in: int, reference_out: int) -> ValidationRecord:
        """End the running check, store its record durably, and queue it for publication."""
        record = self.validation.finish(reference_in, reference_out, now=self._clock())
        self.validations.add(record)
        self._keep_validation()
        if isinstance(self.delivery, Delivery):
            self.delivery.notify_evidence()
        return record

    def cancel_validation(self) -> bool:
        cancelled = self.validation.cancel("cancelled by the technician")
        self._keep_validation()
        return cancelled

    def _keep_validation(self) -> None:
        self._running_keeper.keep(self.validation.running_state())

    def _resume_validation(self) -> None:
        kept = self._running_keeper.load()
        if kept is None:
            return
        if kept.calibration_version != self.calibration.current().version:
            logger.warning("validation of line %s not resumed: the calibration changed", kept.line_id)
            self._running_keeper.keep(None)
            return
        self.validation.resume(kept)

    def recent_validations(self, limit: int) -> list[ValidationRecord]:
        return self.validations.recent(limit)

    def snapshot_jpeg(self) -> bytes | None:
        """The newest frame with every detected person pixelated, as JPEG; None before any frame."""
        with self.figures.lock:
            frame, found = self.figures.latest_frame, self.figures.latest_boxes
        if frame is None or found is None:
            return None
        return encode_jpeg(anonymise(frame.image, found.boxes, searched=found.searched))

    def delivery_status(self) -> DeliveryStatus | None:
        return self.delivery.status() if isinstance(self.delivery, Delivery) else None

    def outbox_stats(self) -> OutboxStats | None:
        if isinstance(self.delivery, Delivery):
            status = self.delivery.status()
            return status.outbox
        return self.delivery.outbox_stats()

    def health(self) -> PipelineHealth:
        """Figures for the retained MQTT health message (the Pi's readings included)."""
        system = read_system(self.outbox.path.parent)
        with self.figures.lock:
            return PipelineHealth(
                fps=self.figures.fps,
                coverage=self.figures.last_coverage,
                temperature_c=system.temperature_c,
                throttled=system.throttled,
                disk_free_bytes=system.disk_free_bytes,
                camera_state=self.figures.camera_state,
            )

    # --- lifecycle ---------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Count until `stop` is set (or a clip source ends), then shut down cleanly."""
        self.delivery.start()
        self._reader.start()
        last_events_s = 0.0
        try:
            while not stop.is_set():
                try:
                    latest = self._reader.take(FRAME_WAIT_S)
                except FootfallError as exc:
                    self._camera_failed(str(exc))
                    # The reader is reopening the camera: the service is up and counting time
                    # (coverage 0), so systemd must neither time the start out nor restart it.
                    self._notifier.ready()
                    self._notifier.watchdog()
                    stop.wait(FRAME_WAIT_S)
                    self._submit(self._aggregator.tick(self._clock()))
                    continue
                if latest is None:
                    if self._reader.ended:
                        logger.info("source ended")
                        break
                    self._camera_stalled()
                    self._submit(self._aggregator.tick(self._clock()))
                    continue
                self._apply_pending_calibration()
                last_events_s = self._last_events_s = latest.frame.timestamp_s
                self._count_frame(latest.frame, latest.skipped)
                # Only after a frame went through: a stuck camera or model stops the pings.
                self._notifier.ready()
                self._notifier.watchdog()
        finally:
            self._shut_down(last_events_s)

    def _count_frame(self, raw: Frame, skipped: int) -> None:
        captured_at = self._clock()
        # Masked before anything looks at it: detection, brightness and the snapshot alike.
        frame = replace(raw, image=self._masks.apply(raw.image)) if self._masks.active else raw
        quality = FrameQuality(captured_at, frame_brightness(frame.image), skipped)
        scheduler = self._scheduler
        if scheduler is not None and not scheduler.decide(frame):
            # Nobody moved or people cannot have moved far: no detection, the time still counts.
            events = skipped_events(frame.index, frame.timestamp_s, self._last_events)
            self._submit(self._aggregator.add(events, quality))
            self._record(frame, None, events, None)
            return
        started = self._monotonic()
        found = self._detector.detect(frame)
        detector_ms = (self._monotonic() - started) * 1000.0
        tracked = self._tracker.update(found)
        self.live.track(tracked)
        if scheduler is not None:
            scheduler.observe_inference(detector_ms)
            scheduler.observe(tracked, found)
        events = self._last_events = self._counter.update(tracked)
        self._submit(self._aggregator.add(events, quality))
        self._record(frame, found, events, detector_ms)

    def _record(
        self, frame: Frame, found: Detections | None, events: CountEvents, detector_ms: float | None
    ) -> None:
        """Update the live figures; `found` is None for a frame the scheduler skipped."""
        now_s = self._monotonic()
        figures = self.figures
        with figures.lock:
            if figures.last_frame_s is not None and now_s > figures.last_frame_s:
                fps = 1.0 / (now_s - figures.last_frame_s)
                figures.fps = fps if figures.fps is None else figures.fps + EMA_WEIGHT * (fps - figures.fps)
            detected = 0.0 if found is None else 1.0
            figures.detected_share = (
                detected
                if figures.detected_share is None
                else figures.detected_share + EMA_WEIGHT * (detected - figures.detected_share)
            )
            if detector_ms is not None:
                figures.detector_ms = (
                    detector_ms
                    if figures.detector_ms is None
                    else figures.detector_ms + EMA_WEIGHT * (detector_ms - figures.detector_ms)
                )
            figures.last_frame_s = now_s
            figures.frames += 1
            figures.camera_state, figures.camera_error = "ok", ""
            # With snapshots off, no frame outlives its processing. A skipped frame has no boxes
            # of its own, so the snapshot stays the last detected frame, pixelated by its boxes.
            if self.settings.api.snapshots and found is not None:
                figures.latest_frame, figures.latest_boxes = frame, found
            if figures.live_totals is not None:
                figures.live_totals.add(events)
        self.live.count(events, self._clock())
        self.validation.add(events)
        self.validation.observe(self._clock())

    def _submit(self, intervals: list[IntervalCount]) -> None:
        for interval in intervals:
            self.delivery.submit(interval)
            with self.figures.lock:
                self.figures.last_coverage = interval.quality.coverage
                self.figures.recent.append(interval)
                del self.figures.recent[:-RECENT_INTERVALS]
        self._save_open_interval()

    def _save_open_interval(self) -> None:
        """Every few seconds, the open interval's totals so far (README D-049): a crash loses seconds."""
        now_s = self._monotonic()
        if now_s < self._next_open_save_s:
            return
        self._next_open_save_s = now_s + OPEN_INTERVAL_SAVE_S
        partial = self._aggregator.snapshot(self._clock())
        if partial is None:
            return
        try:
            self.outbox.save_open_interval(partial)
        except (FootfallError, ValueError) as exc:  # a full disk must not stop counting
            logger.debug("open interval not saved: %s", exc)

    def _shut_down(self, last_events_s: float) -> None:
        logger.info("stopping: closing the partial interval and flushing delivery")
        self._notifier.stopping()
        self._reader.close()
        self._close_interval(last_events_s)
        self.delivery.stop(self.settings.mqtt.stop_timeout_s)
        self.outbox.close()
        self._keep_validation()  # the device's count so far, for the service that comes next
        self.validations.close()

    def _close_interval(self, last_events_s: float) -> None:
        tail = self._counter.finish(last_events_s + 1.0)
        closing = self._aggregator.close(self._clock(), tail)
        if closing is not None:
            self._submit([closing])

    # --- calibration ----------------------------------------------------------------------------

    def _count_stages(self, calibration: Calibration) -> tuple[SceneCounter, IntervalAggregator]:
        counter = self._counting(calibration)
        aggregator = IntervalAggregator(
            [line.line_id for line in calibration.lines],
            [zone.zone_id for zone in calibration.zones],
            interval_s=self.settings.aggregate.interval_s,
            low_light_brightness=self.settings.aggregate.low_light_brightness,
        )
        with self.figures.lock:
            self.figures.live_totals = CountTotals(
                [line.line_id for line in calibration.lines], [zone.zone_id for zone in calibration.zones]
            )
        return counter, aggregator

    def _counting(self, calibration: Calibration) -> SceneCounter:
        self._masks = MaskPainter(calibration.masks)
        # The motion gate watches the new lines' region; the new counter starts with no zone state.
        self._scheduler = build_scheduler(self.settings, calibration, live=True)
        self._last_events = None
        return build_counter(self.settings, calibration)

    def _calibration_saved(self, calibration: Calibration) -> None:
        with self._calibration_lock:
            self._pending_calibration = calibration

    def _apply_pending_calibration(self) -> None:
        with self._calibration_lock:
            calibration, self._pending_calibration = self._pending_calibration, None
        if calibration is None:
            return
        # One record per UTC slot (D-051): the interval in progress goes on with the new lines,
        # so a save neither splits it nor makes it look half-observed. Live counts go on too.
        tail = self._counter.finish(self._last_events_s + 1.0)
        self.validation.cancel("the calibration changed while it ran")
        self._keep_validation()
        line_ids = [line.line_id for line in calibration.lines]
        zone_ids = [zone.zone_id for zone in calibration.zones]
        self._counter = self._counting(calibration)
        self._aggregator.recalibrate(line_ids, zone_ids, tail)
        with self.figures.lock:
            if self.figures.live_totals is not None:
                self.figures.live_totals.extend(line_ids, zone_ids)
        logger.info("counting with the new calibration from now on")

    # --- helpers --------------------------------------------------------------------------------

    def _camera_stalled(self) -> None:
        with self.figures.lock:
            since_s = self.figures.last_frame_s or self.figures.started_s
        self._set_camera("stalled", f"no frame for {self._monotonic() - since_s:.0f} s")

    def _camera_failed(self, reason: str) -> None:
        if self.figures.camera_state != "failed":
            logger.error("camera failed: %s", reason)
        self._set_camera("failed", reason)

    def _set_camera(self, state: str, reason: str) -> None:
        with self.figures.lock:
            self.figures.camera_state, self.figures.camera_error = state, reason
