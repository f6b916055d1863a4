"""The `footfall` command end to end, as a user runs it: real model, real clips, real files."""

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

# The line-crossing truth of ../shared/data/README.md: (data, calibration, line, in, out, extra args).
TRUTH = [
    ("PETS09-S2L1-300", "pets09-s2l1", "vertical", 7, 2, ()),
    ("PETS09-S2L1-300", "pets09-s2l1", "horizontal", 3, 9, ()),
    ("PETS09-S3-MF1", "pets09-s3-mf1", "crossing", 0, 7, ("--fps", "7")),
    ("TUD-Campus", "tud-campus", "vertical", 1, 4, ()),
]


def _footfall(*args: str, cache_dir: Path, mirror: Path | None = None) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("FOOTFALL_")}
    environment["FOOTFALL_CACHE_DIR"] = str(cache_dir)
    if mirror is not None:
        environment["FOOTFALL_MIRROR"] = str(mirror)
    return subprocess.run(
        [str(FOOTFALL), *args], capture_output=True, text=True, env=environment, timeout=300, check=False
    )


def _count_json(*args: str, cache_dir: Path) -> dict[str, Any]:
    result = _footfall("count", *args, "--json", cache_dir=cache_dir)
    assert result.returncode == 0, result.stderr
    document: dict[str, Any] = json.loads(result.stdout)  # stdout is nothing but the JSON object
    return document


@pytest.fixture(scope="module")
def truth_counts(shared_data: Path, model_cache: Path) -> dict[tuple[str, str], dict[str, Any]]:
    """`footfall count --json` once per clip of the truth table."""
    runs = {}
    for data, calibration, _, _, _, extra in TRUTH:
        if (data, calibration) not in runs:
            runs[(data, calibration)] = _count_json(
                str(shared_data / data),
                "--calibration",
                str(EXAMPLES / f"{calibration}.json"),
                *extra,
                cache_dir=model_cache,
            )
    return runs


def test_counts_on_the_truth_table_clips_are_accurate(
    truth_counts: dict[tuple[str, str], dict[str, Any]],
) -> None:
    errors = truth = 0
    for data, calibration, line, truth_in, truth_out, _ in TRUTH:
        counted = truth_counts[(data, calibration)]["lines"][line]
        errors += abs(counted["in"] - truth_in) + abs(counted["out"] - truth_out)
        truth += truth_in + truth_out
        # No line may be off by more than one crossing per direction.
        assert abs(counted["in"] - truth_in) <= 1, (data, line, counted)
        assert abs(counted["out"] - truth_out) <= 1, (data, line, counted)
    accuracy = 1.0 - errors / truth
    assert accuracy >= 0.9, f"overall line-count accuracy {accuracy:.3f}"


def test_json_output_has_the_documented_shape(truth_counts: dict[tuple[str, str], dict[str, Any]]) -> None:
    document = truth_counts[("PETS09-S2L1-300", "pets09-s2l1")]
    assert set(document) == {"frames", "seconds", "lines", "zones"}
    assert document["frames"] == 300
    assert document["seconds"] == pytest.approx(300 / 7, abs=1e-3)  # seqinfo.ini says 7 fps
    assert set(document["lines"]) == {"vertical", "horizontal"}
    assert document["zones"] == {}


def test_demo_clip_counts_six_visitors_at_the_table(model_cache: Path, shared_data: Path) -> None:
    # The clip in the model cache, by name, as the README's first command runs it.
    _footfall("models", "fetch", "demo-clip", cache_dir=model_cache, mirror=shared_data.parent / "mirror")
    document = _count_json("demo-clip", "--calibration", str(EXAMPLES / "demo.json"), cache_dir=model_cache)
    assert document["frames"] == 1394
    assert document["lines"]["exit"] == {"in": 0, "out": 6}
    table = document["zones"]["table"]
    assert table["visits"] == 6
    assert table["peak_occupancy"] == 1
    # Each visitor stands at the table for 10-30 s (../shared/data/Intel-one-by-one-person/SOURCE.txt).
    assert 10.0 <= table["dwell_s"]["median"] <= 30.0


def test_fps_overrides_the_header(shared_data: Path, model_cache: Path) -> None:
    document = _count_json(
        str(shared_data / "TUD-Campus" / "video" / "TUD-Campus.mp4"),
        "--calibration",
        str(EXAMPLES / "tud-campus.json"),
        "--fps",
        "5",
        cache_dir=model_cache,
    )
    assert document["frames"] == 71
    assert document["seconds"] == pytest.approx(71 / 5)


