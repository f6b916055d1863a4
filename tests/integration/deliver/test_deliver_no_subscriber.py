"""MQTT 5 PUBACK "no matching subscribers": nobody received the counts, so they stay queued.

After a broker restart Mosquitto forgets shared subscriptions until the city's ingesters
re-subscribe (README D-033): a count published in that window is acknowledged with reason code
0x10 and would be lost while the device thought it delivered. The device keeps such rows and
retries until a subscriber takes them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.deliver import SqliteOutbox
from tests.integration.deliver.helpers import DEVICE, backlog, eventually, make_delivery, submit_all
from tests.integration.deliver.mosquitto import MosquittoBroker
from tests.integration.deliver.subscriber import RecordingSubscriber


@pytest.fixture
def outbox(tmp_path: Path) -> Iterator[SqliteOutbox]:
    with SqliteOutbox(tmp_path / "outbox.sqlite3", device_id=DEVICE) as opened:
        yield opened


def test_counts_nobody_subscribed_to_stay_queued_until_someone_does(
    broker: MosquittoBroker, outbox: SqliteOutbox
) -> None:
    delivery = make_delivery(outbox, broker.port)
    delivery.start()
    subscriber: RecordingSubscriber | None = None
    try:
        seqs = submit_all(delivery, range(3))
        assert eventually(lambda: delivery.status().connection.state.value == "connected")
        time.sleep(2.0)  # published and answered with 0x10 by now
        assert backlog(delivery) == 3, "counts nobody received were marked delivered"
        subscriber = RecordingSubscriber(broker.port).start()
        assert subscriber.wait_for(lambda sub: len(sub.seqs) == 3, timeout_s=20), subscriber.seqs
        assert subscriber.seqs == seqs
        assert eventually(lambda: backlog(delivery) == 0)
    finally:
        delivery.stop(timeout_s=2.0)
        if subscriber is not None:
            subscriber.stop()
