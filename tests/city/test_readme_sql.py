"""The SQL in the README's "City server" section runs on the real schema and answers correctly."""

from __future__ import annotations

import re
from pathlib import Path

import psycopg
import pytest

from tests.city.samples import SEEN, load_sample_fleet
from tests.city.simulator import LINES, line_counts
from tests.conftest import PROJECT_ROOT

README = PROJECT_ROOT / "README.md"


def city_sql_blocks(readme: Path = README) -> list[str]:
    """The ```sql blocks of the City server section, one statement each."""
    text = readme.read_text()
    section = text[text.index("\n## City server\n") :]
    section = section[: section.index("\n## ", 1)]
    blocks = re.findall(r"```sql\n(.*?)```", section, flags=re.DOTALL)
    return [statement.strip() for block in blocks for statement in block.split(";") if statement.strip()]


def test_the_section_has_the_documented_queries() -> None:
    assert len(city_sql_blocks()) == 5


@pytest.mark.parametrize("index", range(5), ids=["gaps", "low-coverage", "hourly", "weekday", "blind"])
def test_each_readme_query_runs(city_db: str, index: int) -> None:
    load_sample_fleet(city_db)
    with psycopg.connect(city_db) as connection:
        cursor = connection.execute(city_sql_blocks()[index].encode())
        columns = [column.name for column in cursor.description or []]
        rows = cursor.fetchall()
    assert columns, "a query must return columns"
    if index == 0:
        assert (SEEN, 3, 3, 1) in rows
    if index == 1:
        assert [(device, seq) for device, seq, _, _ in rows] == [(SEEN, 2)]
    if index == 3:
        # 2026-12-01 in Paris holds seqs 1, 2, 4 of SEEN and seq 1 of the other device of its site.
        expected = sum(sum(line_counts(SEEN, seq, line)) for seq in (1, 2, 4) for line in LINES) + sum(
            sum(line_counts("cam-0002", 1, line)) for line in LINES
        )
        assert rows == [("site-000", expected, None, None)]
