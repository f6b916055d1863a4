"""Detections read from a MOT file instead of the model: the tracker and counter measured alone.

`footfall count SOURCE --detections det.txt` replays given boxes (MOT ``det.txt`` or ``gt.txt``,
in the source's pixels) through the same tracker and counter: how a tracker is measured apart
from the detector, how MOT users compare trackers, and how a city replays a problem clip. Frames
without rows have nobody. MOT frames are 1-based: row frame ``f`` is the source's frame ``f - 1``.

Scores: a file whose confidence column holds only 0 and 1 is ground truth (``gt.txt``): rows with
0 are ignored (the MOT convention) and the others score `GROUND_TRUTH_SCORE`. Any other file is a
detector's output: its confidences are the scores, clipped to [0, 1] (public ``det.txt`` files
carry -1 or detector-specific values above 1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from edge.errors import ConfigError
from edge.records import Detections, Frame

GROUND_TRUTH_SCORE = 0.9
"""Score given to ground-truth boxes: confident, as a clear detection would be."""
MAX_FILE_BYTES = 256 * 1024 * 1024
"""Largest detections file read (a 2-hour 30 fps clip with 50 people a frame is ~200 MB)."""
_COLUMNS = 7
"""frame, id, left, top, width, height, confidence; later columns are ignored."""

FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class MotDetections:
    """Boxes per 0-based frame index from a MOT file.

    Attributes:
        path: where they were read from.
        boxes: frame index -> N x 4 float32 (left, top, right, bottom).
        scores: frame index -> N float32 scores.
        ground_truth: the file was read as ground truth (0/1 confidences).
    """

    path: Path
    boxes: dict[int, FloatArray]
    scores: dict[int, FloatArray]
    ground_truth: bool

    def at(self, frame: Frame) -> Detections:
        """The rows for ``frame`` as `Detections` (none if the file has no row for it)."""
        boxes = self.boxes.get(frame.index, np.empty((0, 4), dtype=np.float32))
        scores = self.scores.get(frame.index, np.empty(0, dtype=np.float32))
        return Detections(frame.index, frame.timestamp_s, frame.width, frame.height, boxes, scores)


def load_mot_detections(path: Path) -> MotDetections:
    """Read and check a MOT ``det.txt`` / ``gt.txt`` file.

    Raises:
        ConfigError: naming the file (and the line) for a missing, oversized or malformed file.
    """
    try:
        size = path.stat().st_size
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: detections file not found") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read detections file ({exc.strerror or exc})") from exc
    if size > MAX_FILE_BYTES:
        raise ConfigError(f"{path}: detections file is {size} bytes, more than {MAX_FILE_BYTES}")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read detections file ({exc})") from exc
    rows = [
        _parse_row(path, number, line) for number, line in enumerate(text.splitlines(), 1) if line.strip()
    ]
    table = np.array(rows, dtype=np.float64).reshape(-1, _COLUMNS)
    ground_truth = bool(table.size) and bool(np.isin(table[:, 6], (0.0, 1.0)).all())
    if ground_truth:
        table = table[table[:, 6] != 0.0]
        scores = np.full(table.shape[0], GROUND_TRUTH_SCORE)
    else:
        scores = np.clip(table[:, 6], 0.0, 1.0)
    frames = table[:, 0].astype(np.int64) - 1
    ltrb = np.column_stack([table[:, 2], table[:, 3], table[:, 2] + table[:, 4], table[:, 3] + table[:, 5]])
    boxes: dict[int, FloatArray] = {}
    kept: dict[int, FloatArray] = {}
    for index in np.unique(frames).tolist():
        rows_of_frame = frames == index
        boxes[index] = ltrb[rows_of_frame].astype(np.float32)
        kept[index] = scores[rows_of_frame].astype(np.float32)
    return MotDetections(path, boxes, kept, ground_truth)


def _parse_row(path: Path, number: int, line: str) -> list[float]:
    fields = line.replace(" ", "").split(",")
    if len(fields) < _COLUMNS:
        raise ConfigError(
            f"{path}:{number}: expected frame,id,left,top,width,height,conf (7 columns), got {len(fields)}"
        )
    try:
        values = [float(field) for field in fields[:_COLUMNS]]
    except ValueError:
        raise ConfigError(f"{path}:{number}: not a number in {line.strip()[:80]!r}") from None
    frame, _, left, top, width, height, _ = values
    if not all(math.isfinite(value) for value in values):
        raise ConfigError(f"{path}:{number}: values must be finite")
    if frame < 1 or frame != int(frame):
        raise ConfigError(
            f"{path}:{number}: frame must be an integer >= 1 (MOT frames start at 1), got {frame:g}"
        )
    if width <= 0 or height <= 0:
        raise ConfigError(f"{path}:{number}: width and height must be positive, got {width:g} x {height:g}")
    del left, top
    return values


class ReplayDetector:
    """A `StagedDetector` that returns a MOT file's boxes for each frame (no model, no inference)."""

    def __init__(self, detections: MotDetections) -> None:
        self._detections = detections

    @property
    def input_size(self) -> tuple[int, int]:
        return (0, 0)

    def detect(self, frame: Frame) -> Detections:
        return self._detections.at(frame)

    def preprocess(self, frame: Frame) -> tuple[FloatArray, float]:
        # Nothing to prepare: the "tensor" carries the frame index through the worker thread.
        return np.array([frame.index], dtype=np.float32), 1.0

    def infer(self, tensor: FloatArray) -> FloatArray:
        return tensor

    def postprocess(self, head: FloatArray, scale: float, frame: Frame) -> Detections:
        return self._detections.at(frame)
