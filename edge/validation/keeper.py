"""`RunningKeeper`: the running validation in a small JSON file, so a restart does not throw it away.

Written (atomically: a temporary file renamed over the old one, fsynced) when a validation starts,
at every hand count the page sends, and at shutdown; removed when it finishes or is cancelled.
After a restart the service resumes it if the calibration is the same (README D-053). Holds the
technician's totals and the device's, never a track or an image.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from pathlib import Path

from edge.atomic_file import write_text_atomically
from edge.validation.session import RunningValidation

logger = logging.getLogger(__name__)

RUNNING_FILE = "validation-running.json"


class RunningKeeper:
    """Keeps one `RunningValidation` in `path` (a JSON file)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def keep(self, state: RunningValidation | None) -> None:
        """Write `state`, or remove the file when None; failures are logged, never raised."""
        try:
            if state is None:
                self.path.unlink(missing_ok=True)
                return
            document = {
                "validation_id": state.validation_id,
                "line_id": state.line_id,
                "operator": state.operator,
                "calibration_version": state.calibration_version,
                "started_at": state.started_at.isoformat(),
                "reference": list(state.reference),
                "device": list(state.device),
                "observed_s": state.observed_s,
            }
            write_text_atomically(self.path, json.dumps(document))
        except OSError as exc:
            logger.warning("cannot keep the running validation in %s: %s", self.path, exc)

    def load(self) -> RunningValidation | None:
        """The kept validation, or None (no file, or a file that cannot be read: logged and removed)."""
        try:
            document = json.loads(self.path.read_text(encoding="utf-8"))
            return RunningValidation(
                validation_id=str(document["validation_id"]),
                line_id=str(document["line_id"]),
                operator=str(document["operator"]),
                calibration_version=str(document["calibration_version"]),
                started_at=datetime.fromisoformat(document["started_at"]),
                reference=(int(document["reference"][0]), int(document["reference"][1])),
                device=(int(document["device"][0]), int(document["device"][1])),
                observed_s=float(document["observed_s"]),
            )
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, IndexError, TypeError) as exc:
            logger.warning("the kept validation in %s cannot be read (%s): dropped", self.path, exc)
            self.keep(None)
            return None
