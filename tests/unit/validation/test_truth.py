"""Truth files for `footfall validate`: MOT ground truth, a CSV of crossings, JSON counts, and errors.

The MOT cases reproduce the line-crossing truth table of ``../shared/data/README.md`` from the
shared gt files; every unusable file is a `ConfigError` whose message names the file.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.calibration import load_calibration
from edge.errors import ConfigError
from edge.records import LineId, LineSpec
from edge.validation.truth import PathPoint, crossings_of_paths, load_truth

PROJECT_ROOT = Path(__file__).resolve().parents[3]
DATA = PROJECT_ROOT / ".." / "shared" / "data"
EXAMPLES = PROJECT_ROOT / "calibration" / "examples"

VERTICAL = LineSpec(LineId("vertical"), (0.5, 0.0), (0.5, 1.0))
HORIZONTAL = LineSpec(LineId("horizontal"), (0.0, 0.5), (1.0, 0.5))
LINES = (VERTICAL, HORIZONTAL)
# Frame sizes from each folder's seqinfo.ini / SOURCE.txt (TUD-Campus: 640x480 like its images).
PETS_SIZE = (768, 576)
TUD_SIZE = (640, 480)
# Coordinates on a 1/64 grid: exact in binary floating point, so the rule's arithmetic is exact
# and points exactly on a line or at a segment's end are drawn often.
GRID = st.integers(0, 64).map(lambda step: step / 64)


# The "Line-crossing truth" table of ../shared/data/README.md, one row per clip.
README_TABLE = [
    pytest.param(
        "PETS09-S2L1-300/gt/gt.txt",
        "pets09-s2l1.json",
        PETS_SIZE,
        {"vertical": (7, 2), "horizontal": (3, 9)},
        id="PETS09-S2L1-300",
    ),
    pytest.param(
        "PETS09-S3-MF1/gt/gt.txt", "pets09-s3-mf1.json", PETS_SIZE, {"crossing": (0, 7)}, id="PETS09-S3-MF1"
    ),
    pytest.param(
        "TUD-Campus/gt_mot15/gt.txt", "tud-campus.json", TUD_SIZE, {"vertical": (1, 4)}, id="TUD-Campus"
    ),
]


@pytest.mark.parametrize(("gt_file", "calibration", "frame_size", "expected"), README_TABLE)
def test_mot_ground_truth_reproduces_the_readme_table(
    gt_file: str, calibration: str, frame_size: tuple[int, int], expected: dict[str, tuple[int, int]]
) -> None:
    lines = load_calibration(EXAMPLES / calibration).lines
    assert load_truth(DATA / gt_file, lines, frame_size) == expected


def test_a_mot_folder_means_its_gt_file() -> None:
    lines = load_calibration(EXAMPLES / "pets09-s2l1.json").lines
    assert load_truth(DATA / "PETS09-S2L1-300", lines, PETS_SIZE) == {
        "vertical": (7, 2),
        "horizontal": (3, 9),
    }


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def mot_rows(*rows: tuple[int, int, float, float, float, float, int]) -> str:
    return "".join(",".join(str(value) for value in row) + ",-1,-1,-1\n" for row in rows)


class TestMot:
    def test_pixels_are_normalised_by_the_frame_size(self, tmp_path: Path) -> None:
        # Feet at x = 300 then 340 px: across the middle of 640 px, but left of the middle of 1280.
        gt = write(tmp_path, "gt.txt", mot_rows((1, 1, 280, 100, 40, 200, 1), (2, 1, 320, 100, 40, 200, 1)))
        assert load_truth(gt, (VERTICAL,), (640, 480)) == {"vertical": (0, 1)}  # left to right: out
        assert load_truth(gt, (VERTICAL,), (1280, 960)) == {"vertical": (0, 0)}

    def test_rows_in_any_order_are_followed_frame_by_frame(self, tmp_path: Path) -> None:
        rows = [(frame, 1, 100, 45 + 20 * frame, 40, 100, 1) for frame in range(1, 11)]  # walking down
        rows += [(frame, 2, 600 - 40 * frame, 300, 40, 100, 1) for frame in range(1, 11)]  # right to left
        random.Random(7).shuffle(rows)
        gt = write(tmp_path, "gt.txt", mot_rows(*rows))
        assert load_truth(gt, LINES, (640, 480)) == {"horizontal": (1, 0), "vertical": (1, 0)}

    def test_rows_with_confidence_zero_are_ignored(self, tmp_path: Path) -> None:
        rows = [(frame, 1, 100, 30 + 20 * frame, 40, 100, 1) for frame in range(1, 6)]  # stays above
        rows += [(6, 1, 100, 400, 40, 60, 0)]  # a distractor row below the line, conf 0
        gt = write(tmp_path, "gt.txt", mot_rows(*rows))
        assert load_truth(gt, (HORIZONTAL,), (640, 480)) == {"horizontal": (0, 0)}


class TestCrossingRule:
    """`crossings_of_paths`: the README's rule, written apart from the counter."""

    @staticmethod
    def path(*points: tuple[float, float]) -> list[PathPoint]:
        return [(frame, x, y) for frame, (x, y) in enumerate(points, start=1)]

    @pytest.mark.parametrize(
        ("line", "points", "expected"),
        [
            pytest.param(HORIZONTAL, ((0.3, 0.2), (0.3, 0.8)), (1, 0), id="horizontal-walking-down-is-in"),
            pytest.param(HORIZONTAL, ((0.3, 0.8), (0.3, 0.2)), (0, 1), id="horizontal-walking-up-is-out"),
            pytest.param(VERTICAL, ((0.8, 0.3), (0.2, 0.3)), (1, 0), id="vertical-right-to-left-is-in"),
            pytest.param(VERTICAL, ((0.2, 0.3), (0.8, 0.3)), (0, 1), id="vertical-left-to-right-is-out"),
            pytest.param(
                LineSpec(LineId("short"), (0.4, 0.5), (0.6, 0.5)),
                ((0.8, 0.2), (0.8, 0.8)),
                (0, 0),
                id="beside-the-segment",
            ),
            pytest.param(
                HORIZONTAL, ((0.3, 0.2), (0.3, 0.8), (0.3, 0.2), (0.3, 0.8)), (2, 1), id="back-and-forth"
            ),
            pytest.param(HORIZONTAL, ((0.3, 0.2), (0.3, 0.4), (0.3, 0.45)), (0, 0), id="never-reaches-it"),
            pytest.param(
                HORIZONTAL, ((0.3, 0.4), (0.3, 0.5), (0.3, 0.4)), (0, 0), id="touches-and-goes-back"
            ),
            # The foot point lands exactly on the line in one frame: s goes -, 0, +, still one crossing.
            pytest.param(HORIZONTAL, ((0.3, 0.4), (0.3, 0.5), (0.3, 0.6)), (1, 0), id="steps-on-the-line"),
        ],
    )
    def test_rule(
        self, line: LineSpec, points: tuple[tuple[float, float], ...], expected: tuple[int, int]
    ) -> None:
        assert crossings_of_paths([self.path(*points)], line) == expected

    @given(
        paths=st.lists(st.lists(st.tuples(GRID, GRID), min_size=2, max_size=12), max_size=5),
        a=st.tuples(GRID, GRID),
        b=st.tuples(GRID, GRID),
    )
    def test_reversing_the_line_swaps_in_and_out(
        self, paths: list[list[tuple[float, float]]], a: tuple[float, float], b: tuple[float, float]
    ) -> None:
        points = [self.path(*walk) for walk in paths]
        forward = crossings_of_paths(points, LineSpec(LineId("l"), a, b))
        backward = crossings_of_paths(points, LineSpec(LineId("l"), b, a))
        assert backward == (forward[1], forward[0])


