"""Message parsing on the device's own payloads: native and NGSI-LD normalise to the same rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from edge.city.messages import MessageParser, parse_topic
from edge.city.records import DeviceTopic, IntervalRecord, LineCountRow, Rejection, TopicKind
from edge.deliver import PayloadFormat, PayloadRenderer
from edge.records import Direction, IntervalCount, IntervalQuality, LineId, LineInterval

START = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
INTERVAL = IntervalCount(
    START,
    START + timedelta(minutes=15),
    (LineInterval(LineId("door"), 7, 1), LineInterval(LineId("gate/2"), 0, 3)),
    (),
    IntervalQuality(810.0, 0.9, 4050, 5.0, 0, False),
)
TOPIC = "city/a/footfall/main-street/cam-1/counts"
SHAPE = "city/a/footfall/<site>/<device>/<kind>"


def _parser(now: datetime = START + timedelta(minutes=16)) -> MessageParser:
    return MessageParser("city/a/footfall", max_payload_bytes=64 * 1024, now=lambda: now)


@pytest.mark.parametrize("payload_format", list(PayloadFormat), ids=str)
def test_both_formats_give_the_same_rows_with_suppressed_counts_as_none(
    payload_format: PayloadFormat,
) -> None:
    renderer = PayloadRenderer("cam-1", "main-street", format=payload_format, suppress_below=3)
    parsed = _parser().parse(TOPIC, renderer.render(42, INTERVAL, backfill=False))

    assert isinstance(parsed, IntervalRecord), parsed
    assert (parsed.device_id, parsed.site_id, parsed.seq) == ("cam-1", "main-street", 42)
    assert (parsed.start_at, parsed.end_at, parsed.coverage) == (INTERVAL.start, INTERVAL.end, 0.9)
    assert sorted(parsed.lines, key=lambda row: (row.line_id, row.direction)) == [
        LineCountRow("door", Direction.IN, 7),
        LineCountRow("door", Direction.OUT, None),
        LineCountRow("gate/2", Direction.IN, 0),
        LineCountRow("gate/2", Direction.OUT, 3),
    ]
    assert parsed.backfill is False


def test_ngsi_ld_received_after_the_next_interval_ended_is_backfill() -> None:
    renderer = PayloadRenderer("cam-1", "main-street", format=PayloadFormat.NGSI_LD, location=(2.35, 48.85))
    late = _parser(now=INTERVAL.end + timedelta(minutes=15)).parse(
        TOPIC, renderer.render(1, INTERVAL, backfill=True)
    )
    assert isinstance(late, IntervalRecord)
    assert late.backfill is True
    assert late.observed_s is None


@pytest.mark.parametrize(
    ("topic", "expected"),
    [
        pytest.param(TOPIC, DeviceTopic("main-street", "cam-1", TopicKind.COUNTS), id="counts"),
        pytest.param("city/a/footfall/s/d/health", DeviceTopic("s", "d", TopicKind.HEALTH), id="health"),
        pytest.param(
            "city/a/footfall/s/d/video",
            Rejection("unknown topic kind 'video' (known: counts, status, health, validations)"),
            id="kind",
        ),
        pytest.param(
            "city/a/footfall/s/counts",
            Rejection(f"topic 'city/a/footfall/s/counts' is not {SHAPE}"),
            id="short",
        ),
        pytest.param("other/s/d/counts", Rejection(f"topic 'other/s/d/counts' is not {SHAPE}"), id="prefix"),
    ],
)
def test_parse_topic(topic: str, expected: DeviceTopic | Rejection) -> None:
    assert parse_topic(topic, "city/a/footfall") == expected


def test_a_non_positive_size_limit_is_refused() -> None:
    with pytest.raises(ValueError, match="max_payload_bytes"):
        MessageParser("footfall", max_payload_bytes=0, now=lambda: START)
