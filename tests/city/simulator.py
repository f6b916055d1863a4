"""A fleet simulator: the real device payload code (PayloadRenderer) publishing many devices' intervals.

Counts are a pure function of (device, seq), so a test knows what must be stored. One paho client
publishes for every simulated device (topics differ); QoS 1 with a persistent session, so
messages in flight when the broker restarts are re-sent by paho after the reconnect.
"""

from __future__ import annotations

import threading
import zlib
from datetime import UTC, datetime, timedelta

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from edge.deliver import PayloadFormat, PayloadRenderer, Topics
from edge.records import IntervalCount, IntervalQuality, LineId, LineInterval

PREFIX = "footfall"
# Start of seq 1 of every simulated device; intervals are 15 minutes long.
FIRST_START = datetime(2026, 11, 30, 23, 0, tzinfo=UTC)
INTERVAL = timedelta(minutes=15)
LINES = (LineId("door"), LineId("street"))


def device_name(index: int) -> str:
    return f"cam-{index:04d}"


def site_of(device_id: str) -> str:
    """Ten devices per site."""
    return f"site-{int(device_id.rsplit('-', 1)[1]) // 10:03d}"


def line_counts(device_id: str, seq: int, line_id: str) -> tuple[int, int]:
    """People in and out of one line in one interval (deterministic)."""
    mixed = zlib.crc32(f"{device_id}/{seq}/{line_id}".encode())
    return mixed % 17, (mixed >> 8) % 11


def interval_of(device_id: str, seq: int, *, coverage: float = 1.0) -> IntervalCount:
    start = FIRST_START + (seq - 1) * INTERVAL
    lines = tuple(LineInterval(line, *line_counts(device_id, seq, line)) for line in LINES)
    observed_s = coverage * INTERVAL.total_seconds()
    quality = IntervalQuality(observed_s, coverage, int(observed_s * 5), 5.0, 0, False)
    return IntervalCount(start, start + INTERVAL, lines, (), quality)


def counts_payload(
    device_id: str,
    seq: int,
    *,
    payload_format: PayloadFormat = PayloadFormat.NATIVE,
    coverage: float = 1.0,
    backfill: bool = False,
) -> bytes:
    """The body the device would publish for interval `seq`."""
    renderer = PayloadRenderer(device_id, site_of(device_id), format=payload_format)
    return renderer.render(seq, interval_of(device_id, seq, coverage=coverage), backfill=backfill)


def topics_of(device_id: str) -> Topics:
    return Topics(PREFIX, site_of(device_id), device_id)


class FleetPublisher:
    """Publishes QoS 1 messages and can wait until the broker acknowledged all of them.

    Acks are tracked by mid through `on_publish`: a publish made while the broker is down gets a
    mid and goes out after the reconnect (paho's `wait_for_publish` would raise for it instead).
    """

    def __init__(self, port: int, *, client_id: str = "fleet-simulator") -> None:
        self._client = paho.Client(
            callback_api_version=CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv5
        )
        self._client.max_inflight_messages_set(1000)
        self._client.max_queued_messages_set(0)
        self._client.reconnect_delay_set(1, 1)
        self.connected = threading.Event()
        self._acked: set[int] = set()
        self._pending: list[int] = []
        self._condition = threading.Condition()
        self._client.on_connect = lambda client, userdata, flags, reason, properties: self.connected.set()
        self._client.on_disconnect = lambda *args: self.connected.clear()
        self._client.on_publish = self._on_publish
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = 3600
        self._client.connect_async("127.0.0.1", port, keepalive=5, clean_start=False, properties=properties)
        self._client.loop_start()
        if not self.connected.wait(10):
            raise AssertionError("the fleet simulator could not connect to the broker")

    def _on_publish(
        self, client: paho.Client, userdata: object, mid: int, reason: object, properties: object
    ) -> None:
        with self._condition:
            self._acked.add(mid)
            self._condition.notify_all()

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        info = self._client.publish(topic, payload, qos=1, retain=retain)
        with self._condition:
            self._pending.append(info.mid)

    def publish_counts(self, device_id: str, seq: int, **options: object) -> None:
        self.publish(topics_of(device_id).counts, counts_payload(device_id, seq, **options))  # type: ignore[arg-type]

    def flush(self, timeout_s: float = 60.0) -> None:
        """Wait until every message published so far is acknowledged by the broker."""
        with self._condition:
            done = self._condition.wait_for(lambda: self._acked.issuperset(self._pending), timeout_s)
            missing = len(set(self._pending) - self._acked)
            self._acked.difference_update(self._pending)
            self._pending.clear()
        if not done:
            raise AssertionError(f"{missing} message(s) not acknowledged within {timeout_s} s")

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()
