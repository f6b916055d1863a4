"""Who may use the API: the device password as a bearer token, or a session cookie after login.

Comparisons are constant-time (`hmac.compare_digest` over SHA-256 digests, so not even the length
leaks); sessions are HMAC-signed expiry times with a key made at start-up (a restart logs everyone
out, nothing is stored); failed logins and wrong bearer tokens count together per client address,
and a client with LOGIN_FAILURES of them within LOGIN_WINDOW_S is refused (429) until the oldest
leaves the window. The password itself is never logged nor put in a cookie.
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

from pydantic import SecretStr

SESSION_COOKIE = "footfall_session"
# How long a page session lasts, seconds.
SESSION_S = 12 * 3600
# Failed logins allowed per client address within LOGIN_WINDOW_S before answering 429.
LOGIN_FAILURES = 5
LOGIN_WINDOW_S = 60.0
# Client addresses the throttle remembers; the least recently failed is forgotten beyond this.
MAX_TRACKED_CLIENTS = 10_000


class Authenticator:
    """Checks bearer tokens and session cookies, issues sessions and throttles failed logins.

    Args:
        password: the device password (a secret); also the API's bearer token.
        monotonic: clock for the login throttle (injected in tests).
        wall_clock: clock for session expiry, seconds since the epoch.
    """

    def __init__(
        self,
        password: SecretStr,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        if not password.get_secret_value():
            raise ValueError("password must not be empty")
        self._password_digest = hashlib.sha256(password.get_secret_value().encode()).digest()
        self._key = secrets.token_bytes(32)
        self._monotonic = monotonic
        self._wall_clock = wall_clock
        # Touched from the event loop (login) and from worker threads (API dependencies).
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
        expires = str(int(self._wall_clock()) + SESSION_S)
        return f"{expires}.{self._sign(expires)}"

    def session_ok(self, cookie: str | None) -> bool:
        if not cookie or "." not in cookie:
            return False
        expires, _, signature = cookie.partition(".")
        if not hmac.compare_digest(signature, self._sign(expires)):
            return False
        return expires.isdigit() and int(expires) > self._wall_clock()

    def login_blocked(self, client: str) -> bool:
        """True while `client` has used up its failed attempts (wrong passwords or tokens)."""
        return self.retry_after_s(client) is not None

    def retry_after_s(self, client: str) -> float | None:
        """Seconds until `client` may try again, or None if it may try now."""
        with self._lock:
            recent = self._recent_failures(client)
            if len(recent) < LOGIN_FAILURES:
                return None
            return max(0.0, recent[0] + LOGIN_WINDOW_S - self._monotonic())

    def record_failure(self, client: str) -> None:
        with self._lock:
            self._recent_failures(client).append(self._monotonic())
            self._failures.move_to_end(client)
            while len(self._failures) > MAX_TRACKED_CLIENTS:
                self._failures.popitem(last=False)

    def _recent_failures(self, client: str) -> deque[float]:
        failures = self._failures.setdefault(client, deque())
        while failures and self._monotonic() - failures[0] > LOGIN_WINDOW_S:
            failures.popleft()
        return failures

    def _sign(self, value: str) -> str:
        digest = hmac.new(self._key, value.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")
