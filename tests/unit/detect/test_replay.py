"""MOT detection files replayed instead of the model: parsing, scores, errors, frame mapping."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from edge.detect.replay import GROUND_TRUTH_SCORE, MAX_FILE_BYTES, ReplayDetector, load_mot_detections
from edge.errors import ConfigError
from edge.records import Frame


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
        ("frame,id,left,top,width,height,conf\n1,1,10,20,30,40,1\n", r"det.txt:1: not a number"),
        ("0,1,10,20,30,40,1\n", r"det.txt:1: frame must be an integer from 1 .*, got 0"),
        ("1.5,1,10,20,30,40,1\n", r"det.txt:1: frame must be an integer from 1 .*, got 1.5"),
        ("1e12,1,10,20,30,40,1\n", r"det.txt:1: frame .* to 1000000000, got 1e\+12"),
        ("1,1,10,20,-3,40,1\n", r"det.txt:1: width and height must be positive, got -3 x 40"),
        ("1,1,10,20,30,0,1\n", r"det.txt:1: width and height must be positive, got 30 x 0"),
        ("1,1,10,20,nan,40,1\n", r"det.txt:1: values must be finite"),
        ("1,1,10,20,30,40,inf\n", r"det.txt:1: values must be finite"),
        ("1,1,10,20,30,40,1\n\n2,1,10,20,30,40,1\n2,1,10\n3,1\n", r"det.txt:4: expected .* got 3"),
    ],
    ids=[
        "too-few-columns",
        "not-a-number",
        "header-line",
        "frame-0",
        "fractional-frame",
        "frame-too-large",
        "negative-width",
        "zero-height",
        "nan",
        "infinite-conf",
        "first-bad-line-counting-blank-lines",
    ],
)
def test_malformed_rows_name_the_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_mot_detections(_write(tmp_path, text))


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="detections file not found"):
        load_mot_detections(tmp_path / "nope.txt")


def test_a_file_that_is_not_text_or_not_a_file_is_a_clear_error(tmp_path: Path) -> None:
    binary = tmp_path / "det.txt"
    binary.write_bytes(b"1,1,10,20,30,40,1\n\xff\xfe,1\n")
    with pytest.raises(ConfigError, match=r"det.txt: cannot read detections file"):
        load_mot_detections(binary)
    with pytest.raises(ConfigError, match=r"cannot read detections file"):
        load_mot_detections(tmp_path)


def test_a_file_over_the_size_bound_is_refused_before_it_is_read(tmp_path: Path) -> None:
    huge = tmp_path / "det.txt"
    with huge.open("wb") as file:
        file.truncate(MAX_FILE_BYTES + 1)  # sparse: no disk used, and the size check comes first
    with pytest.raises(
        ConfigError, match=rf"det.txt: detections file is {MAX_FILE_BYTES + 1} bytes, more than"
    ):
        load_mot_detections(huge)


@pytest.mark.parametrize(
    ("text", "ground_truth", "scores"),
    [
        ("1,1,0,0,5,5,1\n1,2,0,0,5,5,0\n", True, [GROUND_TRUTH_SCORE]),
        ("1,1,0,0,5,5,-1\n1,2,0,0,5,5,-1\n", True, [GROUND_TRUTH_SCORE] * 2),
        ("1,1,0,0,5,5,1\n1,2,0,0,5,5,0\n1,3,0,0,5,5,-1\n", True, [GROUND_TRUTH_SCORE] * 2),
        ("1,1,0,0,5,5,0\n", True, []),
        ("1,-1,0,0,5,5,0.35\n1,-1,0,0,5,5,0.8\n", False, [0.35, 0.8]),
        ("1,-1,0,0,5,5,17.2\n1,-1,0,0,5,5,0.5\n", False, [1.0, 0.5]),
        ("1,-1,0,0,5,5,0.5\n1,-1,0,0,5,5,-1\n", False, [0.5, 0.0]),
        ("1,-1,0,0,5,5,0.5\n1,-1,0,0,5,5,0\n", False, [0.5, 0.0]),
    ],
    ids=[
        "gt-1-counts-0-ignored",
        "mot15-gt-all-minus-1",
        "gt-every-flag",
        "gt-only-ignored-rows",
        "det-fractions",
        "det-above-1-clipped",
        "det-minus-1-clipped",
        "det-keeps-score-0",
    ],
)
def test_score_rule(tmp_path: Path, text: str, ground_truth: bool, scores: list[float]) -> None:
    found = load_mot_detections(_write(tmp_path, text))
    assert found.ground_truth is ground_truth
    assert found.at(_frame(0)).scores.tolist() == pytest.approx(scores)


def test_an_empty_file_has_nobody_in_any_frame(tmp_path: Path) -> None:
    found = load_mot_detections(_write(tmp_path, "\n  \n"))
    assert found.last_frame_index is None
    detections = ReplayDetector(found).detect(_frame(0))
    assert (len(detections), detections.boxes.shape, detections.scores.shape) == (0, (0, 4), (0,))


def test_rows_in_any_order_and_with_any_extra_columns_go_to_their_frame_in_file_order(tmp_path: Path) -> None:
    text = "3,1,1,1,1,1,0.5,-1,-1,-1\n1,1, 2 ,2,2,2,0.6\n3,2,3,3,3,3,0.7,9\n2,1,4,4,4,4,0.8,-1,-1,-1\n"
    found = load_mot_detections(_write(tmp_path, text))
    assert found.last_frame_index == 2
    assert [found.at(_frame(index)).boxes[:, 0].tolist() for index in range(4)] == [
        [2.0],
        [4.0],
        [1.0, 3.0],
        [],
    ]
    assert found.at(_frame(2)).scores.tolist() == pytest.approx([0.5, 0.7])


def test_detections_carry_the_frame_time_and_size(tmp_path: Path) -> None:
    detector = ReplayDetector(load_mot_detections(_write(tmp_path, "5,1,10,20,30,40,1\n")))
    detections = detector.detect(Frame(4, 1.25, np.zeros((48, 64, 3), dtype=np.uint8)))
    assert (detections.frame_index, detections.timestamp_s, detections.width, detections.height) == (
        4,
        1.25,
        64,
        48,
    )
    assert detections.boxes.dtype == detections.scores.dtype == np.float32


def test_the_worker_thread_only_carries_the_frame_index(tmp_path: Path) -> None:
    detector = ReplayDetector(load_mot_detections(_write(tmp_path, "1,1,10,20,30,40,1\n")))
    tensor, scale = detector.preprocess(_frame(41))
    assert (tensor.tolist(), scale) == ([41.0], 1.0)
    assert detector.infer(tensor) is tensor


@pytest.mark.parametrize(
    ("relative", "ground_truth", "boxes", "last_frame_index"),
    [
        ("PETS09-S2L1-300/gt/gt.txt", True, 1700, 299),  # 1874 rows, 174 with conf 0
        ("PETS09-S3-MF1/gt/gt.txt", True, 620, 106),  # conf -1 on every row
        ("TUD-Campus/gt/gt.txt", True, 359, 70),  # 7-column MOT15 gt, conf -1
        ("TUD-Campus/gt_mot15/gt.txt", True, 359, 70),
        ("TUD-Campus/det/det.txt", False, 344, 70),  # ACF scores, mostly above 1
        ("PETS09-S3-MF1/img/det.txt", False, 691, 106),  # scores in [0, 1]
    ],
    ids=[
        "pets09-s2l1-gt",
        "pets09-s3-mf1-gt",
        "tud-campus-gt",
        "tud-campus-gt-mot15",
        "tud-det",
        "pets-s3-det",
    ],
)
def test_the_shared_mot_files(
    shared_data: Path, relative: str, ground_truth: bool, boxes: int, last_frame_index: int
) -> None:
    found = load_mot_detections(shared_data / relative)
    assert found.ground_truth is ground_truth
    assert sum(len(frame_boxes) for frame_boxes in found.boxes.values()) == boxes
    assert found.last_frame_index == last_frame_index
    scores = np.concatenate(list(found.scores.values()))
    assert ((scores >= 0.0) & (scores <= 1.0)).all()
    if ground_truth:
        assert (scores == np.float32(GROUND_TRUTH_SCORE)).all()


def test_the_first_pets09_row_is_frame_0_in_pixels(shared_data: Path) -> None:
    # gt.txt line 1: 1,9,499,158,31.03,75.17,1,... (MOT frame 1, left, top, width, height)
    found = load_mot_detections(shared_data / "PETS09-S2L1-300" / "gt" / "gt.txt")
    assert found.at(_frame(0)).boxes[0].tolist() == pytest.approx([499.0, 158.0, 530.03, 233.17])


def test_a_long_file_reads_in_linear_time(tmp_path: Path) -> None:
    # 100 000 frames of one row each: grouping rows frame by frame took minutes; it must take moments.
    path = tmp_path / "det.txt"
    path.write_text("".join(f"{frame},-1,1,2,3,4,0.5\n" for frame in range(1, 100_001)))
    started = time.perf_counter()
    found = load_mot_detections(path)
    assert time.perf_counter() - started < 5.0
    assert found.last_frame_index == 99_999
    assert found.at(_frame(54_321)).boxes.tolist() == [[1.0, 2.0, 4.0, 6.0]]
