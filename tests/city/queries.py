"""Reading back what the ingesters stored."""

from __future__ import annotations

import psycopg


def stored_keys(url: str) -> list[tuple[str, int]]:
    """Every (device_id, seq) in `interval`, sorted (duplicates would show twice)."""
    with psycopg.connect(url) as connection:
        rows = connection.execute("SELECT device_id, seq FROM interval ORDER BY device_id, seq").fetchall()
    return [(str(device), int(seq)) for device, seq in rows]


def interval_count(url: str) -> int:
    with psycopg.connect(url) as connection:
        row = connection.execute("SELECT count(*) FROM interval").fetchone()
    return 0 if row is None else int(row[0])


def line_counts(url: str, device_id: str, seq: int) -> dict[tuple[str, str], int | None]:
    """(line_id, direction) -> count of one stored interval."""
    with psycopg.connect(url) as connection:
        rows = connection.execute(
            "SELECT line_id, direction, count FROM line_count WHERE device_id = %s AND seq = %s",
            (device_id, seq),
        ).fetchall()
    return {(str(line), str(direction)): count for line, direction, count in rows}


def quarantine(url: str) -> list[tuple[str, str, bytes]]:
    """(topic, reason, payload) of every quarantined message, oldest first."""
    with psycopg.connect(url) as connection:
        rows = connection.execute("SELECT topic, reason, payload FROM quarantine ORDER BY id").fetchall()
    return [(str(topic), str(reason), bytes(payload)) for topic, reason, payload in rows]
