"""The evaluation clips of ../shared/data, their ground truth, and cached detections.

Shared by the benchmark scripts. Detections of the real model are computed once per clip and
model digest and cached under benchmarks/.cache (ignored by git), so trackers and counters can be
compared on exactly the same detection streams.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import platform
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt

from edge.assets import default_cache_dir, resolve
from edge.calibration import Calibration, load_calibration, parse_calibration
from edge.detect import Detector, OnnxDetector
from edge.detect.crop import Crop, CroppedDetector
from edge.detect.sizing import DEFAULT_PIXEL_BUDGET, input_size_for
from edge.records import Detections, LineSpec
from edge.sources import open_source

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"
CACHE = PROJECT_ROOT / "benchmarks" / ".cache"
RESULTS = PROJECT_ROOT / "benchmarks" / "RESULTS.md"
EXAMPLES = PROJECT_ROOT / "calibration" / "examples"


@dataclass(frozen=True, slots=True)
class Clip:
    """A clip with MOT ground truth (or, without boxes, a known number of visits)."""

    name: str
    source: str
    fps: float
    calibration: str
    ground_truth: str | None
    width: int
    height: int

    @property
    def source_path(self) -> Path:
        return SHARED_DATA / self.source

    def load_calibration(self) -> Calibration:
        """The clip's lines: a project example, or a `lines.json` read from ../shared/data."""
        if self.calibration.endswith("lines.json"):
            lines = json.loads((SHARED_DATA / self.calibration).read_text())
            document = json.dumps({"description": self.name, "lines": lines})
            return parse_calibration(document, source=self.calibration)
        return load_calibration(EXAMPLES / f"{self.calibration}.json")


CLIPS = (
    Clip("PETS09-S2L1-300", "PETS09-S2L1-300", 7.0, "pets09-s2l1", "PETS09-S2L1-300/gt/gt.txt", 768, 576),
    Clip("PETS09-S3-MF1", "PETS09-S3-MF1", 7.0, "pets09-s3-mf1", "PETS09-S3-MF1/gt/gt.txt", 768, 576),
    Clip("TUD-Campus", "TUD-Campus", 25.0, "tud-campus", "TUD-Campus/gt_mot15/gt.txt", 640, 480),
    Clip(
        "TUD-Stadtmitte",
        "TUD-Stadtmitte/TUD-Stadtmitte.mp4",
        25.0,
        "tud-stadtmitte",
        "TUD-Stadtmitte/gt/gt.txt",
        640,
        480,
    ),
    # The busy shopping street: never tuned on before issue 13; its lines come from the data folder.
    Clip(
        "ADL-Rundle-6",
        "ADL-Rundle-6/ADL-Rundle-6.avi",
        30.0,
        "ADL-Rundle-6/lines.json",
        "ADL-Rundle-6/gt/gt.txt",
        960,
        540,
    ),
)
# No boxes: 6 people come to the table one at a time and leave to the right (its SOURCE.txt).
VISITS_CLIP = Clip(
    "Intel-one-by-one",
    "Intel-one-by-one-person/one-by-one-person-detection.mp4",
    10.0,
    "demo",
    None,
    768,
    432,
)
VISITS_TRUTH = 6


@dataclass(frozen=True, slots=True)
class TruthBox:
    """One ground-truth box: frame index (0-based), person id, left, top, right, bottom."""

    frame_index: int
    person_id: int
    box: tuple[float, float, float, float]


def load_ground_truth(clip: Clip) -> list[TruthBox]:
    """MOT gt rows of a clip; rows whose confidence column is 0 are ignored (MOT convention)."""
    assert clip.ground_truth is not None
    rows = np.loadtxt(SHARED_DATA / clip.ground_truth, delimiter=",", ndmin=2)
    rows = rows[rows[:, 6] != 0]
    return [
        TruthBox(int(row[0]) - 1, int(row[1]), (row[2], row[3], row[2] + row[4], row[3] + row[5]))
        for row in rows
    ]


@dataclass(frozen=True, slots=True)
class TruthCrossing:
    """One gt person crossing one line: the first frame on the new side, and which way (in/out)."""

    person_id: int
    frame_index: int
    inward: bool


