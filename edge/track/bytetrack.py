"""`ByteTracker`: ByteTrack-style association of person detections into tracks, in media seconds.

Per frame, as in ByteTrack (Zhang et al., 2022): predict every track; match confirmed tracks
(seen or recently lost) to strong detections; match the tracks seen in the previous frame that are
still unmatched to weak detections; match unconfirmed tracks to the strong detections left; start
new tracks from strong detections nobody took. Two differences from the research code: every
duration is in seconds of media time (`Detections.timestamp_s`), so 5 fps and 30 fps behave alike,
and all track state lives in stacked numpy arrays so that predict, match and correct have no
per-track Python loop.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from edge.records import Detections, Track, TrackedFrame, TrackId
from edge.track import kalman
from edge.track.matching import MOTION_GATE_AFTER_S, assign, motion_cost

logger = logging.getLogger(__name__)

Float64Array = npt.NDArray[np.float64]
IndexArray = npt.NDArray[np.intp]
Int64Array = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

_NO_INDEX = np.empty(0, dtype=np.intp)

WALKING_REACH_HEIGHTS_PER_S = 2.0
"""Fastest a person is followed, in their own heights per second (~3.4 m/s for 1.7 m: running)."""
REACH_SLACK_HEIGHTS = 0.5
"""Added to the reach: detector jitter and occlusion move a box's centre by up to half a height."""
SIZE_CHANGE_PER_FRAME = math.log(1.3)
"""Largest change of box height (log ratio) from one frame to the next: a person walking towards
the camera grows by a few percent a frame; a box 30 % taller or shorter is someone else, or a
part of someone (a head, a bag) the detector boxed alone."""
SIZE_CHANGE_PER_S = 0.5
"""Added to that per second unseen (log ratio): people walk nearer or further, and come out from
behind others, while they are not seen."""
UNMATCHED_COST_HEIGHTS = 1.0
"""What leaving a track and a detection apart costs, in box heights of distance: more than a
chain of wrong matches between neighbours saves, less than the distance one person walks between
detections at the Pi's 2 per second (about 0.4 heights)."""

UNCONFIRMED_SLACK_HEIGHTS = 0.5
UNCONFIRMED_PACE_HEIGHTS_PER_S = 1.0
"""An unconfirmed track seen once has no velocity: its prediction stays where it was seen. So it
may be found this far from there, `UNCONFIRMED_SLACK_HEIGHTS` plus a brisk walk (a height a
second) times the time unseen, before leaving it unmatched is cheaper (`UNMATCHED_COST_HEIGHTS` at
least): a person missed once at 2-3 detections a second is still confirmed (README D-058)."""


@dataclass(slots=True)
class _TrackTable:
    """Struct of arrays: row i of every array is one track, in order of birth (not of id: an
    unconfirmed track gets its id when confirmed, possibly after younger tracks got theirs).

    Attributes:
        ids: track ids; 0 until the track is confirmed, so reported ids have no gaps.
        means: N x 8 Kalman states (see `edge.track.kalman`), at the latest frame's time.
        covariances: N x 8 x 8 Kalman covariances.
        scores: score of the last matched detection.
        last_seen_s: media time of the last matched detection.
        sightings: frames matched; decides when an unconfirmed track is confirmed.
        confirmed: reported to consumers (an unconfirmed track is dropped once it has been unseen
            for longer than the tentative time).
        observed: matched in the latest frame.
        measurements: N x 4 last matched detections (centre x, centre y, aspect, height).
        origins: N x 2 foot point (pixels) of each track's first detection.
    """

    ids: Int64Array
    means: Float64Array
    covariances: Float64Array
    scores: Float64Array
    last_seen_s: Float64Array
    sightings: Int64Array
    confirmed: BoolArray
    observed: BoolArray
    measurements: Float64Array
    origins: Float64Array

    @classmethod
    def empty(cls) -> _TrackTable:
        means, covariances = kalman.initiate(np.empty((0, 4)))
        return cls(
            ids=np.empty(0, dtype=np.int64),
            means=means,
            covariances=covariances,
            scores=np.empty(0),
            last_seen_s=np.empty(0),
            sightings=np.empty(0, dtype=np.int64),
            confirmed=np.empty(0, dtype=bool),
            observed=np.empty(0, dtype=bool),
            measurements=np.empty((0, 4)),
            origins=np.empty((0, 2)),
        )

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    def select(self, keep: BoolArray) -> _TrackTable:
        """The tracks where ``keep`` is true, in the same order."""
        return _TrackTable(*(getattr(self, name)[keep] for name in self.__slots__))

    def extend(self, other: _TrackTable) -> _TrackTable:
        """These tracks followed by ``other``'s."""
        return _TrackTable(
            *(np.concatenate([getattr(self, name), getattr(other, name)]) for name in self.__slots__)
        )


