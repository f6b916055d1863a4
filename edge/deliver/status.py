"""What delivery reports about itself: outbox figures, connection state, pipeline health input.

These records leave `deliver/` (to the health topic, the service and later the local API), so they
are plain frozen values; nothing here touches SQLite or the network.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class OutboxStats:
    """A snapshot of the outbox.

    Attributes:
        backlog_rows: rows committed and not yet acknowledged by the broker.
        oldest_undelivered_age_s: seconds since the oldest undelivered row was committed; None
            when nothing is waiting.
        dropped_undelivered: undelivered rows deleted because the outbox was full (persisted).
        write_errors: intervals the disk refused to commit (full, read-only), ever (persisted);
            each was held in memory instead, lost only if also counted in `dropped_undelivered`.
        last_seq: sequence number of the newest row ever committed or held; None for a new outbox.
        total_rows: rows stored or held, delivered or not.
        unwritten_rows: closed intervals held in memory until the disk takes writes.
        quarantined_rows: rows that failed their checksum (changed on disk), never published.
        salvaged_rows: undelivered rows recovered from damaged outbox files (ever).
        unsalvaged_rows: sequence numbers in damaged outbox files that could not be read (ever).
    """

    backlog_rows: int
    oldest_undelivered_age_s: float | None
    dropped_undelivered: int
    write_errors: int
    last_seq: int | None
    total_rows: int
    unwritten_rows: int = 0
    quarantined_rows: int = 0
    salvaged_rows: int = 0
    unsalvaged_rows: int = 0


class ConnectionState(StrEnum):
    """Where the MQTT connection stands, as the health summary and the service show it."""

    CONNECTING = "connecting"
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    UNREACHABLE = "unreachable"
    NOT_AUTHORISED = "not authorised"
    REFUSED = "refused"
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class ConnectionStatus:
    """The connection state and, for refusals, the broker's reason (e.g. "Not authorized")."""

    state: ConnectionState
    detail: str = ""


@dataclass(frozen=True, slots=True)
class DeliveryStatus:
    """Everything delivery can say about itself at one moment.

    Attributes:
        connection: state of the broker connection.
        outbox: outbox figures; None if the outbox could not be read.
        in_flight: counts messages published and waiting for their PUBACK.
        delivered: rows acknowledged since start.
        rejected: PUBACKs with an MQTT 5 failure reason since start (rows stay queued).
    """

    connection: ConnectionStatus
    outbox: OutboxStats | None
    in_flight: int
    delivered: int
    rejected: int


@dataclass(frozen=True, slots=True)
class PipelineHealth:
    """What the counting side reports for the retained health message; None where unknown.

    Attributes:
        fps: frames processed per second lately.
        coverage: share 0-1 of the last closed interval the camera actually observed.
        temperature_c: SoC temperature in degrees Celsius, where the board exposes it.
        throttled: Raspberry Pi throttling or under-voltage now, where known.
        disk_free_bytes: free space for the outbox (the SD card), where known.
        camera_state: "starting", "ok", "stalled" or "failed".
    """

    fps: float | None = None
    coverage: float | None = None
    temperature_c: float | None = None
    throttled: bool | None = None
    disk_free_bytes: int | None = None
    camera_state: str | None = None
