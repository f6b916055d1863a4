"""Fixtures: one throwaway PostgreSQL cluster per session (see postgres.py) and a fresh migrated
database per test, copied from a template migrated once (CREATE DATABASE ... TEMPLATE is fast)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import psycopg
import pytest

from edge.city.migrate import apply_migrations
from tests.city.postgres import PostgresServer

TEMPLATE = "footfall_template"
_database_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The session's PostgreSQL server; a test may stop and start it, it must leave it running."""
    server = PostgresServer()
    server.start()
    yield server
    server.destroy()


@pytest.fixture(scope="session")
def city_template(postgres_server: PostgresServer) -> str:
    """Name of a database with every migration applied, to copy per test."""
    url = postgres_server.create_database(TEMPLATE)
    with psycopg.connect(url) as connection:
        apply_migrations(connection)
    return TEMPLATE


@pytest.fixture
def city_db(postgres_server: PostgresServer, city_template: str) -> str:
    """URL (with password) of a fresh, migrated database of its own for this test."""
    if not postgres_server.running:
        postgres_server.start()
    return postgres_server.create_database(f"city_test_{next(_database_numbers)}", template=city_template)
