"""The city-server subcommands of `footfall`: `ingest` (and `--migrate`) and `fleet`.

`add_city_commands(commands)` registers them on the `footfall` parser (edge/cli.py calls it);
add further city subcommands there. This module imports nothing beyond the standard library, so
`footfall` works on a Pi without the `city` extra; the handlers import `edge.city.commands`
(psycopg, jsonschema) only when a city command runs.
"""

from __future__ import annotations

import argparse
from datetime import date
from types import ModuleType
from typing import Any

from edge.city.errors import CityError

_MISSING_EXTRA = "the city server needs the city extra: pip install 'footfall-edge[city]'"


def add_city_commands(commands: Any) -> None:
    """Register `ingest` and `fleet` on the `footfall` subparsers (`argparse._SubParsersAction`)."""
    ingest = commands.add_parser(
        "ingest",
        help="city server: store the fleet's MQTT counts in PostgreSQL exactly once (FOOTFALL_CITY_*)",
    )
    ingest.add_argument("--migrate", action="store_true", help="apply the database migrations, then exit")
    ingest.add_argument(
        "--leave",
        action="store_true",
        help="retire this client id: stop taking new messages, store what its broker session holds, "
        "end the session, exit (README D-033)",
    )
    ingest.add_argument("--host", help="broker host (default: FOOTFALL_CITY_MQTT_HOST or localhost)")
    ingest.add_argument("--port", type=int, help="broker port (default: FOOTFALL_CITY_MQTT_PORT or 1883)")
    ingest.add_argument("--prefix", help="devices' topic prefix (default: FOOTFALL_CITY_TOPIC_PREFIX)")
    ingest.add_argument("--group", help="shared-subscription group (default: FOOTFALL_CITY_GROUP)")
    ingest.add_argument(
        "--client-id", help="MQTT client id of this ingester (default: FOOTFALL_CITY_CLIENT_ID)"
    )
    ingest.set_defaults(handler=_ingest)
    _add_export_commands(commands)

    fleet = commands.add_parser(
        "fleet",
        help="city server: one line per device: last seen, coverage, counts, gaps, backlog, validation",
    )
    fleet.add_argument("--json", action="store_true", help="print only a JSON array on stdout")
    fleet.add_argument("--timezone", help="time zone of 'today' (default: FOOTFALL_CITY_TIMEZONE or UTC)")
    fleet.add_argument("--day", type=_day, help="report this day (YYYY-MM-DD) instead of today")
    fleet.add_argument(
        "--low-coverage",
        type=_fraction,
        default=0.5,
        help="coverage below which an interval counts as blind (default 0.5)",
    )
    fleet.set_defaults(handler=_fleet)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a day YYYY-MM-DD: {text!r}") from exc


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from exc
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def _commands() -> ModuleType:
    try:
        import edge.city.commands  # noqa: PLC0415 - psycopg only when a city command runs
    except ImportError as exc:
        raise CityError(f"{_MISSING_EXTRA} ({exc.name} is missing)") from exc
    return edge.city.commands


def _ingest(args: argparse.Namespace, device_settings: object) -> int:
    result: int = _commands().run_ingest(args)
    return result


def _fleet(args: argparse.Namespace, device_settings: object) -> int:
    result: int = _commands().run_fleet(args)
    return result


def _add_export_commands(commands: Any) -> None:
    # `export comptage-mobilites`: its parser needs no extra (psycopg loads only when it runs).
    from edge.city.export.command import add_export_command  # noqa: PLC0415 - keeps this module stdlib-only

    add_export_command(commands)
