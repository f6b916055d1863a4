"""A small fleet loaded through the real parser and store: gaps, low coverage, a next-day interval,
retained status, health and validation (for the fleet report and the README's SQL)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from edge.city.messages import MessageParser
from edge.city.records import InboundMessage
from edge.city.store import PostgresStore, StoreOutcome
from edge.deliver import OutboxStats, PipelineHealth, render_health
from edge.validation import validation_document
from tests.city.simulator import PREFIX, counts_payload, topics_of
from tests.unit.validation.test_records import record

SEEN = "cam-0001"
QUIET = "cam-0002"
SILENT = "cam-0011"


def load_sample_fleet(url: str) -> None:
    parser = MessageParser(PREFIX, max_payload_bytes=1 << 20, now=lambda: datetime.now(UTC))
    messages: list[tuple[str, bytes]] = [
        (topics_of(SEEN).counts, counts_payload(SEEN, 1)),
        (topics_of(SEEN).counts, counts_payload(SEEN, 2, coverage=0.2)),
        (topics_of(SEEN).counts, counts_payload(SEEN, 4)),
        # 97 = the first interval of the next day in Paris (15-minute intervals from its midnight).
        (topics_of(SEEN).counts, counts_payload(SEEN, 97)),
        (topics_of(SEEN).status, b"online"),
        (topics_of(SEEN).health, _health(SEEN, backlog=5, last_seq=99)),
        (topics_of(SEEN).validations, _validation(SEEN)),
        (topics_of(QUIET).counts, counts_payload(QUIET, 1)),
        (topics_of(QUIET).status, b"offline"),
        (topics_of(SILENT).status, b"stopped"),
    ]
    store = PostgresStore(url)
    outcomes = store.write(
        [InboundMessage(topic, body, parser.parse(topic, body)) for topic, body in messages]
    )
    store.close()
    assert StoreOutcome.QUARANTINED not in outcomes


def _health(device_id: str, *, backlog: int, last_seq: int) -> bytes:
    outbox = OutboxStats(backlog, 30.0, 0, 0, last_seq, last_seq)
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    return render_health(device_id, topics_of(device_id).site_id, now, PipelineHealth(), outbox)


def _validation(device_id: str) -> bytes:
    checked = record(site_id=topics_of(device_id).site_id, device_id=device_id)
    return json.dumps(validation_document(checked)).encode()
