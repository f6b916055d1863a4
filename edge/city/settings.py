"""Settings of the city server, from `FOOTFALL_CITY_*` environment variables and credential files.

Secrets (`FOOTFALL_CITY_DATABASE_PASSWORD`, `FOOTFALL_CITY_MQTT_PASSWORD`) may instead be files
of that name in `$CREDENTIALS_DIRECTORY` (systemd `LoadCredential=`), so they are in no unit
file, no process list and no URL. Command-line options override the MQTT and topic settings.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from edge.city.errors import CityError
from edge.city.messages import DEFAULT_MAX_PAYLOAD_BYTES


def default_client_id() -> str:
    """`footfall-ingest-<host name>`: stable across restarts of one ingester on one host."""
    return f"footfall-ingest-{socket.gethostname()}"


class CitySettings(BaseSettings):
    """Everything `footfall ingest` and `footfall fleet` read from the environment."""

    model_config = SettingsConfigDict(env_prefix="FOOTFALL_CITY_", extra="ignore", frozen=True)

    database_url: str = Field(
        description="libpq URL or key=value string of the PostgreSQL database, without the password "
        "(e.g. postgresql://footfall@db.city.example/footfall).",
    )
    database_password: SecretStr | None = Field(
        default=None,
        description="Database password; a secret: env variable or credential file, never logged.",
    )
    mqtt_host: str = Field(default="localhost", description="Broker host name or address.")
    mqtt_port: int = Field(default=1883, ge=1, le=65535, description="Broker port.")
    mqtt_username: str | None = Field(default=None, description="Broker user name, if the broker wants one.")
    mqtt_password: SecretStr | None = Field(
        default=None, description="Broker password; a secret: env variable or credential file, never logged."
    )
    topic_prefix: str = Field(
        default="footfall",
        pattern=r"^[^#+\s/]+(/[^#+\s/]+)*$",
        description="The devices' `mqtt.topic_prefix`: topics are {prefix}/{site}/{device}/{kind}.",
    )
    group: str = Field(
        default="footfall-ingest",
        pattern=r"^[^#+\s/]+$",
        description="Shared-subscription group: every ingester of one fleet uses the same group.",
    )
    client_id: str = Field(
        default_factory=default_client_id,
        description="MQTT client id, unique per ingester and stable across its restarts (it names the "
        "broker session holding its unacknowledged messages).",
    )
    session_expiry_s: int = Field(
        default=7 * 24 * 3600, ge=60, description="Seconds the broker keeps a stopped ingester's session."
    )
    batch_size: int = Field(default=100, ge=1, le=1000, description="Most messages per transaction.")
    max_payload_bytes: int = Field(
        default=DEFAULT_MAX_PAYLOAD_BYTES, ge=1024, description="Larger messages are quarantined unread."
    )


def load_city_settings() -> CitySettings:
    """Read the settings; raise CityError naming the offending variable."""
    credentials = os.environ.get("CREDENTIALS_DIRECTORY")
    secrets_dir = credentials if credentials and Path(credentials).is_dir() else None
    try:
        return CitySettings(_secrets_dir=secrets_dir)
    except ValidationError as exc:
        problems = "; ".join(
            f"FOOTFALL_CITY_{'_'.join(str(part) for part in error['loc']).upper()}: {error['msg']}"
            for error in exc.errors()
        )
        raise CityError(f"invalid city server settings: {problems}") from exc
