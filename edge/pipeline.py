"""Composition root of counting: settings and calibration in, wired stages out.

The only module that knows every stage. Stages receive plain arguments, never `Settings`; records
flow one way: Frame -> Detections -> TrackedFrame -> CountEvents -> CountTotals.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt

from edge.aggregate import CountSummary, CountTotals
from edge.assets import default_cache_dir, resolve
from edge.calibration import Calibration
from edge.config import DetectorSettings, Settings
from edge.count import SceneCounter
from edge.detect import OnnxDetector, StagedDetector
from edge.detect.crop import Crop, CroppedDetector
from edge.detect.sizing import input_size_for
from edge.privacy.masks import MaskPainter
from edge.records import CountEvents, Detections, Frame
from edge.schedule import AdaptiveScheduler, DetectionScheduler, MotionGate, region_around, skipped_events
from edge.sources import FrameSource
from edge.track import ByteTracker, Tracker

_TimedHead = tuple[npt.NDArray[np.float32], float]
"""Raw model output and the wall time inference took, ms."""


@dataclass(frozen=True, slots=True)
class CountRun:
    """Result of counting a whole source.

    Attributes:
        frames: frames processed.
        seconds: media time covered, in seconds (frames / frame rate for files).
        summary: per line and per zone totals.
    """

    frames: int
    seconds: float
    summary: CountSummary


class CountingPipeline:
    """Detector -> tracker -> counter for one camera.

    With a ``scheduler``, frames it skips go to neither the detector, the tracker nor the
    counter: they yield `skipped_events` (the last zone occupancy, no crossings), so they still
    count as observed time. Without one every frame is detected.
    """

    def __init__(
        self,
        detector: StagedDetector,
        tracker: Tracker,
        counter: SceneCounter,
        masks: MaskPainter | None = None,
        scheduler: DetectionScheduler | None = None,
    ) -> None:
        self._detector = detector
        self._tracker = tracker
        self._counter = counter
        self._masks = masks or MaskPainter(())
        self._scheduler = scheduler
        self._last_events: CountEvents | None = None

    def process(self, frame: Frame) -> CountEvents:
        """Count one frame (or skip it, as the scheduler says); the frame is not kept."""
        frame = self.mask(frame)
        if self._scheduler is None:
            return self._count(self._detector.detect(frame))
        if not self._scheduler.decide(frame):
            return self._skip(frame)
        started = time.perf_counter()
        detections = self._detector.detect(frame)
        self._scheduler.observe_inference((time.perf_counter() - started) * 1000.0)
        return self._count(detections)

    def mask(self, frame: Frame) -> Frame:
        """The frame with the privacy masks blacked out (the same frame when there are none)."""
        if not self._masks.active:
            return frame
        return replace(frame, image=self._masks.apply(frame.image))

    def run(self, frames: Iterable[Frame]) -> Iterator[CountEvents]:
        """Count a stream, inferring frame N+1 in a worker thread while frame N is tracked.

        onnxruntime releases the GIL during inference, so preprocessing, decoding, tracking and
        counting overlap with it instead of adding to it (benchmarks/pipeline.py measures this).
        With a scheduler, frame N+1 is decided on before frame N's tracks are known; a skipped
        frame first waits for the frame in flight, so events still come in frame order.
        """
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="inference") as worker:
            previous: tuple[Frame, float, Future[_TimedHead]] | None = None
            for raw in frames:
                frame = self.mask(raw)
                if self._scheduler is not None and not self._scheduler.decide(frame):
                    if previous is not None:
                        yield self._finish_frame(*previous)
                        previous = None
                    yield self._skip(frame)
                    continue
                tensor, scale = self._detector.preprocess(frame)
                running = (frame, scale, worker.submit(self._timed_infer, tensor))
                if previous is not None:
                    yield self._finish_frame(*previous)
                previous = running
            if previous is not None:
                yield self._finish_frame(*previous)

    def _timed_infer(self, tensor: npt.NDArray[np.float32]) -> _TimedHead:
        started = time.perf_counter()
        head = self._detector.infer(tensor)
        return head, (time.perf_counter() - started) * 1000.0

    def _finish_frame(self, frame: Frame, scale: float, running: Future[_TimedHead]) -> CountEvents:
        head, inference_ms = running.result()
        if self._scheduler is not None:
            self._scheduler.observe_inference(inference_ms)
        return self._count(self._detector.postprocess(head, scale, frame))

    def _count(self, detections: Detections) -> CountEvents:
        tracked = self._tracker.update(detections)
        if self._scheduler is not None:
            self._scheduler.observe(tracked, detections)
        events = self._counter.update(tracked)
        self._last_events = events
        return events

    def _skip(self, frame: Frame) -> CountEvents:
        return skipped_events(frame.index, frame.timestamp_s, self._last_events)

    def finish(self, timestamp_s: float) -> CountEvents:
        """Close what is still open (zone visits) at the end of the stream."""
        return self._counter.finish(timestamp_s)


def model_path(settings: Settings, model: str | None = None) -> Path:
    """Resolve the detector model (a manifest name or a path) to a verified local file."""
    cache_dir = settings.cache_dir or default_cache_dir()
    return resolve(model or settings.detector.model, cache_dir=cache_dir)


def build_tracker(settings: Settings) -> ByteTracker:
    """The tracker as configured (weak detections down to the detector's threshold)."""
    return ByteTracker(
        high_score=settings.tracker.high_score,
        low_score=settings.detector.score_threshold,
        new_track_score=settings.tracker.new_track_score,
        lost_buffer_s=settings.tracker.lost_buffer_s,
        birth_frames=settings.tracker.birth_frames,
        tentative_s=settings.tracker.tentative_s,
    )


def build_counter(settings: Settings, calibration: Calibration) -> SceneCounter:
    """The line and zone counter for a calibration, as configured."""
    return SceneCounter(
        calibration.lines,
        calibration.zones,
        hysteresis=settings.counting.hysteresis,
        handover_s=settings.counting.handover_s,
        handover_distance=settings.counting.handover_distance,
    )


def build_detector(
    settings: Settings, model_file: Path, *, frame_size: tuple[int, int] | None = None
) -> StagedDetector:
    """The detector as configured: the model at `detector.input_size` (patched once into the
    cache when that is not the model's own) on the whole frame or on `detector.crop`.

    Args:
        settings: the settings.
        model_file: the verified model.
        frame_size: (width, height) of the source's frames. With input_size "auto" (the default)
            the input takes their aspect within `detector.pixel_budget` (of the crop, with one;
            README D-016); None (not known): the model's own input.
    """
    detector = settings.detector

    def onnx_detector(path: Path) -> OnnxDetector:
        return OnnxDetector(
            path, threads=detector.threads, score_threshold=detector.score_threshold, nms_iou=detector.nms_iou
        )

    model = onnx_detector(model_file)
    wanted = _input_size(detector, model.input_size, frame_size)
    if wanted != model.input_size:
        model = onnx_detector(sized_model(model_file, wanted, settings.cache_dir or default_cache_dir()))
    if detector.crop is None:
        return model
    return CroppedDetector(model, Crop(*detector.crop))


def _input_size(
    detector: DetectorSettings, model_input: tuple[int, int], frame_size: tuple[int, int] | None
) -> tuple[int, int]:
    """The input `detector.input_size` asks for: explicit, the model's own, or sized for the frames."""
    size = detector.input_size
    if isinstance(size, tuple):
        return size
    if size != "auto" or frame_size is None:
        return model_input  # "model" (or None from code that predates "auto"), or frames of unknown size
    width, height = frame_size
    if detector.crop is not None:
        left, top, right, bottom = Crop(*detector.crop).pixels(width, height)
        width, height = right - left, bottom - top
    return input_size_for(width, height, detector.pixel_budget)


def sized_model(model_file: Path, size: tuple[int, int], cache_dir: Path) -> Path:
    """A copy of `model_file` taking `size` (width, height) input, made once and kept in the cache."""
    digest = hashlib.sha256(model_file.read_bytes()).hexdigest()[:12]
    path = cache_dir / f"{model_file.stem}-{digest}-{size[0]}x{size[1]}.onnx"
    if not path.is_file():
        # onnx (graph editing, ~10 MB of memory) is loaded only on a device that needs a patched model.
        from edge.detect.resize import resize_model  # noqa: PLC0415

        cache_dir.mkdir(parents=True, exist_ok=True)
        resize_model(model_file, path, *size)
    return path


def build_scheduler(
    settings: Settings, calibration: Calibration, *, live: bool = False
) -> DetectionScheduler | None:
    """The detection scheduler as configured: adaptive (the default) or None (every frame).

    The CPU budget applies to a `live` camera only: on a file read faster than real time it would
    make counts depend on the machine's speed.
    """
    schedule = settings.schedule
    if not schedule.adaptive:
        return None
    gate = None
    if schedule.motion_gate:
        points = [point for line in calibration.lines for point in (line.a, line.b)]
        points += [point for zone in calibration.zones for point in zone.polygon]
        gate = MotionGate(region=region_around(points, schedule.motion_margin) if points else None)
    return AdaptiveScheduler(
        gate=gate,
        min_fps=schedule.min_fps,
        max_fps=schedule.max_fps,
        idle_check_s=schedule.idle_check_s,
        cpu_budget=schedule.cpu_budget if live else None,
    )


def build_pipeline(
    settings: Settings,
    calibration: Calibration,
    model_file: Path,
    scheduler: DetectionScheduler | None = None,
    *,
    frame_size: tuple[int, int] | None = None,
) -> CountingPipeline:
    """Build (not start) the counting stages from settings and a calibration (and a scheduler).

    `frame_size` (width, height) of the source's frames sizes the detector input (`build_detector`).
    """
    return CountingPipeline(
        build_detector(settings, model_file, frame_size=frame_size),
        build_tracker(settings),
        build_counter(settings, calibration),
        MaskPainter(calibration.masks),
        scheduler,
    )


def count_source(
    source: FrameSource,
    pipeline: CountingPipeline,
    calibration: Calibration,
    on_frame: Callable[[], object] | None = None,
) -> CountRun:
    """Run the pipeline over every frame of a finite source and total the counts."""
    totals = CountTotals(
        [line.line_id for line in calibration.lines], [zone.zone_id for zone in calibration.zones]
    )
    frames = 0
    end_s = 0.0
    for events in pipeline.run(source):
        totals.add(events)
        frames += 1
        end_s = events.timestamp_s + 1.0 / source.fps
        if on_frame is not None:
            on_frame()
    totals.add(pipeline.finish(end_s))
    return CountRun(frames=frames, seconds=end_s, summary=totals.summary())