def _size_limits(unseen_s: Float64Array) -> Float64Array:
    return SIZE_CHANGE_PER_FRAME + SIZE_CHANGE_PER_S * unseen_s


def _reach_heights(unseen_s: Float64Array) -> Float64Array:
    reach = REACH_SLACK_HEIGHTS + WALKING_REACH_HEIGHTS_PER_S * unseen_s
    return np.where(unseen_s >= MOTION_GATE_AFTER_S, reach, -1.0)


@dataclass(frozen=True, slots=True)
class _Motion:
    """What association needs of every track this frame (see `motion_cost`)."""

    predicted: Float64Array
    innovation_xy: Float64Array
    measurements: Float64Array
    reach_heights: Float64Array
    size_limits: Float64Array
    velocity: Float64Array
    unseen_s: Float64Array


def _match(
    motion: _Motion,
    track_rows: IndexArray,
    detections: Float64Array,
    detection_rows: IndexArray,
    max_iou_distance: float,
    *,
    unconfirmed: bool = False,
) -> tuple[IndexArray, IndexArray]:
    """Match a subset of tracks to a subset of detections; returns (track rows, detection rows)."""
    if track_rows.size == 0 or detection_rows.size == 0:
        return _NO_INDEX, _NO_INDEX
    cost = motion_cost(
        motion.predicted[track_rows],
        motion.innovation_xy[track_rows],
        motion.measurements[track_rows],
        motion.reach_heights[track_rows],
        detections[detection_rows],
        min_iou=1.0 - max_iou_distance,
        max_size_change=motion.size_limits[track_rows],
        velocity=motion.velocity[track_rows],
        unseen_s=motion.unseen_s[track_rows],
    )
    if unconfirmed:
        # Scaled so that the unmatched cost stands for each track's allowance (see the constants).
        allowance = UNCONFIRMED_SLACK_HEIGHTS + UNCONFIRMED_PACE_HEIGHTS_PER_S * motion.unseen_s[track_rows]
        cost = cost * (UNMATCHED_COST_HEIGHTS / np.maximum(UNMATCHED_COST_HEIGHTS, allowance))[:, None]
    rows, columns = assign(cost, UNMATCHED_COST_HEIGHTS)
    return track_rows[rows], detection_rows[columns]


