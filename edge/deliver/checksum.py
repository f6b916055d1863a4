"""The checksum stored with every outbox row, so a row changed on disk is never published.

SHA-256 over the fields a message is made of: device id, sequence number and the interval's
canonical JSON (its times and counts). A flipped bit or an edited digit anywhere in them changes
it; the delivery state (`created_at`, `delivered_at`) is not covered, it is not published.
"""

from __future__ import annotations

import hashlib

# Separates the fields, so ("a", 12, ...) and ("a1", 2, ...) cannot hash alike.
_SEPARATOR = "\x1f"


def row_checksum(device_id: str, seq: int, body: str) -> str:
    """Hex SHA-256 of one row's payload fields."""
    text = _SEPARATOR.join((device_id, str(seq), body))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
