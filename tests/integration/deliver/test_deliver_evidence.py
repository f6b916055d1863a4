"""Validations reach the broker on their own topic: retained, each until acknowledged, across outages."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jsonschema
import pytest

from edge.deliver import (
    VALIDATION_SCHEMA,
    Delivery,
    MqttOptions,
    MqttPublisher,
    PayloadRenderer,
    SqliteOutbox,
    Topics,
    payload_schema,
)
from edge.records import LineId, ValidationRecord
from edge.validation import ValidationStore
from tests.integration.deliver.helpers import DEVICE, SITE, eventually
from tests.integration.deliver.mosquitto import MosquittoBroker
from tests.integration.deliver.subscriber import RecordingSubscriber

TOPIC = Topics("footfall", SITE, DEVICE).validations


def record(number: int, *, reference_in: int = 20, device_in: int = 19) -> ValidationRecord:
    start = datetime(2026, 11, 21, 9, 0, tzinfo=UTC) + timedelta(hours=number)
    return ValidationRecord(
        validation_id=f"{number:016x}",
        mode="on-site",
        site_id=SITE,
        device_id=DEVICE,
        line_id=LineId("crossing"),
        started_at=start,
        ended_at=start + timedelta(minutes=10),
        reference_in=reference_in,
        reference_out=12,
        device_in=device_in,
        device_out=12,
        tolerance=0.1,
        min_people=10,
        operator="Camille",
        software_version="0.1.0",
        model_name="yolox_nano.onnx",
        model_sha256="ab" * 32,
        calibration_version="0123456789ab",
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ValidationStore]:
    opened = ValidationStore(tmp_path / "validations.sqlite3")
    yield opened
    opened.close()


@pytest.fixture
def outbox(tmp_path: Path) -> Iterator[SqliteOutbox]:
    with SqliteOutbox(tmp_path / "outbox.sqlite3", device_id=DEVICE) as opened:
        yield opened


def delivery_for(outbox: SqliteOutbox, store: ValidationStore, port: int) -> Delivery:
    options = MqttOptions(
        "127.0.0.1", port, Topics("footfall", SITE, DEVICE), keepalive_s=2, reconnect_min_delay_s=1,
        reconnect_max_delay_s=1,
    )  # fmt: skip
    return Delivery(outbox, MqttPublisher(options), PayloadRenderer(DEVICE, SITE), evidence=store)


def test_a_stored_validation_is_published_retained_and_marked(
    broker: MosquittoBroker, outbox: SqliteOutbox, store: ValidationStore
) -> None:
    subscriber = RecordingSubscriber(broker.port).start()
    delivery = delivery_for(outbox, store, broker.port)
    delivery.start()
    try:
        store.add(record(1))
        delivery.notify_evidence()
        assert subscriber.wait_for(lambda sub: len(sub.validations) == 1)
        document = subscriber.validations[0].document
        jsonschema.validate(document, payload_schema(VALIDATION_SCHEMA))
        assert document["validation_id"] == record(1).validation_id
        assert document["reference"] == {"in": 20, "out": 12}
        assert document["error"] == {"in": -1, "out": 0, "total": 1}
        assert document["verdict"] == "pass"
        assert eventually(lambda: store.unpublished() == [])  # marked only after the PUBACK
    finally:
        delivery.stop(timeout_s=2.0)
        subscriber.stop()
    # The retained message is the latest check: a platform subscribing later still gets it.
    late = RecordingSubscriber(broker.port, client_id="late-platform").start()
    try:
        assert late.wait_for(lambda sub: len(sub.validations) == 1)
        assert late.validations[0].retained
        assert late.validations[0].document["validation_id"] == record(1).validation_id
    finally:
        late.stop()


def test_validations_made_while_the_broker_is_down_arrive_after_it_returns(
    broker_factory: Callable[..., MosquittoBroker], outbox: SqliteOutbox, store: ValidationStore
) -> None:
    broker = broker_factory(persistence=True)
    delivery = delivery_for(outbox, store, broker.port)
    delivery.start()
    try:
        assert eventually(lambda: delivery.status().connection.state.value == "connected")
        broker.stop()
        for number in (1, 2, 3):
            store.add(record(number, device_in=10 + number))
            delivery.notify_evidence()
        assert [item[0] for item in store.unpublished()] == [record(n).validation_id for n in (1, 2, 3)]
        broker.start()
        subscriber = RecordingSubscriber(broker.port).start()
        try:
            # All three were published in order; the retained one is the newest.
            assert eventually(lambda: store.unpublished() == [], timeout_s=15.0)
            assert subscriber.wait_for(lambda sub: len(sub.validations) >= 1)
            assert subscriber.validations[-1].document["validation_id"] == record(3).validation_id
            assert subscriber.validations[-1].document["device"]["in"] == 13
        finally:
            subscriber.stop()
    finally:
        delivery.stop(timeout_s=2.0)
