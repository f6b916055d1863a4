"""The MQTT consumer: shared subscription for counts, plain subscriptions for retained topics.

paho-mqtt 2.x, MQTT 5, a persistent session (clean start off, a session expiry) and manual
acknowledgement: a message is PUBACKed only after the transaction holding it has committed, so a
killed ingester or a stopped database loses nothing; the broker re-sends what was not
acknowledged when the session reconnects (README D-030).

paho's callbacks only queue messages; one worker thread parses them, writes a batch in one
transaction and then acknowledges the batch in arrival order. Each message carries the
connection generation it came in on: after a reconnect, old packet ids may name other messages,
so a message of an older connection is never acknowledged (the broker re-sends it; storing it
again is a no-op).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from edge.city.messages import MessageParser
from edge.city.records import InboundMessage, TopicKind
from edge.city.store import PostgresStore, StoreOutcome, StoreUnavailableError

logger = logging.getLogger(__name__)

# Seconds between retries of a batch the database did not take, doubling up to the maximum.
RETRY_MIN_DELAY_S = 0.2
RETRY_MAX_DELAY_S = 5.0
# Seconds the worker waits for a message before checking whether it should stop.
POLL_S = 0.2


@dataclass(frozen=True, slots=True)
class IngestOptions:
    """How one ingester connects and subscribes.

    Attributes:
        host: broker host. port: broker port.
        prefix: the fleet's topic prefix (the device's `mqtt.topic_prefix`).
        group: shared-subscription group; every ingester of one fleet uses the same one.
        client_id: MQTT client id, stable across restarts and unique per ingester (it names
            the persistent session holding this ingester's unacknowledged messages).
        username: broker user, if any.
        keepalive_s: MQTT keep-alive.
        session_expiry_s: how long the broker keeps the session of a dead ingester.
        receive_maximum: unacknowledged messages the broker may have in flight to this ingester.
        batch_size: most messages written in one transaction.
    """

    host: str
    port: int
    prefix: str
    group: str
    client_id: str
    username: str | None = None
    keepalive_s: int = 30
    session_expiry_s: int = 7 * 24 * 3600
    receive_maximum: int = 200
    batch_size: int = 100

    def __post_init__(self) -> None:
        if not self.group or any(char in self.group for char in "/+#"):
            raise ValueError(f"group must be one topic level without / + #, got {self.group!r}")
        if not 1 <= self.batch_size <= self.receive_maximum <= 65535:
            raise ValueError("need 1 <= batch_size <= receive_maximum <= 65535")

    def subscriptions(self) -> list[tuple[str, SubscribeOptions]]:
        """Counts shared across the group; retained topics plainly (brokers do not send retained
        messages to shared subscriptions), retained ones only for a new subscription."""
        shared = f"$share/{self.group}/{self.prefix}/+/+/{TopicKind.COUNTS}"
        plain = [f"{self.prefix}/+/+/{kind}" for kind in TopicKind if kind is not TopicKind.COUNTS]
        return [(shared, SubscribeOptions(qos=1))] + [
            (topic, SubscribeOptions(qos=1, retainHandling=SubscribeOptions.RETAIN_SEND_IF_NEW_SUB))
            for topic in plain
        ]


@dataclass(frozen=True, slots=True)
class _Received:
    mid: int
    qos: int
    topic: str
    payload: bytes
    generation: int


@dataclass(slots=True)
class IngestCounters:
    """Messages handled since start, by outcome (read by tests, benchmarks and the log)."""

    by_outcome: dict[StoreOutcome, int] = field(default_factory=lambda: dict.fromkeys(StoreOutcome, 0))
    batches: int = 0
    retries: int = 0


class MqttIngester:
    """Subscribes, stores and acknowledges until `stop` is set.

    Args:
        options: connection and subscription settings.
        parser: turns messages into records.
        store: the database.
        password: broker password, if any.
        on_batch: called after each committed, acknowledged batch (benchmarks time it).
    """

    def __init__(
        self,
        options: IngestOptions,
        parser: MessageParser,
        store: PostgresStore,
        *,
        password: str | None = None,
        on_batch: Callable[[list[InboundMessage]], None] | None = None,
    ) -> None:
        self._options = options
        self._parser = parser
        self._store = store
        self._on_batch = on_batch or (lambda batch: None)
        self._inbox: queue.SimpleQueue[_Received] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._generation = 0
        self.counters = IngestCounters()
        self._client = self._build_client(password)

    def _build_client(self, password: str | None) -> paho.Client:
        client = paho.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=self._options.client_id,
            protocol=paho.MQTTv5,
            manual_ack=True,
        )
        if self._options.username is not None:
            client.username_pw_set(self._options.username, password)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        # Reconnect fast: Mosquitto forgets shared subscriptions on restart (README D-033).
        client.reconnect_delay_set(1, 5)
        return client

    def run(self, stop: threading.Event) -> None:
        """Connect (retrying in the background) and ingest until `stop` is set, then disconnect."""
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = self._options.session_expiry_s
        properties.ReceiveMaximum = self._options.receive_maximum
        logger.info(
            "ingesting from %s:%d as %s (group %s)",
            self._options.host,
            self._options.port,
            self._options.client_id,
            self._options.group,
        )
        self._client.connect_async(
            self._options.host,
            self._options.port,
            self._options.keepalive_s,
            clean_start=False,
            properties=properties,
        )
        self._client.loop_start()
        try:
            while not stop.is_set():
                batch = self._take_batch()
                if batch:
                    self._store_and_ack(batch, stop)
        finally:
            self._client.disconnect()
            self._client.loop_stop()
            self._store.close()
            logger.info("ingester stopped: %s", self.counters)

    def _take_batch(self) -> list[_Received]:
        try:
            batch = [self._inbox.get(timeout=POLL_S)]
        except queue.Empty:
            return []
        while len(batch) < self._options.batch_size:
            try:
                batch.append(self._inbox.get_nowait())
            except queue.Empty:
                break
        return batch

    def _store_and_ack(self, batch: list[_Received], stop: threading.Event) -> None:
        messages = [
            InboundMessage(item.topic, item.payload, self._parser.parse(item.topic, item.payload))
            for item in batch
        ]
        delay_s = RETRY_MIN_DELAY_S
        while True:
            try:
                outcomes = self._store.write(messages)
                break
            except StoreUnavailableError as exc:
                self.counters.retries += 1
                if self.counters.retries == 1 or delay_s >= RETRY_MAX_DELAY_S:
                    logger.warning("%s (nothing acknowledged)", exc)
                if stop.wait(delay_s):
                    return  # Not acknowledged: the broker re-sends these to the next session.
                delay_s = min(2 * delay_s, RETRY_MAX_DELAY_S)
        for outcome in outcomes:
            self.counters.by_outcome[outcome] += 1
        self.counters.batches += 1
        with self._lock:
            for item in batch:
                if item.qos > 0 and item.generation == self._generation:
                    self._client.ack(item.mid, item.qos)
        self._on_batch(messages)

    # -- paho callbacks (network thread): never block, never touch the database ----------------

    def _on_connect(
        self, client: paho.Client, userdata: Any, flags: Any, reason: ReasonCode, properties: Any
    ) -> None:
        if reason.is_failure:
            logger.error("the broker refused the connection: %s", reason)
            return
        with self._lock:
            self._generation += 1
        logger.info("connected to the broker (session present: %s)", flags.session_present)
        client.subscribe(self._options.subscriptions())

    def _on_disconnect(
        self, client: paho.Client, userdata: Any, flags: Any, reason: ReasonCode, properties: Any
    ) -> None:
        with self._lock:
            self._generation += 1
        logger.warning("lost the broker connection (%s); reconnecting", reason)

    def _on_subscribe(
        self, client: paho.Client, userdata: Any, mid: int, reasons: list[ReasonCode], properties: Any
    ) -> None:
        refused = [str(reason) for reason in reasons if reason.is_failure]
        if refused:
            logger.error("the broker refused subscriptions: %s", ", ".join(refused))
        else:
            logger.info("subscribed to %s", ", ".join(topic for topic, _ in self._options.subscriptions()))

    def _on_message(self, client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        self._inbox.put(
            _Received(message.mid, message.qos, message.topic, bytes(message.payload), self._generation)
        )
