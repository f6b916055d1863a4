"""The city-server subcommands of `footfall`: `ingest` (and `--migrate`) and `fleet`.

`add_city_commands(commands)` registers them on the `footfall` parser (edge/cli.py calls it);
add further city subcommands there. This module imports nothing beyond the standard library, so
`footfall` works on a Pi without the `city` extra; the handlers import `edge.city.commands`
(psycopg, jsonschema) only when a city command runs.
"""

from __future__ import annotations

import argparse
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
    ingest.add_argument("--host", help="broker host (default: FOOTFALL_CITY_MQTT_HOST or localhost)")
    ingest.add_argument("--port", type=int, help="broker port (default: FOOTFALL_CITY_MQTT_PORT or 1883)")
    ingest.add_argument("--prefix", help="devices' topic prefix (default: FOOTFALL_CITY_TOPIC_PREFIX)")
    ingest.add_argument("--group", help="shared-subscription group (default: FOOTFALL_CITY_GROUP)")
    ingest.add_argument(
        "--client-id", help="MQTT client id of this ingester (default: FOOTFALL_CITY_CLIENT_ID)"
    )
    ingest.set_defaults(handler=_ingest)
    _add_export_commands(commands)


def _ingest(args: argparse.Namespace, device_settings: object) -> int:
    try:
        from edge.city.commands import run_ingest  # noqa: PLC0415 - psycopg only when the command runs
    except ImportError as exc:
        raise CityError(f"{_MISSING_EXTRA} ({exc.name} is missing)") from exc
    return run_ingest(args)


def _add_export_commands(commands: Any) -> None:
    # `export comptage-mobilites`: its parser needs no extra (psycopg loads only when it runs).
    from edge.city.export.command import add_export_command  # noqa: PLC0415 - keeps this module stdlib-only

    add_export_command(commands)