def truth_crossing_events(clip: Clip, line: LineSpec) -> list[TruthCrossing]:
    """Every crossing of `line` by the plain rule of ../shared/data/README.md, written
    independently of edge.count."""
    tracks: dict[int, list[tuple[int, float, float]]] = {}
    for truth in load_ground_truth(clip):
        left, _, right, bottom = truth.box
        foot = ((left + right) / 2 / clip.width, bottom / clip.height)
        tracks.setdefault(truth.person_id, []).append((truth.frame_index, *foot))
    events = []
    (ax, ay), (bx, by) = line.a, line.b
    for person_id, points in tracks.items():
        points.sort()
        for (_, px, py), (frame_index, qx, qy) in itertools.pairwise(points):
            side_p = (bx - ax) * (py - ay) - (by - ay) * (px - ax)
            side_q = (bx - ax) * (qy - ay) - (by - ay) * (qx - ax)
            if side_p * side_q >= 0:
                continue
            # The path crosses the infinite line; it counts if it crosses between A and B.
            along_a = (qx - px) * (ay - py) - (qy - py) * (ax - px)
            along_b = (qx - px) * (by - py) - (qy - py) * (bx - px)
            if along_a * along_b <= 0:
                events.append(TruthCrossing(person_id, frame_index, inward=bool(side_q > 0)))
    return events


def truth_crossings(clip: Clip, line: LineSpec) -> tuple[int, int]:
    """(in, out) of `line` by the rule of ../shared/data/README.md (see `truth_crossing_events`)."""
    events = truth_crossing_events(clip, line)
    inward = sum(event.inward for event in events)
    return inward, len(events) - inward


def truth_detections(clip: Clip, score: float = 0.9) -> list[Detections]:
    """The ground-truth boxes as a detector would give them, one `Detections` per frame of the clip.

    Frames without gt rows have nobody; every box gets the same `score`.
    """
    by_frame: dict[int, list[tuple[float, float, float, float]]] = {}
    for truth in load_ground_truth(clip):
        by_frame.setdefault(truth.frame_index, []).append(truth.box)
    frames = max(by_frame) + 1 if by_frame else 0
    frames = max(frames, _frame_count(clip))
    out = []
    for index in range(frames):
        boxes = np.asarray(by_frame.get(index, []), dtype=np.float32).reshape(-1, 4)
        scores = np.full(boxes.shape[0], score, dtype=np.float32)
        out.append(Detections(index, index / clip.fps, clip.width, clip.height, boxes, scores))
    return out


def _frame_count(clip: Clip) -> int:
    info = (
        clip.source_path.parent / "seqinfo.ini"
        if clip.source_path.is_file()
        else clip.source_path / "seqinfo.ini"
    )
    if info.is_file():
        match = re.search(r"^seqLength=(\d+)", info.read_text(), re.MULTILINE)
        if match:
            return int(match.group(1))
    return 0


def at_rate(stream: list[Detections], fps: float, rate_fps: float | None, phase: int = 0) -> list[Detections]:
    """The frames a detector running `rate_fps` times a second would see (all when None).

    A frame is kept when it is the first at or after the next due time, as on a device that
    detects whenever it is ready: the mean rate is `rate_fps`, the gaps as even as frames allow.
    The first frame is always kept; `phase` (in frames, 0 to `phases(fps, rate_fps) - 1`) shifts
    every later due time, since where a person is when the detector happens to look is luck.
    """
    if rate_fps is None or rate_fps >= fps:
        return list(stream)
    if not stream:
        return []
    period_s = 1.0 / rate_fps
    kept: list[Detections] = [stream[0]]
    due_s = stream[min(phase, len(stream) - 1)].timestamp_s if phase else stream[0].timestamp_s + period_s
    for item in stream[1:]:
        if item.timestamp_s + 1e-9 >= due_s:
            kept.append(item)
            due_s += period_s
    return kept


def phases(fps: float, rate_fps: float | None, most: int = 6) -> list[int]:
    """Phases (frame offsets) of `at_rate` to average over: evenly spread, at most `most`."""
    if rate_fps is None or rate_fps >= fps:
        return [0]
    frames_per_detection = max(1, round(fps / rate_fps))
    count = min(most, frames_per_detection)
    return sorted({round(k * frames_per_detection / count) for k in range(count)})


