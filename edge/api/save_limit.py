"""How often the calibration may be saved: a token bucket, so a burst of PUTs cannot flush the
history of earlier calibrations (README D-041).

Each save is kept as a version (`HISTORY_VERSIONS` of them); 38 PUTs in 0.4 s used to push every
earlier calibration out. A technician saves by hand, a few times a minute at most: SAVE_BURST
saves at once, then one per SAVE_EVERY_S; more get 429 with the seconds to wait.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

# Saves allowed back to back.
SAVE_BURST = 5
# Seconds per further save once the burst is spent (10 a minute).
SAVE_EVERY_S = 6.0


class SaveLimiter:
    """A token bucket of `burst` tokens refilled one per `every_s`.

    Args:
        burst: saves allowed back to back.
        every_s: seconds per further save.
        monotonic: clock (injected in tests).
    """

    def __init__(
        self,
        *,
        burst: int = SAVE_BURST,
        every_s: float = SAVE_EVERY_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if burst < 1 or every_s <= 0:
            raise ValueError(f"burst must be >= 1 and every_s > 0, got {burst}, {every_s}")
        self._burst = float(burst)
        self._every_s = every_s
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._tokens = float(burst)
        self._updated_s = monotonic()

    def take(self) -> float | None:
        """Spend a token: None if one was there, else the seconds until one will be."""
        with self._lock:
            now = self._monotonic()
            self._tokens = min(self._burst, self._tokens + (now - self._updated_s) / self._every_s)
            self._updated_s = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return None
            return (1.0 - self._tokens) * self._every_s
