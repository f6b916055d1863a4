"""(a) Broker stopped for several intervals, then restarted: every interval arrives once, in order, no gap."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from edge.deliver import ConnectionState, MqttProtocol, SqliteOutbox
from tests.integration.deliver.helpers import DEVICE, backlog, eventually, make_delivery, submit_all
from tests.integration.deliver.mosquitto import MosquittoBroker
from tests.integration.deliver.subscriber import RecordingSubscriber
from tests.unit.deliver.deliver_samples import sample_interval


@pytest.fixture
def outbox(tmp_path: Path) -> Iterator[SqliteOutbox]:
    with SqliteOutbox(tmp_path / "outbox.sqlite3", device_id=DEVICE) as opened:
        yield opened


def test_broker_outage_every_interval_arrives_once_in_order(
    broker_factory: Callable[..., MosquittoBroker], outbox: SqliteOutbox
) -> None:
    # The city server keeps its session across the broker restart, as a real one would.
    broker = broker_factory(persistence=True)
    subscriber = RecordingSubscriber(broker.port, persistent=True).start()
    delivery = make_delivery(outbox, broker.port)
    delivery.start()
    try:
        seqs = submit_all(delivery, range(3))
        assert subscriber.wait_for(lambda sub: len(sub.seqs) == 3)

        broker.stop()
        seqs += submit_all(delivery, range(3, 11))
        assert delivery.status().connection.state in (
            ConnectionState.DISCONNECTED,
            ConnectionState.UNREACHABLE,
        )
        assert backlog(delivery) == 8  # committed and waiting: nothing is lost while the broker is away

        broker.start()
        assert subscriber.wait_for(lambda sub: len(sub.seqs) == 11), subscriber.seqs
        assert subscriber.seqs == seqs  # in order, each once after de-duplication
        assert seqs == list(range(seqs[0], seqs[0] + 11))  # no gap
        assert [document["start"] for document in subscriber.counts] == [
            f"2026-01-05T08:{minute:02d}:00Z" for minute in range(11)
        ]
        assert all(document["backfill"] for document in subscriber.counts)  # intervals of 2026-01-05
        assert eventually(lambda: backlog(delivery) == 0)
        assert delivery.status().delivered == 11
    finally:
        delivery.stop(timeout_s=2.0)
        subscriber.stop()


def test_backlog_drains_oldest_first_through_a_bounded_window(
    broker: MosquittoBroker, outbox: SqliteOutbox
) -> None:
    subscriber = RecordingSubscriber(broker.port).start()
    seqs = [outbox.enqueue(sample_interval(index)) for index in range(80)]
    delivery = make_delivery(outbox, broker.port, protocol=MqttProtocol.V311, window=5)
    delivery.start()
    most_in_flight = 0
    try:
        deadline = time.monotonic() + 15.0
        while len(subscriber.seqs) < 80 and time.monotonic() < deadline:
            most_in_flight = max(most_in_flight, delivery.status().in_flight)
            time.sleep(0.001)
        assert subscriber.seqs == seqs
        assert subscriber.duplicates == 0
        assert 1 <= most_in_flight <= 5
    finally:
        delivery.stop(timeout_s=2.0)
        subscriber.stop()