MODEL_INPUT = (416, 416)
"""The default model's own input (width, height)."""


def patched_model(size: tuple[int, int]) -> Path:
    """The default model taking `size` (width, height): the model itself at 416x416, else patched once."""
    from edge.pipeline import sized_model

    source = model_file()
    return source if size == MODEL_INPUT else sized_model(source, size, CACHE / "models")


def auto_model(clip: Clip, budget: int = DEFAULT_PIXEL_BUDGET) -> Path:
    """The model the default settings ("auto", this budget) give a camera of the clip's size."""
    return patched_model(input_size_for(clip.width, clip.height, budget))


def model_file() -> Path:
    return resolve("yolox_nano", cache_dir=default_cache_dir())


def detections(
    clip: Clip, *, model: Path | None = None, threads: int = 0, crop: Crop | None = None
) -> list[Detections]:
    """The real model's detections for every frame of a clip, cached per model digest (and crop).

    Args:
        clip: the clip.
        model: an .onnx file (another size, a quantised variant); the default model when None.
        threads: onnxruntime threads (0: the detector's default).
        crop: run the model on this region of each frame only (boxes still in frame pixels).
    """
    model = model or model_file()
    digest = hashlib.sha256(model.read_bytes()).hexdigest()[:12]
    if crop is not None and not crop.is_full:
        region = (crop.left, crop.top, crop.right, crop.bottom)
        digest += "-crop" + hashlib.sha256(repr(region).encode()).hexdigest()[:8]
    cache = CACHE / f"{clip.name}-{digest}.npz"
    if cache.is_file():
        return _load(cache)
    inner = OnnxDetector(model, threads=threads)
    detector: Detector = inner if crop is None or crop.is_full else CroppedDetector(inner, crop)
    with open_source(str(clip.source_path), fps=clip.fps) as source:
        found = [detector.detect(frame) for frame in source]
    CACHE.mkdir(parents=True, exist_ok=True)
    _save(cache, found)
    return found


def _save(path: Path, found: list[Detections]) -> None:
    arrays: dict[str, npt.NDArray[np.float32] | npt.NDArray[np.float64]] = {
        "meta": np.array([[d.frame_index, d.timestamp_s, d.width, d.height] for d in found], dtype=np.float64)
    }
    for number, item in enumerate(found):
        arrays[f"boxes{number}"] = item.boxes
        arrays[f"scores{number}"] = item.scores
    np.savez_compressed(path, **arrays)  # type: ignore[arg-type]


def _load(path: Path) -> list[Detections]:
    with np.load(path) as stored:
        return [
            Detections(
                int(meta[0]),
                float(meta[1]),
                int(meta[2]),
                int(meta[3]),
                stored[f"boxes{n}"],
                stored[f"scores{n}"],
            )
            for n, meta in enumerate(stored["meta"])
        ]


def iterate_clips() -> Iterator[Clip]:
    yield from CLIPS


def machine_line() -> str:
    """One line naming the date, machine and versions the figures were measured with."""
    import cv2
    import onnxruntime

    cpu = platform.processor() or platform.machine()
    model_name = _cpu_model()
    return (
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {model_name or cpu}, {_cpu_count()} cores; "
        f"Python {platform.python_version()}, numpy {np.__version__}, onnxruntime {onnxruntime.__version__}, "
        f"OpenCV {cv2.__version__}"
    )


def _cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return ""
    match = re.search(r"^model name\s*:\s*(.+)$", text, re.MULTILINE)
    return match.group(1).strip() if match else ""


def _cpu_count() -> int:
    import os

    return len(os.sched_getaffinity(0))


def write_section(name: str, markdown: str) -> None:
    """Replace this script's section of benchmarks/RESULTS.md, keeping the other scripts' sections."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    text = (
        RESULTS.read_text()
        if RESULTS.is_file()
        else "# Benchmark results\n\nWritten by the scripts in benchmarks/.\n"
    )
    block = f"{start}\n{markdown.rstrip()}\n{end}"
    if start in text and end in text:
        text = text[: text.index(start)] + block + text[text.index(end) + len(end) :]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    RESULTS.write_text(text)
