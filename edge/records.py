"""Shared vocabulary of the pipeline: ids, kinds and the records that flow between stages.

Records are frozen and slotted; no stage mutates what it was handed. Inside a stage numpy arrays
are fine; at stage edges only these records cross. Pixel coordinates are source-image pixels with
x to the right and y down; calibration geometry is normalised to [0, 1] of the image width/height.

    Frame -> Detections -> TrackedFrame -> Crossing / ZoneEvent -> (aggregate, deliver)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import NewType

import numpy as np
import numpy.typing as npt

TrackId = NewType("TrackId", int)
LineId = NewType("LineId", str)
ZoneId = NewType("ZoneId", str)

FloatArray = npt.NDArray[np.float32]
ImageArray = npt.NDArray[np.uint8]


class Direction(StrEnum):
    """Direction of a line crossing (see `edge.count.lines` for the sign convention)."""

    IN = "in"
    OUT = "out"


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded camera frame; lives in memory only and is dropped after detection.

    Attributes:
        index: 0-based position of the frame in its source.
        timestamp_s: media time in seconds since the source started (monotonic, not wall time).
        image: H x W x 3 uint8 array in BGR order, as OpenCV wants.
    """

    index: int
    timestamp_s: float
    image: ImageArray

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @property
    def height(self) -> int:
        return int(self.image.shape[0])


@dataclass(frozen=True, slots=True)
class Detections:
    """People found in one frame.

    Attributes:
        frame_index: index of the frame the detections come from.
        timestamp_s: media time of that frame.
        width: width of the source image in pixels.
        height: height of the source image in pixels.
        boxes: N x 4 float32 array of (left, top, right, bottom) in source pixels.
        scores: N float32 confidences in [0, 1].
        searched: (left, top, right, bottom) pixel rectangle the detector looked at, or None for
            the whole frame. Nobody outside it can have been found (a region-of-interest crop).
    """

    frame_index: int
    timestamp_s: float
    width: int
    height: int
    boxes: FloatArray
    scores: FloatArray
    searched: tuple[int, int, int, int] | None = None

    def __post_init__(self) -> None:
        if self.boxes.ndim != 2 or self.boxes.shape[1] != 4:
            raise ValueError(f"boxes must be N x 4, got shape {self.boxes.shape}")
        if self.scores.shape != (self.boxes.shape[0],):
            raise ValueError(f"scores must have shape ({self.boxes.shape[0]},), got {self.scores.shape}")

    def __len__(self) -> int:
        return int(self.boxes.shape[0])


@dataclass(frozen=True, slots=True)
class Track:
    """A confirmed person track in one frame.

    Attributes:
        track_id: id unique within one tracker instance; never leaves the device.
        box: (left, top, right, bottom) in source pixels, the tracker's filtered estimate.
        score: detection score of the last matched detection.
        observed: True if a detection was matched to this track in this frame; False when the
            position is a prediction while the person is briefly unseen.
        origin_foot: only in the frame a track is confirmed: the foot point (pixels) where it was
            first seen while tentative, so that a line crossed before confirmation still counts.
    """

    track_id: TrackId
    box: tuple[float, float, float, float]
    score: float
    observed: bool
    origin_foot: tuple[float, float] | None = None

    @property
    def foot(self) -> tuple[float, float]:
        """Bottom centre of the box: where the person stands, in pixels."""
        left, _, right, bottom = self.box
        return ((left + right) / 2.0, bottom)


@dataclass(frozen=True, slots=True)
class TrackedFrame:
    """Confirmed tracks in one frame, plus the tracks that ended in it.

    Attributes:
        frame_index: index of the frame.
        timestamp_s: media time of the frame.
        width: source image width in pixels (to normalise positions).
        height: source image height in pixels.
        tracks: tracks alive in this frame (observed or briefly predicted).
        ended: ids of tracks the tracker gave up on in this frame; they never come back.
    """

    frame_index: int
    timestamp_s: float
    width: int
    height: int
    tracks: tuple[Track, ...]
    ended: tuple[TrackId, ...] = ()


@dataclass(frozen=True, slots=True)
class Crossing:
    """One person crossing one calibrated line."""

    line_id: LineId
    direction: Direction
    timestamp_s: float
    frame_index: int


@dataclass(frozen=True, slots=True)
class ZoneVisit:
    """One person who entered a zone and has now left it (or the scene)."""

    zone_id: ZoneId
    entered_s: float
    left_s: float

    @property
    def dwell_s(self) -> float:
        return self.left_s - self.entered_s


@dataclass(frozen=True, slots=True)
class ZoneOccupancy:
    """How many people stand in a zone in one frame."""

    zone_id: ZoneId
    timestamp_s: float
    people: int


@dataclass(frozen=True, slots=True)
class CountEvents:
    """What counting produced for one frame."""

    frame_index: int
    timestamp_s: float
    crossings: tuple[Crossing, ...]
    occupancy: tuple[ZoneOccupancy, ...]
    visits: tuple[ZoneVisit, ...]


Point = tuple[float, float]


