"""Calibration files: the counting lines and zones drawn on a camera's snapshot.

A calibration is a small JSON document (format and rules in ``calibration/README.md``; JSON
Schema in ``calibration/schema.json``, generated from `CalibrationFile`)::

    {"lines": [{"id": "door", "a": [0.1, 0.8], "b": [0.9, 0.8]}],
     "zones": [{"id": "till", "polygon": [[0.2, 0.2], [0.4, 0.2], [0.4, 0.5]]}]}

Coordinates are normalised to [0, 1] of the image width and height (x right, y down), so one
file works at any resolution. This module owns parsing and validation and hands the counting
stage plain `LineSpec`/`ZoneSpec` records; every problem becomes a `ConfigError` whose single
line names the file and the offending line or zone.

Regenerate the schema after changing the models: ``python -m edge.calibration > calibration/schema.json``.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PositiveInt,
    ValidationError,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import ErrorDetails

from edge.count.geometry import polygon_area, polygon_self_intersection, side
from edge.errors import ConfigError
from edge.records import LineId, LineSpec, Point, PrivacyMaskSpec, ZoneId, ZoneSpec

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

MIN_LINE_LENGTH = 0.005
"""Shortest accepted line, normalised units (~4 px at 768 px): shorter is a mis-click."""
MIN_ZONE_AREA = 1e-4
"""Smallest accepted zone area, as a fraction of the image (0.01 %): smaller is a mis-click."""
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
"""Ids end up in MQTT topics, CSV headers and URLs, so they stay plain."""
MAX_ID_CHARS = 64
"""Longest id (the pattern's limit), checked first so a huge id is never echoed in a message."""
MAX_LINES = 32
MAX_ZONES = 32
MAX_MASKS = 32
"""Most lines, zones and masks: a street camera has a handful; bounds the cost of the checks."""
MAX_POLYGON_POINTS = 64
"""Most corners of a zone or mask: the self-intersection check is quadratic in them (README D-041)."""
MAX_DESCRIPTION_CHARS = 1000

_ID_RE = re.compile(ID_PATTERN)

Coordinate = Annotated[
    float,
    WithJsonSchema({"type": "number", "minimum": 0, "maximum": 1}),
]
"""One normalised coordinate; the [0, 1] range is checked with a message naming the item."""
XY = tuple[Coordinate, Coordinate]

_STRICT = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)
_ID_DESCRIPTION = "Unique id: 1-64 letters, digits, '_', '-' or '.', starting with a letter or digit."


class LineModel(BaseModel):
    """A counting line from ``a`` to ``b``; crossing from s<0 to s>0 is "in" (see README)."""

    model_config = _STRICT

    id: str = Field(
        max_length=MAX_ID_CHARS, description=_ID_DESCRIPTION, json_schema_extra={"pattern": ID_PATTERN}
    )
    a: XY = Field(description="Start point [x, y], normalised to [0, 1] of width and height.")
    b: XY = Field(description="End point [x, y], normalised to [0, 1] of width and height.")


class ZoneModel(BaseModel):
    """A zone: a simple polygon, implicitly closed (do not repeat the first point)."""

    model_config = _STRICT

    id: str = Field(
        max_length=MAX_ID_CHARS, description=_ID_DESCRIPTION, json_schema_extra={"pattern": ID_PATTERN}
    )
    polygon: list[XY] = Field(
        max_length=MAX_POLYGON_POINTS,
        description=f"Corner points [x, y], normalised, 3 to {MAX_POLYGON_POINTS}, edges must not cross.",
        json_schema_extra={"minItems": 3, "uniqueItems": True},
    )


