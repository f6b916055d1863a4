"""The keys that sign page sessions, kept in a file so a restart logs nobody out, and the sessions
ended by logout.

The file (JSON, mode 0600, in the state directory) holds the current key, the previous one and
the ids of sessions ended early. Keys rotate every `ROTATION_S`; the previous key still verifies
for one more period, so a session signed just before a rotation lives its full `SESSION_S`
(README D-040). A missing, unreadable or corrupt file starts afresh (everyone logs in again,
with a warning); a file that cannot be written keeps the keys in memory only.
"""

from __future__ import annotations

import json
import logging
import secrets
import stat
import threading
import time
from collections.abc import Callable
from pathlib import Path

from edge.atomic_file import write_text_atomically

logger = logging.getLogger(__name__)

# How long a page session lasts, seconds.
SESSION_S = 12 * 3600
# Seconds between key rotations; equal to SESSION_S so the previous key outlives its sessions.
ROTATION_S = float(SESSION_S)
# Sessions ended early that are remembered (until their own expiry); the oldest go first beyond this.
MAX_REVOKED = 10_000
_FILE_VERSION = 1
_KEY_BYTES = 32


class SessionKeys:
    """Signing keys (current first) and ended sessions, persisted in `path` when given.

    Args:
        path: the key file; None keeps everything in memory (sessions end at restart).
        wall_clock: seconds since the epoch (injected in tests).
    """

    def __init__(self, path: Path | None, *, wall_clock: Callable[[], float] = time.time) -> None:
        self._path = path
        self._wall_clock = wall_clock
        self._lock = threading.Lock()
        self._keys: list[bytes] = []
        self._rotated_at = 0.0
        self._revoked: dict[str, float] = {}
        if not self._load():
            self._keys = [secrets.token_bytes(_KEY_BYTES)]
            self._rotated_at = wall_clock()
            self._save()

    def signing_key(self) -> bytes:
        """The key new sessions are signed with (rotated first when due)."""
        with self._lock:
            self._rotate_if_due()
            return self._keys[0]

    def verifying_keys(self) -> tuple[bytes, ...]:
        """Keys a session may be signed with: the current one and, for one more period, the previous."""
        with self._lock:
            self._rotate_if_due()
            return tuple(self._keys)

    def revoke(self, session_id: str, expires_s: float) -> None:
        """End `session_id` now; it is remembered until `expires_s`, when it would have ended anyway."""
        with self._lock:
            self._revoked[session_id] = expires_s
            self._prune()
            self._save()

    def is_revoked(self, session_id: str) -> bool:
        with self._lock:
            return session_id in self._revoked

    def _rotate_if_due(self) -> None:
        periods = (self._wall_clock() - self._rotated_at) / ROTATION_S
        if periods < 1:
            return
        fresh = secrets.token_bytes(_KEY_BYTES)
        # After two periods even the current key has outlived every session it signed.
        self._keys = [fresh] if periods >= 2 else [fresh, self._keys[0]]
        self._rotated_at = self._wall_clock()
        self._prune()
        self._save()
        logger.info("session key rotated")

    def _prune(self) -> None:
        now = self._wall_clock()
        self._revoked = {key: expires for key, expires in self._revoked.items() if expires > now}
        while len(self._revoked) > MAX_REVOKED:
            del self._revoked[min(self._revoked, key=self._revoked.__getitem__)]

    def _load(self) -> bool:
        if self._path is None or not self._path.exists():
            return False
        try:
            document = json.loads(self._path.read_text(encoding="utf-8"))
            if document.get("version") != _FILE_VERSION:
                raise ValueError(f"unknown version {document.get('version')!r}")
            keys = [bytes.fromhex(key) for key in document["keys"]]
            if not keys or len(keys) > 2 or any(len(key) != _KEY_BYTES for key in keys):
                raise ValueError("expected one or two 32-byte keys")
            rotated_at = float(document["rotated_at"])
            revoked = {str(key): float(expires) for key, expires in document["revoked"].items()}
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            logger.warning(
                "session key file %s unusable (%s): new key, everyone logs in again", self._path, exc
            )
            return False
        self._keys, self._rotated_at, self._revoked = keys, rotated_at, revoked
        self._tighten_mode()
        return True

    def _tighten_mode(self) -> None:
        assert self._path is not None
        mode = stat.S_IMODE(self._path.stat().st_mode)
        if mode & 0o077:
            logger.warning("session key file %s was readable by others (%o): set to 0600", self._path, mode)
            self._path.chmod(0o600)

    def _save(self) -> None:
        if self._path is None:
            return
        document = {
            "version": _FILE_VERSION,
            "rotated_at": self._rotated_at,
            "keys": [key.hex() for key in self._keys],
            "revoked": self._revoked,
        }
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            write_text_atomically(self._path, json.dumps(document))
        except OSError as exc:
            logger.warning(
                "cannot store the session key in %s (%s): sessions end when the service restarts",
                self._path,
                exc.strerror or exc,
            )