@dataclass(frozen=True, slots=True)
class LineSpec:
    """A calibrated counting line from `a` to `b`, in normalised image coordinates."""

    line_id: LineId
    a: Point
    b: Point


@dataclass(frozen=True, slots=True)
class ZoneSpec:
    """A calibrated zone: a simple polygon in normalised image coordinates."""

    zone_id: ZoneId
    polygon: tuple[Point, ...]


@dataclass(frozen=True, slots=True)
class FrameQuality:
    """What the aggregator needs to know about one processed frame besides its counts.

    Attributes:
        captured_at: wall-clock UTC time the frame was captured (timezone-aware).
        mean_brightness: mean luma of the frame, 0-255 (for the low-light flag).
        frames_dropped: frames the source skipped or lost since the previous processed frame.
    """

    captured_at: datetime
    mean_brightness: float
    frames_dropped: int = 0


@dataclass(frozen=True, slots=True)
class LineInterval:
    """Crossings of one line during one interval; `in` and `out` always separate."""

    line_id: LineId
    in_count: int
    out_count: int


@dataclass(frozen=True, slots=True)
class ZoneInterval:
    """Occupancy and visits of one zone during one interval.

    Attributes:
        zone_id: the zone.
        mean_occupancy: time-weighted mean number of people inside; None if no frame was seen.
        peak_occupancy: most people inside in one frame.
        visits: visits that ended in this interval.
        dwell_mean_s: mean dwell of those visits; None without visits.
        dwell_median_s: median dwell; None without visits.
        dwell_max_s: longest dwell; None without visits.
    """

    zone_id: ZoneId
    mean_occupancy: float | None
    peak_occupancy: int
    visits: int
    dwell_mean_s: float | None
    dwell_median_s: float | None
    dwell_max_s: float | None


@dataclass(frozen=True, slots=True)
class IntervalQuality:
    """How much of an interval the camera actually saw, so a quiet street differs from a blind camera.

    Attributes:
        observed_s: seconds of the interval covered by processed frames.
        coverage: observed_s / interval length, 0-1.
        frames: frames processed in the interval.
        effective_fps: frames / observed_s (0 when nothing was observed).
        frames_dropped: frames lost or skipped by the source during the interval.
        low_light: True when the scene was too dark for reliable detection most of the interval.
    """

    observed_s: float
    coverage: float
    frames: int
    effective_fps: float
    frames_dropped: int
    low_light: bool


@dataclass(frozen=True, slots=True)
class IntervalCount:
    """Anonymous counts of one camera for one UTC wall-clock interval [start, end).

    Never holds track ids, positions or images: this is what leaves the device.
    """

    start: datetime
    end: datetime
    lines: tuple[LineInterval, ...]
    zones: tuple[ZoneInterval, ...]
    quality: IntervalQuality


@dataclass(frozen=True, slots=True)
class PrivacyMaskSpec:
    """A privacy mask: a simple polygon, normalised, painted black before detection (windows, gardens)."""

    mask_id: str
    polygon: tuple[Point, ...]


@dataclass(frozen=True, slots=True)
class DeviceStatus:
    """Everything the status API and pages show about the device at one moment (no image, no id).

    Attributes:
        software_version: footfall-edge version.
        site_id: site of the device.
        device_id: id of the device in its site.
        uptime_s: seconds since the service started.
        camera_state: "starting", "ok", "stalled" or "failed".
        camera_detail: why, when not ok.
        last_frame_age_s: seconds since the last frame went through the pipeline; None before one.
        fps: frames counted per second (smoothed); None before two frames.
        detector_ms: inference latency per frame (smoothed); None before one frame.
        detected_share: share of frames the detector ran on (smoothed, 0-1); below 1 when the
            adaptive schedule skips frames nobody needs; None before one frame.
        model_name: detector model file name.
        model_sha256: its digest.
        model_licence: its licence.
        broker_state: MQTT connection state, or "off" when delivery is outbox only.
        broker_detail: the broker's reason for a refusal, if any.
        outbox_backlog: rows not yet acknowledged by the broker.
        outbox_oldest_s: age of the oldest of those, seconds.
        outbox_dropped: undelivered rows dropped because the outbox was full.
        outbox_write_errors: intervals that could not be stored.
        last_coverage: coverage (0-1) of the last closed interval.
        temperature_c: CPU temperature, when known.
        throttled: Raspberry Pi throttling or under-voltage now, when known.
        disk_free_bytes: free space where the outbox lives, when known.
        snapshots_enabled: whether the anonymised snapshot may be requested.
        privacy_masks: number of privacy masks in force.
        suppress_below: small-count suppression threshold of the payloads (0 = off).
    """

    software_version: str
    site_id: str
    device_id: str
    uptime_s: float
    camera_state: str
    camera_detail: str
    last_frame_age_s: float | None
    fps: float | None
    detector_ms: float | None
    detected_share: float | None
    model_name: str
    model_sha256: str
    model_licence: str
    broker_state: str
    broker_detail: str
    outbox_backlog: int | None
    outbox_oldest_s: float | None
    outbox_dropped: int | None
    outbox_write_errors: int | None
    last_coverage: float | None
    temperature_c: float | None
    throttled: bool | None
    disk_free_bytes: int | None
    snapshots_enabled: bool
    privacy_masks: int
    suppress_below: int


