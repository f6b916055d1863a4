"""Who may use the API: the device password as a bearer token, or a session cookie after login.

Comparisons are constant-time (`hmac.compare_digest` over bytes: SHA-256 digests for the password,
so not even its length leaks). A session is `<id>.<expiry>.<HMAC>` signed with a key from
`SessionKeys` (persisted and rotated: a restart logs nobody out), and logout ends it server-side.
Failed attempts are throttled per client address and per channel (README D-042): LOGIN_FAILURES
wrong passwords on the login form, or wrong bearer tokens on the API, within LOGIN_WINDOW_S
refuse that channel (429) until the oldest leaves the window, so a script with a stale token
cannot lock the technician's login out. The password itself is never logged nor put in a cookie.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from enum import StrEnum

from pydantic import SecretStr

from edge.api.session_keys import SESSION_S, SessionKeys

SESSION_COOKIE = "footfall_session"
# Failed attempts allowed per client address and channel within LOGIN_WINDOW_S before answering 429.
LOGIN_FAILURES = 5
LOGIN_WINDOW_S = 60.0
# Client addresses the throttle remembers; the least recently failed is forgotten beyond this.
MAX_TRACKED_CLIENTS = 10_000
# Longest cookie looked at: a real one is about 80 characters.
MAX_COOKIE_CHARS = 256

__all__ = ["SESSION_COOKIE", "SESSION_S", "Authenticator", "Channel"]


class Channel(StrEnum):
    """Where a password was tried: each has its own failure budget."""

    LOGIN = "login"
    BEARER = "bearer"


class Authenticator:
    """Checks bearer tokens and session cookies, issues and ends sessions, throttles failures.

    Args:
        password: the device password (a secret); also the API's bearer token.
        session_keys: signing keys of sessions; default in memory only (a restart logs out).
        monotonic: clock for the throttle (injected in tests).
        wall_clock: clock for session expiry, seconds since the epoch.
    """

    def __init__(
        self,
        password: SecretStr,
        *,
        session_keys: SessionKeys | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        if not password.get_secret_value():
            raise ValueError("password must not be empty")
        self._password_digest = hashlib.sha256(password.get_secret_value().encode()).digest()
        self._keys = session_keys or SessionKeys(None, wall_clock=wall_clock)
        self._monotonic = monotonic
        self._wall_clock = wall_clock
        # Touched from the event loop and from worker threads.
        self._lock = threading.Lock()
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def password_matches(self, candidate: str) -> bool:
        digest = hashlib.sha256(candidate.encode("utf-8", "surrogatepass")).digest()
        return hmac.compare_digest(digest, self._password_digest)

    def bearer_ok(self, authorization: str | None) -> bool:
        if not authorization or not authorization.startswith("Bearer "):
            return False
        return self.password_matches(authorization.removeprefix("Bearer ").strip())

    def new_session(self) -> str:
        body = f"{secrets.token_urlsafe(16)}.{int(self._wall_clock()) + SESSION_S}"
        return f"{body}.{_sign(self._keys.signing_key(), body)}"

    def session_ok(self, cookie: str | None) -> bool:
        parsed = self._verified(cookie)
        return parsed is not None and not self._keys.is_revoked(parsed[0])

    def end_session(self, cookie: str | None) -> None:
        """Make `cookie` useless from now on, even if a copy of it is kept (logout)."""
        parsed = self._verified(cookie)
        if parsed is not None:
            self._keys.revoke(*parsed)

    def _verified(self, cookie: str | None) -> tuple[str, int] | None:
        """(session id, expiry) of a well-formed, correctly signed, unexpired cookie, else None."""
        # Anything a client sends is looked at as bytes: a non-ASCII cookie is simply wrong.
        if not cookie or len(cookie) > MAX_COOKIE_CHARS or not cookie.isascii() or cookie.count(".") != 2:
            return None
        session_id, expires, signature = cookie.split(".")
        body = f"{session_id}.{expires}"
        if not any(
            hmac.compare_digest(signature.encode(), _sign(key, body).encode())
            for key in self._keys.verifying_keys()
        ):
            return None
        if not expires.isdigit() or int(expires) <= self._wall_clock():
            return None
        return session_id, int(expires)

    def retry_after_s(self, client: str, channel: Channel) -> float | None:
        """Seconds until `client` may try `channel` again, or None if it may try now."""
        with self._lock:
            recent = self._recent_failures(f"{channel}:{client}")
            if len(recent) < LOGIN_FAILURES:
                return None
            return max(0.0, recent[0] + LOGIN_WINDOW_S - self._monotonic())

    def record_failure(self, client: str, channel: Channel) -> None:
        key = f"{channel}:{client}"
        with self._lock:
            self._recent_failures(key).append(self._monotonic())
            self._failures.move_to_end(key)
            while len(self._failures) > MAX_TRACKED_CLIENTS:
                self._failures.popitem(last=False)

    def _recent_failures(self, key: str) -> deque[float]:
        failures = self._failures.setdefault(key, deque())
        while failures and self._monotonic() - failures[0] > LOGIN_WINDOW_S:
            failures.popleft()
        return failures


def _sign(key: bytes, value: str) -> str:
    digest = hmac.new(key, value.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")
