"""The schema checker accepts valid rows and rejects each kind of broken one with its reason."""

from __future__ import annotations

import pytest

from edge.city.export.checker import Problem, check_export, check_table
from edge.city.export.schema import FIELDS, Notion
from edge.city.export.tables import Table

VALID: dict[Notion, dict[str, str]] = {
    Notion.SITE: {
        "site_id": "main-street",
        "site_name": "Grande Rue",
        "fr_insee_code": "2A004",
        "xlong": "4.764110",
        "ylat": "44.711910",
        "infrastructure_type": "FOOTPATH",
    },
    Notion.CHANNEL: {
        "channel_id": "main-street-entrance-in",
        "site_id": "main-street",
        "mobility_type": "PEDESTRIAN",
        "counter_type": "VIDEO SENSOR",
        "direction": "N",
        "temporality": "PERMANENT",
        "started_at": "2026-01-01T00:00:00+01:00",
        "time_step": "900",
    },
    Notion.MEASURE: {
        "channel_id": "main-street-entrance-in",
        "counter_id": "cam-1",
        "start_datetime": "2026-03-29T01:45:00+01:00",
        "end_datetime": "2026-03-29T03:00:00+02:00",
        "count": "12",
    },
}


def _table(notion: Notion, *changes: dict[str, str]) -> Table:
    header = tuple(spec.name for spec in FIELDS[notion])
    rows = []
    for change in changes or ({},):
        values = {**VALID[notion], **change}
        rows.append(tuple(values.get(name, "") for name in header))
    return Table(notion, header, tuple(rows))


@pytest.mark.parametrize(
    ("notion", "change"),
    [
        (Notion.SITE, {}),
        (Notion.SITE, {"fr_insee_code": "", "infrastructure_type": ""}),
        (Notion.CHANNEL, {}),
        (Notion.CHANNEL, {"mobility_type": "PEDESTRIAN,BIKE", "counter_type": "VIDEO SENSOR,LIDAR"}),
        (Notion.MEASURE, {}),
        (Notion.MEASURE, {"count": ""}),
        (Notion.MEASURE, {"count": "0"}),
        (Notion.MEASURE, {"start_datetime": "2026-01-05T08:00:00Z", "end_datetime": ""}),
    ],
    ids=["site", "site-optional-empty", "channel", "channel-lists", "measure", "empty-count", "zero", "utc"],
)
def test_valid_rows_pass(notion: Notion, change: dict[str, str]) -> None:
    assert check_table(_table(notion, change)) == []


@pytest.mark.parametrize(
    ("notion", "change", "field", "reason"),
    [
        (Notion.SITE, {"site_name": ""}, "site_name", "required value is empty"),
        (Notion.SITE, {"xlong": "4,76"}, "xlong", "is not a number"),
        (Notion.SITE, {"xlong": "181"}, "xlong", "above the maximum 180"),
        (Notion.SITE, {"ylat": "-90.5"}, "ylat", "below the minimum -90"),
        (Notion.SITE, {"fr_insee_code": "7022"}, "fr_insee_code", "does not match the pattern"),
        (Notion.SITE, {"fr_insee_code": "20004"}, "fr_insee_code", "does not match the pattern"),
        (Notion.SITE, {"infrastructure_type": "SIDEWALK"}, "infrastructure_type", "is not one of"),
        (Notion.CHANNEL, {"direction": "NNE"}, "direction", "is not one of"),
        (Notion.CHANNEL, {"mobility_type": "WALKER"}, "mobility_type", "does not match the pattern"),
        (Notion.CHANNEL, {"counter_type": "CAMERA"}, "counter_type", "does not match the pattern"),
        (Notion.CHANNEL, {"temporality": ""}, "temporality", "required value is empty"),
        (Notion.CHANNEL, {"started_at": "2026-01-01 00:00"}, "started_at", "is not an ISO 8601"),
        (Notion.CHANNEL, {"time_step": "15min"}, "time_step", "is not a number"),
        (Notion.MEASURE, {"counter_id": ""}, "counter_id", "required value is empty"),
        (Notion.MEASURE, {"start_datetime": ""}, "start_datetime", "required value is empty"),
        (Notion.MEASURE, {"start_datetime": "2026-02-30T00:00:00Z"}, "start_datetime", "is not an ISO 8601"),
        (Notion.MEASURE, {"end_datetime": "2026-03-29T03:00:00+0200"}, "end_datetime", "is not an ISO 8601"),
        (Notion.MEASURE, {"count": "twelve"}, "count", "is not a number"),
    ],
    ids=lambda value: value if isinstance(value, str) and " " not in value else None,
)
def test_broken_cell_is_rejected_with_its_reason(
    notion: Notion, change: dict[str, str], field: str, reason: str
) -> None:
    problems = check_table(_table(notion, change))
    assert len(problems) == 1
    assert (problems[0].notion, problems[0].row, problems[0].field) == (notion, 1, field)
    assert reason in problems[0].message


def test_header_must_be_the_schemas_columns_in_order() -> None:
    table = _table(Notion.MEASURE)
    swapped = (table.header[1], table.header[0], *table.header[2:])
    problems = check_table(Table(Notion.MEASURE, swapped, table.rows))
    assert [(problem.row, problem.field) for problem in problems] == [(0, "")]
    assert "columns" in problems[0].message


def test_short_row_and_duplicate_primary_key_are_rejected() -> None:
    table = _table(Notion.SITE, {}, {})
    problems = check_table(Table(Notion.SITE, table.header, (*table.rows, ("only-one-cell",))))
    assert [(problem.row, problem.field) for problem in problems] == [(2, "site_id"), (3, "")]
    assert "duplicate key 'main-street'" in problems[0].message


def test_links_between_files_are_checked() -> None:
    tables = {
        Notion.SITE: _table(Notion.SITE),
        Notion.CHANNEL: _table(Notion.CHANNEL, {}, {"channel_id": "other", "site_id": "nowhere"}),
        Notion.MEASURE: _table(Notion.MEASURE, {}, {"channel_id": "unknown"}),
    }
    assert check_export(tables) == [
        Problem(Notion.CHANNEL, 2, "site_id", "'nowhere' is not a site site_id"),
        Problem(Notion.MEASURE, 2, "channel_id", "'unknown' is not a channel channel_id"),
    ]
