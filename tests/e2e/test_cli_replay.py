"""`footfall count/validate --detections FILE --every N` end to end: MOT boxes instead of the model.

Ground-truth boxes replayed at full rate must give exactly the line-crossing truth of
../shared/data/README.md, with no model in the cache. `--every` is checked for what it keeps
(frames, times, the JSON), not for counts at low rates, which follow the tracker.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = PROJECT_ROOT / "calibration" / "examples"
FOOTFALL = Path(sys.executable).parent / "footfall"
PETS09_S2L1_SECONDS = 300 / 7  # 300 frames at 7 fps (seqinfo.ini)

# ../shared/data/README.md, "Line-crossing truth": (source, gt file, calibration, extra, {line: (in, out)}).
REPLAY_TRUTH = [
    (
        "PETS09-S2L1-300/img1",
        "PETS09-S2L1-300/gt/gt.txt",
        "pets09-s2l1",
        (),
        {"vertical": (7, 2), "horizontal": (3, 9)},
    ),
    ("PETS09-S3-MF1/img", "PETS09-S3-MF1/gt/gt.txt", "pets09-s3-mf1", ("--fps", "7"), {"crossing": (0, 7)}),
    ("TUD-Campus/img1", "TUD-Campus/gt/gt.txt", "tud-campus", (), {"vertical": (1, 4)}),
    ("TUD-Campus/img1", "TUD-Campus/gt_mot15/gt.txt", "tud-campus", (), {"vertical": (1, 4)}),
]


def _footfall(*args: str, cache_dir: Path) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("FOOTFALL_")}
    environment["FOOTFALL_CACHE_DIR"] = str(cache_dir)
    return subprocess.run(
        [str(FOOTFALL), *args], capture_output=True, text=True, env=environment, timeout=300, check=False
    )


def _json(*args: str, cache_dir: Path) -> dict[str, Any]:
    result = _footfall(*args, "--json", cache_dir=cache_dir)
    assert result.returncode == 0, result.stderr
    document: dict[str, Any] = json.loads(result.stdout)  # stdout is nothing but the JSON object
    return document


def _pets09(shared_data: Path, *extra: str) -> tuple[str, ...]:
    clip = shared_data / "PETS09-S2L1-300"
    calibration = str(EXAMPLES / "pets09-s2l1.json")
    return (
        str(clip / "img1"),
        "--calibration",
        calibration,
        "--detections",
        str(clip / "gt" / "gt.txt"),
        *extra,
    )


@pytest.mark.parametrize(
    ("source", "truth", "calibration", "extra", "lines"),
    REPLAY_TRUTH,
    ids=[
        "pets09-s2l1",
        "pets09-s3-mf1-conf-minus-1",
        "tud-campus-7-columns-conf-minus-1",
        "tud-campus-mot15",
    ],
)
def test_replayed_ground_truth_counts_exactly_the_truth(
    shared_data: Path,
    tmp_path: Path,
    source: str,
    truth: str,
    calibration: str,
    extra: tuple[str, ...],
    lines: dict[str, tuple[int, int]],
) -> None:
    # tmp_path is an empty cache: replaying boxes must not need the model.
    document = _json(
        "count",
        str(shared_data / source),
        "--calibration",
        str(EXAMPLES / f"{calibration}.json"),
        "--detections",
        str(shared_data / truth),
        *extra,
        cache_dir=tmp_path,
    )
    assert {line: (count["in"], count["out"]) for line, count in document["lines"].items()} == lines
    assert set(document) == {"frames", "seconds", "lines", "zones"}  # no "every" at full rate
    assert not list(tmp_path.iterdir())  # nothing fetched or written to the cache


def test_every_frame_gives_the_same_exact_counts(shared_data: Path, tmp_path: Path) -> None:
    adaptive = _json("count", *_pets09(shared_data), cache_dir=tmp_path)
    every_frame = _json("count", *_pets09(shared_data, "--every-frame"), cache_dir=tmp_path)
    assert (
        every_frame["lines"]
        == adaptive["lines"]
        == {
            "vertical": {"in": 7, "out": 2},
            "horizontal": {"in": 3, "out": 9},
        }
    )
    assert every_frame["frames"] == adaptive["frames"] == 300


@pytest.mark.parametrize(
    ("every", "kept"), [(2, 150), (3, 100), (10, 30)], ids=["every-2", "every-3", "every-10"]
)
def test_every_keeps_every_nth_frame_over_the_same_media_time(
    shared_data: Path, tmp_path: Path, every: int, kept: int
) -> None:
    document = _json("count", *_pets09(shared_data, "--every", str(every)), cache_dir=tmp_path)
    assert (document["frames"], document["every"]) == (kept, every)
    assert document["seconds"] == pytest.approx(PETS09_S2L1_SECONDS, abs=1e-3)
    assert set(document["lines"]) == {"vertical", "horizontal"}


def test_every_on_a_video_with_the_model(shared_data: Path, model_cache: Path) -> None:
    document = _json(
        "count",
        str(shared_data / "TUD-Campus" / "video" / "TUD-Campus.mp4"),
        "--calibration",
        str(EXAMPLES / "tud-campus.json"),
        "--every",
        "2",
        cache_dir=model_cache,
    )
    assert (document["frames"], document["every"]) == (36, 2)  # frames 0, 2, ..., 70 of 71
    # 71 frames at 25 fps. count_source ends at the last kept frame plus one kept-frame step, so
    # when N does not divide the frame count it may run up to N - 1 source frames past the end.
    assert 71 / 25 - 1e-3 <= document["seconds"] <= 72 / 25 + 1e-3
    assert set(document["lines"]) == {"vertical"}


def test_human_output_says_which_frames_were_kept(shared_data: Path, tmp_path: Path) -> None:
    result = _footfall("count", *_pets09(shared_data, "--every", "2"), cache_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "150 frames (1 in 2), 42.9 s of video"


def test_validate_with_replayed_ground_truth_passes_without_a_model(
    shared_data: Path, tmp_path: Path
) -> None:
    gt = str(shared_data / "PETS09-S2L1-300" / "gt" / "gt.txt")
    full = _json("validate", *_pets09(shared_data, "--truth", gt), cache_dir=tmp_path)
    assert (full["frames"], full["accuracy"], full["verdict"]) == (300, 1.0, "pass")
    assert {line["line_id"]: (line["device"]["in"], line["device"]["out"]) for line in full["lines"]} == {
        "vertical": (7, 2),
        "horizontal": (3, 9),
    }
    # The evidence names the file the boxes came from instead of a model.
    assert {line["model"]["name"] for line in full["lines"]} == {"gt.txt"}
    slow = _json("validate", *_pets09(shared_data, "--truth", gt, "--every", "2"), cache_dir=tmp_path)
    assert (slow["frames"], slow["every"]) == (150, 2)
    assert slow["source"].endswith("(1 frame in 2)")
    assert {
        line["line_id"]: (line["reference"]["in"], line["reference"]["out"]) for line in slow["lines"]
    } == {
        "vertical": (7, 2),
        "horizontal": (3, 9),
    }


def test_a_file_longer_than_the_source_is_counted_with_a_warning(shared_data: Path, tmp_path: Path) -> None:
    result = _footfall(
        "count",
        str(shared_data / "TUD-Campus" / "img1"),
        "--calibration",
        str(EXAMPLES / "tud-campus.json"),
        "--detections",
        str(shared_data / "PETS09-S2L1-300" / "gt" / "gt.txt"),
        "--json",
        cache_dir=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["frames"] == 71
    assert "has rows up to MOT frame 300 but" in result.stderr
    assert "has 71 frames; rows past its end are ignored" in result.stderr


@pytest.mark.parametrize(
    ("content", "extra", "message"),
    [
        (None, (), "detections file not found"),
        ("1,1,10,20,30,40,1\n2,1,10,20\n", (), "det.txt:2: expected frame,id,left,top,width,height,conf"),
        ("1,1,10,20,30,40,1\n2,1,ten,20,30,40,1\n", (), "det.txt:2: not a number in '2,1,ten,20,30,40,1'"),
        ("1,1,10,20,-30,40,1\n", (), "det.txt:1: width and height must be positive"),
        ("0,1,10,20,30,40,1\n", (), "det.txt:1: frame must be an integer from 1 (MOT frames start at 1)"),
        ("1,1,10,20,30,40,1\n", ("--model", "yolox_nano"), "--model and --detections exclude each other"),
    ],
    ids=["missing-file", "short-row", "not-a-number", "negative-width", "frame-0", "with-a-model"],
)
@pytest.mark.parametrize("command", ["count", "validate"])
def test_a_bad_detections_file_is_one_line_on_stderr(
    shared_data: Path, tmp_path: Path, command: str, content: str | None, extra: tuple[str, ...], message: str
) -> None:
    detections = tmp_path / "det.txt"
    if content is not None:
        detections.write_text(content)
    clip = shared_data / "PETS09-S2L1-300"
    truth = ("--truth", str(clip / "gt" / "gt.txt")) if command == "validate" else ()
    result = _footfall(
        command,
        str(clip / "img1"),
        "--calibration",
        str(EXAMPLES / "pets09-s2l1.json"),
        "--detections",
        str(detections),
        *truth,
        *extra,
        "--json",
        cache_dir=tmp_path / "cache",
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("footfall: error: ")
    assert message in lines[0]


@pytest.mark.parametrize("every", ["0", "-1", "2.5", "two"], ids=["zero", "negative", "fraction", "word"])
def test_every_must_be_a_positive_integer(shared_data: Path, tmp_path: Path, every: str) -> None:
    result = _footfall("count", *_pets09(shared_data, "--every", every), cache_dir=tmp_path)
    assert result.returncode == 2  # a usage error, from argparse
    assert "argument --every" in result.stderr
    assert "Traceback" not in result.stderr
