"""MQTT publisher on paho-mqtt 2.x (`CallbackAPIVersion.VERSION2`), confined to this module.

Topics (README, Delivery): `{prefix}/{site}/{device}/counts` (QoS 1, not retained),
`.../status` (retained: `online` on every connect, `stopped` on clean shutdown, `offline` as the
last will) and `.../health` (retained JSON).

Acknowledgements are tracked through `on_publish(mid)` only, never `wait_for_publish()`: paho's
in-flight queue is memory-only and a publish made while disconnected returns rc 4 yet may still go
out after a reconnect. To keep the outbox the single source of truth and the order of sequence
numbers intact, every (re)connect drops paho's unacknowledged messages and bumps a connection
`generation`; the drain loop then re-publishes from the outbox, oldest first. `online` is
re-published on every connect because a broker restart can deliver the last will while the device
is up. With MQTT 5 the retained `online` carries a message expiry (`status_expiry_s`) and is
refreshed every keepalive: a broker that restarts from its persistence file after a power cut that
also killed the device has lost the device's will (Mosquitto keeps no wills across a crash) yet
restores the retained `online`; the expiry removes it soon after, so a dead device is never shown
online for long (README D-045). Callbacks run on paho's network thread and never block:
`on_publish` only queues the ack.
"""

from __future__ import annotations

import logging
import queue
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from edge.deliver.status import ConnectionState, ConnectionStatus
from edge.errors import DeliveryError

logger = logging.getLogger(__name__)

STATUS_ONLINE = "online"
STATUS_OFFLINE = "offline"
STATUS_STOPPED = "stopped"
# CONNACK reason codes meaning the credentials were refused (MQTT 5; paho maps 3.1.1 rc 4 and 5 to them).
_BAD_CREDENTIALS = 0x86
_NOT_AUTHORISED = 0x87
# Publishes that paho accepted: sent now, or queued and sent after the reconnect.
_ACCEPTED = (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN)


class MqttProtocol(StrEnum):
    V311 = "3.1.1"
    V5 = "5"


@dataclass(frozen=True, slots=True)
class Topics:
    """The device's topics: `{prefix}/{site_id}/{device_id}/counts|status|health|validations`."""

    prefix: str
    site_id: str
    device_id: str

    def __post_init__(self) -> None:
        for name in ("site_id", "device_id"):
            value = getattr(self, name)
            if not value or any(char in value for char in "/+#") or value != value.strip():
                raise ValueError(f"{name} must be one topic level without / + # or spaces, got {value!r}")
        levels = self.prefix.split("/")
        if any(not level or "+" in level or "#" in level for level in levels):
            raise ValueError(
                f"prefix must be topic levels without wildcards or empty levels, got {self.prefix!r}"
            )

    @property
    def base(self) -> str:
        return f"{self.prefix}/{self.site_id}/{self.device_id}"

    @property
    def counts(self) -> str:
        return f"{self.base}/counts"

    @property
    def status(self) -> str:
        return f"{self.base}/status"

    @property
    def health(self) -> str:
        return f"{self.base}/health"

    @property
    def validations(self) -> str:
        return f"{self.base}/validations"


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """PEM files for TLS; no CA file means the system's CAs. The server certificate is always verified."""

    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None


@dataclass(frozen=True, slots=True)
class MqttOptions:
    """Everything the publisher needs except the password (passed apart so it is never in a repr).

    Attributes:
        host: broker host name or address.
        port: broker port.
        topics: the device's topics.
        protocol: MQTT 3.1.1 or 5.
        client_id: MQTT client id; default `footfall-{site_id}-{device_id}`.
        username: broker user name, if the broker wants one.
        keepalive_s: seconds between keep-alives; the broker sends the will after 1.5x this.
        tls: TLS files, or None for a plain TCP connection.
        reconnect_min_delay_s: first reconnect delay; doubles up to `reconnect_max_delay_s`.
        reconnect_max_delay_s: longest reconnect delay.
        max_inflight: messages paho may have unacknowledged (counts window plus status/health).
        content_type: MIME type of the counts bodies (an MQTT 5 property).
        status_expiry_factor: with MQTT 5, the retained `online` expires after this many
            keepalives unless refreshed (it is refreshed every keepalive while connected).
    """

    host: str
    port: int
    topics: Topics
    protocol: MqttProtocol = MqttProtocol.V5
    client_id: str | None = None
    username: str | None = None
    keepalive_s: int = 30
    tls: TlsFiles | None = None
    reconnect_min_delay_s: int = 1
    reconnect_max_delay_s: int = 120
    max_inflight: int = 22
    content_type: str = "application/json"
    status_expiry_factor: int = 3

    @property
    def status_expiry_s(self) -> int:
        """Seconds a retained `online` outlives the device's last refresh (MQTT 5 message expiry)."""
        return self.status_expiry_factor * self.keepalive_s


NO_MATCHING_SUBSCRIBERS = 0x10
"""PUBACK reason code (MQTT 5): the broker took the message but had nobody to give it to."""