class TestListedCrossings:
    def test_csv_of_crossings_is_counted_per_line_and_direction(self, tmp_path: Path) -> None:
        truth = write(
            tmp_path,
            "crossings.csv",
            "line_id,direction,time_s\n"
            "vertical,in,1.5\nvertical,in,3.0\nvertical,OUT,4.2\n horizontal , out ,5.0\nvertical,in,9.9\n",
        )
        assert load_truth(truth, LINES, TUD_SIZE) == {"vertical": (3, 1), "horizontal": (0, 1)}

    def test_without_times_and_with_an_excel_bom(self, tmp_path: Path) -> None:
        truth = tmp_path / "crossings.csv"
        truth.write_bytes("\ufeffdirection,line_id\nin,horizontal\n".encode())
        assert load_truth(truth, LINES, TUD_SIZE) == {"vertical": (0, 0), "horizontal": (1, 0)}

    def test_nobody_crossed(self, tmp_path: Path) -> None:
        truth = write(tmp_path, "crossings.csv", "line_id,direction,time_s\n")
        assert load_truth(truth, LINES, TUD_SIZE) == {"vertical": (0, 0), "horizontal": (0, 0)}


class TestJsonCounts:
    def test_counts_per_line_and_missing_lines_are_zero(self, tmp_path: Path) -> None:
        truth = write(tmp_path, "truth.json", '{"lines": {"vertical": {"in": 12, "out": 5}}}')
        assert load_truth(truth, LINES, TUD_SIZE) == {"vertical": (12, 5), "horizontal": (0, 0)}


