"""`footfall validate`: count a recorded clip and compare every line with its ground truth.

The same comparison as on site (`ValidationRecord`, same tolerance and verdict), run before a
device goes out: on a recording of its street, or on a public clip with ground truth.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from edge.calibration import Calibration
from edge.errors import SourceError
from edge.pipeline import CountingPipeline, count_source
from edge.records import Frame, ValidationRecord, Verdict
from edge.sources import FrameSource
from edge.sources.base import ClosingContext
from edge.validation.session import MAX_OPERATOR_CHARS, DeviceFacts
from edge.validation.truth import load_truth


@dataclass(frozen=True, slots=True)
class ReplayResult:
    """Every line of one replayed clip, and the clip as a whole."""

    source: str
    frames: int
    seconds: float
    records: tuple[ValidationRecord, ...]

    @property
    def reference_total(self) -> int:
        return sum(record.reference_total for record in self.records)

    @property
    def error_total(self) -> int:
        """Sum of every line's absolute errors: errors of two lines never cancel out."""
        return sum(record.error_total for record in self.records)

    @property
    def accuracy(self) -> float | None:
        total = self.reference_total
        return None if total == 0 else 1.0 - self.error_total / total

    @property
    def verdict(self) -> Verdict:
        if not self.records or self.reference_total < self.records[0].min_people:
            return Verdict.INCONCLUSIVE
        accuracy = self.accuracy
        assert accuracy is not None
        return Verdict.PASS if accuracy >= 1.0 - self.records[0].tolerance - 1e-9 else Verdict.FAIL


def replay(
    source: FrameSource,
    pipeline: CountingPipeline,
    calibration: Calibration,
    truth: Path,
    facts: DeviceFacts,
    *,
    on_frame: Callable[[], object] | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> ReplayResult:
    """Count `source` with `pipeline` and compare each calibrated line with `truth`.

    Raises:
        SourceError: the source has no frame.
        ConfigError: the truth file is unreadable or names lines the calibration lacks.
    """
    started = clock()
    load_truth(truth, calibration.lines, (1, 1))  # a bad truth file fails now, not after the clip
    noting = _SizeNoting(source)
    run = count_source(noting, pipeline, calibration, on_frame)
    if noting.size is None:
        raise SourceError(f"{source.name}: no frame to count")
    truth_counts = load_truth(truth, calibration.lines, noting.size)
    ended = clock()
    records = tuple(
        facts.record(
            secrets.token_hex(8),
            "replay",
            line.line_id,
            (started, ended),
            reference=truth_counts[line.line_id],
            device=(line.in_count, line.out_count),
            operator=source.name[-MAX_OPERATOR_CHARS:],
            calibration_version=calibration.version,
            coverage=1.0,  # every frame of the recording was counted
        )
        for line in run.summary.lines
    )
    return ReplayResult(source.name, run.frames, run.seconds, records)


def format_result(result: ReplayResult) -> str:
    """A table for people: one row per line and one for the clip."""
    header = (
        f"{'line':<16} {'truth in/out':>13} {'device in/out':>14} {'error in/out':>13} "
        f"{'accuracy':>8}  verdict"
    )
    rows = [f"{result.source}: {result.frames} frames, {result.seconds:.1f} s", header]
    for record in result.records:
        rows.append(
            f"{record.line_id:<16} {_pair(record.reference_in, record.reference_out):>13} "
            f"{_pair(record.device_in, record.device_out):>14} "
            f"{_pair(record.error_in, record.error_out, signed=True):>13} "
            f"{_percent(record.accuracy):>8}  {record.verdict}"
        )
    tolerance = result.records[0].tolerance if result.records else 0.0
    rows.append(
        f"{'all lines':<16} {result.reference_total:>13} {'':>14} {result.error_total:>13} "
        f"{_percent(result.accuracy):>8}  {result.verdict} (tolerance {tolerance:.0%})"
    )
    return "\n".join(rows)


class _SizeNoting(ClosingContext):
    """The source as it is, noting the frame size (ground truth in pixels needs it)."""

    def __init__(self, source: FrameSource) -> None:
        self._source = source
        self.size: tuple[int, int] | None = None

    @property
    def fps(self) -> float:
        return self._source.fps

    @property
    def name(self) -> str:
        return self._source.name

    @property
    def frame_count(self) -> int | None:
        return self._source.frame_count

    def __iter__(self) -> Iterator[Frame]:
        for frame in self._source:
            if self.size is None:
                self.size = (frame.width, frame.height)
            yield frame

    def close(self) -> None:
        self._source.close()


def _pair(first: int, second: int, *, signed: bool = False) -> str:
    return f"{first:+d}/{second:+d}" if signed else f"{first}/{second}"


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"
