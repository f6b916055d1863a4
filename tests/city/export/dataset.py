"""A known set of device intervals and the sites file of the hand-computed expected exports.

The expected files in `expected/<case>/` were computed by hand from the list below (every slot
not named there has an empty count: no interval, so not observed). Times are local
(Europe/Paris) unless they end in Z.

cam-1, line `entrance` (channels main-street-entrance-in -> N, -out -> S), 60 s intervals:
  2026-01-05 (+01:00)
    08:00-08:15  15 intervals, coverage 1, in 1 each, out 0   -> in 15, out 0
    08:15-08:30  15 intervals, coverage 1, all 0              -> 0 and 0 (a quiet quarter-hour)
    08:30-08:45  15 intervals, coverage 0 (blind), all 0      -> empty, empty (never 0)
    08:45-09:00  14 intervals (08:59 missing), in 2 at 08:45, out 3 at 08:50
                 -> coverage 14/15 = 0.933 >= 0.9: in 2, out 3
    09:00-09:15  15 intervals, in 1 each but 09:07 suppressed (NULL), out 4 at 09:03
                 -> in empty (suppressed), out 4
    09:15-09:30  13 intervals (09:28, 09:29 missing), in 1 each -> 13/15 = 0.867: empty, empty
    12:00-13:00  60 intervals, in 2, out 1 each               -> quarters 30/15, hour 120/60
    14:00-15:00  60 intervals, coverage 0.98, all 0           -> quarters 0/0, hour 0/0
    16:00-16:15  15 intervals reported from site `elsewhere` (the device was moved), in 9 each
                 -> not main-street's: empty
    hours 08 (44 of 60 minutes observed) and 09 (28 minutes, one suppressed) -> empty
  2026-03-29 (spring forward: 02:00+01:00 becomes 03:00+02:00; 92 quarter-hours, 23 hours)
    00:00Z-02:00Z (01:00+01:00 to 04:00+02:00), in 1 each, out 0
                 -> quarters 01:00+01:00 .. 01:45+01:00 and 03:00+02:00 .. 03:45+02:00: 15/0;
                    hours 01:00+01:00 and 03:00+02:00: 60/0
  2026-10-25 (fall back: 03:00+02:00 becomes 02:00+01:00; 100 quarter-hours, 25 hours)
    00:00Z-01:00Z (02:00+02:00 to 02:00+01:00), in 1, out 0  -> quarters 15/0, hour 60/0
    01:00Z-02:00Z (02:00+01:00 to 03:00+01:00), in 2, out 1  -> quarters 30/15, hour 120/60

cam-2, line `door` (channel station-door-in -> E, started 2026-01-05 10:00, so no earlier slot):
  2026-01-05
    09:58-10:33  seven 300 s intervals not aligned to the quarter-hours, coverage 1, in 1..7;
                 each belongs to the slot of its midpoint (10:00:30, 10:05:30, 10:10:30 | 10:15:30 ...)
                 -> 10:00 in 1+2+3 = 6, 10:15 in 4+5+6 = 15, 10:30 one interval (5 of 15
                 minutes): empty; hour 10: 35 of 60 minutes, empty
    11:00-11:15  90 intervals of 10 s, coverage 0.95, in 1 in every 10th -> 9
    11:15-11:30  90 intervals of 10 s, coverage 0.85, in 1 in every 10th -> 0.85: empty
    11:30-11:45  90 intervals of 10 s, coverage 0.90, in 1 in every 30th -> 0.90 = threshold: 3
    12:00-12:15  one 900 s interval, in 7                      -> 7; hour 12: a quarter, empty
    13:00-14:00  one 3600 s interval, in 20 -> quarters empty (cannot be split), hour 13: 20
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from edge.city.export.records import DeviceInterval, LineDirectionCount
from edge.records import Direction

PARIS = ZoneInfo("Europe/Paris")
PUBLISHER = "Testville"

SITES_TOML = """\
publisher = "Testville"
data_provider_name = "Ville de Testville"
timezone = "Europe/Paris"
minimum_coverage = 0.9

[[sites]]
site_id = "main-street"
name = "Grande Rue"
longitude = 4.76411
latitude = 44.71191
insee_code = "07022"
infrastructure_type = "FOOTPATH"

[[sites.channels]]
channel_id = "main-street-entrance-in"
device_id = "cam-1"
line_id = "entrance"
direction = "in"
compass = "N"
direction_name = "vers la place"
started_at = 2026-01-01T00:00:00+01:00

[[sites.channels]]
channel_id = "main-street-entrance-out"
device_id = "cam-1"
line_id = "entrance"
direction = "out"
compass = "S"
direction_name = "vers le pont"
started_at = 2026-01-01T00:00:00+01:00

[[sites]]
site_id = "station-square"
name = "Place de la Gare"
longitude = 4.77
latitude = 44.715