@dataclass(frozen=True, slots=True)
class Ack:
    """The broker's answer to one published message (PUBACK), as seen by `on_publish`."""

    mid: int
    generation: int
    ok: bool
    reason: str


class MqttPublisher:
    """Connects to the broker in the background and publishes counts, status and health.

    Build, then `start(wake)`; `wake` is called (from paho's thread) on every connect and ack.
    """

    def __init__(self, options: MqttOptions, *, password: str | None = None) -> None:
        """Configure the client; raises DeliveryError if TLS files cannot be loaded."""
        if password is not None and options.username is None:
            raise ValueError("a password needs a username (MQTT forbids a password alone)")
        self._options = options
        self._lock = threading.Lock()
        self._acks: queue.SimpleQueue[Ack] = queue.SimpleQueue()
        self._wake: Callable[[], None] = lambda: None
        self._generation = 0
        self._connected = False
        self._stopping = False
        self._status = ConnectionStatus(ConnectionState.CONNECTING)
        self._client = self._build_client(password)
        self._counts_properties = self._publish_properties(options.content_type)
        self._validation_properties = self._publish_properties("application/json")
        self._online_properties = self._expiring_properties(options.status_expiry_s)
        self._next_status_refresh_s = 0.0

    @property
    def generation(self) -> int:
        """Number of successful connects so far; messages of an older generation were dropped."""
        return self._generation

    def status(self) -> ConnectionStatus:
        return self._status

    def start(self, wake: Callable[[], None]) -> None:
        """Connect in the background (with reconnect backoff) and start paho's network thread."""
        self._wake = wake
        options = self._options
        logger.info("connecting to MQTT broker %s:%d as %s", options.host, options.port, self._client_id())
        clean_start: paho.CleanStartOption = (
            True if options.protocol is MqttProtocol.V5 else paho.MQTT_CLEAN_START_FIRST_ONLY
        )
        self._client.connect_async(options.host, options.port, options.keepalive_s, clean_start=clean_start)
        self._client.loop_start()

    def publish_counts(self, payload: bytes, *, generation: int) -> int | None:
        """Publish one counts message (QoS 1); returns its mid, or None if not connected in `generation`."""
        with self._lock:
            if not self._connected or generation != self._generation or self._stopping:
                return None
            info = self._client.publish(
                self._options.topics.counts, payload, qos=1, retain=False, properties=self._counts_properties
            )
        if info.rc in _ACCEPTED:
            return info.mid
        logger.warning("MQTT publish refused locally: %s", paho.error_string(info.rc))
        return None

    def publish_validation(self, payload: bytes, generation: int) -> int | None:
        """Publish one validation document, retained (QoS 1); its mid, or None if not connected."""
        with self._lock:
            if not self._connected or generation != self._generation or self._stopping:
                return None
            info = self._client.publish(
                self._options.topics.validations,
                payload,
                qos=1,
                retain=True,
                properties=self._validation_properties,
            )
        if info.rc in _ACCEPTED:
            return info.mid
        logger.warning("MQTT publish refused locally: %s", paho.error_string(info.rc))
        return None

    def publish_health(self, payload: bytes) -> None:
        """Publish the retained health summary if connected (it is refreshed periodically anyway)."""
        with self._lock:
            if self._connected and not self._stopping:
                self._client.publish(self._options.topics.health, payload, qos=1, retain=True)

    def refresh_status(self) -> None:
        """Re-publish the retained `online` if a keepalive passed since it was last sent.

        Only MQTT 5 needs it: there the retained `online` expires (see the module docstring).
        """
        now_s = time.monotonic()
        if self._online_properties is None or now_s < self._next_status_refresh_s:
            return
        with self._lock:
            if not self._connected or self._stopping:
                return
            self._publish_online(self._client)
        self._next_status_refresh_s = now_s + self._options.keepalive_s

    def take_acks(self) -> list[Ack]:
        """Acks received since the last call, in arrival order."""
        acks: list[Ack] = []
        while True:
            try:
                acks.append(self._acks.get_nowait())
            except queue.Empty:
                return acks

    def stop(self, timeout_s: float) -> None:
        """Publish retained `stopped` and wait up to `timeout_s` for its ack, then disconnect cleanly."""
        deadline = time.monotonic() + timeout_s
        with self._lock:
            self._stopping = True
            info = (
                self._client.publish(self._options.topics.status, STATUS_STOPPED, qos=1, retain=True)
                if self._connected
                else None
            )
        if info is not None:
            try:
                info.wait_for_publish(max(0.0, deadline - time.monotonic()))
            except (RuntimeError, ValueError):
                logger.debug("`stopped` could not be sent", exc_info=True)
            if not info.is_published():
                logger.warning("could not confirm the `stopped` status within %.1f s", timeout_s)
        self._client.disconnect()
        self._client.loop_stop()
        self._status = ConnectionStatus(ConnectionState.STOPPED)
        logger.info("MQTT publisher stopped")

    # -- set-up --------------------------------------------------------------------------------

    def _client_id(self) -> str:
        topics = self._options.topics
        return self._options.client_id or f"footfall-{topics.site_id}-{topics.device_id}"

    def _build_client(self, password: str | None) -> paho.Client:
        options = self._options
        v5 = options.protocol is MqttProtocol.V5
        client = paho.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=self._client_id(),
            clean_session=None if v5 else True,
            protocol=paho.MQTTv5 if v5 else paho.MQTTv311,
        )
        if options.username is not None:
            client.username_pw_set(options.username, password)
        if options.tls is not None:
            self._set_tls(client, options.tls)
        client.will_set(options.topics.status, STATUS_OFFLINE, qos=1, retain=True)
        client.reconnect_delay_set(options.reconnect_min_delay_s, options.reconnect_max_delay_s)
        client.max_inflight_messages_set(options.max_inflight)
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        return client

    @staticmethod
    def _set_tls(client: paho.Client, tls: TlsFiles) -> None:
        try:
            client.tls_set(
                ca_certs=None if tls.ca_file is None else str(tls.ca_file),
                certfile=None if tls.cert_file is None else str(tls.cert_file),
                keyfile=None if tls.key_file is None else str(tls.key_file),
                cert_reqs=ssl.CERT_REQUIRED,
                tls_version=ssl.PROTOCOL_TLS_CLIENT,
            )
        except (OSError, ssl.SSLError, ValueError) as exc:
            raise DeliveryError(f"cannot load the MQTT TLS files ({tls}): {exc}") from exc

    def _expiring_properties(self, expiry_s: int) -> Properties | None:
        if self._options.protocol is not MqttProtocol.V5:
            return None
        properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        properties.MessageExpiryInterval = expiry_s
        return properties

    def _publish_online(self, client: paho.Client) -> None:
        """Retained `online` (caller holds the lock); expiring with MQTT 5."""
        client.publish(
            self._options.topics.status, STATUS_ONLINE, qos=1, retain=True, properties=self._online_properties
        )

    def _publish_properties(self, content_type: str) -> Properties | None:
        if self._options.protocol is not MqttProtocol.V5:
            return None
        properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        properties.PayloadFormatIndicator = 1
        properties.ContentType = content_type
        return properties

    # -- paho callbacks (network thread) ---------------------------------------------------------

    def _set_status(self, state: ConnectionState, detail: str = "") -> bool:
        changed = self._status.state is not state
        self._status = ConnectionStatus(state, detail)
        return changed

    def _on_connect(
        self, client: paho.Client, userdata: Any, flags: Any, reason: ReasonCode, properties: Any
    ) -> None:
        options = self._options
        if reason.is_failure:
            refused = reason.value in (_BAD_CREDENTIALS, _NOT_AUTHORISED)
            state = ConnectionState.NOT_AUTHORISED if refused else ConnectionState.REFUSED
            if self._set_status(state, str(reason)):
                hint = "check the MQTT username and password" if refused else "check the broker settings"
                logger.error(
                    "MQTT broker %s:%d refused the connection: %s (%s); counts stay queued in the outbox",
                    options.host,
                    options.port,
                    reason,
                    hint,
                )
            return
        with self._lock:
            if self._stopping:
                return
            dropped = client.drop_out_messages()
            self._generation += 1
            self._connected = True
            self._publish_online(client)
            self._next_status_refresh_s = time.monotonic() + options.keepalive_s
        self._set_status(ConnectionState.CONNECTED)
        logger.info(
            "connected to MQTT broker %s:%d (connection %d)", options.host, options.port, self._generation
        )
        if dropped:
            logger.debug(
                "dropped %d unacknowledged message(s); the outbox re-sends what is undelivered", len(dropped)
            )
        self._wake()

    def _on_connect_fail(self, client: paho.Client, userdata: Any) -> None:
        if self._set_status(ConnectionState.UNREACHABLE, "network or TLS failure"):
            logger.warning(
                "cannot connect to MQTT broker %s:%d (network or TLS failure); retrying with backoff",
                self._options.host,
                self._options.port,
            )

    def _on_disconnect(
        self, client: paho.Client, userdata: Any, flags: Any, reason: ReasonCode, properties: Any
    ) -> None:
        self._connected = False
        if self._status.state is ConnectionState.CONNECTED and not self._stopping:
            self._set_status(ConnectionState.DISCONNECTED, str(reason))
            logger.warning("lost the MQTT connection (%s); reconnecting with backoff", reason)
        self._wake()

    def _on_publish(
        self, client: paho.Client, userdata: Any, mid: int, reason: ReasonCode, properties: Any
    ) -> None:
        # Runs with paho's message lock held: only queue the ack, never take a lock here.
        # MQTT 5 "no matching subscribers" (0x10) is a success code, but nobody got the message:
        # after a broker restart, Mosquitto forgets shared subscriptions until the city's
        # ingesters re-subscribe, so counts acknowledged then would be lost. Keep and retry them.
        delivered = not reason.is_failure and reason.value != NO_MATCHING_SUBSCRIBERS
        self._acks.put(Ack(mid, self._generation, delivered, str(reason)))
        self._wake()
