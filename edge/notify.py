"""systemd readiness and watchdog notifications over `$NOTIFY_SOCKET`, in pure Python.

`READY=1` is sent once the first frame has gone through the whole pipeline; `WATCHDOG=1` is sent
from the counting loop after processed frames only, so a stuck camera or model stops the pings and
systemd restarts the service. Without `$NOTIFY_SOCKET` (not run by systemd) every call is a no-op.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable, Mapping

logger = logging.getLogger(__name__)

# Ping at most this often when systemd gives no watchdog period (WATCHDOG_USEC unset).
DEFAULT_PING_S = 5.0


class SystemdNotifier:
    """Sends sd_notify messages to the socket systemd names in the environment.

    Args:
        environ: where `NOTIFY_SOCKET` and `WATCHDOG_USEC` are read (os.environ by default).
        monotonic: clock for rate-limiting watchdog pings (injected in tests).
    """

    def __init__(
        self, environ: Mapping[str, str] | None = None, *, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        environment = os.environ if environ is None else environ
        self._address = _socket_address(environment.get("NOTIFY_SOCKET", ""))
        watchdog_usec = environment.get("WATCHDOG_USEC", "")
        # systemd advises pinging at half the watchdog period.
        self._ping_every_s = int(watchdog_usec) / 2e6 if watchdog_usec.isdigit() else DEFAULT_PING_S
        self._monotonic = monotonic
        self._last_ping_s: float | None = None
        self._ready = False

    @property
    def enabled(self) -> bool:
        return self._address is not None

    def ready(self) -> None:
        """Tell systemd the service is up (once)."""
        if not self._ready:
            self._ready = True
            self._send("READY=1\nSTATUS=counting")

    def watchdog(self) -> None:
        """Ping the watchdog, at most every half watchdog period."""
        now_s = self._monotonic()
        if self._last_ping_s is not None and now_s - self._last_ping_s < self._ping_every_s:
            return
        self._last_ping_s = now_s
        self._send("WATCHDOG=1")

    def stopping(self) -> None:
        self._send("STOPPING=1")

    def _send(self, message: str) -> None:
        if self._address is None:
            return
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.connect(self._address)
                sock.sendall(message.encode())
        except OSError as exc:  # systemd gone or socket misconfigured: log, never stop counting
            logger.warning("sd_notify %r failed: %s", message.split("\n", maxsplit=1)[0], exc)


def _socket_address(value: str) -> str | None:
    if not value:
        return None
    # An abstract socket is given with a leading "@", sent with a leading NUL byte.
    return "\0" + value[1:] if value.startswith("@") else value
