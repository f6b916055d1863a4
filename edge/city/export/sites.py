"""The city-side sites file: what the open-data files need and the devices do not send.

Devices report a site id, line ids and `in`/`out`; the national schema wants a site name,
WGS84 coordinates, and a compass direction per channel (one channel per line and direction).
The city writes them once in a TOML file (`footfall export comptage-mobilites --sites FILE`),
validated here with the schema's own constraints, so a typo is reported at start-up with its
location in the file instead of producing an invalid open-data file. See the README section
"Open data export (comptage mobilités)" for an example.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator

from edge.city.export.schema import INFRASTRUCTURE_TYPES, INSEE_CODE_PATTERN
from edge.errors import ConfigError
from edge.records import Direction

# A slot's count is published only when the camera observed at least this share of it (D-035).
DEFAULT_MINIMUM_COVERAGE = 0.9

_IDENTIFIER = r"^[A-Za-z0-9][A-Za-z0-9._:-]*$"
# The schema's `direction` enumeration (COMPASS_POINTS in edge.city.export.schema).
Compass = Literal["N", "NW", "NE", "W", "SW", "S", "SE", "E"]


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ChannelConfig(_Entry):
    """One channel: one line of one device, counted in one direction."""

    channel_id: str = Field(pattern=_IDENTIFIER, description="Open-data channel id, unique in the file.")
    device_id: str = Field(
        min_length=1, description="The device counting the line (the measure's counter_id)."
    )
    line_id: str = Field(min_length=1, description="The line id in the device's calibration.")
    direction: Direction = Field(description='The device\'s crossing direction, "in" or "out".')
    compass: Compass = Field(description="Where the people counted on this channel go: N, NE, E, ... NW.")
    direction_name: str = Field(
        default="",
        description='Plain words for the direction (provider_direction_name), e.g. "vers la gare".',
    )
    comment: str = Field(
        default="", max_length=50, description="Free text (the schema allows 50 characters)."
    )
    started_at: AwareDatetime = Field(
        description="When counting started on this channel, with its offset; earlier slots are not exported."
    )
    ended_at: AwareDatetime | None = Field(
        default=None, description="When counting ended, if it did; slots from then on are not exported."
    )

    @model_validator(mode="after")
    def _ends_after_start(self) -> Self:
        if self.ended_at is not None and self.ended_at <= self.started_at:
            raise ValueError("ended_at must be after started_at")
        return self


class SiteConfig(_Entry):
    """One counting site: a physical place with a fixed position, holding channels."""

    site_id: str = Field(pattern=_IDENTIFIER, description="The devices' site id (MQTT topic and payload).")
    name: str = Field(min_length=1, description="Site name (site_name), e.g. the street.")
    longitude: float = Field(ge=-180, le=180, description="WGS84 longitude, decimal degrees.")
    latitude: float = Field(ge=-90, le=90, description="WGS84 latitude, decimal degrees.")
    insee_code: str = Field(
        default="", description="INSEE code of the commune (fr_insee_code), e.g. 07022; may be empty."
    )
    infrastructure_type: str = Field(
        default="", description="One of the schema's infrastructure types, e.g. FOOTPATH; may be empty."
    )
    parent_site_id: str = Field(default="", description="Optional parent site for grouping.")
    external_ids: str = Field(default="", description="Optional ids of the place in other open data.")
    channels: tuple[ChannelConfig, ...] = Field(min_length=1, description="The site's channels.")

    @model_validator(mode="after")
    def _schema_values(self) -> Self:
        if self.insee_code and not re.fullmatch(INSEE_CODE_PATTERN, self.insee_code):
            raise ValueError(f"insee_code {self.insee_code!r} is not a commune's INSEE code (e.g. 07022)")
        if self.infrastructure_type and self.infrastructure_type not in INFRASTRUCTURE_TYPES:
            raise ValueError(
                f"infrastructure_type {self.infrastructure_type!r} is not one of the schema's: "
                + ", ".join(INFRASTRUCTURE_TYPES)
            )
        return self


class SitesConfig(_Entry):
    """The whole file."""

    publisher: str = Field(
        pattern=r"^[A-Za-z0-9-]+$",
        description="Short name of the publishing authority, used in file names (e.g. Baix).",
    )
    data_provider_name: str = Field(default="", description="Who provides the data (data_provider_name).")
    timezone: str = Field(default="Europe/Paris", description="Local time zone of dates and timestamps.")
    minimum_coverage: float = Field(
        default=DEFAULT_MINIMUM_COVERAGE,
        gt=0.0,
        le=1.0,
        description="Observed share of a slot below which its count is left empty (D-035).",
    )
    temporality: Literal["PERMANENT", "TEMPORARY"] = Field(
        default="PERMANENT", description="Whether the counters stay on their sites."
    )
    sites: tuple[SiteConfig, ...] = Field(min_length=1, description="The counting sites.")

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"timezone {self.timezone!r} is not an IANA time zone (e.g. Europe/Paris)"
            ) from None
        _require_unique("site_id", [site.site_id for site in self.sites])
        channels = [channel for site in self.sites for channel in site.channels]
        _require_unique("channel_id", [channel.channel_id for channel in channels])
        # The same device, line and direction may feed a channel on each site it was moved to.
        _require_unique(
            "site_id/device_id/line_id/direction",
            [
                f"{s.site_id}/{c.device_id}/{c.line_id}/{c.direction.value}"
                for s in self.sites
                for c in s.channels
            ],
        )
        return self

    @property
    def zone(self) -> ZoneInfo:
        """The local time zone."""
        return ZoneInfo(self.timezone)

    @property
    def device_ids(self) -> tuple[str, ...]:
        """Every device named by a channel, sorted."""
        return tuple(sorted({c.device_id for site in self.sites for c in site.channels}))


def _require_unique(what: str, values: list[str]) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{what} {value!r} appears more than once")
        seen.add(value)


def load_sites(path: Path) -> SitesConfig:
    """Read and validate a sites file; raise ConfigError naming the file and the offending entry."""
    try:
        with path.open("rb") as handle:
            raw = tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"sites file not found: {path}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read sites file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"sites file {path} is not valid TOML: {exc}") from None
    return parse_sites(raw, source=str(path))


def parse_sites(raw: dict[str, object], source: str = "sites file") -> SitesConfig:
    """Validate already-parsed TOML; raise ConfigError naming `source` and the entry."""
    try:
        return SitesConfig.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = _location(first["loc"])
        message = first["msg"].removeprefix("Value error, ")
        raise ConfigError(f"invalid entry in {source}: [{where}] {message}") from None


def _location(parts: tuple[int | str, ...]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "(top level)"
