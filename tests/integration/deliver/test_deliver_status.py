"""(d) Retained availability: `online` on every connect, `stopped` on clean shutdown; health is retained."""

from __future__ import annotations

from pathlib import Path

import jsonschema

from edge.deliver import HEALTH_SCHEMA, ConnectionState, PipelineHealth, SqliteOutbox, payload_schema
from tests.integration.deliver.helpers import DEVICE, eventually, make_delivery, submit_all
from tests.integration.deliver.mosquitto import MosquittoBroker
from tests.integration.deliver.subscriber import RecordingSubscriber
from tests.unit.deliver.deliver_samples import sample_interval


def test_clean_shutdown_publishes_stopped_and_no_will(broker: MosquittoBroker, tmp_path: Path) -> None:
    subscriber = RecordingSubscriber(broker.port).start()
    with SqliteOutbox(tmp_path / "outbox.sqlite3", device_id=DEVICE) as outbox:
        delivery = make_delivery(outbox, broker.port)
        delivery.start()
        assert subscriber.wait_for(lambda sub: sub.status_payloads() == ["online"])
        submit_all(delivery, range(5))
        delivery.stop(timeout_s=3.0)  # flushes the five, then `stopped`, then DISCONNECT
        assert delivery.status().connection.state is ConnectionState.STOPPED
        assert outbox.stats().backlog_rows == 0
    assert subscriber.wait_for(lambda sub: sub.status_payloads() == ["online", "stopped"])
    assert len(subscriber.seqs) == 5
    late = RecordingSubscriber(broker.port, client_id="late-joiner").start()
    try:
        assert late.wait_for(lambda sub: sub.statuses != [])
        assert [(message.payload, message.retained) for message in late.statuses] == [("stopped", True)]
    finally:
        late.stop()
        subscriber.stop()


def test_online_is_republished_after_a_broker_restart(broker: MosquittoBroker, tmp_path: Path) -> None:
    """The broker forgets retained messages (no persistence): only a fresh publish can bring `online` back."""
    with SqliteOutbox(tmp_path / "outbox.sqlite3", device_id=DEVICE) as outbox:
        delivery = make_delivery(outbox, broker.port)
        delivery.start()
        try:
            assert eventually(lambda: delivery.status().connection.state is ConnectionState.CONNECTED)
            broker.restart()
            assert eventually(lambda: delivery.status().connection.state is not ConnectionState.CONNECTED)
            assert eventually(lambda: delivery.status().connection.state is ConnectionState.CONNECTED)
            late = RecordingSubscriber(broker.port, client_id="after-restart").start()
            assert late.wait_for(lambda sub: sub.statuses != [])
            assert [(message.payload, message.retained) for message in late.statuses] == [("online", True)]
            late.stop()
        finally:
            delivery.stop(timeout_s=2.0)


def test_retained_health_summary_matches_its_schema(broker: MosquittoBroker, tmp_path: Path) -> None:
    subscriber = RecordingSubscriber(broker.port).start()
    with SqliteOutbox(tmp_path / "outbox.sqlite3", device_id=DEVICE) as outbox:
        queued = [outbox.enqueue(sample_interval(index)) for index in range(3)]
        delivery = make_delivery(
            outbox, broker.port, health=lambda: PipelineHealth(fps=9.5, coverage=0.98, temperature_c=55.0)
        )
        delivery.start()
        try:
            assert subscriber.wait_for(lambda sub: sub.health != [])
        finally:
            delivery.stop(timeout_s=2.0)
    health = subscriber.health[0]
    subscriber.stop()
    jsonschema.Draft202012Validator(payload_schema(HEALTH_SCHEMA)).validate(health)
    assert (health["device_id"], health["fps"], health["coverage"], health["temperature_c"]) == (
        DEVICE,
        9.5,
        0.98,
        55.0,
    )
    assert health["last_seq"] == queued[-1]
    assert 0 <= health["outbox_backlog_rows"] <= 3
