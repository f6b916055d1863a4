"""A city-server stand-in: subscribes to a device's topics, de-duplicates counts by message id."""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from tests.integration.deliver.mosquitto import TlsMaterial


@dataclass(frozen=True, slots=True)
class StatusMessage:
    payload: str
    retained: bool


@dataclass(frozen=True, slots=True)
class ValidationMessage:
    document: dict[str, Any]
    retained: bool


class RecordingSubscriber:
    """Records every counts message once (by `id`), in arrival order, plus status, health and validations.

    `persistent=True` keeps the MQTT session (and its queued QoS 1 messages) across broker restarts,
    as a city server would; the broker must then run with persistence.
    """

    def __init__(
        self,
        port: int,
        topic_filter: str = "footfall/#",
        *,
        client_id: str = "city-server",
        persistent: bool = False,
        tls: TlsMaterial | None = None,
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        self._port = port
        self._filter = topic_filter
        self._lock = threading.Condition()
        self.counts: list[dict[str, Any]] = []
        self.seqs: list[int] = []
        self.duplicates = 0
        self.arrival_s: dict[int, float] = {}
        self.statuses: list[StatusMessage] = []
        self.health: list[dict[str, Any]] = []
        self.validations: list[ValidationMessage] = []
        self._seen: set[str] = set()
        self._subscribed = threading.Event()
        self._client = paho.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=not persistent,
            protocol=paho.MQTTv311,
        )
        if tls is not None:
            self._client.tls_set(
                ca_certs=str(tls.ca_file),
                certfile=str(tls.client_cert),
                keyfile=str(tls.client_key),
                cert_reqs=ssl.CERT_REQUIRED,
            )
        if username is not None:
            self._client.username_pw_set(username, password)
        self._client.reconnect_delay_set(1, 1)
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_message = self._on_message

    def start(self, timeout_s: float = 10.0) -> RecordingSubscriber:
        self._client.connect_async("127.0.0.1", self._port, keepalive=5)
        self._client.loop_start()
        if not self._subscribed.wait(timeout_s):
            raise AssertionError("subscriber could not subscribe")
        return self

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def wait_for(self, predicate: Callable[[RecordingSubscriber], bool], timeout_s: float = 15.0) -> bool:
        """Wait until `predicate(self)` holds (checked on every message); False on timeout."""
        deadline = time.monotonic() + timeout_s
        with self._lock:
            while not predicate(self):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._lock.wait(min(remaining, 0.1))
            return True

    def status_payloads(self) -> list[str]:
        with self._lock:
            return [message.payload for message in self.statuses]

    def _on_connect(
        self, client: paho.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        if not reason.is_failure:
            client.subscribe(self._filter, qos=1)

    def _on_subscribe(
        self, client: paho.Client, userdata: Any, mid: int, reasons: Any, properties: Any
    ) -> None:
        self._subscribed.set()

    def _on_message(self, client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        received_s = time.monotonic()
        with self._lock:
            if message.topic.endswith("/counts"):
                document = json.loads(message.payload)
                if document["id"] in self._seen:
                    self.duplicates += 1
                else:
                    self._seen.add(document["id"])
                    self.counts.append(document)
                    self.seqs.append(document["seq"])
                    self.arrival_s[document["seq"]] = received_s
            elif message.topic.endswith("/status"):
                self.statuses.append(StatusMessage(message.payload.decode(), bool(message.retain)))
            elif message.topic.endswith("/health"):
                self.health.append(json.loads(message.payload))
            elif message.topic.endswith("/validations"):
                self.validations.append(ValidationMessage(json.loads(message.payload), bool(message.retain)))
            self._lock.notify_all()
