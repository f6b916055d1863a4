"""Delivery: every closed interval reaches the city servers exactly once after de-duplication.

Owns the durable SQLite outbox (`outbox`, `sqlite_file`), the message bodies (`payloads`: native
`footfall-edge/counts/v1` with its JSON Schema in `schemas/`; `ngsi`: FIWARE `CrowdFlowObserved`
NGSI-LD), the MQTT connection (`mqtt`, paho-mqtt 2.x) and the drain loop between them
(`delivery`, `inflight`). sqlite3 and paho are used nowhere else in the project.

    IntervalCount -> Delivery.submit -> outbox row (committed) -> MQTT QoS 1 -> PUBACK -> delivered

deliver/ must NOT: read settings (the composition root passes plain arguments), import other
pipeline stages, block the counting loop on the network (`submit` only commits locally), mark a
row delivered before the broker's PUBACK, drop an undelivered row without an ERROR log and a
counter, delete an unreadable database, log secrets, or publish track ids, positions or images.
"""

from __future__ import annotations

from edge.deliver.codec import interval_from_json, interval_to_json
from edge.deliver.delivery import Delivery, Publisher
from edge.deliver.mqtt import (
    STATUS_OFFLINE,
    STATUS_ONLINE,
    STATUS_STOPPED,
    Ack,
    MqttOptions,
    MqttProtocol,
    MqttPublisher,
    TlsFiles,
    Topics,
)
from edge.deliver.outbox import SqliteOutbox, default_outbox_path
from edge.deliver.outbox_rows import OutboxRow
from edge.deliver.payloads import (
    COUNTS_SCHEMA,
    HEALTH_SCHEMA,
    VALIDATION_SCHEMA,
    PayloadFormat,
    PayloadRenderer,
    is_backfill,
    payload_schema,
    render_health,
    suppress,
)
from edge.deliver.status import (
    ConnectionState,
    ConnectionStatus,
    DeliveryStatus,
    OutboxStats,
    PipelineHealth,
)

__all__ = [
    "COUNTS_SCHEMA",
    "HEALTH_SCHEMA",
    "STATUS_OFFLINE",
    "STATUS_ONLINE",
    "STATUS_STOPPED",
    "VALIDATION_SCHEMA",
    "Ack",
    "ConnectionState",
    "ConnectionStatus",
    "Delivery",
    "DeliveryStatus",
    "MqttOptions",
    "MqttProtocol",
    "MqttPublisher",
    "OutboxRow",
    "OutboxStats",
    "PayloadFormat",
    "PayloadRenderer",
    "PipelineHealth",
    "Publisher",
    "SqliteOutbox",
    "TlsFiles",
    "Topics",
    "default_outbox_path",
    "interval_from_json",
    "interval_to_json",
    "is_backfill",
    "payload_schema",
    "render_health",
    "suppress",
]
