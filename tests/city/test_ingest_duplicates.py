"""(d) The same interval published twice and out of order is stored once; a gap shows as a gap.

A real `footfall ingest` process, a real Mosquitto and a real PostgreSQL; the payloads are made by
the device's own PayloadRenderer.
"""

from __future__ import annotations

from collections.abc import Callable

import psycopg

from edge.deliver import PayloadFormat
from tests.city.ingesters import IngesterProcess
from tests.city.queries import interval_count, line_counts, quarantine, stored_keys
from tests.city.simulator import FleetPublisher, counts_payload, topics_of
from tests.city.simulator import line_counts as expected_counts
from tests.integration.deliver.helpers import eventually

DEVICE = "cam-0007"


def test_a_resent_interval_out_of_order_is_stored_once(
    city_db: str, fleet: FleetPublisher, ingester_factory: Callable[[str], IngesterProcess]
) -> None:
    ingester_factory("ingest-a")
    for seq in (3, 1, 2, 3, 1, 6, 2):
        fleet.publish_counts(DEVICE, seq)
    fleet.flush()

    assert eventually(lambda: interval_count(city_db) == 4, timeout_s=20), stored_keys(city_db)
    # A later copy: if it were stored it would come after the first ones.
    fleet.publish_counts(DEVICE, 1)
    fleet.publish_counts(DEVICE, 7)
    fleet.flush()
    assert eventually(lambda: interval_count(city_db) == 5, timeout_s=20)

    assert stored_keys(city_db) == [(DEVICE, seq) for seq in (1, 2, 3, 6, 7)]
    assert line_counts(city_db, DEVICE, 3) == {
        (line, direction): count
        for line in ("door", "street")
        for direction, count in zip(("in", "out"), expected_counts(DEVICE, 3, line), strict=True)
    }
    with psycopg.connect(city_db) as connection:
        gaps = connection.execute(
            "SELECT device_id, first_missing, last_missing FROM interval_gap"
        ).fetchall()
    assert gaps == [(DEVICE, 4, 5)]
    assert quarantine(city_db) == []


def test_ngsi_ld_and_native_copies_of_one_interval_are_one_row(
    city_db: str, fleet: FleetPublisher, ingester_factory: Callable[[str], IngesterProcess]
) -> None:
    ingester_factory("ingest-a")
    fleet.publish_counts(DEVICE, 2, payload_format=PayloadFormat.NGSI_LD)
    fleet.publish_counts(DEVICE, 2)
    fleet.publish_counts(DEVICE, 1, payload_format=PayloadFormat.NGSI_LD)
    fleet.flush()

    assert eventually(lambda: interval_count(city_db) == 2, timeout_s=20)
    with psycopg.connect(city_db) as connection:
        rows = connection.execute("SELECT seq, jsonb_typeof(payload) FROM interval ORDER BY seq").fetchall()
    assert rows == [(1, "array"), (2, "array")], "the first copy (NGSI-LD) must win"
    inbound, outbound = expected_counts(DEVICE, 2, "door")
    assert line_counts(city_db, DEVICE, 2)[("door", "in")] == inbound
    assert line_counts(city_db, DEVICE, 2)[("door", "out")] == outbound


def test_a_reused_seq_for_another_interval_is_quarantined_not_merged(
    city_db: str, fleet: FleetPublisher, ingester_factory: Callable[[str], IngesterProcess]
) -> None:
    ingester_factory("ingest-a")
    fleet.publish_counts(DEVICE, 1)
    fleet.flush()
    assert eventually(lambda: interval_count(city_db) == 1, timeout_s=20)
    # The device lost its outbox and numbers from 1 again, for a later interval.
    reused = (
        counts_payload(DEVICE, 5)
        .replace(b'"seq":5', b'"seq":1')
        .replace(f"{DEVICE}:5".encode(), f"{DEVICE}:1".encode())
    )
    fleet.publish(topics_of(DEVICE).counts, reused)
    fleet.flush()

    assert eventually(lambda: len(quarantine(city_db)) == 1, timeout_s=20)
    topic, reason, payload = quarantine(city_db)[0]
    assert "seq 1 of device 'cam-0007' is stored for another interval" in reason
    assert payload == reused
    assert topic == topics_of(DEVICE).counts
    assert stored_keys(city_db) == [(DEVICE, 1)]
