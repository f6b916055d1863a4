"""What the city subcommands do (imported only when one runs: psycopg is in the `city` extra)."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from datetime import UTC, datetime
from types import FrameType

import psycopg

from edge.city.errors import CityError
from edge.city.ingest import IngestOptions, MqttIngester
from edge.city.messages import MessageParser
from edge.city.migrate import applied_versions, apply_migrations, latest_version
from edge.city.settings import CitySettings, load_city_settings
from edge.city.store import PostgresStore, StoreUnavailableError

logger = logging.getLogger(__name__)


def open_database(settings: CitySettings) -> PostgresStore:
    """A store on the configured database (connected lazily)."""
    password = None if settings.database_password is None else settings.database_password.get_secret_value()
    return PostgresStore(settings.database_url, password=password)


def run_ingest(args: argparse.Namespace) -> int:
    """`footfall ingest`: migrate and exit, or check the schema and ingest until SIGTERM."""
    settings = load_city_settings()
    store = open_database(settings)
    try:
        connection = store.connect()
        if args.migrate:
            applied = apply_migrations(connection)
            print(
                f"applied {', '.join(applied)}"
                if applied
                else f"schema already at version {latest_version()}"
            )
            return 0
        _require_latest_schema(connection)
    except StoreUnavailableError as exc:
        raise CityError(str(exc)) from exc
    except psycopg.Error as exc:
        raise CityError(f"database error: {str(exc).strip().splitlines()[0]}") from exc
    finally:
        store.close()
    options = IngestOptions(
        host=args.host or settings.mqtt_host,
        port=args.port or settings.mqtt_port,
        prefix=args.prefix or settings.topic_prefix,
        group=args.group or settings.group,
        client_id=args.client_id or settings.client_id,
        username=settings.mqtt_username,
        session_expiry_s=settings.session_expiry_s,
        batch_size=settings.batch_size,
        receive_maximum=max(200, settings.batch_size),
    )
    parser = MessageParser(
        options.prefix, max_payload_bytes=settings.max_payload_bytes, now=lambda: datetime.now(UTC)
    )
    password = None if settings.mqtt_password is None else settings.mqtt_password.get_secret_value()
    ingester = MqttIngester(options, parser, store, password=password)
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        logger.info("signal %d: finishing the current batch, then stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    ingester.run(stop)
    return 0


def _require_latest_schema(connection: psycopg.Connection[tuple[object, ...]]) -> None:
    versions = applied_versions(connection)
    if latest_version() not in versions:
        current = max(versions, default=0)
        raise CityError(
            f"the database schema is at version {current}, this ingester needs {latest_version()}:"
            " run `footfall ingest --migrate` first"
        )