[[sites.channels]]
channel_id = "station-door-in"
device_id = "cam-2"
line_id = "door"
direction = "in"
compass = "E"
comment = "Porte de la gare"
started_at = 2026-01-05T10:00:00+01:00
"""

# (case name, first day, last day, step): one folder of expected files each.
CASES = (
    ("2026-01-05-900", "2026-01-05", "2026-01-05", 900),
    ("2026-01-05-3600", "2026-01-05", "2026-01-05", 3600),
    ("2026-03-29-900", "2026-03-29", "2026-03-29", 900),
    ("2026-03-29-3600", "2026-03-29", "2026-03-29", 3600),
    ("2026-10-25-900", "2026-10-25", "2026-10-25", 900),
    ("2026-10-25-3600", "2026-10-25", "2026-10-25", 3600),
)

# Counts of one interval given its index in its run: (in, out); None = suppressed.
CountsOf = Callable[[int, datetime], tuple[int | None, int | None]]


def local(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """A Europe/Paris wall-clock time as UTC (never on a skipped or repeated hour here)."""
    return datetime(year, month, day, hour, minute, tzinfo=PARIS).astimezone(UTC)


class _Device:
    """Builds one device's intervals with consecutive sequence numbers."""

    def __init__(self, device_id: str, site_id: str, line_id: str, first_seq: int) -> None:
        self.device_id = device_id
        self.site_id = site_id
        self.line_id = line_id
        self.next_seq = first_seq
        self.intervals: list[DeviceInterval] = []

    def run(
        self,
        start: datetime,
        count: int,
        length_s: int,
        coverage: float,
        counts_of: CountsOf,
        skip: frozenset[int] = frozenset(),
        site_id: str | None = None,
    ) -> None:
        for index in range(count):
            begin = start + timedelta(seconds=index * length_s)
            self.next_seq += 1
            if index in skip:  # the device dropped it: a gap in seq and in time
                continue
            in_count, out_count = counts_of(index, begin)
            self.intervals.append(
                DeviceInterval(
                    device_id=self.device_id,
                    site_id=site_id or self.site_id,
                    seq=self.next_seq,
                    start=begin,
                    end=begin + timedelta(seconds=length_s),
                    coverage=coverage,
                    counts=(
                        LineDirectionCount(self.line_id, Direction.IN, in_count),
                        LineDirectionCount(self.line_id, Direction.OUT, out_count),
                    ),
                )
            )


def _constant(in_count: int | None, out_count: int | None) -> CountsOf:
    return lambda _index, _begin: (in_count, out_count)


def known_intervals() -> list[DeviceInterval]:
    """Every interval of the dataset described in the module docstring."""
    cam1 = _Device("cam-1", "main-street", "entrance", first_seq=1767600000000)
    jan5 = (2026, 1, 5)
    cam1.run(local(*jan5, 8, 0), 15, 60, 1.0, _constant(1, 0))
    cam1.run(local(*jan5, 8, 15), 15, 60, 1.0, _constant(0, 0))
    cam1.run(local(*jan5, 8, 30), 15, 60, 0.0, _constant(0, 0))
    cam1.run(
        local(*jan5, 8, 45),
        15,
        60,
        1.0,
        lambda index, _begin: (2 if index == 0 else 0, 3 if index == 5 else 0),
        skip=frozenset({14}),
    )
    cam1.run(
        local(*jan5, 9, 0),
        15,
        60,
        1.0,
        lambda index, _begin: (None if index == 7 else 1, 4 if index == 3 else 0),
    )
    cam1.run(local(*jan5, 9, 15), 15, 60, 1.0, _constant(1, 0), skip=frozenset({13, 14}))
    cam1.run(local(*jan5, 12, 0), 60, 60, 1.0, _constant(2, 1))
    cam1.run(local(*jan5, 14, 0), 60, 60, 0.98, _constant(0, 0))
    cam1.run(local(*jan5, 16, 0), 15, 60, 1.0, _constant(9, 9), site_id="elsewhere")
    cam1.run(datetime(2026, 3, 29, 0, 0, tzinfo=UTC), 120, 60, 1.0, _constant(1, 0))
    cam1.run(datetime(2026, 10, 25, 0, 0, tzinfo=UTC), 60, 60, 1.0, _constant(1, 0))
    cam1.run(datetime(2026, 10, 25, 1, 0, tzinfo=UTC), 60, 60, 1.0, _constant(2, 1))

    cam2 = _Device("cam-2", "station-square", "door", first_seq=1767700000000)
    cam2.run(local(*jan5, 9, 58), 7, 300, 1.0, lambda index, _begin: (index + 1, 0))
    cam2.run(local(*jan5, 11, 0), 90, 10, 0.95, lambda index, _begin: (1 if index % 10 == 0 else 0, 0))
    cam2.run(local(*jan5, 11, 15), 90, 10, 0.85, lambda index, _begin: (1 if index % 10 == 0 else 0, 0))
    cam2.run(local(*jan5, 11, 30), 90, 10, 0.90, lambda index, _begin: (1 if index % 30 == 0 else 0, 0))
    cam2.run(local(*jan5, 12, 0), 1, 900, 1.0, _constant(7, 0))
    cam2.run(local(*jan5, 13, 0), 1, 3600, 1.0, _constant(20, 0))
    return cam1.intervals + cam2.intervals


class MemoryIntervalSource:
    """An IntervalSource over a list, selecting as the SQL loader does (device, sites, overlap)."""

    def __init__(self, intervals: Sequence[DeviceInterval]) -> None:
        self._intervals = list(intervals)

    def intervals(
        self, device_id: str, site_ids: Sequence[str], start: datetime, end: datetime
    ) -> list[DeviceInterval]:
        return [
            i
            for i in self._intervals
            if i.device_id == device_id and i.site_id in site_ids and i.start < end and i.end > start
        ]
