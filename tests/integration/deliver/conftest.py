"""Fixtures: Mosquitto brokers on free loopback ports (see mosquitto.py), stopped at teardown."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.integration.deliver.mosquitto import MosquittoBroker


@pytest.fixture
def broker_factory(tmp_path: Path) -> Iterator[Callable[..., MosquittoBroker]]:
    """Make and start brokers (keyword arguments as MosquittoBroker); all are stopped at teardown."""
    brokers: list[MosquittoBroker] = []

    def make(**options: object) -> MosquittoBroker:
        folder = tmp_path / f"broker-{len(brokers)}"
        folder.mkdir()
        broker = MosquittoBroker(folder, **options)  # type: ignore[arg-type]
        brokers.append(broker)
        broker.start()
        return broker

    yield make
    for broker in brokers:
        broker.stop()


@pytest.fixture
def broker(broker_factory: Callable[..., MosquittoBroker]) -> MosquittoBroker:
    """An anonymous, non-persistent broker."""
    return broker_factory()
