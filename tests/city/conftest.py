"""Fixtures: one throwaway PostgreSQL cluster per session (see postgres.py) and a fresh migrated
database per test, copied from a template migrated once (CREATE DATABASE ... TEMPLATE is fast)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from edge.city.migrate import apply_migrations
from tests.city.ingesters import IngesterProcess
from tests.city.postgres import PostgresServer
from tests.city.simulator import FleetPublisher
from tests.integration.deliver.mosquitto import MosquittoBroker

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


@pytest.fixture
def city_broker(tmp_path: Path) -> Iterator[MosquittoBroker]:
    """A persistent Mosquitto (sessions and queued messages survive a restart) with no queue limit
    (Mosquitto drops QoS 1 messages beyond 1000 queued per session by default)."""
    folder = tmp_path / "broker"
    folder.mkdir()
    broker = MosquittoBroker(folder, persistence=True)
    with broker.config.open("a") as config:
        config.write("max_queued_messages 0\nmax_inflight_messages 0\n")
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
def fleet(city_broker: MosquittoBroker) -> Iterator[FleetPublisher]:
    """The fleet simulator, connected to `city_broker`."""
    publisher = FleetPublisher(city_broker.port)
    yield publisher
    publisher.close()


@pytest.fixture
def ingester_factory(
    tmp_path: Path, city_db: str, city_broker: MosquittoBroker
) -> Iterator[Callable[..., IngesterProcess]]:
    """Start `footfall ingest` processes on `city_db` and `city_broker` (keyword arguments: extra
    environment variables); all stopped at teardown."""
    started: list[IngesterProcess] = []

    def start(client_id: str, **environment: str) -> IngesterProcess:
        ingester = IngesterProcess(
            tmp_path / "ingesters", city_db, city_broker.port, client_id, **environment
        )
        ingester.start()
        started.append(ingester)
        return ingester

    yield start
    for ingester in started:
        ingester.stop()