class CalibrationFile(BaseModel):
    """The calibration JSON document; at least one line or zone."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        strict=True,
        allow_inf_nan=False,
        title="footfall-edge calibration",
        # "At least one line or zone", for schema-driven tools (the model validator says it in words).
        json_schema_extra={
            "anyOf": [
                {"required": ["lines"], "properties": {"lines": {"minItems": 1}}},
                {"required": ["zones"], "properties": {"zones": {"minItems": 1}}},
            ]
        },
    )

    description: str | None = Field(
        default=None, max_length=MAX_DESCRIPTION_CHARS, description="Free text: camera, place, who drew it."
    )
    image_size: tuple[PositiveInt, PositiveInt] | None = Field(
        default=None, description="[width, height] in pixels of the snapshot the geometry was drawn on."
    )
    lines: list[LineModel] = Field(default_factory=list, max_length=MAX_LINES, description="Counting lines.")
    zones: list[ZoneModel] = Field(
        default_factory=list, max_length=MAX_ZONES, description="Occupancy and dwell zones."
    )
    masks: list[ZoneModel] = Field(
        default_factory=list,
        max_length=MAX_MASKS,
        description="Privacy masks: polygons painted black before detection (house windows, private "
        "gardens); nobody inside them is detected, counted or shown.",
    )

    @model_validator(mode="after")
    def _check_geometry(self) -> Self:
        problems = [
            *_line_problems(self.lines),
            *_zone_problems(self.zones),
            *_zone_problems(self.masks, "mask"),
        ]
        if not self.lines and not self.zones:
            problems.append("no lines and no zones: add at least one")
        if problems:
            raise ValueError("; ".join(problems))
        return self


@dataclass(frozen=True, slots=True)
class Calibration:
    """A validated calibration, as the counting stage wants it.

    Attributes:
        lines: counting lines in file order.
        zones: zones in file order.
        masks: privacy masks, painted black before detection.
        description: free text from the file, if any.
        image_size: (width, height) of the snapshot the geometry was drawn on, if recorded.
    """

    lines: tuple[LineSpec, ...]
    zones: tuple[ZoneSpec, ...]
    description: str | None = None
    image_size: tuple[int, int] | None = None
    masks: tuple[PrivacyMaskSpec, ...] = ()

    def to_json(self) -> str:
        """Serialise to the file format (validated; raises `ConfigError` if invalid)."""
        document: dict[str, Any] = {
            "lines": [{"id": line.line_id, "a": list(line.a), "b": list(line.b)} for line in self.lines],
            "zones": [
                {"id": zone.zone_id, "polygon": [list(p) for p in zone.polygon]} for zone in self.zones
            ],
        }
        if self.masks:
            document["masks"] = [
                {"id": mask.mask_id, "polygon": [list(p) for p in mask.polygon]} for mask in self.masks
            ]
        if self.description is not None:
            document["description"] = self.description
        if self.image_size is not None:
            document["image_size"] = list(self.image_size)
        text = json.dumps(document, indent=2) + "\n"
        parse_calibration(text, source="<calibration>")
        return text

    @property
    def version(self) -> str:
        """Content digest (12 hex digits of sha256 of the file form): names this calibration in evidence."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:12]


def _named(kind: str, index: int, item_id: str) -> str:
    return f'{kind} "{item_id[:MAX_ID_CHARS]}"' if item_id.strip() else f"{kind} #{index + 1}"


def _id_problems(kind: str, items: Sequence[LineModel | ZoneModel]) -> list[str]:
    problems: list[str] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        if not item.id.strip():
            problems.append(f"{kind} #{index + 1}: id is empty")
        elif not _ID_RE.match(item.id):
            problems.append(
                f'{kind} "{item.id}": id may only contain letters, digits, "_", "-" and "." '
                "(1-64 characters, starting with a letter or digit)"
            )
        elif item.id in seen:
            problems.append(f'duplicate {kind} id "{item.id}"')
        seen.add(item.id)
    return problems


def _outside(point: Point) -> bool:
    return not all(0.0 <= value <= 1.0 for value in point)


def _line_problems(lines: list[LineModel]) -> list[str]:
    problems = _id_problems("line", lines)
    for index, line in enumerate(lines):
        name = _named("line", index, line.id)
        for label, point in (("a", line.a), ("b", line.b)):
            if _outside(point):
                problems.append(f"{name}: point {label} {list(point)} is outside the image [0, 1]")
        length = math.dist(line.a, line.b)
        if length == 0.0:
            problems.append(f"{name}: a and b are the same point")
        elif length < MIN_LINE_LENGTH:
            problems.append(f"{name}: a and b are too close (length {length:.4g} < {MIN_LINE_LENGTH})")
    return problems


def _zone_problems(zones: list[ZoneModel], kind: str = "zone") -> list[str]:
    problems = _id_problems(kind, zones)
    for index, zone in enumerate(zones):
        name = _named(kind, index, zone.id)
        problem = _polygon_problem(zone.polygon)
        if problem is not None:
            problems.append(f"{name}: {problem}")
    return problems


