"""(e) Malformed JSON, a wrong schema, a huge payload, a spoofed device: each quarantined with its
reason, and the same ingester process keeps storing the good messages that follow."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from edge.deliver import PayloadFormat
from tests.city.ingesters import IngesterProcess
from tests.city.queries import interval_count, quarantine, stored_keys
from tests.city.simulator import FleetPublisher, counts_payload, topics_of
from tests.integration.deliver.helpers import eventually

DEVICE = "cam-0012"
OTHER = "cam-0013"


def _wrong_schema() -> bytes:
    document = json.loads(counts_payload(DEVICE, 2))
    document["schema"] = "footfall-edge/counts/v9"
    return json.dumps(document).encode()


def _missing_field() -> bytes:
    document = json.loads(counts_payload(DEVICE, 2))
    del document["quality"]
    return json.dumps(document).encode()


def _negative_count() -> bytes:
    document = json.loads(counts_payload(DEVICE, 2))
    document["lines"][0]["in"] = -3
    return json.dumps(document).encode()


def _nul_in_text() -> bytes:
    # Valid JSON and valid against the schema, but PostgreSQL jsonb cannot hold \u0000.
    document = json.loads(counts_payload(DEVICE, 2))
    document["lines"][0]["line_id"] = "door\u0000"
    return json.dumps(document).encode()


BAD_COUNTS = [
    pytest.param(b'{"schema": "footfall-edge/counts/v1", "id": ', "not JSON", id="truncated-json"),
    pytest.param(b"\xff\xfe garbage", "not JSON", id="not-utf8"),
    pytest.param(_wrong_schema(), "unknown counts schema 'footfall-edge/counts/v9'", id="wrong-schema"),
    pytest.param(_missing_field(), "'quality' is a required property", id="missing-field"),
    pytest.param(_negative_count(), "lines/0/in: -3 is less than the minimum of 0", id="negative-count"),
    pytest.param(b"[]", "NGSI-LD message without entities", id="empty-ngsi"),
    pytest.param(b"x" * (300 * 1024), "message of 307200 bytes is over the 262144-byte limit", id="huge"),
    pytest.param(counts_payload(OTHER, 2), "payload is for device 'cam-0013'", id="other-device"),
    pytest.param(
        counts_payload(OTHER, 2, payload_format=PayloadFormat.NGSI_LD),
        "entities are for device(s) ['cam-0013']",
        id="other-device-ngsi",
    ),
    pytest.param(_nul_in_text(), "database refused it", id="refused-by-postgres"),
]


def test_bad_counts_messages_are_quarantined_and_ingest_goes_on(
    city_db: str, fleet: FleetPublisher, ingester_factory: Callable[[str], IngesterProcess]
) -> None:
    # One ingester process for the whole table (a process per row would cost seconds each); a
    # good interval after every bad message shows the ingester kept going.
    ingester = ingester_factory("ingest-e")
    fleet.publish_counts(DEVICE, 1)
    for index, case in enumerate(BAD_COUNTS):
        payload, _ = case.values
        fleet.publish(topics_of(DEVICE).counts, payload)  # type: ignore[arg-type]
        fleet.publish_counts(DEVICE, 10 + index)
    fleet.flush()

    good = 1 + len(BAD_COUNTS)
    assert eventually(
        lambda: interval_count(city_db) == good and len(quarantine(city_db)) == len(BAD_COUNTS), timeout_s=30
    ), (stored_keys(city_db), quarantine(city_db))
    for case, (topic, stored_reason, stored_payload) in zip(BAD_COUNTS, quarantine(city_db), strict=True):
        payload, reason = case.values
        assert topic == topics_of(DEVICE).counts, case.id
        assert str(reason) in stored_reason, case.id
        assert stored_payload == payload[: 64 * 1024], case.id  # type: ignore[index]
    assert stored_keys(city_db) == [(DEVICE, 1)] + [(DEVICE, 10 + index) for index in range(len(BAD_COUNTS))]
    assert ingester.alive
    assert "Traceback" not in ingester.log.read_text()


def test_bad_retained_messages_are_quarantined(
    city_db: str, fleet: FleetPublisher, ingester_factory: Callable[[str], IngesterProcess]
) -> None:
    ingester = ingester_factory("ingest-e")
    topics = topics_of(DEVICE)
    fleet.publish(topics.status, b"rebooting", retain=True)
    fleet.publish(topics.health, b'{"schema": "footfall-edge/health/v1"}', retain=True)
    fleet.publish(f"{topics.base}/telemetry", b"{}")  # not subscribed: never seen, never stored
    fleet.publish(topics.validations, b"not json", retain=True)
    fleet.flush()

    assert eventually(lambda: len(quarantine(city_db)) == 3, timeout_s=20)
    reasons = sorted(reason for _, reason, _ in quarantine(city_db))
    assert reasons[0].startswith("not JSON")
    assert reasons[1].startswith(
        "not footfall-edge/health/v1: (top level): 'device_id' is a required property"
    )
    assert reasons[2] == "unknown status 'rebooting' (known: offline, online, stopped)"
    assert ingester.alive
