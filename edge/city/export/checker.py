"""Check tables against the schema's own field rules, as a validator such as Validata would.

Per file: the header is the schema's columns in order; required cells are not empty; cells have
their Table Schema type (`number`: a decimal with a point, stricter than Table Schema in refusing
NaN and INF, which no count or coordinate should be; `datetime`: ISO 8601
`YYYY-MM-DDThh:mm:ss` with optional fraction and `Z` or a `+hh:mm` offset); enumerations,
patterns (anchored at both ends, as Table Schema patterns are), minimum and maximum hold; primary
keys are unique. Across files: every channel's `site_id` is a site, every measure's `channel_id` a
channel (the schema links the files by these ids). Tests run it on the export's output; the
export runs it before writing, so a broken file is never published.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from edge.city.export.schema import FIELDS, PRIMARY_KEYS, FieldSpec, FieldType, Notion
from edge.city.export.tables import Table

_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?")


@dataclass(frozen=True, slots=True)
class Problem:
    """One broken rule.

    Attributes:
        notion: the file's notion.
        row: 1-based data row (0 for the header).
        field: column name, or '' for a whole-row or header problem.
        message: what is wrong.
    """

    notion: Notion
    row: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"row {self.row}" + (f", {self.field}" if self.field else "")
        return f"{self.notion.value}: {where}: {self.message}"


def check_table(table: Table) -> list[Problem]:
    """Every rule of one notion's file that `table` breaks; empty when it is valid."""
    specs = FIELDS[table.notion]
    expected = tuple(spec.name for spec in specs)
    if table.header != expected:
        return [Problem(table.notion, 0, "", f"columns {list(table.header)} are not {list(expected)}")]
    problems: list[Problem] = []
    key = PRIMARY_KEYS[table.notion]
    key_index = expected.index(key) if key else None
    seen_keys: set[str] = set()
    for number, row in enumerate(table.rows, start=1):
        if len(row) != len(specs):
            problems.append(Problem(table.notion, number, "", f"{len(row)} cells, expected {len(specs)}"))
            continue
        for spec, cell in zip(specs, row, strict=True):
            message = check_cell(spec, cell)
            if message:
                problems.append(Problem(table.notion, number, spec.name, message))
        if key_index is not None:
            if row[key_index] in seen_keys:
                problems.append(Problem(table.notion, number, key or "", f"duplicate key {row[key_index]!r}"))
            seen_keys.add(row[key_index])
    return problems


def check_cell(spec: FieldSpec, cell: str) -> str:
    """Why `cell` breaks `spec`, or '' when it is fine."""
    if cell == "":
        return "required value is empty" if spec.required else ""
    if spec.field_type is FieldType.NUMBER:
        if not _NUMBER.fullmatch(cell):
            return f"{cell!r} is not a number"
        value = float(cell)
        if spec.minimum is not None and value < spec.minimum:
            return f"{cell} is below the minimum {spec.minimum:g}"
        if spec.maximum is not None and value > spec.maximum:
            return f"{cell} is above the maximum {spec.maximum:g}"
    if spec.field_type is FieldType.DATETIME and not _is_datetime(cell):
        return f"{cell!r} is not an ISO 8601 date and time (e.g. 2026-03-29T03:00:00+02:00)"
    if spec.enum is not None and cell not in spec.enum:
        return f"{cell!r} is not one of {', '.join(spec.enum)}"
    if spec.pattern is not None and not re.fullmatch(spec.pattern, cell):
        return f"{cell!r} does not match the pattern {spec.pattern}"
    return ""


def _is_datetime(cell: str) -> bool:
    if not _DATETIME.fullmatch(cell):
        return False
    try:
        datetime.fromisoformat(cell)
    except ValueError:
        return False
    return True


def check_links(tables: Mapping[Notion, Table]) -> list[Problem]:
    """Channels whose site is not in the site file, measures whose channel is not a channel."""
    problems: list[Problem] = []
    links = (
        (Notion.CHANNEL, "site_id", Notion.SITE, "site_id"),
        (Notion.MEASURE, "channel_id", Notion.CHANNEL, "channel_id"),
    )
    for notion, column, target, target_column in links:
        if notion not in tables or target not in tables:
            continue
        known = set(_column(tables[target], target_column))
        for number, value in enumerate(_column(tables[notion], column), start=1):
            if value not in known:
                problems.append(
                    Problem(notion, number, column, f"{value!r} is not a {target.value} {target_column}")
                )
    return problems


def check_export(tables: Mapping[Notion, Table]) -> list[Problem]:
    """Every problem of every table and of the links between them."""
    problems = [problem for table in tables.values() for problem in check_table(table)]
    return problems + check_links(tables)


def _column(table: Table, name: str) -> Iterable[str]:
    if name not in table.header:
        return []
    index = table.header.index(name)
    return [row[index] for row in table.rows if len(row) > index]


def read_table(path: Path, notion: Notion) -> Table:
    """A CSV file as a Table (UTF-8, comma-separated, first line the header)."""
    with path.open(encoding="utf-8", newline="") as handle:
        lines = list(csv.reader(handle))
    if not lines:
        return Table(notion, (), ())
    return Table(notion, tuple(lines[0]), tuple(tuple(line) for line in lines[1:]))
