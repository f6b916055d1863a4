"""Typed records of the export: device intervals in, the three notions' rows out.

Times are timezone-aware UTC `datetime`s; they become local times with offsets only when a table
is formatted (`edge.city.export.tables`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from edge.records import Direction


@dataclass(frozen=True, slots=True)
class LineDirectionCount:
    """One line's crossings in one direction during one device interval.

    Attributes:
        line_id: the device's line id.
        direction: crossing direction on the device.
        count: people, or None when the device suppressed a small count (privacy option).
    """

    line_id: str
    direction: Direction
    count: int | None


@dataclass(frozen=True, slots=True)
class DeviceInterval:
    """One stored interval of one device (a row of the `interval` table with its line counts).

    Attributes:
        device_id: the device.
        site_id: the site the device reported for this interval.
        seq: the device's sequence number.
        start: UTC start, inclusive.
        end: UTC end, exclusive.
        coverage: share of the interval the camera observed, in [0, 1].
        counts: the interval's line counts; a line absent here was not counted in it.
    """

    device_id: str
    site_id: str
    seq: int
    start: datetime
    end: datetime
    coverage: float
    counts: tuple[LineDirectionCount, ...]

    def count_of(self, line_id: str, direction: Direction) -> tuple[bool, int | None]:
        """Whether the interval counted that line and direction, and its count (None: suppressed)."""
        for item in self.counts:
            if item.line_id == line_id and item.direction is direction:
                return True, item.count
        return False, None


@dataclass(frozen=True, slots=True)
class ExportWindow:
    """The slots to export: `[start, end)` in UTC cut into `step_s` slots from `start`.

    Attributes:
        start: UTC start, inclusive (local midnight of the first day).
        end: UTC end, exclusive (local midnight after the last day).
        step_s: slot length in seconds (900 or 3600).
    """

    start: datetime
    end: datetime
    step_s: int

    @property
    def slot_count(self) -> int:
        """Number of whole slots in the window."""
        return int((self.end - self.start).total_seconds()) // self.step_s


@dataclass(frozen=True, slots=True)
class MeasureRow:
    """One slot of one channel.

    Attributes:
        channel_id: the channel.
        counter_id: the device that counts it.
        start: UTC slot start, inclusive.
        end: UTC slot end, exclusive.
        count: people in the slot; None when the slot was not observed (or suppressed).
    """

    channel_id: str
    counter_id: str
    start: datetime
    end: datetime
    count: int | None
