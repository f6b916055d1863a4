"""Building a Delivery against a test broker, and waiting for conditions."""

from __future__ import annotations

import time
from collections.abc import Callable

from edge.deliver import (
    Delivery,
    MqttOptions,
    MqttProtocol,
    MqttPublisher,
    PayloadRenderer,
    PipelineHealth,
    SqliteOutbox,
    TlsFiles,
    Topics,
)
from tests.unit.deliver.deliver_samples import sample_interval

DEVICE = "cam-1"
SITE = "main-street"


def make_delivery(
    outbox: SqliteOutbox,
    port: int,
    *,
    protocol: MqttProtocol = MqttProtocol.V5,
    window: int = 4,
    username: str | None = None,
    password: str | None = None,
    tls: TlsFiles | None = None,
    health: Callable[[], PipelineHealth] | None = None,
    health_interval_s: float = 60.0,
) -> Delivery:
    """A Delivery with a short keepalive and a 1 s reconnect delay, so tests do not wait long."""
    options = MqttOptions(
        "127.0.0.1",
        port,
        Topics("footfall", SITE, DEVICE),
        protocol=protocol,
        username=username,
        tls=tls,
        keepalive_s=2,
        reconnect_min_delay_s=1,
        reconnect_max_delay_s=1,
    )
    publisher = MqttPublisher(options, password=password)
    return Delivery(
        outbox,
        publisher,
        PayloadRenderer(DEVICE, SITE),
        window=window,
        health=health,
        health_interval_s=health_interval_s,
    )


def eventually(condition: Callable[[], bool], timeout_s: float = 10.0) -> bool:
    """Poll `condition` until it holds; False on timeout."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def backlog(delivery: Delivery) -> int:
    outbox = delivery.status().outbox
    assert outbox is not None, "outbox statistics unavailable"
    return outbox.backlog_rows


def submit_all(delivery: Delivery, indices: range) -> list[int]:
    """Submit the sample intervals with these indices; every one must be committed."""
    seqs = [delivery.submit(sample_interval(index)) for index in indices]
    assert None not in seqs, "an interval was not committed to the outbox"
    return [seq for seq in seqs if seq is not None]
