"""Payloads: native JSON against its shipped schema, NGSI-LD CrowdFlowObserved shape, suppression, topics."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import jsonschema
import pytest

from edge.deliver import (
    COUNTS_SCHEMA,
    HEALTH_SCHEMA,
    OutboxStats,
    PayloadFormat,
    PayloadRenderer,
    PipelineHealth,
    Topics,
    is_backfill,
    payload_schema,
    render_health,
    suppress,
)
from edge.records import Direction, IntervalCount, LineId, ZoneId, ZoneInterval
from tests.unit.deliver.deliver_samples import sample_interval

SEQ = 1_767_600_000_000


def validator(name: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(
        payload_schema(name), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def native(interval: IntervalCount, *, suppress_below: int = 0, backfill: bool = False) -> dict[str, Any]:
    renderer = PayloadRenderer("cam-1", "main-street", suppress_below=suppress_below)
    document: dict[str, Any] = json.loads(renderer.render(SEQ, interval, backfill=backfill))
    return document


def ngsi(interval: IntervalCount, **options: Any) -> list[dict[str, Any]]:
    renderer = PayloadRenderer("cam-1", "main-street", format=PayloadFormat.NGSI_LD, **options)
    entities: list[dict[str, Any]] = json.loads(renderer.render(SEQ, interval, backfill=False))
    return entities


@pytest.mark.parametrize(
    ("interval", "suppress_below"),
    [
        (sample_interval(3), 0),
        (sample_interval(0, coverage=0.0), 0),
        (sample_interval(5), 5),
        (
            IntervalCount(
                sample_interval(1).start, sample_interval(1).end, (), (), sample_interval(1).quality
            ),
            0,
        ),
    ],
    ids=["counts", "blind-camera", "suppressed", "no-lines-no-zones"],
)
def test_native_payload_matches_the_shipped_schema(interval: IntervalCount, suppress_below: int) -> None:
    document = native(interval, suppress_below=suppress_below)
    validator(COUNTS_SCHEMA).validate(document)
    assert document["schema"] == COUNTS_SCHEMA


def test_native_payload_carries_id_interval_counts_and_quality() -> None:
    interval = sample_interval(3, coverage=0.5)
    document = native(interval, backfill=True)
    assert document["id"] == f"cam-1:{SEQ}"
    assert (document["device_id"], document["site_id"], document["seq"]) == ("cam-1", "main-street", SEQ)
    assert (document["start"], document["end"]) == ("2026-01-05T08:03:00Z", "2026-01-05T08:04:00Z")
    assert document["backfill"] is True
    assert [(line["line_id"], line["in"], line["out"]) for line in document["lines"]] == [
        ("entrance", 3, 4),
        ("side door", 0, 1),
    ]
    assert document["quality"]["coverage"] == 0.5
    assert document["zones"][0]["visits"] == 3


def test_schema_rejects_extra_fields_such_as_track_ids() -> None:
    document = native(sample_interval(2))
    document["lines"][0]["track_ids"] = [4, 7]
    with pytest.raises(jsonschema.ValidationError):
        validator(COUNTS_SCHEMA).validate(document)


@pytest.mark.parametrize(
    ("count", "below", "expected"),
    [(0, 5, 0), (1, 5, None), (4, 5, None), (5, 5, 5), (3, 0, 3), (1, 1, 1), (1, 2, None)],
    ids=["zero-is-data", "one", "just-below", "at-k", "off", "k1-is-off", "k2"],
)
def test_small_count_suppression_rule(count: int, below: int, expected: int | None) -> None:
    assert suppress(count, below) == expected


def test_suppression_nulls_small_counts_and_what_is_derived_from_them() -> None:
    interval = IntervalCount(
        sample_interval(0).start,
        sample_interval(0).end,
        sample_interval(3).lines,  # entrance in 3 out 4, side door 0 / 1
        (ZoneInterval(ZoneId("bench"), 0.4, 2, 1, 15.0, 15.0, 15.0),),
        sample_interval(0).quality,
    )
    document = native(interval, suppress_below=3)
    entrance, side = document["lines"]
    assert (entrance["in"], entrance["in_suppressed"], entrance["out"], entrance["out_suppressed"]) == (
        3,
        False,
        4,
        False,
    )
    assert (side["in"], side["in_suppressed"], side["out"], side["out_suppressed"]) == (0, False, None, True)
    zone = document["zones"][0]
    assert (zone["visits"], zone["visits_suppressed"], zone["dwell_max_s"]) == (None, True, None)
    assert (zone["peak_occupancy"], zone["peak_occupancy_suppressed"], zone["mean_occupancy"]) == (
        None,
        True,
        None,
    )
    assert document["suppress_below"] == 3


@pytest.mark.parametrize(
    ("after_end_s", "expected"),
    [(0.0, False), (59.0, False), (60.0, True), (3600.0, True)],
    ids=["just-closed", "within-next-interval", "next-interval-ended", "an-hour-late"],
)
def test_backfill_when_the_next_interval_has_ended_too(after_end_s: float, expected: bool) -> None:
    interval = sample_interval(0)
    assert is_backfill(interval, interval.end + timedelta(seconds=after_end_s)) is expected


def test_ngsi_ld_one_normalised_entity_per_line_and_direction() -> None:
    interval = sample_interval(3)
    entities = ngsi(interval, location=(-3.7038, 40.4168))
    assert len(entities) == 2 * len(interval.lines)
    first = entities[0]
    assert first["id"] == f"urn:ngsi-ld:CrowdFlowObserved:cam-1:{SEQ}:entrance:inbound"
    assert first["type"] == "CrowdFlowObserved"
    assert first["peopleCount"] == {"type": "Property", "value": 3}
    assert first["direction"] == {"type": "Property", "value": "inbound"}
    assert first["dateObserved"]["value"] == "2026-01-05T08:03:00Z/2026-01-05T08:04:00Z"
    assert first["dateObservedFrom"]["value"] == {"@type": "DateTime", "@value": "2026-01-05T08:03:00Z"}
    assert first["dateObservedTo"]["value"] == {"@type": "DateTime", "@value": "2026-01-05T08:04:00Z"}
    assert first["location"] == {
        "type": "GeoProperty",
        "value": {"type": "Point", "coordinates": [-3.7038, 40.4168]},
    }
    assert first["refDevice"] == {"type": "Relationship", "object": "urn:ngsi-ld:Device:cam-1"}
    assert first["source"]["value"] == "urn:ngsi-ld:Device:cam-1"
    assert entities[1]["peopleCount"]["value"] == 4
    assert entities[1]["direction"]["value"] == "outbound"
    assert entities[2]["id"].endswith(f":{SEQ}:side%20door:inbound")
    for entity in entities:
        assert "occupancy" not in entity  # a fraction of time in this model, never a head count
        assert entity["@context"][0].endswith("dataModel.Transportation/master/context.jsonld")
        for name, attribute in entity.items():
            if name not in ("id", "type", "@context"):
                assert attribute["type"] in ("Property", "Relationship", "GeoProperty"), name


def test_ngsi_ld_ids_are_stable_and_unique() -> None:
    interval = sample_interval(4)
    ids = [entity["id"] for entity in ngsi(interval)]
    assert ids == [entity["id"] for entity in ngsi(interval)]
    assert len(set(ids)) == len(ids)


def test_ngsi_ld_direction_mapping_is_configurable_per_line() -> None:
    entities = ngsi(
        sample_interval(3), inbound=Direction.OUT, inbound_by_line={LineId("side door"): Direction.IN}
    )
    by_id = {
        entity["id"].rsplit(":", 2)[-2] + ":" + entity["direction"]["value"]: entity for entity in entities
    }
    assert by_id["entrance:inbound"]["peopleCount"]["value"] == 4  # out is inbound here
    assert by_id["entrance:outbound"]["peopleCount"]["value"] == 3
    assert by_id["side%20door:inbound"]["peopleCount"]["value"] == 0
    assert "location" not in entities[0]


def test_ngsi_ld_suppressed_count_has_no_people_count_but_a_flag() -> None:
    entities = ngsi(sample_interval(3), suppress_below=4)
    entrance_in = entities[0]
    assert "peopleCount" not in entrance_in
    assert entrance_in["suppressed"] == {"type": "Property", "value": True}
    assert entities[1]["peopleCount"]["value"] == 4
    assert entities[2]["peopleCount"]["value"] == 0  # zero is never suppressed


def test_health_payload_matches_its_schema_known_and_unknown() -> None:
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    stats = OutboxStats(12, 340.5, 0, 1, SEQ, 500)
    known = json.loads(render_health("cam-1", "main", now, PipelineHealth(9.8, 0.97, 61.2), stats))
    unknown = json.loads(render_health("cam-1", "main", now, None, None))
    for document in (known, unknown):
        validator(HEALTH_SCHEMA).validate(document)
    assert (known["outbox_backlog_rows"], known["oldest_undelivered_age_s"], known["temperature_c"]) == (
        12,
        340.5,
        61.2,
    )
    assert unknown["fps"] is None


def test_health_payload_reports_held_quarantined_and_salvaged_rows() -> None:
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    stats = OutboxStats(12, 340.5, 2, 7, SEQ, 500, unwritten_rows=5, quarantined_rows=1, salvaged_rows=40,
                        unsalvaged_rows=3)  # fmt: skip
    document = json.loads(render_health("cam-1", "main", now, None, stats))
    validator(HEALTH_SCHEMA).validate(document)
    reported = [document[name] for name in ("outbox_write_errors", "outbox_unwritten_rows",
                "outbox_quarantined_rows", "outbox_salvaged_rows", "outbox_unsalvaged_rows")]  # fmt: skip
    assert reported == [7, 5, 1, 40, 3]


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"device_id": ""}, "device_id"),
        ({"suppress_below": -1}, "suppress_below"),
        ({"location": (200.0, 10.0)}, "location"),
    ],
    ids=["empty-device", "negative-k", "longitude-out-of-range"],
)
def test_renderer_rejects_bad_options(options: dict[str, Any], match: str) -> None:
    arguments: dict[str, Any] = {"device_id": "cam-1", "site_id": "main", **options}
    with pytest.raises(ValueError, match=match):
        PayloadRenderer(**arguments)


@pytest.mark.parametrize(
    ("prefix", "site", "device", "match"),
    [
        ("footfall", "main", "cam/1", "device_id"),
        ("footfall", "ma+in", "cam-1", "site_id"),
        ("footfall/#", "main", "cam-1", "prefix"),
        ("a//b", "main", "cam-1", "prefix"),
        ("footfall", "main", "", "device_id"),
    ],
    ids=["slash-in-device", "wildcard-in-site", "wildcard-in-prefix", "empty-level", "empty-device"],
)
def test_topics_reject_levels_that_would_break_the_topic_tree(
    prefix: str, site: str, device: str, match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        Topics(prefix, site, device)


def test_topics_table() -> None:
    topics = Topics("city/footfall", "main-street", "cam-1")
    assert (topics.counts, topics.status, topics.health) == (
        "city/footfall/main-street/cam-1/counts",
        "city/footfall/main-street/cam-1/status",
        "city/footfall/main-street/cam-1/health",
    )


def test_unknown_schema_name_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="unknown schema"):
        payload_schema("footfall-edge/tracks/v1")