# A validation during which the device saw frames for less of the time than this is inconclusive.
MIN_VALIDATION_COVERAGE = 0.8


class Verdict(StrEnum):
    """Outcome of a validation against its tolerance."""

    PASS = "pass"
    FAIL = "fail"
    # Fewer people than the configured minimum crossed: too few to judge either way.
    INCONCLUSIVE = "inconclusive"


@dataclass(frozen=True, slots=True)
class ValidationRecord:
    """Evidence of one accuracy check: the device's count of a line against a reference count.

    The reference is a technician's hand count on site, or ground truth when a clip is replayed
    (`footfall validate`). Errors are device minus reference; accuracy is
    1 - (|error_in| + |error_out|) / (reference_in + reference_out).

    Attributes:
        validation_id: unique id (hex).
        mode: "on-site" (hand count) or "replay" (a clip with ground truth).
        site_id: site of the device.
        device_id: id of the device in its site.
        line_id: the line checked.
        started_at: start of the check, UTC (media start for a replay).
        ended_at: end of the check, UTC.
        reference_in: people counted `in` by hand (or by the truth).
        reference_out: people counted `out` by hand (or by the truth).
        device_in: people the device counted `in` over the same span.
        device_out: people the device counted `out` over the same span.
        tolerance: largest accepted relative error (0-1) for a pass.
        min_people: fewer reference crossings than this make the verdict inconclusive.
        operator: who ran it, as they typed it (on site) or the replayed source's name.
        software_version: footfall-edge version.
        model_name: detector model file name.
        model_sha256: its digest.
        calibration_version: digest of the calibration in force (see `edge.calibration`).
        coverage: share (0-1) of the span the device was looking (frames arriving); below
            `MIN_VALIDATION_COVERAGE` the verdict is inconclusive. None when not measured.
    """

    validation_id: str
    mode: str
    site_id: str
    device_id: str
    line_id: LineId
    started_at: datetime
    ended_at: datetime
    reference_in: int
    reference_out: int
    device_in: int
    device_out: int
    tolerance: float
    min_people: int
    operator: str
    software_version: str
    model_name: str
    model_sha256: str
    calibration_version: str
    coverage: float | None = None

    @property
    def error_in(self) -> int:
        return self.device_in - self.reference_in

    @property
    def error_out(self) -> int:
        return self.device_out - self.reference_out

    @property
    def error_total(self) -> int:
        """Sum of the absolute errors per direction (an in mistaken for an out counts twice)."""
        return abs(self.error_in) + abs(self.error_out)

    @property
    def reference_total(self) -> int:
        return self.reference_in + self.reference_out

    @property
    def accuracy(self) -> float | None:
        """1 - error_total / reference_total; None when nobody crossed by the reference."""
        if self.reference_total == 0:
            return None
        return 1.0 - self.error_total / self.reference_total

    @property
    def verdict(self) -> Verdict:
        if self.reference_total < self.min_people:
            return Verdict.INCONCLUSIVE
        if self.coverage is not None and self.coverage < MIN_VALIDATION_COVERAGE:
            return Verdict.INCONCLUSIVE  # the device was blind for part of it: no judgement
        accuracy = self.accuracy
        assert accuracy is not None  # min_people >= 1 guarantees a reference count
        # A rounding margin, so 9 of 10 at 10 % tolerance passes despite float error.
        return Verdict.PASS if accuracy >= 1.0 - self.tolerance - 1e-9 else Verdict.FAIL


@dataclass(frozen=True, slots=True)
class ValidationProgress:
    """A validation being run on site: what the page shows while the technician counts.

    `tolerance` and `min_people` are the verdict rule it will be judged by (see `ValidationRecord`).
    """

    validation_id: str
    line_id: LineId
    started_at: datetime
    elapsed_s: float
    reference_in: int
    reference_out: int
    device_in: int
    device_out: int
    operator: str
    tolerance: float
    min_people: int
    coverage: float | None = None


@dataclass(frozen=True, slots=True)
class LivePerson:
    """One person in view now, for the calibration page's live view only (never stored or sent).

    Attributes:
        box: (left, top, right, bottom), normalised [0, 1].
        trail: the last foot points, oldest first, normalised.
    """

    box: tuple[float, float, float, float]
    trail: tuple[Point, ...]


@dataclass(frozen=True, slots=True)
class LiveCrossing:
    """One recent crossing for the live view's log: when (UTC), which line, which way."""

    at: datetime
    line_id: LineId
    direction: Direction


@dataclass(frozen=True, slots=True)
class LiveView:
    """What the live view draws over the snapshot: people now, zone occupancy, the last crossings."""

    people: tuple[LivePerson, ...]
    occupancy: tuple[tuple[ZoneId, int], ...]
    crossings: tuple[LiveCrossing, ...]
