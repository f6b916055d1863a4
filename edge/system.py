"""Readings of the device itself: CPU temperature, throttling, free disk. Hardware edges only.

Each probe returns None where the machine does not expose the reading (a laptop has no Pi
firmware throttling flag), never raises: status pages show "unknown" rather than fail.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

# Linux thermal zone of the SoC on a Raspberry Pi (and most ARM boards), millidegrees Celsius.
THERMAL_ZONE = Path("/sys/class/thermal/thermal_zone0/temp")
# Raspberry Pi firmware's throttling bits (the same value `vcgencmd get_throttled` prints).
THROTTLED = Path("/sys/devices/platform/soc/soc:firmware/get_throttled")
# Bits 0-3 of get_throttled: under-voltage, frequency capped, throttled, soft temperature limit now.
THROTTLED_NOW_MASK = 0xF


@dataclass(frozen=True, slots=True)
class SystemReadings:
    """One reading of the device.

    Attributes:
        temperature_c: SoC temperature; None if unknown.
        throttled: True while the Pi firmware throttles or caps the CPU; None if unknown.
        disk_free_bytes: free bytes on the file system holding the outbox; None if unknown.
    """

    temperature_c: float | None
    throttled: bool | None
    disk_free_bytes: int | None


def read_system(
    data_dir: Path, *, thermal_zone: Path = THERMAL_ZONE, throttled: Path = THROTTLED
) -> SystemReadings:
    """Read temperature, throttling and free disk space (of `data_dir`'s file system)."""
    return SystemReadings(
        temperature_c=_temperature_c(thermal_zone),
        throttled=_throttled(throttled),
        disk_free_bytes=_disk_free(data_dir),
    )


def _temperature_c(path: Path) -> float | None:
    try:
        return int(path.read_text().strip()) / 1000.0
    except (OSError, ValueError):
        return None


def _throttled(path: Path) -> bool | None:
    try:
        raw = path.read_text().strip()
    except OSError:
        return None
    try:
        return bool(int(raw, 16 if raw.startswith("0x") else 10) & THROTTLED_NOW_MASK)
    except ValueError:
        return None


def _disk_free(path: Path) -> int | None:
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        return shutil.disk_usage(probe).free
    except OSError:
        return None
