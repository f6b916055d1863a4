"""The device's calibration file: read it, replace it live, keep every previous version.

A technician saves lines and zones from the calibration page; the service must count with them
at once, without a restart, and an earlier calibration must never be lost (counts published before
the change were made with it). Saving writes the new file atomically and moves the old one into
`<name>.history/` with its UTC time, then tells the listeners (the counting loop).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from edge.atomic_file import write_text_atomically
from edge.calibration import Calibration, load_calibration
from edge.errors import ConfigError

logger = logging.getLogger(__name__)

# Earlier calibrations kept in the history folder; older ones are deleted (README, retention).
HISTORY_VERSIONS = 50


@dataclass(frozen=True, slots=True)
class CalibrationVersion:
    """A stored calibration: the current one (`saved_at` None) or an earlier one."""

    path: Path
    saved_at: datetime | None


class CalibrationStore:
    """Thread-safe holder of the current calibration, backed by its file.

    Args:
        path: the calibration JSON file; it must exist and be valid.
        clock: wall clock for history names (injected in tests).
    """

    def __init__(self, path: Path, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._path = path
        self._clock = clock
        self._lock = threading.Lock()
        self._current = load_calibration(path)
        self._listeners: list[Callable[[Calibration], None]] = []

    @property
    def path(self) -> Path:
        return self._path

    @property
    def history_dir(self) -> Path:
        return self._path.with_name(self._path.name + ".history")

    def current(self) -> Calibration:
        with self._lock:
            return self._current

    def subscribe(self, listener: Callable[[Calibration], None]) -> None:
        """Call `listener` with every calibration applied from now on (from the saving thread)."""
        with self._lock:
            self._listeners.append(listener)

    def apply(self, calibration: Calibration) -> None:
        """Make `calibration` current: keep the old file in the history, write the new one atomically.

        Raises:
            ConfigError: the file cannot be written; the current calibration stays in force.
        """
        with self._lock:
            try:
                self._archive_current()
                write_text_atomically(self._path, calibration.to_json())
            except OSError as exc:
                raise ConfigError(f"cannot save calibration to {self._path}: {exc.strerror}") from exc
            self._current = calibration
            listeners = list(self._listeners)
        logger.info("calibration applied: %d lines, %d zones", len(calibration.lines), len(calibration.zones))
        for listener in listeners:
            listener(calibration)

    def history(self) -> list[CalibrationVersion]:
        """The current file first, then earlier versions, newest first."""
        earlier = sorted(self.history_dir.glob("*.json"), reverse=True) if self.history_dir.is_dir() else []
        return [CalibrationVersion(self._path, None)] + [
            CalibrationVersion(path, _parse_stamp(path.stem)) for path in earlier
        ]

    def _archive_current(self) -> None:
        if not self._path.exists():
            return
        self.history_dir.mkdir(parents=True, exist_ok=True)
        stamp = self._clock().strftime("%Y%m%dT%H%M%S.%fZ")
        archived = self.history_dir / f"{stamp}.json"
        archived.write_bytes(self._path.read_bytes())
        for expired in sorted(self.history_dir.glob("*.json"), reverse=True)[HISTORY_VERSIONS:]:
            expired.unlink()


def _parse_stamp(stem: str) -> datetime | None:
    try:
        return datetime.strptime(stem, "%Y%m%dT%H%M%S.%fZ").replace(tzinfo=UTC)
    except ValueError:
        return None
