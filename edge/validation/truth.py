"""Reference counts for a replayed clip: MOT ground truth or a hand-made list of crossings.

Accepted files (`footfall validate --truth`):
- MOT ground truth (`gt.txt`, or a MOT sequence folder holding `gt/gt.txt`): rows
  `frame,id,left,top,width,height,conf,...` in pixels; rows with conf 0 are ignored. Crossings
  are derived per calibrated line by the rule of `crossings_of_paths`.
- A crossings list (CSV with a header naming `line_id` and `direction` columns, one row per person
  crossing, extra columns such as `time_s` ignored): what someone writes while watching a recording.
- A JSON object `{"lines": {"<line id>": {"in": N, "out": M}}}`.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from pathlib import Path

from edge.errors import ConfigError
from edge.records import LineSpec

# A person's normalised foot point in one frame: (frame number, x, y).
PathPoint = tuple[int, float, float]
# MOT columns up to the confidence flag.
MOT_COLUMNS = 7


LineCounts = dict[str, tuple[int, int]]


def load_truth(path: Path, lines: Sequence[LineSpec], frame_size: tuple[int, int]) -> LineCounts:
    """(in, out) per calibrated line id from a truth file (see the module docstring).

    Args:
        path: the truth file, or a MOT sequence folder.
        lines: the calibrated lines the device counts.
        frame_size: (width, height) of the clip's frames, to normalise MOT pixels.

    Raises:
        ConfigError: the file is missing, unreadable, of no known format, or names unknown lines.
    """
    if path.is_dir():
        path = path / "gt" / "gt.txt"
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the truth file {path}: {exc}") from exc
    stripped = text.lstrip()
    if stripped.startswith("{"):
        counts = _json_counts(stripped, path)
    elif stripped[:1].isdigit():
        paths = _mot_paths(text, path, frame_size)
        counts = {line.line_id: crossings_of_paths(paths, line) for line in lines}
    else:
        counts = _listed_counts(text, path)
    known = {line.line_id for line in lines}
    unknown = sorted(set(counts) - known)
    if unknown:
        raise ConfigError(f"{path.name}: lines {', '.join(unknown)} are not in the calibration")
    return {line.line_id: counts.get(line.line_id, (0, 0)) for line in lines}


def crossings_of_paths(paths: Iterable[Sequence[PathPoint]], line: LineSpec) -> tuple[int, int]:
    """(in, out) crossings of `line` by foot-point paths (the rule of ../shared/data/README.md).

    With s(P) = (Bx-Ax)(Py-Ay) - (By-Ay)(Px-Ax), a step from s < 0 to s > 0 that passes between
    A and B is `in`, the reverse is `out`. Written apart from `edge.count` on purpose: the truth
    must not share the counter's code.
    """
    counts = [0, 0]
    (ax, ay), (bx, by) = line.a, line.b
    for points in paths:
        # A foot point exactly on the line (integer pixels on a round line) belongs to neither
        # side: each step is judged from the last point that was on one.
        last: tuple[float, float, float] | None = None  # (x, y, s) of the last point off the line
        for _, qx, qy in sorted(points):
            side_q = (bx - ax) * (qy - ay) - (by - ay) * (qx - ax)
            if side_q == 0:
                continue
            if last is not None and last[2] * side_q < 0:
                px, py = last[0], last[1]
                along_a = (qx - px) * (ay - py) - (qy - py) * (ax - px)
                along_b = (qx - px) * (by - py) - (qy - py) * (bx - px)
                if along_a * along_b <= 0:
                    counts[0 if side_q > 0 else 1] += 1
            last = (qx, qy, side_q)
    return counts[0], counts[1]


def _mot_paths(text: str, path: Path, frame_size: tuple[int, int]) -> list[list[PathPoint]]:
    width, height = frame_size
    paths: dict[int, list[PathPoint]] = {}
    for number, row in enumerate(csv.reader(text.splitlines()), start=1):
        if not row:
            continue
        try:
            values = [float(cell) for cell in row[:MOT_COLUMNS]]
            frame, person, left, top, box_width, box_height, conf = values
        except ValueError:
            raise ConfigError(f"{path.name} line {number}: not a MOT row: {','.join(row)[:80]}") from None
        if conf == 0:
            continue
        foot = ((left + box_width / 2) / width, (top + box_height) / height)
        paths.setdefault(int(person), []).append((int(frame), *foot))
    if not paths:
        raise ConfigError(f"{path.name}: no ground-truth rows")
    return list(paths.values())


def _listed_counts(text: str, path: Path) -> LineCounts:
    reader = csv.DictReader(text.splitlines())
    if not reader.fieldnames or not {"line_id", "direction"} <= set(reader.fieldnames):
        raise ConfigError(
            f"{path.name}: not a truth file (expected MOT rows, JSON, or CSV with line_id,direction columns)"
        )
    counts: dict[str, list[int]] = {}
    for number, row in enumerate(reader, start=2):
        direction = (row["direction"] or "").strip().lower()
        if direction not in ("in", "out"):
            raise ConfigError(f"{path.name} line {number}: direction must be in or out, got {direction!r}")
        counts.setdefault((row["line_id"] or "").strip(), [0, 0])[direction == "out"] += 1
    return {line_id: (pair[0], pair[1]) for line_id, pair in counts.items()}


def _json_counts(text: str, path: Path) -> LineCounts:
    try:
        lines = json.loads(text)["lines"]
        counts = {str(line_id): (_count(pair["in"]), _count(pair["out"])) for line_id, pair in lines.items()}
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        expected = '{"lines": {"<id>": {"in": N, "out": M}}}'
        raise ConfigError(f"{path.name}: expected {expected}: {exc}") from exc
    return counts


def _count(value: object) -> int:
    """A count from JSON: a non-negative integer, nothing else (not 2.7, not true)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"counts must be non-negative integers, got {value!r}")
    return value