def _check_between(name: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:  # also rejects NaN
        raise ValueError(f"{name} must be between {low} and {high}, got {value!r}")


class ByteTracker:
    """Tracks people across frames with two-stage (strong, then weak detection) association.

    A new track is confirmed, and from then on reported, once it has been matched in
    ``birth_frames`` frames: consecutive ones when frames come less than 0.1 s apart, else none
    more than ``tentative_s`` after the one before. On the first frame of a stream every track is
    confirmed at once, as in ByteTrack. Ids are given at confirmation: they start at 1, have no
    gaps, and are never reused by one instance. Each frame's tracks come in id order.

    Example:
        >>> tracker = ByteTracker(lost_buffer_s=2.0)
        >>> for detections in detections_stream:  # doctest: +SKIP
        ...     tracked = tracker.update(detections)

    Args:
        high_score: detections scoring at least this take part in the first association stage.
        low_score: detections scoring below this are ignored; those between ``low_score`` and
            ``high_score`` can only continue a track seen in the previous frame (second stage).
        new_track_score: minimum score of an unmatched detection to start a track.
        first_stage_max_iou_distance: largest ``1 - IoU`` for a strong detection to match a track.
        second_stage_max_iou_distance: largest ``1 - IoU`` for a weak detection to match a track.
        unconfirmed_max_iou_distance: largest ``1 - IoU`` to continue an unconfirmed track.
        lost_buffer_s: a track unseen for longer than this many seconds of media time ends.
        report_predicted_s: an unseen confirmed track is still reported, with ``observed=False``
            and its predicted box, for this many seconds after it was last seen; 0 disables.
        birth_frames: matched frames before a new track is confirmed.
        tentative_s: an unconfirmed track unseen for longer than this many seconds of media
            time ends; 0 ends it at its first miss, as ByteTrack does.
    """

    def __init__(
        self,
        *,
        high_score: float = 0.5,
        low_score: float = 0.1,
        new_track_score: float = 0.6,
        first_stage_max_iou_distance: float = 0.8,
        second_stage_max_iou_distance: float = 0.5,
        unconfirmed_max_iou_distance: float = 0.7,
        lost_buffer_s: float = 1.5,
        report_predicted_s: float = 0.5,
        birth_frames: int = 2,
        tentative_s: float = 1.2,
    ) -> None:
        _check_between("high_score", high_score, 0.0, 1.0)
        _check_between("low_score", low_score, 0.0, high_score)
        _check_between("new_track_score", new_track_score, high_score, 1.0)
        _check_between("first_stage_max_iou_distance", first_stage_max_iou_distance, 0.0, 1.0)
        _check_between("second_stage_max_iou_distance", second_stage_max_iou_distance, 0.0, 1.0)
        _check_between("unconfirmed_max_iou_distance", unconfirmed_max_iou_distance, 0.0, 1.0)
        if not (math.isfinite(lost_buffer_s) and lost_buffer_s >= 0.0):
            raise ValueError(f"lost_buffer_s must be a finite number >= 0, got {lost_buffer_s!r}")
        _check_between("report_predicted_s", report_predicted_s, 0.0, lost_buffer_s)
        if not (math.isfinite(tentative_s) and tentative_s >= 0.0):
            raise ValueError(f"tentative_s must be a finite number >= 0, got {tentative_s!r}")
        if isinstance(birth_frames, bool) or not isinstance(birth_frames, int) or birth_frames < 1:
            raise ValueError(f"birth_frames must be an integer >= 1, got {birth_frames!r}")
        self._high_score = high_score
        self._low_score = low_score
        self._new_track_score = new_track_score
        self._first_stage_max_iou_distance = first_stage_max_iou_distance
        self._second_stage_max_iou_distance = second_stage_max_iou_distance
        self._unconfirmed_max_iou_distance = unconfirmed_max_iou_distance
        self._lost_buffer_s = lost_buffer_s
        self._report_predicted_s = report_predicted_s
        self._birth_frames = birth_frames
        self._tentative_s = tentative_s
        self._tracks = _TrackTable.empty()
        self._next_id = 1
        self._last_timestamp_s: float | None = None
        self._frame_interval_s = 0.0
        self._confirmed_now: set[int] = set()

    def update(self, detections: Detections) -> TrackedFrame:
        """Associate one frame's detections with the tracks and report the confirmed ones.

        Args:
            detections: the frame's people; frames must come in time order.

        Returns:
            The confirmed tracks alive in this frame and the ids that ended in it.
        """
        now_s = detections.timestamp_s
        first_frame = self._last_timestamp_s is None
        self._confirmed_now.clear()
        self._predict(now_s)
        ended = self._expire(now_s)
        strong_enough = detections.scores >= self._low_score
        boxes = detections.boxes[strong_enough].astype(np.float64)
        scores = detections.scores[strong_enough].astype(np.float64)
        track_rows, detection_rows, unmatched = self._associate(boxes, scores)
        self._correct(track_rows, boxes[detection_rows], scores[detection_rows], now_s)
        newborn = unmatched[scores[unmatched] >= self._new_track_score]
        self._start(boxes[newborn], scores[newborn], now_s, first_frame or self._birth_frames == 1)
        return TrackedFrame(
            frame_index=detections.frame_index,
            timestamp_s=now_s,
            width=detections.width,
            height=detections.height,
            tracks=self._report(now_s),
            ended=ended,
        )

    def reset(self) -> tuple[TrackId, ...]:
        """Forget every track, e.g. after the source reconnected; the next frame starts a stream.

        Ids keep counting up, so an id is still never reused.

        Returns:
            The ids of the confirmed tracks dropped, so consumers can close their state.
        """
        confirmed = np.sort(self._tracks.ids[self._tracks.confirmed])
        dropped = tuple(TrackId(track_id) for track_id in confirmed.tolist())
        self._tracks = _TrackTable.empty()
        self._last_timestamp_s = None
        return dropped

    def _predict(self, now_s: float) -> None:
        """Move every track to ``now_s``; lost tracks stop growing or shrinking, as in ByteTrack."""
        elapsed_s = 0.0 if self._last_timestamp_s is None else now_s - self._last_timestamp_s
        if elapsed_s < 0.0:
            logger.debug("timestamp went back by %.3f s; predicting no motion", -elapsed_s)
            elapsed_s = 0.0
        self._last_timestamp_s = now_s
        self._frame_interval_s = elapsed_s
        tracks = self._tracks
        if not tracks.observed.all():
            tracks.means[~tracks.observed, 7] = 0.0
        tracks.means, tracks.covariances = kalman.predict(tracks.means, tracks.covariances, elapsed_s)

    def _expire(self, now_s: float) -> tuple[TrackId, ...]:
        """End the tracks unseen for longer than the lost buffer; return the confirmed ones' ids."""
        expired = now_s - self._tracks.last_seen_s > self._lost_buffer_s
        if not expired.any():
            return ()
        ended = np.sort(self._tracks.ids[expired & self._tracks.confirmed])
        self._tracks = self._tracks.select(~expired)
        return tuple(TrackId(track_id) for track_id in ended.tolist())

    def _associate(
        self, boxes: Float64Array, scores: Float64Array
    ) -> tuple[IndexArray, IndexArray, IndexArray]:
        """Run the three matching stages.

        Returns:
            ``(track rows, detection rows, strong detections left unmatched)``.
        """
        tracks = self._tracks
        unseen_s = (self._last_timestamp_s or 0.0) - tracks.last_seen_s
        motion = _Motion(
            predicted=tracks.means[:, :4],
            innovation_xy=kalman.innovation_xy(tracks.means, tracks.covariances),
            measurements=tracks.measurements,
            reach_heights=_reach_heights(unseen_s),
            size_limits=_size_limits(unseen_s),
            velocity=tracks.means[:, 4:6],
            unseen_s=unseen_s,
        )
        detections = kalman.ltrb_to_xyah(boxes)
        strong = scores >= self._high_score
        first_tracks, first_detections = _match(
            motion,
            np.flatnonzero(tracks.confirmed),
            detections,
            np.flatnonzero(strong),
            self._first_stage_max_iou_distance,
        )
        # Only tracks seen in the previous frame may continue on a weak detection (ByteTrack).
        waiting = tracks.confirmed & tracks.observed
        waiting[first_tracks] = False
        second_tracks, second_detections = _match(
            motion,
            np.flatnonzero(waiting),
            detections,
            np.flatnonzero(~strong),
            self._second_stage_max_iou_distance,
        )
        strong_left = strong.copy()
        strong_left[first_detections] = False
        third_tracks, third_detections = _match(
            motion,
            np.flatnonzero(~tracks.confirmed),
            detections,
            np.flatnonzero(strong_left),
            self._unconfirmed_max_iou_distance,
            unconfirmed=True,
        )
        strong_left[third_detections] = False
        return (
            np.concatenate([first_tracks, second_tracks, third_tracks]),
            np.concatenate([first_detections, second_detections, third_detections]),
            np.flatnonzero(strong_left),
        )

    def _correct(self, rows: IndexArray, boxes: Float64Array, scores: Float64Array, now_s: float) -> None:
        """Correct the matched tracks; drop unconfirmed tracks unseen for the tentative time."""
        tracks = self._tracks
        matched = np.zeros(len(tracks), dtype=bool)
        matched[rows] = True
        measurements = kalman.ltrb_to_xyah(boxes)
        tracks.means[rows], tracks.covariances[rows] = kalman.update(
            tracks.means[rows], tracks.covariances[rows], measurements
        )
        self._recover(rows, measurements, now_s)
        tracks.measurements[rows] = measurements
        tracks.scores[rows] = scores
        tracks.last_seen_s[rows] = now_s
        tracks.sightings = np.where(matched, tracks.sightings + 1, tracks.sightings)
        self._confirm(tracks, tracks.sightings >= self._birth_frames)
        tracks.observed = matched
        # A Pi detects 2-4 times a second and finds a person in a crowd in about 3 frames of 4:
        # requiring consecutive sightings would leave many people unconfirmed until they have
        # walked past the line. An unconfirmed track waits for its next sighting instead. At video
        # rates the next frame comes soon, and waiting only let flickering false boxes confirm
        # (TUD-Campus, 25 fps: MOTA 0.52 -> 0.40).
        sparse = self._frame_interval_s >= MOTION_GATE_AFTER_S
        waiting = sparse & (now_s - tracks.last_seen_s <= self._tentative_s)
        keep = tracks.confirmed | matched | waiting
        if not keep.all():
            self._tracks = tracks.select(keep)

    def _recover(self, rows: IndexArray, measurements: Float64Array, now_s: float) -> None:
        """Observation-centric recovery (OC-SORT): a track found again after misses moves on with
        the velocity between its last two detections, not the one its filter drifted to unseen."""
        tracks = self._tracks
        returning = ~tracks.observed[rows]
        if not returning.any():
            return
        back = rows[returning]
        gap_s = now_s - tracks.last_seen_s[back]
        usable = gap_s > 0.0
        back, gap_s = back[usable], gap_s[usable]
        velocity = (measurements[returning][usable, :2] - tracks.measurements[back, :2]) / gap_s[:, None]
        tracks.means[back, 4:6] = velocity
        tracks.means[back, 7] = 0.0

    def _confirm(self, tracks: _TrackTable, ready: BoolArray) -> None:
        """Confirm the ``ready`` tracks not confirmed yet and give them the next ids, in row order."""
        newly = ready & ~tracks.confirmed
        count = int(newly.sum())
        if count:
            tracks.ids[newly] = np.arange(self._next_id, self._next_id + count)
            self._confirmed_now.update(range(self._next_id, self._next_id + count))
            tracks.confirmed |= newly
            self._next_id += count

    def _start(self, boxes: Float64Array, scores: Float64Array, now_s: float, confirmed: bool) -> None:
        """Start one track per detection; confirmed ones get ids at once."""
        count = boxes.shape[0]
        if count == 0:
            return
        means, covariances = kalman.initiate(kalman.ltrb_to_xyah(boxes))
        born = _TrackTable(
            ids=np.zeros(count, dtype=np.int64),
            means=means,
            covariances=covariances,
            scores=scores,
            last_seen_s=np.full(count, now_s),
            sightings=np.ones(count, dtype=np.int64),
            confirmed=np.zeros(count, dtype=bool),
            observed=np.ones(count, dtype=bool),
            measurements=kalman.ltrb_to_xyah(boxes),
            origins=np.stack([(boxes[:, 0] + boxes[:, 2]) / 2.0, boxes[:, 3]], axis=1),
        )
        self._confirm(born, np.full(count, confirmed))
        self._tracks = self._tracks.extend(born)

    def _report(self, now_s: float) -> tuple[Track, ...]:
        """The confirmed tracks seen now or last seen within ``report_predicted_s``, in id order."""
        tracks = self._tracks
        recently_seen = (self._report_predicted_s > 0.0) & (
            now_s - tracks.last_seen_s <= self._report_predicted_s
        )
        shown = np.flatnonzero(tracks.confirmed & (tracks.observed | recently_seen))
        shown = shown[np.argsort(tracks.ids[shown], kind="stable")]
        observed = tracks.observed[shown]
        # The filtered box, not the raw detection: occlusion and jitter move a detection's bottom
        # edge (the foot point) by tens of pixels from one frame to the next; the Kalman estimate
        # does not, which is what line counting needs (benchmarks/accuracy.py: 0.895 -> 0.974).
        boxes = kalman.xyah_to_ltrb(tracks.means[shown, :4])
        return tuple(
            Track(
                track_id=TrackId(track_id),
                box=(left, top, right, bottom),
                score=score,
                observed=seen,
                origin_foot=(origin_x, origin_y) if track_id in self._confirmed_now else None,
            )
            for track_id, (left, top, right, bottom), score, seen, (origin_x, origin_y) in zip(
                tracks.ids[shown].tolist(),
                boxes.tolist(),
                tracks.scores[shown].tolist(),
                observed.tolist(),
                tracks.origins[shown].tolist(),
                strict=True,
            )
        )
