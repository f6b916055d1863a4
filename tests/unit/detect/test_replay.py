"""MOT detection files replayed instead of the model: parsing, scores, errors, frame mapping."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edge.detect.replay import GROUND_TRUTH_SCORE, ReplayDetector, load_mot_detections
from edge.errors import ConfigError
from edge.records import Frame
from edge.sources.thinning import EveryNthSource, every_nth


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "det.txt"
    path.write_text(text)
    return path


def _frame(index: int) -> Frame:
    return Frame(index, index / 10.0, np.zeros((100, 200, 3), dtype=np.uint8))


def test_gt_rows_with_conf_0_are_ignored_and_the_rest_score_as_ground_truth(tmp_path: Path) -> None:
    found = load_mot_detections(
        _write(tmp_path, "1,1,10,20,30,40,1,-1,-1,-1\n1,2,0,0,5,5,0,-1,-1,-1\n3,1,1,2,3,4,1\n")
    )
    assert found.ground_truth
    detector = ReplayDetector(found)
    first = detector.detect(_frame(0))  # MOT frame 1 is the source's frame 0
    assert first.boxes.tolist() == [[10.0, 20.0, 40.0, 60.0]]
    assert first.scores.tolist() == pytest.approx([GROUND_TRUTH_SCORE])
    assert len(detector.detect(_frame(1))) == 0  # no rows: nobody
    assert detector.detect(_frame(2)).boxes.tolist() == [[1.0, 2.0, 4.0, 6.0]]


def test_detector_files_keep_their_scores_clipped_to_0_1(tmp_path: Path) -> None:
    found = load_mot_detections(
        _write(tmp_path, "1,-1,10,20,30,40,0.35\n1,-1,50,20,30,40,17.2\n2,-1,5,5,5,5,-1\n")
    )
    assert not found.ground_truth
    assert found.at(_frame(0)).scores.tolist() == pytest.approx([0.35, 1.0])
    assert found.at(_frame(1)).scores.tolist() == [0.0]


def test_the_staged_path_gives_the_same_boxes_as_detect(tmp_path: Path) -> None:
    detector = ReplayDetector(load_mot_detections(_write(tmp_path, "2,1,10,20,30,40,1\n")))
    frame = _frame(1)
    tensor, scale = detector.preprocess(frame)
    staged = detector.postprocess(detector.infer(tensor), scale, frame)
    assert staged.boxes.tolist() == detector.detect(frame).boxes.tolist() == [[10.0, 20.0, 40.0, 60.0]]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1,1,10,20,30\n", r"det.txt:1: expected frame,id,left,top,width,height,conf \(7 columns\), got 5"),
        ("1,1,10,20,30,40,1\n1,1,a,20,30,40,1\n", r"det.txt:2: not a number"),
        ("0,1,10,20,30,40,1\n", r"det.txt:1: frame must be an integer >= 1"),
        ("1.5,1,10,20,30,40,1\n", r"det.txt:1: frame must be an integer >= 1"),
        ("1,1,10,20,-3,40,1\n", r"det.txt:1: width and height must be positive"),
        ("1,1,10,20,nan,40,1\n", r"det.txt:1: values must be finite"),
    ],
    ids=["too-few-columns", "not-a-number", "frame-0", "fractional-frame", "negative-width", "nan"],
)
def test_malformed_rows_name_the_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_mot_detections(_write(tmp_path, text))


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="detections file not found"):
        load_mot_detections(tmp_path / "nope.txt")


class _ListSource:
    """A finite source of frames (the FrameSource protocol), for thinning."""

    fps = 30.0
    name = "list"
    frame_count = 10

    def __init__(self) -> None:
        self.closed = False

    def __iter__(self):  # type: ignore[no-untyped-def]
        yield from (_frame(index) for index in range(10))

    def close(self) -> None:
        self.closed = True


def test_every_nth_keeps_frames_0_n_2n_with_their_own_times() -> None:
    inner = _ListSource()
    with EveryNthSource(inner, 3) as thinned:  # type: ignore[arg-type]
        frames = list(thinned)
        assert [frame.index for frame in frames] == [0, 3, 6, 9]
        assert [frame.timestamp_s for frame in frames] == pytest.approx([0.0, 0.3, 0.6, 0.9])
        assert thinned.fps == pytest.approx(10.0)
        assert thinned.frame_count == 4
    assert inner.closed


def test_every_1_is_the_source_itself_and_bad_values_are_refused() -> None:
    inner = _ListSource()
    assert every_nth(inner, 1) is inner  # type: ignore[arg-type,comparison-overlap]
    with pytest.raises(ValueError, match="every must be an integer >= 1"):
        EveryNthSource(inner, 0)  # type: ignore[arg-type]