BAD_FILES = [
    pytest.param(
        "truth.json",
        '{"lines": {"window": {"in": 1, "out": 2}}}',
        r"lines window are not in the calibration",
        id="json-unknown-line",
    ),
    pytest.param(
        "crossings.csv",
        "line_id,direction\nvertical,in\ndoor,out\n",
        r"lines door are not in the calibration",
        id="csv-unknown-line",
    ),
    pytest.param(
        "crossings.csv",
        "line_id,direction\nvertical,in\nvertical,sideways\n",
        r"line 3: direction must be in or out, got 'sideways'",
        id="bad-direction",
    ),
    pytest.param("notes.txt", "Saw about a dozen people today.\n", "not a truth file", id="no-known-format"),
    pytest.param("empty.txt", "", "not a truth file", id="empty"),
    pytest.param(
        "gt.txt",
        "1,1,10,20,30,40,1,-1,-1,-1\n2,1,10,abc,30,40,1,-1,-1,-1\n",
        r"line 2: not a MOT row",
        id="malformed-mot-row",
    ),
    pytest.param("gt.txt", "1,1,10,20\n", r"line 1: not a MOT row", id="short-mot-row"),
    pytest.param("gt.txt", "1,1,10,20,30,40,0\n", "no ground-truth rows", id="mot-all-ignored"),
    pytest.param("truth.json", '{"lines": {"vertical": {"in": 1}}}', "expected", id="json-without-out"),
    pytest.param("truth.json", '{"counts": 3}', "expected", id="json-without-lines"),
    pytest.param("truth.json", '{"lines": {"vertical": {"in": 1, "out": ', "expected", id="json-truncated"),
    pytest.param(
        "truth.json", '{"lines": {"vertical": {"in": -3, "out": 2}}}', r"truth\.json", id="json-negative"
    ),
]


@pytest.mark.parametrize(("name", "text", "message"), BAD_FILES)
def test_unusable_files_are_config_errors_naming_the_file(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    truth = write(tmp_path, name, text)
    with pytest.raises(ConfigError, match=message) as caught:
        load_truth(truth, LINES, TUD_SIZE)
    assert name in str(caught.value)


def test_missing_file_names_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"cannot read the truth file .*gone\.txt"):
        load_truth(tmp_path / "gone.txt", LINES, TUD_SIZE)


def test_a_folder_without_ground_truth_names_the_file_it_looked_for(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"gt/gt\.txt"):
        load_truth(tmp_path, LINES, TUD_SIZE)


def test_binary_file(tmp_path: Path) -> None:
    truth = tmp_path / "clip.mp4"
    truth.write_bytes(b"\x00\x00\x00\x18ftypmp42\xff\xfe\x80")
    with pytest.raises(ConfigError, match=r"clip\.mp4"):
        load_truth(truth, LINES, TUD_SIZE)
