"""The fleet report: one row per device from what the ingesters stored (`footfall fleet`).

Per device: site, last seen, availability (retained status), today's coverage and counts (the
day in the city's time zone), intervals below the low-coverage threshold today, open gaps
(missing seq ranges, view `interval_gap`), backlog from its latest health message, and its last
validation verdict. "Today" counts intervals that start within the local day.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import psycopg

# Coverage below which an interval counts as blind in the report (the camera saw under half of it).
DEFAULT_LOW_COVERAGE = 0.5

_FLEET_QUERY = """
WITH today AS (
    SELECT device_id,
           sum(coverage * extract(epoch FROM end_at - start_at))
               / nullif(sum(extract(epoch FROM end_at - start_at)), 0) AS coverage,
           count(*) AS intervals,
           count(*) FILTER (WHERE coverage < %(low_coverage)s) AS low_coverage_intervals
    FROM interval WHERE start_at >= %(day_start)s AND start_at < %(day_end)s
    GROUP BY device_id
), people AS (
    SELECT l.device_id,
           sum(l.count) FILTER (WHERE l.direction = 'in') AS people_in,
           sum(l.count) FILTER (WHERE l.direction = 'out') AS people_out
    FROM line_count l JOIN interval i USING (device_id, seq)
    WHERE i.start_at >= %(day_start)s AND i.start_at < %(day_end)s
    GROUP BY l.device_id
), gaps AS (
    SELECT device_id, count(*) AS gap_ranges, sum(missing) AS missing_intervals
    FROM interval_gap GROUP BY device_id
)
SELECT d.device_id, d.site_id, d.last_seen, a.status, t.coverage, coalesce(t.intervals, 0),
       coalesce(t.low_coverage_intervals, 0), p.people_in, p.people_out, coalesce(g.gap_ranges, 0),
       coalesce(g.missing_intervals, 0), h.outbox_backlog_rows, v.verdict, v.ended_at
FROM device d
LEFT JOIN device_availability a USING (device_id)
LEFT JOIN today t USING (device_id)
LEFT JOIN people p USING (device_id)
LEFT JOIN gaps g USING (device_id)
LEFT JOIN device_health h USING (device_id)
LEFT JOIN device_validation v USING (device_id)
ORDER BY d.site_id, d.device_id
"""


@dataclass(frozen=True, slots=True)
class FleetRow:
    """One device in the fleet report; None where nothing was received yet."""

    device_id: str
    site_id: str | None
    last_seen: datetime | None
    availability: str | None
    coverage_today: float | None
    intervals_today: int
    low_coverage_intervals_today: int
    people_in_today: int | None
    people_out_today: int | None
    open_gaps: int
    missing_intervals: int
    backlog_rows: int | None
    last_verdict: str | None
    last_validation_at: datetime | None

    def as_json(self) -> dict[str, object]:
        """JSON-ready fields, times in ISO 8601."""
        return {
            name: value.isoformat() if isinstance(value, datetime) else value
            for name, value in asdict(self).items()
        }


def local_day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """Start and end of `day` in `zone` (23 or 25 hours long on a daylight-saving change)."""
    start = datetime.combine(day, time(0), tzinfo=zone)
    return start, datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)


def fleet_report(
    connection: psycopg.Connection[tuple[object, ...]],
    *,
    day: date,
    zone: ZoneInfo,
    low_coverage: float = DEFAULT_LOW_COVERAGE,
) -> list[FleetRow]:
    """Every known device, by site then device id."""
    day_start, day_end = local_day_bounds(day, zone)
    rows = connection.execute(
        _FLEET_QUERY.encode("utf-8"),
        {"day_start": day_start, "day_end": day_end, "low_coverage": low_coverage},
    ).fetchall()
    return [
        FleetRow(
            device_id=str(row[0]),
            site_id=_text(row[1]),
            last_seen=_time(row[2]),
            availability=_text(row[3]),
            coverage_today=None if row[4] is None else float(str(row[4])),
            intervals_today=int(str(row[5])),
            low_coverage_intervals_today=int(str(row[6])),
            people_in_today=_integer(row[7]),
            people_out_today=_integer(row[8]),
            open_gaps=int(str(row[9])),
            missing_intervals=int(str(row[10])),
            backlog_rows=_integer(row[11]),
            last_verdict=_text(row[12]),
            last_validation_at=_time(row[13]),
        )
        for row in rows
    ]


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _integer(value: object) -> int | None:
    return None if value is None else int(str(value))


def _time(value: object) -> datetime | None:
    return value if isinstance(value, datetime) else None


_COLUMNS = ("DEVICE", "SITE", "LAST SEEN (UTC)", "STATUS", "COVERAGE", "LOW", "IN", "OUT", "GAPS", "MISSING",
            "BACKLOG", "VALIDATION")  # fmt: skip


def format_fleet(rows: list[FleetRow]) -> str:
    """A fixed-width table, one line per device; `-` where unknown."""

    def cell(value: object) -> str:
        if value is None:
            return "-"
        if isinstance(value, datetime):
            return value.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%d %H:%M")
        if isinstance(value, float):
            return f"{value:.0%}"
        return str(value)

    table = [list(_COLUMNS)] + [
        [cell(row.device_id), cell(row.site_id), cell(row.last_seen), cell(row.availability),
         cell(row.coverage_today), cell(row.low_coverage_intervals_today), cell(row.people_in_today),
         cell(row.people_out_today), cell(row.open_gaps), cell(row.missing_intervals), cell(row.backlog_rows),
         cell(row.last_verdict)]
        for row in rows
    ]  # fmt: skip
    widths = [max(len(line[index]) for line in table) for index in range(len(_COLUMNS))]
    return "\n".join("  ".join(text.ljust(width) for text, width in zip(line, widths, strict=True)).rstrip()
                     for line in table)  # fmt: skip
