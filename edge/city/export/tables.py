"""Sites, channels and measures -> the three tables of text cells, in the schema's column order.

Timestamps are written in the sites file's time zone with their UTC offset (ISO 8601, e.g.
`2026-03-29T03:00:00+02:00`), as the schema's datetime fields and its Eco-Compteur example file do:
a reader sees local time, and the offset keeps the two 02:00 slots of a fall-back day apart.
Coordinates get 6 decimals (the schema asks for at least 4).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from edge.city.export.records import MeasureRow
from edge.city.export.schema import FIELDS, Notion
from edge.city.export.sites import SitesConfig

# What every channel of this product is, in the schema's vocabulary.
MOBILITY_TYPE = "PEDESTRIAN"
COUNTER_TYPE = "VIDEO SENSOR"
# Devices deliver over MQTT, not by someone fetching a memory card.
COUNTER_TRANSMISSION_TYPE = "REMOTE TRANSMISSION"


@dataclass(frozen=True, slots=True)
class Table:
    """One notion's file as text: the header and the rows, every cell a string ('' when empty)."""

    notion: Notion
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


def timestamp(moment: datetime, zone: ZoneInfo) -> str:
    """ISO 8601 local time with its offset, to the second."""
    return moment.astimezone(zone).isoformat(timespec="seconds")


def site_table(config: SitesConfig) -> Table:
    """One row per configured site."""
    rows = [
        {
            "site_id": site.site_id,
            "parent_site_id": site.parent_site_id,
            "site_name": site.name,
            "fr_insee_code": site.insee_code,
            "xlong": f"{site.longitude:.6f}",
            "ylat": f"{site.latitude:.6f}",
            "external_ids": site.external_ids,
            "infrastructure_type": site.infrastructure_type,
        }
        for site in config.sites
    ]
    return _table(Notion.SITE, rows)


def channel_table(config: SitesConfig, step_s: int) -> Table:
    """One row per configured channel (a line of a device, in one direction)."""
    zone = config.zone
    rows = [
        {
            "channel_id": channel.channel_id,
            "channel_provider_id": f"{channel.device_id}:{channel.line_id}:{channel.direction.value}",
            "site_id": site.site_id,
            "mobility_type": MOBILITY_TYPE,
            "comment": channel.comment,
            "counter_transmission_type": COUNTER_TRANSMISSION_TYPE,
            "counter_type": COUNTER_TYPE,
            "direction": channel.compass,
            "provider_direction_code": channel.direction.value.upper(),
            "provider_direction_name": channel.direction_name,
            "data_provider_name": config.data_provider_name,
            "temporality": config.temporality,
            "started_at": timestamp(channel.started_at, zone),
            "ended_at": timestamp(channel.ended_at, zone) if channel.ended_at else "",
            "time_step": str(step_s),
        }
        for site in config.sites
        for channel in site.channels
    ]
    return _table(Notion.CHANNEL, rows)


def measure_table(measures: Sequence[MeasureRow], zone: ZoneInfo) -> Table:
    """One row per measure; an unobserved slot has an empty count."""
    rows = [
        {
            "channel_id": measure.channel_id,
            "counter_id": measure.counter_id,
            "start_datetime": timestamp(measure.start, zone),
            "end_datetime": timestamp(measure.end, zone),
            "count": "" if measure.count is None else str(measure.count),
        }
        for measure in measures
    ]
    return _table(Notion.MEASURE, rows)


def _table(notion: Notion, rows: Sequence[dict[str, str]]) -> Table:
    header = tuple(spec.name for spec in FIELDS[notion])
    unknown = {name for row in rows for name in row} - set(header)
    if unknown:
        raise ValueError(f"not {notion.value} fields of the schema: {sorted(unknown)}")
    return Table(notion, header, tuple(tuple(row.get(name, "") for name in header) for row in rows))
