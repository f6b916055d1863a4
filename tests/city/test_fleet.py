"""`footfall fleet` (the real console script) on a real PostgreSQL loaded through the real parser
and store: gaps, low coverage, counts of the local day, availability, backlog, validation."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.city.ingesters import ingest_environment
from tests.city.samples import QUIET, SEEN, SILENT, load_sample_fleet
from tests.city.simulator import LINES, line_counts, topics_of

FOOTFALL = str(Path(sys.executable).parent / "footfall")


def _fleet(url: str, tmp_path: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [FOOTFALL, "fleet", *arguments],
        env=ingest_environment(tmp_path, url),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_fleet_json_reports_each_device(city_db: str, tmp_path: Path) -> None:
    load_sample_fleet(city_db)
    done = _fleet(city_db, tmp_path, "--json", "--day", "2026-12-01", "--timezone", "Europe/Paris")
    assert done.returncode == 0, done.stderr
    rows = {row["device_id"]: row for row in json.loads(done.stdout)}

    assert sorted(rows) == [SEEN, QUIET, SILENT]
    seen = rows[SEEN]
    assert seen["availability"] == "online"
    assert seen["intervals_today"] == 3
    assert seen["coverage_today"] == pytest.approx((1.0 + 0.2 + 1.0) / 3)
    assert seen["low_coverage_intervals_today"] == 1
    assert seen["people_in_today"] == sum(
        line_counts(SEEN, seq, line)[0] for seq in (1, 2, 4) for line in LINES
    )
    assert seen["people_out_today"] == sum(
        line_counts(SEEN, seq, line)[1] for seq in (1, 2, 4) for line in LINES
    )
    assert (seen["open_gaps"], seen["missing_intervals"]) == (2, 1 + len(range(5, 97)))  # seq 3, seqs 5-96
    assert seen["backlog_rows"] == 5
    assert seen["last_verdict"] == "pass"
    assert seen["last_seen"] == "2026-12-01T23:15:00+00:00"  # end of seq 97 (00:15 in Paris)
    assert rows[QUIET]["availability"] == "offline"
    assert rows[QUIET]["open_gaps"] == 0
    assert rows[SILENT] | {"device_id": None} == {
        "device_id": None,
        "site_id": topics_of(SILENT).site_id,
        "last_seen": None,
        "availability": "stopped",
        "coverage_today": None,
        "intervals_today": 0,
        "low_coverage_intervals_today": 0,
        "people_in_today": None,
        "people_out_today": None,
        "open_gaps": 0,
        "missing_intervals": 0,
        "backlog_rows": None,
        "last_verdict": None,
        "last_validation_at": None,
    }


def test_fleet_table_has_one_line_per_device(city_db: str, tmp_path: Path) -> None:
    load_sample_fleet(city_db)
    done = _fleet(city_db, tmp_path, "--day", "2026-12-01", "--timezone", "Europe/Paris")
    assert done.returncode == 0, done.stderr
    header, *lines = done.stdout.splitlines()
    assert header.split()[:2] == ["DEVICE", "SITE"]
    assert [line.split()[0] for line in lines] == [SEEN, QUIET, SILENT]
    assert "online" in lines[0]
    assert "pass" in lines[0]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        pytest.param(("--timezone", "Mars/Olympus"), "unknown time zone 'Mars/Olympus'", id="bad-zone"),
        pytest.param(("--day", "yesterday"), "not a day YYYY-MM-DD", id="bad-day"),
        pytest.param(("--low-coverage", "2"), "must be between 0 and 1", id="bad-threshold"),
    ],
)
def test_bad_options_are_one_line_errors(
    city_db: str, tmp_path: Path, arguments: tuple[str, ...], message: str
) -> None:
    done = _fleet(city_db, tmp_path, *arguments)
    assert done.returncode in (1, 2)
    assert message in done.stderr
    assert "Traceback" not in done.stderr
