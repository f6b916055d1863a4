"""The sites file: valid files load; each mistake is a ConfigError naming the entry, never a traceback."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, get_args

import pytest

from edge.city.export.schema import COMPASS_POINTS
from edge.city.export.sites import Compass, load_sites, parse_sites
from edge.errors import ConfigError
from tests.city.export.dataset import SITES_TOML


def _raw() -> dict[str, Any]:
    return tomllib.loads(SITES_TOML)


def _channel(raw: dict[str, Any], channel: int = 0) -> dict[str, Any]:
    entry: dict[str, Any] = raw["sites"][0]["channels"][channel]
    return entry


def test_the_example_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "sites.toml"
    path.write_text(SITES_TOML, encoding="utf-8")
    config = load_sites(path)
    assert config.device_ids == ("cam-1", "cam-2")
    assert [site.site_id for site in config.sites] == ["main-street", "station-square"]
    assert config.sites[0].channels[1].compass == "S"
    assert config.minimum_coverage == 0.9


def test_compass_values_are_the_schemas_direction_enumeration() -> None:
    assert sorted(get_args(Compass)) == sorted(COMPASS_POINTS)


def _with(change: str, value: dict[str, Any]) -> dict[str, Any]:
    raw = _raw()
    if change == "site":
        raw["sites"][0].update(value)
    elif change == "channel":
        _channel(raw).update(value)
    elif change == "duplicate-channel":
        _channel(raw, channel=1)["channel_id"] = _channel(raw)["channel_id"]
    elif change == "duplicate-line":
        _channel(raw, channel=1)["direction"] = "in"
    else:
        raw.update(value)
    return raw


@pytest.mark.parametrize(
    ("change", "value", "message"),
    [
        ("channel", {"compass": "NNE"}, "[sites[0].channels[0].compass]"),
        ("channel", {"direction": "up"}, "[sites[0].channels[0].direction]"),
        ("channel", {"started_at": "2026-01-01T00:00:00"}, "[sites[0].channels[0].started_at]"),
        ("channel", {"ended_at": "2025-01-01T00:00:00Z"}, "ended_at must be after started_at"),
        ("channel", {"comment": "x" * 51}, "[sites[0].channels[0].comment]"),
        ("channel", {"colour": "red"}, "[sites[0].channels[0].colour] Extra inputs"),
        ("site", {"latitude": 95.0}, "[sites[0].latitude]"),
        ("site", {"insee_code": "7022"}, "is not a commune's INSEE code"),
        ("site", {"infrastructure_type": "SIDEWALK"}, "is not one of the schema's"),
        ("site", {"channels": []}, "[sites[0].channels]"),
        ("top", {"timezone": "Europe/Atlantis"}, "is not an IANA time zone"),
        ("top", {"publisher": "Ville de Baix"}, "[publisher]"),
        ("top", {"minimum_coverage": 0.0}, "[minimum_coverage]"),
        ("duplicate-channel", {}, "channel_id 'main-street-entrance-in' appears more than once"),
        (
            "duplicate-line",
            {},
            "site_id/device_id/line_id/direction 'main-street/cam-1/entrance/in' appears more than once",
        ),
    ],
    ids=[
        "compass",
        "direction",
        "naive-start",
        "end-before-start",
        "long-comment",
        "unknown-key",
        "latitude",
        "insee",
        "infrastructure",
        "no-channels",
        "timezone",
        "publisher",
        "coverage",
        "duplicate-channel",
        "duplicate-line",
    ],
)
def test_mistakes_name_their_entry(change: str, value: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_sites(_with(change, value), source="sites.toml")
    assert str(raised.value).startswith("invalid entry in sites.toml: ")
    assert message in str(raised.value)


def test_missing_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="sites file not found"):
        load_sites(tmp_path / "absent.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("publisher = \n", encoding="utf-8")
    with pytest.raises(ConfigError, match="is not valid TOML"):
        load_sites(broken)


def test_a_device_moved_to_another_site_may_feed_a_channel_on_each() -> None:
    raw = _raw()
    moved = {**_channel(raw), "channel_id": "station-entrance-in"}
    raw["sites"][1]["channels"].append(moved)
    config = parse_sites(raw)
    assert [c.channel_id for c in config.sites[1].channels] == ["station-door-in", "station-entrance-in"]
