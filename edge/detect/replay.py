"""Detections read from a MOT file instead of the model: the tracker and counter measured alone.

`footfall count SOURCE --detections det.txt` replays given boxes (MOT ``det.txt`` or ``gt.txt``,
in the source's pixels) through the same tracker and counter: how a tracker is measured apart
from the detector, how MOT users compare trackers, and how a city replays a problem clip. Frames
without rows have nobody. MOT frames are 1-based: row frame ``f`` is the source's frame ``f - 1``.

Scores: a file whose confidence column holds only the MOT ground-truth flags 1, 0 and -1 is
ground truth (``gt.txt``): rows with 0 are ignored (the MOT convention: not a pedestrian to count)
and the others score `GROUND_TRUTH_SCORE` (MOT15's 7-column ``gt.txt`` writes -1, "not given",
on every row). Any other file is a detector's output: its confidences are the scores, clipped to
[0, 1] (public ``det.txt`` files carry detector-specific values above 1).

Files over `MAX_FILE_BYTES` are refused, so a wrong path cannot exhaust a small device's memory.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from edge.errors import ConfigError
from edge.records import Detections, Frame

GROUND_TRUTH_SCORE = 0.9
"""Score given to ground-truth boxes: confident, as a clear detection would be."""
MAX_FILE_BYTES = 256 * 1024 * 1024
"""Largest detections file read, bytes (a 2-hour 30 fps clip with 50 people a frame is ~200 MB;
2 million rows, 108 MB, read in ~1 s with a peak of ~170 MB of memory)."""
MAX_FRAME = 1_000_000_000
"""Largest MOT frame number taken (a year of 30 fps video is 0.95e9 frames)."""
_GROUND_TRUTH_FLAGS = (-1.0, 0.0, 1.0)
"""Confidences of a MOT gt.txt: 1 count, 0 ignore, -1 not given (MOT15)."""
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
        ground_truth: the file was read as ground truth (confidences only 1, 0 and -1).
    """

    path: Path
    boxes: dict[int, FloatArray]
    scores: dict[int, FloatArray]
    ground_truth: bool

    @property
    def last_frame_index(self) -> int | None:
        """0-based index of the last frame with a row; None for a file without rows."""
        return max(self.boxes, default=None)

    def at(self, frame: Frame) -> Detections:
        """The rows for ``frame`` as `Detections` (none if the file has no row for it)."""
        boxes = self.boxes.get(frame.index, np.empty((0, 4), dtype=np.float32))
        scores = self.scores.get(frame.index, np.empty(0, dtype=np.float32))
        return Detections(frame.index, frame.timestamp_s, frame.width, frame.height, boxes, scores)


def load_mot_detections(path: Path) -> MotDetections:
    """Read and check a MOT ``det.txt`` / ``gt.txt`` file (see the module docstring for scores).

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
    table = _read_table(path)
    ground_truth = bool(table.size) and bool(np.isin(table[:, 6], _GROUND_TRUTH_FLAGS).all())
    if ground_truth:
        table = table[table[:, 6] != 0.0]
        scores = np.full(table.shape[0], GROUND_TRUTH_SCORE, dtype=np.float32)
    else:
        scores = np.clip(table[:, 6], 0.0, 1.0).astype(np.float32)
    if not table.size:
        return MotDetections(path, {}, {}, ground_truth)  # an empty file: nobody in any frame
    frames = table[:, 0].astype(np.int64) - 1
    ltrb = table[:, 2:6].astype(np.float32)
    del table  # the largest array: free it before sorting copies
    ltrb[:, 2:] += ltrb[:, :2]  # width, height -> right, bottom
    order = np.argsort(frames, kind="stable")  # rows of one frame keep their order in the file
    indices, starts = np.unique(frames[order], return_index=True)
    cuts = starts[1:]
    frame_indices = indices.tolist()
    boxes = dict(zip(frame_indices, np.split(ltrb[order], cuts), strict=True))
    kept = dict(zip(frame_indices, np.split(scores[order], cuts), strict=True))
    return MotDetections(path, boxes, kept, ground_truth)


def _read_table(path: Path) -> npt.NDArray[np.float64]:
    """The first seven columns of every row, checked; N x 7 float64.

    numpy's C reader takes a well-formed file (2 million rows in under a second); anything it or
    the checks refuse is read again line by line, to name the line that is wrong.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # an empty file: nobody in any frame
            table = np.loadtxt(
                path, delimiter=",", usecols=range(_COLUMNS), ndmin=2, dtype=np.float64, encoding="utf-8"
            )
    except (ValueError, UnicodeDecodeError):
        table = None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read detections file ({exc.strerror or exc})") from exc
    if table is not None and _rows_are_valid(table):
        return table
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read detections file ({exc})") from exc
    rows = [
        _parse_row(path, number, line) for number, line in enumerate(text.splitlines(), 1) if line.strip()
    ]
    return np.array(rows, dtype=np.float64).reshape(-1, _COLUMNS)


def _rows_are_valid(table: npt.NDArray[np.float64]) -> bool:
    """The checks of `_parse_row`, on the whole table at once."""
    frames, widths, heights = table[:, 0], table[:, 4], table[:, 5]
    return bool(
        np.isfinite(table).all()
        and (frames >= 1).all()
        and (frames <= MAX_FRAME).all()
        and (frames == np.floor(frames)).all()
        and (widths > 0).all()
        and (heights > 0).all()
    )


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
    frame, _, _, _, width, height, _ = values
    if not all(math.isfinite(value) for value in values):
        raise ConfigError(f"{path}:{number}: values must be finite")
    if frame < 1 or frame != int(frame) or frame > MAX_FRAME:
        raise ConfigError(
            f"{path}:{number}: frame must be an integer from 1 (MOT frames start at 1) to {MAX_FRAME}, "
            f"got {frame:g}"
        )
    if width <= 0 or height <= 0:
        raise ConfigError(f"{path}:{number}: width and height must be positive, got {width:g} x {height:g}")
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
