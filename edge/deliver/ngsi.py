"""FIWARE Smart Data Models `CrowdFlowObserved` entities in NGSI-LD normalised form.

One entity per line x direction x interval, so a message body is a JSON array (the shape of an
NGSI-LD batch upsert). Mapping (README, Delivery):

- `id`: `urn:ngsi-ld:CrowdFlowObserved:{device}:{seq}:{line}:{inbound|outbound}`, stable, so a
  re-sent interval is recognisable; `name` is the line id.
- `peopleCount`: crossings of the line in that direction. Head counts are never put in
  `occupancy`, which in this model is a fraction of time.
- `direction`: `inbound`/`outbound`, mapped from the line's `in`/`out` by configuration.
- `dateObserved`: `start/end` (ISO 8601 interval); `dateObservedFrom`/`dateObservedTo` as
  DateTime values.
- `source` and `refDevice`: `urn:ngsi-ld:Device:{device}`; `location` (GeoProperty Point) when
  configured.
- Extension property `coverage` (0-1): how much of the interval the camera saw, so a quiet street
  differs from a blind camera.
- A suppressed count has no `peopleCount` (NGSI-LD values cannot be null) and `suppressed: true`.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

from edge.deliver.codec import iso_utc
from edge.records import Direction, IntervalCount, LineId

NGSI_CONTEXT = (
    "https://raw.githubusercontent.com/smart-data-models/dataModel.Transportation/master/context.jsonld",
    "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld",
)


def device_urn(device_id: str) -> str:
    """NGSI-LD id of the counting device."""
    return f"urn:ngsi-ld:Device:{quote(device_id, safe='')}"


def ngsi_entities(
    device_id: str,
    seq: int,
    interval: IntervalCount,
    *,
    inbound_for: Callable[[LineId], Direction],
    location: tuple[float, float] | None,
    suppress_below: int,
) -> list[dict[str, object]]:
    """The CrowdFlowObserved entities of one interval, lines in order, inbound before outbound."""
    start, end = iso_utc(interval.start), iso_utc(interval.end)
    common: dict[str, object] = {
        "type": "CrowdFlowObserved",
        "dateObserved": _property(f"{start}/{end}"),
        "dateObservedFrom": _property({"@type": "DateTime", "@value": start}),
        "dateObservedTo": _property({"@type": "DateTime", "@value": end}),
        "source": _property(device_urn(device_id)),
        "refDevice": {"type": "Relationship", "object": device_urn(device_id)},
        "coverage": _property(interval.quality.coverage),
    }
    if location is not None:
        common["location"] = {
            "type": "GeoProperty",
            "value": {"type": "Point", "coordinates": list(location)},
        }
    entities: list[dict[str, object]] = []
    for line in interval.lines:
        inbound = inbound_for(line.line_id)
        counts = {Direction.IN: line.in_count, Direction.OUT: line.out_count}
        for direction in (inbound, Direction.OUT if inbound is Direction.IN else Direction.IN):
            label = "inbound" if direction is inbound else "outbound"
            entity: dict[str, object] = {
                "id": ":".join(
                    (
                        "urn:ngsi-ld:CrowdFlowObserved",
                        quote(device_id, safe=""),
                        str(seq),
                        quote(line.line_id, safe=""),
                        label,
                    )
                ),
                **common,
                "name": _property(line.line_id),
                "direction": _property(label),
            }
            count = counts[direction]
            if 0 < count < suppress_below:
                entity["suppressed"] = _property(True)
            else:
                entity["peopleCount"] = _property(count)
            entity["@context"] = list(NGSI_CONTEXT)
            entities.append(entity)
    return entities


def _property(value: object) -> dict[str, object]:
    return {"type": "Property", "value": value}
