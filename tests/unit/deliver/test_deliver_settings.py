"""Delivery settings: the MQTT password from a systemd credential, validation naming the culprit,
and the Delivery and window constructors refusing misuse."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from edge.config import load_settings
from edge.deliver import Delivery, MqttOptions, MqttPublisher, PayloadRenderer, SqliteOutbox, Topics
from edge.deliver.inflight import InFlightWindow
from edge.errors import ConfigError


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("FOOTFALL_") or name == "CREDENTIALS_DIRECTORY":
            monkeypatch.delenv(name)


def test_password_comes_from_the_systemd_credentials_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "FOOTFALL_MQTT_PASSWORD").write_text("s3cret-from-file\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    settings = load_settings()
    assert settings.mqtt_password is not None
    assert settings.mqtt_password.get_secret_value() == "s3cret-from-file"
    assert "s3cret" not in repr(settings)


def test_delivery_defaults_are_off_and_valid() -> None:
    settings = load_settings()
    assert (settings.mqtt.enabled, settings.mqtt.protocol, settings.payload.format) == (False, "5", "native")
    assert settings.payload.suppress_below == 0
    assert settings.mqtt_password is None


@pytest.mark.parametrize(
    ("environment", "location"),
    [
        ({"FOOTFALL_MQTT__ENABLED": "true"}, "FOOTFALL_MQTT"),
        ({"FOOTFALL_MQTT__DEVICE_ID": "cam/1"}, "FOOTFALL_MQTT__DEVICE_ID"),
        ({"FOOTFALL_MQTT__TOPIC_PREFIX": "city/#"}, "FOOTFALL_MQTT__TOPIC_PREFIX"),
        ({"FOOTFALL_MQTT__PROTOCOL": "3"}, "FOOTFALL_MQTT__PROTOCOL"),
        ({"FOOTFALL_PAYLOAD__LATITUDE": "40.4"}, "FOOTFALL_PAYLOAD"),
        ({"FOOTFALL_PAYLOAD__FORMAT": "xml"}, "FOOTFALL_PAYLOAD__FORMAT"),
        ({"FOOTFALL_OUTBOX__MAX_ROWS": "3"}, "FOOTFALL_OUTBOX__MAX_ROWS"),
    ],
    ids=[
        "enabled-without-device",
        "slash-in-device",
        "wildcard-prefix",
        "protocol",
        "latitude-alone",
        "format",
        "max-rows",
    ],
)
def test_invalid_delivery_settings_name_their_variable(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], location: str
) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=f"invalid setting {location}\\b"):
        load_settings()


def test_delivery_refuses_a_renderer_of_another_device(tmp_path: Path) -> None:
    publisher = MqttPublisher(MqttOptions("127.0.0.1", 1883, Topics("footfall", "site", "cam-1")))
    with (
        SqliteOutbox(tmp_path / "outbox.sqlite3", device_id="cam-1") as outbox,
        pytest.raises(ValueError, match="device_id"),
    ):
        Delivery(outbox, publisher, PayloadRenderer("cam-2", "site"))


def test_password_without_username_is_refused() -> None:
    with pytest.raises(ValueError, match="username"):
        MqttPublisher(MqttOptions("127.0.0.1", 1883, Topics("footfall", "site", "cam-1")), password="x")


def test_window_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="size"):
        InFlightWindow(0)
