"""Versioned schema migrations: `migrations/NNNN_name.sql`, applied in order, each exactly once.

Applied versions are recorded in `schema_migration`. Each file runs in its own transaction with
its row, under a transaction-level advisory lock, so several ingesters started together with
`--migrate` apply each file once and the others wait, then see it applied (README D-031).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

import psycopg

# Advisory lock key shared by every migrating process (any constant; "footfall" in ASCII, cut to int8).
_MIGRATION_LOCK = 0x666F6F7466616C6C
_FILE_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    """One schema version: its number, file name and SQL text."""

    version: int
    name: str
    text: str


def shipped_migrations() -> list[Migration]:
    """The migrations shipped in `edge/city/migrations/`, oldest first."""
    folder = resources.files("edge.city").joinpath("migrations")
    found: list[Migration] = []
    for entry in folder.iterdir():
        match = _FILE_NAME.match(entry.name)
        if match is not None:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text("utf-8")))
    found.sort(key=lambda migration: migration.version)
    return found


def latest_version() -> int:
    """The newest shipped schema version."""
    return shipped_migrations()[-1].version


def applied_versions(connection: psycopg.Connection[tuple[object, ...]]) -> set[int]:
    """Versions recorded in `schema_migration` (empty on a new database)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('schema_migration') IS NOT NULL")
        row = cursor.fetchone()
        if row is None or not row[0]:
            return set()
        cursor.execute("SELECT version FROM schema_migration")
        return {int(str(version)) for (version,) in cursor.fetchall()}


def apply_migrations(connection: psycopg.Connection[tuple[object, ...]]) -> list[str]:
    """Apply every shipped migration not yet applied; returns the names of those applied now."""
    applied_now: list[str] = []
    with connection.transaction():
        connection.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        connection.execute(
            "CREATE TABLE IF NOT EXISTS schema_migration ("
            " version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        )
    for migration in shipped_migrations():
        with connection.transaction():
            connection.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            if migration.version in applied_versions(connection):
                continue
            # bytes: the file is trusted SQL of several statements, sent without parameters.
            connection.execute(migration.text.encode("utf-8"))
            connection.execute(
                "INSERT INTO schema_migration (version, name) VALUES (%s, %s)",
                (migration.version, migration.name),
            )
        applied_now.append(migration.name)
    return applied_now
