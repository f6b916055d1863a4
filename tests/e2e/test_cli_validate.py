"""`footfall validate` end to end: real model, real clips, real truth files, as a user runs it.

The device columns must be what `footfall count` reports on the same inputs, and the truth columns
the README's line-crossing table. Cases where the clip does not matter run on the first frames of
TUD-Campus (linked, never copied) so the file stays fast.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from edge.deliver import VALIDATION_SCHEMA, payload_schema

PROJECT_ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = PROJECT_ROOT / "calibration" / "examples"
FOOTFALL = Path(sys.executable).parent / "footfall"
# Exit status of a validation whose accuracy is outside the tolerance (edge/cli.py).
EXIT_VALIDATION_FAILED = 3

# ../shared/data/README.md, "Line-crossing truth", PETS09-S2L1-300 rows: line -> (in, out).
S2L1_TRUTH = {"vertical": (7, 2), "horizontal": (3, 9)}


def footfall(*args: str, cache_dir: Path) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("FOOTFALL_")}
    environment["FOOTFALL_CACHE_DIR"] = str(cache_dir)
    return subprocess.run(
        [str(FOOTFALL), *args], capture_output=True, text=True, env=environment, timeout=300, check=False
    )


def pair(text: str) -> tuple[int, int]:
    first, second = text.split("/")
    return int(first), int(second)


@pytest.fixture(scope="module")
def short_clip(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An image folder of TUD-Campus's first three frames (symbolic links to the shared data)."""
    folder = tmp_path_factory.mktemp("short-clip")
    for frame in sorted((shared_data / "TUD-Campus" / "img1").glob("*.jpg"))[:3]:
        (folder / frame.name).symlink_to(frame)
    return folder


def validate_short_clip(
    truth: Path, *extra: str, clip: Path, cache_dir: Path
) -> subprocess.CompletedProcess[str]:
    return footfall(
        "validate",
        str(clip),
        "--calibration",
        str(EXAMPLES / "tud-campus.json"),
        "--truth",
        str(truth),
        "--fps",
        "25",
        *extra,
        cache_dir=cache_dir,
    )


def test_table_shows_the_readme_truth_and_what_count_reports(shared_data: Path, model_cache: Path) -> None:
    clip = shared_data / "PETS09-S2L1-300"
    calibration = str(EXAMPLES / "pets09-s2l1.json")
    validated = footfall(
        "validate",
        str(clip),
        "--calibration",
        calibration,
        "--truth",
        str(clip / "gt" / "gt.txt"),
        cache_dir=model_cache,
    )
    assert validated.returncode in (0, EXIT_VALIDATION_FAILED), validated.stderr
    counted = footfall("count", str(clip), "--calibration", calibration, "--json", cache_dir=model_cache)
    assert counted.returncode == 0, counted.stderr
    device = {
        line: (value["in"], value["out"]) for line, value in json.loads(counted.stdout)["lines"].items()
    }

    rows = {row.split()[0]: row.split() for row in validated.stdout.splitlines()}
    assert "300 frames" in validated.stdout
    errors = 0
    for line, truth in S2L1_TRUTH.items():
        _, truth_text, device_text, error_text, _, verdict = rows[line]
        assert pair(truth_text) == truth
        assert pair(device_text) == device[line]
        assert pair(error_text) == (device[line][0] - truth[0], device[line][1] - truth[1])
        assert verdict in ("pass", "fail", "inconclusive")
        errors += abs(device[line][0] - truth[0]) + abs(device[line][1] - truth[1])
    whole_clip = rows["all"]  # "all lines <reference> <errors> <accuracy> <verdict> ..."
    assert whole_clip[2:4] == [str(sum(sum(truth) for truth in S2L1_TRUTH.values())), str(errors)]
    assert validated.returncode == (EXIT_VALIDATION_FAILED if whole_clip[5] == "fail" else 0)


def test_json_lines_follow_the_schema(shared_data: Path, model_cache: Path) -> None:
    video = shared_data / "TUD-Campus" / "video" / "TUD-Campus.mp4"
    result = footfall(
        "validate",
        str(video),
        "--calibration",
        str(EXAMPLES / "tud-campus.json"),
        "--truth",
        str(shared_data / "TUD-Campus" / "gt_mot15" / "gt.txt"),
        "--json",
        cache_dir=model_cache,
    )
    document: dict[str, Any] = json.loads(result.stdout)  # stdout is nothing but the JSON object
    assert document["frames"] == 71
    schema = payload_schema(VALIDATION_SCHEMA)
    [line] = document["lines"]
    jsonschema.validate(line, schema)
    assert line["mode"] == "replay"
    assert line["line_id"] == "vertical"
    assert line["reference"] == {"in": 1, "out": 4}  # the README's TUD-Campus row
    errors = line["error"]["total"]
    assert document["accuracy"] == round(1 - errors / 5, 4)
    if line["min_people"] > 5:
        expected = "inconclusive"
    else:
        expected = "pass" if document["accuracy"] >= 1 - line["tolerance"] else "fail"
    assert document["verdict"] == expected
    assert result.returncode == (EXIT_VALIDATION_FAILED if expected == "fail" else 0), result.stderr


def test_far_fewer_people_than_the_truth_fails_with_exit_3(
    short_clip: Path, model_cache: Path, tmp_path: Path
) -> None:
    truth = tmp_path / "truth.json"
    truth.write_text(json.dumps({"lines": {"vertical": {"in": 60, "out": 40}}}))
    result = validate_short_clip(truth, "--json", clip=short_clip, cache_dir=model_cache)
    assert result.returncode == EXIT_VALIDATION_FAILED, result.stderr
    document = json.loads(result.stdout)
    assert document["verdict"] == "fail"
    [line] = document["lines"]
    assert line["verdict"] == "fail"
    assert line["reference"] == {"in": 60, "out": 40}
    assert document["accuracy"] == round(1 - line["error"]["total"] / 100, 4)


def test_documents_of_a_deeply_nested_clip_follow_the_schema(
    short_clip: Path, model_cache: Path, tmp_path: Path
) -> None:
    # A source path longer than the schema's 256-character operator field.
    folder = tmp_path / ("a" * 120) / ("b" * 120)
    folder.mkdir(parents=True)
    (folder / "clip").symlink_to(short_clip)
    truth = tmp_path / "truth.json"
    truth.write_text(json.dumps({"lines": {"vertical": {"in": 0, "out": 0}}}))
    result = validate_short_clip(truth, "--json", clip=folder / "clip", cache_dir=model_cache)
    assert result.returncode == 0, result.stderr
    for line in json.loads(result.stdout)["lines"]:
        jsonschema.validate(line, payload_schema(VALIDATION_SCHEMA))


@pytest.mark.parametrize(
    ("truth_text", "message"),
    [
        pytest.param(None, "cannot read the truth file", id="missing-truth-file"),
        pytest.param(
            '{"lines": {"door": {"in": 1, "out": 2}}}',
            "lines door are not in the calibration",
            id="unknown-line",
        ),
    ],
)
def test_unusable_truth_is_a_one_line_error(
    short_clip: Path, model_cache: Path, tmp_path: Path, truth_text: str | None, message: str
) -> None:
    truth = tmp_path / "truth.json"
    if truth_text is not None:
        truth.write_text(truth_text)
    result = validate_short_clip(truth, clip=short_clip, cache_dir=model_cache)
    assert result.returncode == 1
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    errors = [row for row in result.stderr.splitlines() if row.startswith("footfall: error:")]
    assert len(errors) == 1, result.stderr
    assert message in errors[0]
    assert "truth.json" in errors[0]
