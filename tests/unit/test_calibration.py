"""Calibration files: parsing, validation messages, examples and the committed schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from edge.calibration import Calibration, calibration_json_schema, load_calibration, parse_calibration
from edge.errors import ConfigError
from edge.records import LineId, LineSpec, ZoneId, ZoneSpec

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CALIBRATION_DIR = PROJECT_ROOT / "calibration"
EXAMPLES = sorted((CALIBRATION_DIR / "examples").glob("*.json"))

DOOR = {"id": "door", "a": [0.1, 0.5], "b": [0.9, 0.5]}
TILL = {"id": "till", "polygon": [[0.2, 0.2], [0.4, 0.2], [0.4, 0.4], [0.2, 0.4]]}


def _document(**overrides: Any) -> str:
    document: dict[str, Any] = {"lines": [DOOR], "zones": [TILL], **overrides}
    return json.dumps(document)


def _line(**fields: Any) -> str:
    return _document(lines=[{**DOOR, **fields}])


def _zone(polygon: list[list[float]], zone_id: str = "till") -> str:
    return _document(zones=[{"id": zone_id, "polygon": polygon}])


def test_valid_document_becomes_records() -> None:
    calibration = parse_calibration(
        _document(description="shop door", image_size=[1280, 720]), source="shop.json"
    )
    assert calibration == Calibration(
        lines=(LineSpec(LineId("door"), (0.1, 0.5), (0.9, 0.5)),),
        zones=(ZoneSpec(ZoneId("till"), ((0.2, 0.2), (0.4, 0.2), (0.4, 0.4), (0.2, 0.4))),),
        description="shop door",
        image_size=(1280, 720),
    )


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(json.dumps({"lines": [DOOR]}), id="lines-only"),
        pytest.param(json.dumps({"zones": [TILL]}), id="zones-only"),
        pytest.param(
            _document(lines=[DOOR, {**DOOR, "id": "till"}], zones=[TILL]), id="line-and-zone-may-share-id"
        ),
        pytest.param(_line(a=[0, 0], b=[1, 1]), id="integers-and-corners"),
    ],
)
def test_valid_variants(text: str) -> None:
    calibration = parse_calibration(text, source="ok.json")
    assert calibration.lines or calibration.zones


INVALID = [
    # (document text, fragments the one-line message must contain)
    pytest.param('{"lines": [}', ["bad.json", "invalid JSON at line 1 column 12"], id="invalid-json"),
    pytest.param(
        '{\n  "lines": [\n    {"id": "door",}\n  ]\n}', ["line 3 column 19"], id="invalid-json-line-col"
    ),
    pytest.param("[]", ["Input should be an object"], id="not-an-object"),
    pytest.param("{}", ["no lines and no zones"], id="empty"),
    pytest.param(
        json.dumps({"lines": [DOOR], "masks": [{"id": "garden", "polygon": [[0.1, 0.1], [0.2, 0.2]]}]}),
        ['mask "garden": polygon needs at least 3 points, got 2'],
        id="mask-too-few-points",
    ),
    pytest.param(
        json.dumps({"lines": [DOOR], "masks": [{"id": "", "polygon": [[0.1, 0.1], [0.2, 0.1], [0.2, 0.2]]}]}),
        ["mask #1"],
        id="mask-without-id",
    ),
    pytest.param(json.dumps({"lines": [], "zones": []}), ["no lines and no zones"], id="empty-lists"),
    pytest.param(
        _document(zone=[TILL]), ["zone: Extra inputs are not permitted"], id="unknown-top-level-key"
    ),
    pytest.param(_line(colour="red"), ['line "door"', "colour", "Extra inputs"], id="unknown-line-key"),
    pytest.param(
        _line(a=[0.1, 0.1], b=[0.1, 0.1]), ['line "door": a and b are the same point'], id="same-point"
    ),
    pytest.param(
        _line(a=[0.5, 0.5], b=[0.501, 0.5]), ['line "door": a and b are too close'], id="near-zero-line"
    ),
    pytest.param(
        _line(a=[1.2, 0.5]), ['line "door": point a [1.2, 0.5] is outside the image'], id="line-outside"
    ),
    pytest.param(_line(b=[0.5, -0.1]), ['line "door": point b [0.5, -0.1] is outside'], id="line-negative"),
    pytest.param(
        _line(a=["0.1", 0.5]), ['line "door": a.0: Input should be a valid number'], id="string-number"
    ),
    pytest.param(_line(a=[True, 0.5]), ['line "door": a.0'], id="boolean-number"),
    pytest.param(_line(a=[0.1, 0.5, 0.2]), ['line "door": a:'], id="three-coordinates"),
    pytest.param(
        '{"lines": [{"id": "door", "a": [NaN, 0.5], "b": [0.9, 0.5]}]}', ['line "door": a.0'], id="nan"
    ),
    pytest.param(_line(id=""), ["line #1: id is empty"], id="empty-line-id"),
    pytest.param(_line(id="   "), ["line #1: id is empty"], id="blank-line-id"),
    pytest.param(_line(id="front door"), ['line "front door": id may only contain'], id="line-id-with-space"),
    pytest.param(_line(id="a/b"), ['line "a/b": id may only contain'], id="line-id-with-slash"),
    pytest.param(_document(lines=[DOOR, DOOR]), ['duplicate line id "door"'], id="duplicate-line-id"),
    pytest.param(_document(zones=[TILL, TILL]), ['duplicate zone id "till"'], id="duplicate-zone-id"),
    pytest.param(
        _zone([[0.1, 0.1], [0.5, 0.1]]),
        ['zone "till": polygon needs at least 3 points, got 2'],
        id="two-points",
    ),
    pytest.param(
        _zone([[0.1, 0.1], [0.5, 0.1], [0.9, 0.1]]), ['zone "till": polygon has zero'], id="collinear"
    ),
    pytest.param(_zone([[0.1, 0.1], [0.1001, 0.1], [0.1, 0.1001]]), ["near-zero area"], id="tiny-area"),
    pytest.param(
        _zone([[0.1, 0.1], [0.9, 0.9], [0.9, 0.1], [0.1, 0.9]]),
        ['zone "till": polygon is self-intersecting (edges 1 and 3 cross'],
        id="bow-tie",
    ),
    pytest.param(
        _zone([[0.1, 0.1], [0.9, 0.1], [0.9, 0.9], [0.1, 0.1]]),
        ["the last point repeats the first"],
        id="closed-ring",
    ),
    pytest.param(
        _zone([[0.1, 0.1], [0.9, 0.1], [0.9, 0.9], [0.9, 0.1], [0.1, 0.9]]),
        ['zone "till": point 4 repeats point 2'],
        id="repeated-point",
    ),
    pytest.param(
        _zone([[0.1, 0.1], [1.5, 0.1], [0.5, 0.9]]),
        ['zone "till": point 2 [1.5, 0.1] is outside'],
        id="zone-outside",
    ),
    pytest.param(
        _zone([[0.1, 0.1], [0.5, 0.1], [0.5, 0.9]], zone_id=""), ["zone #1: id is empty"], id="empty-zone-id"
    ),
    pytest.param(
        _document(image_size=[0, 480]), ["image_size.0: Input should be greater than 0"], id="zero-image-size"
    ),
    pytest.param(
        _document(description=5), ["description: Input should be a valid string"], id="description-type"
    ),
    pytest.param(
        _document(lines=[{**DOOR, "a": [0.1, 0.1], "b": [0.1, 0.1]}], zones=[{**TILL, "id": ""}]),
        ['line "door": a and b are the same point', "zone #1: id is empty"],
        id="all-problems-reported",
    ),
]


@pytest.mark.parametrize(("text", "fragments"), INVALID)
def test_invalid_documents_are_rejected_naming_the_item(text: str, fragments: list[str]) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_calibration(text, source="bad.json")
    message = str(caught.value)
    assert message.startswith("bad.json: ")
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message


def test_load_reports_missing_file_with_its_name(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.json"
    with pytest.raises(ConfigError, match=r"nowhere\.json: calibration file not found"):
        load_calibration(missing)


def test_load_reports_unreadable_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read calibration file"):
        load_calibration(tmp_path)


def test_load_reports_invalid_file_with_name_and_position(tmp_path: Path) -> None:
    path = tmp_path / "door.json"
    broken_line = '    {"id": "door", "a": [0.1, 0.5] "b": [0.9, 0.5]}'
    path.write_text('{\n  "lines": [\n' + broken_line + "\n  ]\n}\n")
    column = broken_line.index('"b"') + 1  # the missing comma belongs just before "b"
    with pytest.raises(ConfigError) as caught:
        load_calibration(path)
    assert str(caught.value).startswith(f"{path}: invalid JSON at line 3 column {column}: ")


def test_load_reports_non_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.json"
    path.write_bytes('{"lines": [{"id": "t\u00fcr"}]}'.encode("latin-1"))
    with pytest.raises(ConfigError, match=r"latin1\.json: "):
        load_calibration(path)


@pytest.mark.parametrize("path", EXAMPLES, ids=[path.name for path in EXAMPLES])
def test_example_loads(path: Path) -> None:
    calibration = load_calibration(path)
    assert calibration.lines or calibration.zones
    assert calibration.description
    assert calibration.image_size is not None


def test_the_expected_examples_exist() -> None:
    assert {path.name for path in EXAMPLES} >= {
        "pets09-s2l1.json",
        "pets09-s3-mf1.json",
        "tud-campus.json",
        "tud-stadtmitte.json",
        "demo.json",
    }


@pytest.mark.parametrize("path", EXAMPLES, ids=[path.name for path in EXAMPLES])
def test_to_json_round_trips(path: Path) -> None:
    calibration = load_calibration(path)
    assert parse_calibration(calibration.to_json(), source="round-trip") == calibration


def test_to_json_refuses_invalid_geometry() -> None:
    broken = Calibration(lines=(LineSpec(LineId("door"), (0.2, 0.2), (0.2, 0.2)),), zones=())
    with pytest.raises(ConfigError, match="a and b are the same point"):
        broken.to_json()


def test_committed_schema_is_up_to_date() -> None:
    committed = (CALIBRATION_DIR / "schema.json").read_text()
    assert committed == calibration_json_schema(), "run: python -m edge.calibration > calibration/schema.json"


def test_schema_describes_the_format() -> None:
    schema = json.loads(calibration_json_schema())
    assert schema["additionalProperties"] is False
    assert set(schema["properties"]) == {"description", "image_size", "lines", "zones", "masks"}
    line_schema = schema["$defs"]["LineModel"]
    assert line_schema["required"] == ["id", "a", "b"]
    assert line_schema["properties"]["a"]["prefixItems"][0] == {"type": "number", "minimum": 0, "maximum": 1}
    assert schema["$defs"]["ZoneModel"]["properties"]["polygon"]["minItems"] == 3
