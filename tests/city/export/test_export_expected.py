"""The export of a known set of intervals equals the hand-computed files in expected/<case>/.

The cases cover a blind quarter-hour (empty count), a quiet one (0), missing intervals below and
above the coverage threshold, a suppressed count, misaligned 300 s intervals, 10 s, 900 s and
3600 s intervals, both steps, and both daylight-saving changes of Europe/Paris (dataset.py).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from edge.city.export import run_export
from edge.city.export.checker import check_export, read_table
from edge.city.export.schema import Notion, file_name
from edge.city.export.sites import load_sites
from tests.city.export.dataset import CASES, PUBLISHER, SITES_TOML, MemoryIntervalSource, known_intervals

EXPECTED = Path(__file__).parent / "expected"


@pytest.mark.parametrize(("case", "first", "last", "step_s"), CASES, ids=[case[0] for case in CASES])
def test_export_equals_the_hand_computed_files(
    tmp_path: Path, case: str, first: str, last: str, step_s: int
) -> None:
    sites = tmp_path / "sites.toml"
    sites.write_text(SITES_TOML, encoding="utf-8")
    out = tmp_path / "out"

    summary = run_export(
        load_sites(sites),
        MemoryIntervalSource(known_intervals()),
        date.fromisoformat(first),
        date.fromisoformat(last),
        step_s,
        out,
    )

    assert sorted(path.name for path in out.iterdir()) == sorted(
        file_name(notion, PUBLISHER) for notion in Notion
    )
    for notion in Notion:
        name = file_name(notion, PUBLISHER)
        expected = (EXPECTED / case / name).read_text(encoding="utf-8")
        assert (out / name).read_text(encoding="utf-8") == expected, f"{case}/{name}"
    measures = read_table(out / file_name(Notion.MEASURE, PUBLISHER), Notion.MEASURE)
    assert summary.measures == len(measures.rows)
    assert summary.empty == sum(1 for row in measures.rows if row[-1] == "")


@pytest.mark.parametrize("case", [case[0] for case in CASES])
def test_expected_files_follow_the_schema(case: str) -> None:
    tables = {notion: read_table(EXPECTED / case / file_name(notion, PUBLISHER), notion) for notion in Notion}
    assert all(table.rows for table in tables.values())
    assert check_export(tables) == []


def test_slot_counts_on_daylight_saving_days() -> None:
    """92 quarter-hours on the spring-forward day, 100 on the fall-back day, 24 hours otherwise."""
    rows = {
        case: len(read_table(EXPECTED / case / file_name(Notion.MEASURE, PUBLISHER), Notion.MEASURE).rows)
        for case, *_ in CASES
    }
    channels = 3
    assert rows["2026-03-29-900"] == 92 * channels
    assert rows["2026-03-29-3600"] == 23 * channels
    assert rows["2026-10-25-900"] == 100 * channels
    assert rows["2026-10-25-3600"] == 25 * channels
    # station-door-in starts at 10:00 local on 2026-01-05: 14 of that day's hours.
    assert rows["2026-01-05-3600"] == 24 * 2 + 14
