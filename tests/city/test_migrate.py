"""Migrations against a real PostgreSQL: applied once, recorded, and the tables of the contract exist."""

from __future__ import annotations

import psycopg

from edge.city.migrate import applied_versions, apply_migrations, latest_version, shipped_migrations
from tests.city.postgres import PostgresServer

CONTRACT_TABLES = {"site", "device", "interval", "line_count", "quarantine"}


def test_a_new_database_gets_every_migration_once(postgres_server: PostgresServer) -> None:
    url = postgres_server.create_database("migrate_fresh")
    with psycopg.connect(url) as connection:
        first = apply_migrations(connection)
        second = apply_migrations(connection)
        tables = {
            name
            for (name,) in connection.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
            ).fetchall()
        }
        versions = applied_versions(connection)
    assert first == [migration.name for migration in shipped_migrations()]
    assert second == []
    assert versions == {migration.version for migration in shipped_migrations()}
    assert max(versions) == latest_version()
    assert tables >= CONTRACT_TABLES


def test_city_db_is_migrated_and_empty(city_db: str) -> None:
    with psycopg.connect(city_db) as connection:
        assert applied_versions(connection) == {migration.version for migration in shipped_migrations()}
        assert connection.execute("SELECT count(*) FROM interval").fetchone() == (0,)


def test_the_gap_view_finds_missing_ranges(city_db: str) -> None:
    with psycopg.connect(city_db) as connection:
        for seq in (2, 3, 6, 7, 10):
            connection.execute(
                "INSERT INTO interval"
                " (device_id, seq, site_id, start_at, end_at, coverage, backfill, payload)"
                " VALUES ('cam-1', %s, 'site-1', now(), now() + interval '1 minute', 1, false, '{}')",
                (seq,),
            )
        gaps = connection.execute(
            "SELECT first_missing, last_missing, missing FROM interval_gap ORDER BY first_missing"
        ).fetchall()
    assert gaps == [(1, 1, 1), (4, 5, 2), (8, 9, 2)]
