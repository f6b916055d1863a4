"""From the device's own payloads to open data: what `footfall ingest` stores, the export publishes.

The known intervals of dataset.py are rendered by the device's PayloadRenderer (native JSON and
NGSI-LD; the suppressed count through small-count suppression, k = 2), parsed and stored by the
ingester's own MessageParser and PostgresStore in a real PostgreSQL, then exported: the files
equal the hand-computed ones. This pins the contract between the two halves (NULL for a
suppressed count, `in`/`out`, the interval's site and coverage).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from edge.city.export import run_export
from edge.city.export.loader import PostgresIntervalSource
from edge.city.export.records import DeviceInterval
from edge.city.export.schema import Notion, file_name
from edge.city.export.sites import load_sites
from edge.city.messages import DEFAULT_MAX_PAYLOAD_BYTES, MessageParser
from edge.city.records import InboundMessage
from edge.city.store import PostgresStore, StoreOutcome
from edge.deliver import PayloadFormat, PayloadRenderer, Topics
from edge.records import Direction, IntervalCount, IntervalQuality, LineId, LineInterval
from tests.city.export.dataset import PUBLISHER, SITES_TOML, known_intervals

EXPECTED = Path(__file__).parent / "expected"
PREFIX = "footfall"
# With small-count suppression at k = 2 a count of 1 is published as null (or without peopleCount).
SUPPRESS_BELOW = 2


def _device_interval(interval: DeviceInterval) -> IntervalCount:
    """The device's record of one dataset interval (a suppressed count was a 1 on the device)."""
    counts = {
        (item.line_id, item.direction): 1 if item.count is None else item.count for item in interval.counts
    }
    lines = sorted({item.line_id for item in interval.counts})
    length_s = (interval.end - interval.start).total_seconds()
    quality = IntervalQuality(interval.coverage * length_s, interval.coverage, 0, 0.0, 0, False)
    return IntervalCount(
        interval.start,
        interval.end,
        tuple(
            LineInterval(LineId(line), counts[line, Direction.IN], counts[line, Direction.OUT])
            for line in lines
        ),
        (),
        quality,
    )


def _message(
    interval: DeviceInterval, payload_format: PayloadFormat, parser: MessageParser
) -> InboundMessage:
    suppressed = any(item.count is None for item in interval.counts)
    renderer = PayloadRenderer(
        interval.device_id,
        interval.site_id,
        format=payload_format,
        suppress_below=SUPPRESS_BELOW if suppressed else 0,
    )
    topic = Topics(PREFIX, interval.site_id, interval.device_id).counts
    payload = renderer.render(interval.seq, _device_interval(interval), backfill=False)
    return InboundMessage(topic, payload, parser.parse(topic, payload))


@pytest.mark.parametrize(
    "payload_format", [PayloadFormat.NATIVE, PayloadFormat.NGSI_LD], ids=["native", "ngsi-ld"]
)
def test_ingested_payloads_export_to_the_hand_computed_files(
    city_db: str, tmp_path: Path, payload_format: PayloadFormat
) -> None:
    parser = MessageParser(
        PREFIX, max_payload_bytes=DEFAULT_MAX_PAYLOAD_BYTES, now=lambda: datetime(2026, 12, 1, tzinfo=UTC)
    )
    messages = [_message(interval, payload_format, parser) for interval in known_intervals()]
    store = PostgresStore(city_db)
    try:
        outcomes = [
            outcome
            for start in range(0, len(messages), 100)
            for outcome in store.write(messages[start : start + 100])
        ]
    finally:
        store.close()
    assert set(outcomes) == {StoreOutcome.STORED}, [
        str(m.parsed) for m, o in zip(messages, outcomes, strict=True) if o is not StoreOutcome.STORED
    ][:3]
    sites = tmp_path / "sites.toml"
    sites.write_text(SITES_TOML, encoding="utf-8")
    config = load_sites(sites)

    for case, day, step_s in (
        ("2026-01-05-900", date(2026, 1, 5), 900),
        ("2026-10-25-3600", date(2026, 10, 25), 3600),
    ):
        out = tmp_path / case
        with PostgresIntervalSource(city_db) as source:
            run_export(config, source, day, day, step_s, out)
        for notion in Notion:
            name = file_name(notion, PUBLISHER)
            assert (out / name).read_text(encoding="utf-8") == (EXPECTED / case / name).read_text(
                encoding="utf-8"
            ), f"{case}/{name}"