def _polygon_problem(polygon: list[tuple[float, float]]) -> str | None:
    """The first thing wrong with a zone polygon (points numbered from 1), or None."""
    if len(polygon) < 3:
        return f"polygon needs at least 3 points, got {len(polygon)}"
    for number, point in enumerate(polygon, start=1):
        if _outside(point):
            return f"point {number} {list(point)} is outside the image [0, 1]"
    if polygon[0] == polygon[-1]:
        return "the last point repeats the first (polygons close themselves: drop it)"
    for number, point in enumerate(polygon, start=1):
        if point in polygon[: number - 1]:
            return f"point {number} repeats point {polygon.index(point) + 1}"
    crossing = polygon_self_intersection(polygon)
    if crossing is not None and not _collinear(polygon):
        first, second = (edge + 1 for edge in crossing)
        return f"polygon is self-intersecting (edges {first} and {second} cross; edge k runs from point k)"
    area = abs(polygon_area(polygon))
    if area < MIN_ZONE_AREA:
        return f"polygon has zero or near-zero area ({area:.3g} < {MIN_ZONE_AREA})"
    return None


def _collinear(polygon: list[tuple[float, float]]) -> bool:
    """True if all points lie on one straight line (then "zero area" is the clearer message)."""
    origin = polygon[0]
    farthest = max(polygon, key=lambda point: math.dist(origin, point))
    return all(side(origin, farthest, point) == 0.0 for point in polygon)


def _describe_error(error: ErrorDetails, document: Any) -> str:
    """One pydantic error as text, naming the line or zone when the location allows."""
    if error["type"] == "value_error":
        return str(error["ctx"]["error"])
    loc = tuple(error["loc"])
    where = ".".join(str(part) for part in loc) or "document"
    if len(loc) >= 2 and loc[0] in ("lines", "zones", "masks") and isinstance(loc[1], int):
        kind = str(loc[0])[:-1]
        try:
            item_id = document[loc[0]][loc[1]]["id"]
        except (KeyError, IndexError, TypeError):
            item_id = None
        shown = isinstance(item_id, str) and item_id and len(item_id) <= MAX_ID_CHARS
        name = f'{kind} "{item_id}"' if shown else f"{kind} #{loc[1] + 1}"
        where = ".".join(str(part) for part in loc[2:]) or "item"
        return f"{name}: {where}: {error['msg']}"
    return f"{where}: {error['msg']}"


def parse_calibration(text: str | bytes, *, source: str) -> Calibration:
    """Parse and validate a calibration document.

    Args:
        text: the JSON document.
        source: where it came from (a file name), used at the start of error messages.

    Raises:
        ConfigError: one line naming ``source`` and every problem found.
    """
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{source}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{source}: not UTF-8 text ({exc.reason})") from exc
    except RecursionError:
        raise ConfigError(f"{source}: invalid JSON: nested too deeply") from None
    except ValueError:  # an integer with more digits than Python converts (4300)
        raise ConfigError(f"{source}: invalid JSON: a number has too many digits") from None
    try:
        model = CalibrationFile.model_validate_json(text)
    except ValidationError as exc:
        details = "; ".join(_describe_error(error, document) for error in exc.errors())
        raise ConfigError(f"{source}: invalid calibration: {' '.join(details.split())}") from exc
    return Calibration(
        lines=tuple(LineSpec(LineId(line.id), line.a, line.b) for line in model.lines),
        zones=tuple(ZoneSpec(ZoneId(zone.id), tuple(zone.polygon)) for zone in model.zones),
        description=model.description,
        image_size=model.image_size,
        masks=tuple(PrivacyMaskSpec(mask.id, tuple(mask.polygon)) for mask in model.masks),
    )


def load_calibration(path: Path) -> Calibration:
    """Read and validate a calibration file.

    Raises:
        ConfigError: one line with the file name, for a missing or unreadable file, invalid
            JSON (with line and column) or invalid content (naming the line or zone).
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: calibration file not found") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read calibration file ({exc.strerror or exc})") from exc
    return parse_calibration(data, source=str(path))


def calibration_json_schema() -> str:
    """The JSON Schema of the file format, as committed in ``calibration/schema.json``."""
    return json.dumps(CalibrationFile.model_json_schema(), indent=2) + "\n"


if __name__ == "__main__":
    sys.stdout.write(calibration_json_schema())
