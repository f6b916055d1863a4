"""The fields of the national schema `schema-comptage-mobilites`, written down from its documentation.

Source: the Table Schema descriptors (`schema.json`) of the three notions of Etalab's
`schema-comptage-mobilites` data package, published on schema.data.gouv.fr
(https://schema.data.gouv.fr/etalab/schema-comptage-mobilites/; repository
github.com/etalab/schema-comptage-mobilites, files `site/schema.json`, `channel/schema.json`,
`measure/schema.json`, version 0.2.3 of 2023-04-07, and its CHANGELOG). Later versions only relaxed
two fields: 0.2.4 (2023-05-15) made measure `counter_id` optional and 0.2.5 (2024-12-31) made
channel `temporality` optional. Both stay *required* here: we always fill them, so our files are
valid under every version from 0.2.3 on.

The schema's documentation also says: files are CSV, UTF-8, comma-separated; every column is
present even when optional (an optional value may be empty); the recommended file name is
`comptagemobilites_<notion>_<publisher>.csv`; `site_id` links channels to sites and `channel_id`
links measures to channels; a measure's `start_datetime` is inclusive and `end_datetime`
exclusive; a slot with no passage has `count` 0 and a slot without counting has an empty `count`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class FieldType(StrEnum):
    """Table Schema field types used by the schema."""

    STRING = "string"
    NUMBER = "number"
    DATETIME = "datetime"


class Notion(StrEnum):
    """The schema's three notions, one CSV file each."""

    SITE = "site"
    CHANNEL = "channel"
    MEASURE = "measure"


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One column of a notion's file, with the constraints the schema gives it.

    Attributes:
        name: column name, as in the schema.
        field_type: Table Schema type.
        required: a value must be present (the column always is).
        enum: allowed values, or None.
        pattern: regular expression the whole value must match (Table Schema patterns are
            anchored at both ends), or None.
        minimum: smallest allowed number, or None.
        maximum: largest allowed number, or None.
    """

    name: str
    field_type: FieldType
    required: bool = False
    enum: tuple[str, ...] | None = None
    pattern: str | None = None
    minimum: float | None = None
    maximum: float | None = None


# site/schema.json: infrastructure_type enumeration.
INFRASTRUCTURE_TYPES = (
    "CYCLE TRACK",
    "CYCLE LANE",
    "CONTRAFLOW TRACK",
    "CONTRAFLOW LANE",
    "CONTRAFLOW CYCLING NOT MATERIALIZED",
    "GREENWAY",
    "BIKE ROAD",
    "SHARED BUSWAY",
    "RAMP",
    "GUTTER",
    "MIXED PEDESTRIAN/BICYCLE DEVELOPMENT NOT INCLUDING THE GREENWAY",
    "ROAD WITH BANALIZED CENTRAL TRACK",
    "COATED SHOULDER OUTSIDE THE RBCT",
    "OTHER SPECIFIC SITE",
    "OTHER SHARED USE ROUTE",
    "HIGHWAY",
    "EUROPEAN ROAD",
    "NATIONAL ROAD",
    "DEPARTEMENTAL ROAD",
    "METROPOLITAN ROAD",
    "MUNICIPAL ROAD",
    "FOOTPATH",
    "DEAD END",
    "FOREST ROADS",
    "SIDE ROADS",
    "TRUNK TRACK",
    "PRIVATE ROAD",
    "OTHER",
)
# site/schema.json: fr_insee_code pattern (a commune's INSEE code, Corsica's 2A/2B included).
INSEE_CODE_PATTERN = r"^([013-9]\d|2[AB1-9])\d{3}$"
# channel/schema.json: direction enumeration, "where the people counted go".
COMPASS_POINTS = ("N", "NW", "NE", "W", "SW", "S", "SE", "E")
# channel/schema.json: mobility_type and counter_type are comma-separated lists of these.
MOBILITY_TYPE_PATTERN = (
    r"(?:(?:^|,)(BIKE|TWO WHEELS MOTORIZED|PEDESTRIAN|E\-SCOOTER|HORSE\-RIDER|CAR|BUS|MINIBUS|TRUCK"
    r"|VAN|TRAMWAY|CANOE|UNDEFINED))+$"
)
COUNTER_TYPE_PATTERN = (
    r"(?:(?:^|,)(INDUCTIVE LOOP|ELECTROMAGNETIC SENSOR|PASSIVE INFRARED|ACTIVE INFRARED"
    r"|PIEZOELECTRIC SENSOR|RADAR SENSOR|VIDEO SENSOR|PNEUMATIC TUBE SENSOR|SLAB SENSOR"
    r"|LIGHT BEAM SENSOR|MANUAL|ACOUSTIC|LIDAR|OPTICAL FIBER SENSOR|MAGNETOMETER|OTHER))+$"
)
COUNTER_TRANSMISSION_TYPES = ("REMOTE TRANSMISSION", "MANUAL")
PUBLICATION_TRANSMISSION_TYPES = ("API", "MANUAL")
TEMPORALITIES = ("TEMPORARY", "PERMANENT")

_S = FieldType.STRING
_N = FieldType.NUMBER
_D = FieldType.DATETIME

SITE_FIELDS = (
    FieldSpec("site_id", _S, required=True),
    FieldSpec("parent_site_id", _S),
    FieldSpec("site_name", _S, required=True),
    FieldSpec("fr_insee_code", _S, pattern=INSEE_CODE_PATTERN),
    # WGS84 decimal degrees, "with at least 4 digits after the decimal point".
    FieldSpec("xlong", _N, required=True, minimum=-180, maximum=180),
    FieldSpec("ylat", _N, required=True, minimum=-90, maximum=90),
    FieldSpec("external_ids", _S),
    FieldSpec("infrastructure_type", _S, enum=INFRASTRUCTURE_TYPES),
)

CHANNEL_FIELDS = (
    FieldSpec("channel_id", _S, required=True),
    FieldSpec("channel_provider_id", _S),
    FieldSpec("site_provider_id", _S),
    FieldSpec("site_id", _S, required=True),
    FieldSpec("mobility_type", _S, pattern=MOBILITY_TYPE_PATTERN),
    FieldSpec("comment", _S),
    FieldSpec("counter_transmission_type", _S, enum=COUNTER_TRANSMISSION_TYPES),
    FieldSpec("publication_transmission_type", _S, enum=PUBLICATION_TRANSMISSION_TYPES),
    FieldSpec("counter_type", _S, pattern=COUNTER_TYPE_PATTERN),
    FieldSpec("direction", _S, enum=COMPASS_POINTS),
    FieldSpec("provider_direction_code", _S),
    FieldSpec("provider_direction_name", _S),
    FieldSpec("data_provider_name", _S),
    FieldSpec("temporality", _S, required=True, enum=TEMPORALITIES),
    FieldSpec("started_at", _D, required=True),
    FieldSpec("ended_at", _D),
    FieldSpec("last_updated_at", _D),
    # Seconds; required when a measure's end_datetime is empty (ours never is).
    FieldSpec("time_step", _N),
    FieldSpec("provider_portal_url", _S),
)

MEASURE_FIELDS = (
    FieldSpec("channel_id", _S, required=True),
    FieldSpec("counter_id", _S, required=True),
    FieldSpec("start_datetime", _D, required=True),
    FieldSpec("end_datetime", _D),
    # Empty when nothing was counted; 0 when nobody passed.
    FieldSpec("count", _N),
)

FIELDS: dict[Notion, tuple[FieldSpec, ...]] = {
    Notion.SITE: SITE_FIELDS,
    Notion.CHANNEL: CHANNEL_FIELDS,
    Notion.MEASURE: MEASURE_FIELDS,
}
# Each notion's `primaryKey` in its schema.json (measures have none).
PRIMARY_KEYS: dict[Notion, str | None] = {
    Notion.SITE: "site_id",
    Notion.CHANNEL: "channel_id",
    Notion.MEASURE: None,
}


def file_name(notion: Notion, publisher: str) -> str:
    """The file name the schema recommends: `comptagemobilites_<notion>_<publisher>.csv`."""
    return f"comptagemobilites_{notion.value}_{publisher}.csv"