def test_human_output_names_every_line(shared_data: Path, model_cache: Path) -> None:
    result = _footfall(
        "count",
        str(shared_data / "TUD-Campus"),
        "--calibration",
        str(EXAMPLES / "tud-campus.json"),
        cache_dir=model_cache,
    )
    assert result.returncode == 0, result.stderr
    assert "71 frames" in result.stdout
    assert "line vertical: in " in result.stdout


def _write(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


@pytest.mark.parametrize(
    ("case", "message"),
    [
        pytest.param("missing-model", "not in the cache", id="missing-model"),
        pytest.param("corrupt-video", "video", id="corrupt-video"),
        pytest.param("missing-video", "no such file", id="missing-video"),
        pytest.param("invalid-calibration", "same point", id="invalid-calibration"),
        pytest.param("calibration-not-json", "invalid JSON at line 1", id="calibration-not-json"),
        pytest.param("image-folder-without-fps", "--fps", id="image-folder-without-fps"),
    ],
)
def test_bad_input_ends_with_one_line_and_no_traceback(
    case: str, message: str, tmp_path: Path, model_cache: Path, shared_data: Path
) -> None:
    good_calibration = str(EXAMPLES / "tud-campus.json")
    good_source = str(shared_data / "TUD-Campus")
    cache_dir = model_cache
    source, calibration = good_source, good_calibration
    if case == "missing-model":
        cache_dir = tmp_path / "empty-cache"
    elif case == "corrupt-video":
        source = str(_write(tmp_path / "broken.mp4", b"\x00\x00\x00\x18ftypmp42" + os.urandom(4096)))
    elif case == "missing-video":
        source = str(tmp_path / "nowhere.mp4")
    elif case == "invalid-calibration":
        line = {"id": "door", "a": [0.5, 0.5], "b": [0.5, 0.5]}
        calibration = str(_write(tmp_path / "bad.json", json.dumps({"lines": [line]}).encode()))
    elif case == "calibration-not-json":
        calibration = str(_write(tmp_path / "bad.json", b'{"lines": [}'))
    elif case == "image-folder-without-fps":
        source = str(shared_data / "PETS09-S3-MF1")
    result = _footfall("count", source, "--calibration", calibration, "--json", cache_dir=cache_dir)
    assert result.returncode == 1
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("footfall: error: ")
    assert message in lines[0]


def test_models_fetch_then_list_reports_present(tmp_path: Path, shared_data: Path) -> None:
    cache_dir = tmp_path / "cache"
    before = _footfall("models", "list", "--json", cache_dir=cache_dir)
    assert before.returncode == 0, before.stderr
    assert {row["name"]: row["state"] for row in json.loads(before.stdout)} == {
        "yolox_nano": "missing",
        "demo-clip": "missing",
    }
    fetched = _footfall(
        "models", "fetch", "yolox_nano", cache_dir=cache_dir, mirror=shared_data.parent / "mirror"
    )
    assert fetched.returncode == 0, fetched.stderr
    after = {
        row["name"]: row
        for row in json.loads(_footfall("models", "list", "--json", cache_dir=cache_dir).stdout)
    }
    assert after["yolox_nano"]["state"] == "present"
    assert after["yolox_nano"]["licence"] == "Apache-2.0"
    assert after["yolox_nano"]["sha256"] == "695e750a5d5754bb5a8d5325643b59282191a7e7a564e435a415fd3c578eab14"
    assert after["demo-clip"]["state"] == "missing"


def test_models_fetch_from_a_mirror_without_the_file_fails_clearly(tmp_path: Path) -> None:
    empty_mirror = tmp_path / "mirror"
    empty_mirror.mkdir()
    result = _footfall("models", "fetch", "yolox_nano", cache_dir=tmp_path / "cache", mirror=empty_mirror)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "yolox_nano" in result.stderr
    assert not (tmp_path / "cache" / "yolox_nano.onnx").exists()


def test_unknown_asset_name_is_refused(tmp_path: Path) -> None:
    result = _footfall("models", "fetch", "yolov99", cache_dir=tmp_path)
    assert result.returncode == 1
    assert "unknown asset 'yolov99'" in result.stderr
