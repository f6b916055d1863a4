"""`footfall ingest` start-up on a real PostgreSQL: migrations through the CLI, and one-line errors
for a database that is not migrated, a wrong password or a missing URL (the password never shown)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import psycopg

from edge.city.migrate import applied_versions, latest_version
from tests.city.ingesters import ingest_environment
from tests.city.postgres import PostgresServer

FOOTFALL = str(Path(sys.executable).parent / "footfall")


def _ingest(environment: dict[str, str], *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [FOOTFALL, "ingest", *arguments],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_migrate_then_start_checks(postgres_server: PostgresServer, tmp_path: Path) -> None:
    url = postgres_server.create_database("cli_fresh")
    environment = ingest_environment(tmp_path, url, FOOTFALL_CITY_MQTT_PORT="1")

    refused = _ingest(environment)
    assert refused.returncode == 1
    assert "schema is at version 0" in refused.stderr
    assert "run `footfall ingest --migrate` first" in refused.stderr

    migrated = _ingest(environment, "--migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert migrated.stdout.startswith("applied 0001_initial.sql")
    again = _ingest(environment, "--migrate")
    assert again.stdout.strip() == f"schema already at version {latest_version()}"
    with psycopg.connect(url) as connection:
        assert latest_version() in applied_versions(connection)


def test_a_wrong_password_is_one_line_without_the_password(
    postgres_server: PostgresServer, tmp_path: Path
) -> None:
    url = postgres_server.create_database("cli_password").replace(
        postgres_server.password, "not-the-password"
    )
    done = _ingest(ingest_environment(tmp_path, url), "--migrate")
    assert done.returncode == 1
    assert done.stderr.startswith("footfall: error: cannot connect to the database")
    assert "password authentication failed" in done.stderr
    assert "not-the-password" not in done.stderr
    assert "Traceback" not in done.stderr


def test_no_database_url_names_the_variable(tmp_path: Path) -> None:
    environment = ingest_environment(tmp_path, "postgresql://x@127.0.0.1/x")
    del environment["FOOTFALL_CITY_DATABASE_URL"]
    done = _ingest(environment)
    assert done.returncode == 1
    assert (
        done.stderr.strip()
        == "footfall: error: invalid city server settings: FOOTFALL_CITY_DATABASE_URL: Field required"
    )
