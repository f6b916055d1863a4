"""NGSI-LD CrowdFlowObserved entities (edge/deliver/ngsi.py) normalised into one interval record.

The device, seq, line and direction are read from each entity's id
`urn:ngsi-ld:CrowdFlowObserved:{device}:{seq}:{line}:{inbound|outbound}`; all entities of a
message must share device, seq and times. `inbound` is stored as direction `in`, `outbound` as
`out` (the device maps its lines' in/out to inbound/outbound by configuration; README D-032).
NGSI-LD carries no backfill flag: an interval received after the next one had ended is marked
backfill, the rule the device applies to its native payloads (`edge.deliver.payloads.is_backfill`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import unquote

from edge.city.records import DeviceTopic, IntervalRecord, LineCountRow, Rejection
from edge.records import Direction

_DIRECTIONS = {"inbound": Direction.IN, "outbound": Direction.OUT}


def _entity_key(entity: dict[str, Any]) -> tuple[str, int, str, str]:
    *_, device, seq, line, label = str(entity["id"]).split(":")
    return unquote(device), int(seq), unquote(line), label


def normalise_ngsi(
    where: DeviceTopic, entities: list[dict[str, Any]], payload_json: str, *, received_at: datetime
) -> IntervalRecord | Rejection:
    """The interval of a schema-valid entity array, or why it is not one interval of this device."""
    if not entities:
        return Rejection("NGSI-LD message without entities: no device or seq to store it under")
    keys = [_entity_key(entity) for entity in entities]
    devices, seqs = {key[0] for key in keys}, {key[1] for key in keys}
    if devices != {where.device_id}:
        return Rejection(f"entities are for device(s) {sorted(devices)}, the topic for {where.device_id!r}")
    if len(seqs) != 1:
        return Rejection(f"entities of one message carry several seqs: {sorted(seqs)}")
    times = {(entity["dateObservedFrom"]["value"]["@value"], entity["dateObservedTo"]["value"]["@value"])
             for entity in entities}  # fmt: skip
    coverages = {float(entity["coverage"]["value"]) for entity in entities}
    if len(times) != 1 or len(coverages) != 1:
        return Rejection("entities of one message disagree on the interval times or coverage")
    if len({(key[2], key[3]) for key in keys}) != len(keys):
        return Rejection("a line and direction appear twice among the entities")
    (start_text, end_text), coverage = times.pop(), coverages.pop()
    try:
        start_at, end_at = datetime.fromisoformat(start_text), datetime.fromisoformat(end_text)
    except ValueError as exc:
        return Rejection(f"bad interval time: {exc}")
    if end_at <= start_at:
        return Rejection(f"interval ends ({end_text}) before it starts ({start_text})")
    lines = tuple(
        LineCountRow(
            line_id=line,
            direction=_DIRECTIONS[label],
            count=int(entity["peopleCount"]["value"]) if "peopleCount" in entity else None,
        )
        for (_, _, line, label), entity in zip(keys, entities, strict=True)
    )
    return IntervalRecord(
        device_id=where.device_id,
        site_id=where.site_id,
        seq=seqs.pop(),
        start_at=start_at,
        end_at=end_at,
        coverage=coverage,
        observed_s=None,
        backfill=received_at >= end_at + (end_at - start_at),
        payload_json=payload_json,
        lines=lines,
    )
