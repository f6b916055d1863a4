"""The drain loop: outbox rows -> MQTT, marked delivered only on the broker's PUBACK.

`Delivery.submit` is what the counting loop calls when an interval closes: it commits the row to
the outbox (local, durable, milliseconds) and wakes the drain thread; it never waits for the
network. The drain thread publishes undelivered rows oldest first through a bounded in-flight
window, records acks in the outbox, refreshes the retained health message and prunes old rows.
After a reconnect it re-publishes from the outbox whatever was not acknowledged (consumers
de-duplicate by message id), so sequence numbers arrive in order.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

from edge.deliver.evidence import EvidenceFeed, EvidenceStore
from edge.deliver.inflight import InFlightWindow
from edge.deliver.mqtt import Ack
from edge.deliver.outbox import SqliteOutbox
from edge.deliver.payloads import PayloadRenderer, is_backfill, render_health
from edge.deliver.status import ConnectionState, ConnectionStatus, DeliveryStatus, PipelineHealth
from edge.errors import OutboxError
from edge.records import IntervalCount

logger = logging.getLogger(__name__)

# Longest sleep of the drain thread without a wake-up (timers are checked at least this often).
POLL_S = 1.0


class Publisher(Protocol):
    """What the drain loop needs from a broker connection (`MqttPublisher`)."""

    @property
    def generation(self) -> int: ...

    def status(self) -> ConnectionStatus: ...

    def start(self, wake: Callable[[], None]) -> None: ...

    def publish_counts(self, payload: bytes, *, generation: int) -> int | None: ...

    def publish_health(self, payload: bytes) -> None: ...

    def refresh_status(self) -> None: ...

    def publish_validation(self, payload: bytes, generation: int) -> int | None: ...

    def take_acks(self) -> list[Ack]: ...

    def stop(self, timeout_s: float) -> None: ...


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Delivery:
    """Owns the drain thread between a `SqliteOutbox` and a `Publisher`.

    Example:
        >>> delivery = Delivery(outbox, MqttPublisher(options), PayloadRenderer("cam-1", "main-st"))
        >>> delivery.start()  # doctest: +SKIP
        >>> delivery.submit(interval)  # from the counting loop; returns the sequence number
        >>> delivery.stop(timeout_s=5.0)  # flush, publish `stopped`, disconnect
    """

    def __init__(
        self,
        outbox: SqliteOutbox,
        publisher: Publisher,
        renderer: PayloadRenderer,
        *,
        window: int = 20,
        health: Callable[[], PipelineHealth] | None = None,
        evidence: EvidenceStore | None = None,
        health_interval_s: float = 60.0,
        prune_interval_s: float = 3600.0,
        retry_interval_s: float = 5.0,
        wall_clock: Callable[[], datetime] = _utc_now,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """Wire, do not start.

        Args:
            outbox: where submitted intervals are committed; the caller closes it after `stop`.
            publisher: the broker connection; started and stopped by this object.
            renderer: message bodies; its device_id must be the outbox's.
            window: most counts messages in flight (published, not yet acknowledged).
            health: returns the pipeline's figures for the retained health message.
            evidence: the validation store whose records are published on their own topic.
            health_interval_s: seconds between health refreshes (also sent on every connect).
            prune_interval_s: seconds between prunes of old delivered rows.
            retry_interval_s: pause after an outbox failure or a rejected publish.
            wall_clock: UTC now (backfill flags, health time).
            monotonic: clock for timers, in seconds.
        """
        if renderer.device_id != outbox.device_id:
            raise ValueError(
                f"renderer device_id {renderer.device_id!r} differs from the outbox's {outbox.device_id!r}"
            )
        for name, value in (
            ("health_interval_s", health_interval_s),
            ("prune_interval_s", prune_interval_s),
            ("retry_interval_s", retry_interval_s),
        ):
            if value <= 0:
                raise ValueError(f"{name} must be > 0, got {value}")
        self._outbox = outbox
        self._publisher = publisher
        self._renderer = renderer
        self._window = InFlightWindow(window)
        self._health = health
        self._evidence = None if evidence is None else EvidenceFeed(evidence)
        self._health_interval_s = health_interval_s
        self._prune_interval_s = prune_interval_s
        self._retry_interval_s = retry_interval_s
        self._wall_clock = wall_clock
        self._monotonic = monotonic
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        # Drain-thread state.
        self._generation = 0
        self._acked: set[int] = set()
        self._delivered = 0
        self._rejected = 0
        self._next_health_s = 0.0
        self._next_prune_s = 0.0
        self._paused_until_s = 0.0
        self._flush_deadline_s = 0.0
        self._last_error: str | None = None
        self._problem: str | None = None
        self._rejecting = False

    def start(self) -> None:
        """Start the publisher's connection and the drain thread."""
        if self._thread is not None:
            raise RuntimeError("Delivery already started")
        self._publisher.start(self._wake.set)
        self._thread = threading.Thread(target=self._run, name="footfall-delivery", daemon=True)
        self._thread.start()

    def submit(self, interval: IntervalCount) -> int | None:
        """Commit a closed interval to the outbox and wake the drain thread; never touches the network.

        Returns the sequence number, or None if the interval could not be committed: the outbox
        failed (counted in its `write_errors`) or the record is malformed (naive time, NaN). Either
        is logged as an ERROR; the caller simply goes on counting.
        """
        try:
            seq = self._outbox.enqueue(interval)
        except OutboxError as exc:
            logger.error("interval not queued for delivery: %s", exc)
            return None
        except ValueError as exc:  # a malformed record (naive time, NaN) must not stop counting
            logger.error("interval %s/%s not queued for delivery: %s", interval.start, interval.end, exc)
            return None
        self._wake.set()
        return seq

    def notify_evidence(self) -> None:
        """A validation was stored: publish it now rather than on the next poll."""
        self._wake.set()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Flush what can be flushed, publish retained `stopped`, disconnect; within about `timeout_s`."""
        if self._thread is None:
            return
        started_s = self._monotonic()
        status_reserve_s = min(1.0, timeout_s / 2)
        self._flush_deadline_s = started_s + max(0.0, timeout_s - status_reserve_s)
        self._stopping.set()
        self._wake.set()
        self._thread.join(timeout_s + POLL_S)
        if self._thread.is_alive():
            logger.warning("the delivery thread did not finish within %.1f s", timeout_s)
        self._publisher.stop(max(status_reserve_s, timeout_s - (self._monotonic() - started_s)))
        self._thread = None

    def status(self) -> DeliveryStatus:
        """Connection state, outbox figures and counters; safe from any thread."""
        try:
            outbox = self._outbox.stats()
        except OutboxError:
            outbox = None
        return DeliveryStatus(
            connection=self._publisher.status(),
            outbox=outbox,
            in_flight=len(self._window),
            delivered=self._delivered,
            rejected=self._rejected,
        )

    # -- drain thread --------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            self._wake.wait(self._wait_s())
            self._wake.clear()
            self._guarded_step()
            if self._stopping.is_set() and self._flushed():
                return

    def _wait_s(self) -> float:
        now_s = self._monotonic()
        timers = (self._next_health_s, self._next_prune_s, self._paused_until_s)
        return max(0.0, min([POLL_S, *(timer - now_s for timer in timers if timer > now_s)]))

    def _guarded_step(self) -> None:
        self._problem = None
        try:
            self._step()
        except OutboxError as exc:
            self._pause(f"outbox failure: {exc}")
        except Exception:  # supervisor: a bug must not end delivery; rows stay queued, retry later
            if self._last_error != "unexpected":
                logger.exception("delivery step failed; retrying in %.0f s", self._retry_interval_s)
            self._pause("unexpected", log=False)
        self._last_error = self._problem

    def _pause(self, problem: str, *, log: bool = True) -> None:
        """Hold publishing for `retry_interval_s`; log once while the same problem persists."""
        if log and problem != self._last_error:
            logger.error("%s; retrying in %.0f s", problem, self._retry_interval_s)
        self._problem = problem
        self._paused_until_s = self._monotonic() + self._retry_interval_s

    def _step(self) -> None:
        now_s = self._monotonic()
        self._outbox.retry_writes()  # intervals held in memory while the disk was full
        self._record_acks()
        generation = self._publisher.generation
        if generation != self._generation:
            self._window.forget_older_than(generation)
            self._generation = generation
            self._next_health_s = now_s
        connected = self._publisher.status().state is ConnectionState.CONNECTED
        if connected and now_s >= self._paused_until_s:
            self._publish_pending(generation)
            if self._evidence is not None:
                self._evidence.publish_pending(self._publisher.publish_validation, generation)
        if now_s >= self._next_prune_s:
            self._next_prune_s = now_s + self._prune_interval_s
            pruned = self._outbox.prune()
            if pruned:
                logger.info("pruned %d delivered row(s) from the outbox", pruned)
        if connected:
            self._publisher.refresh_status()
        if connected and now_s >= self._next_health_s:
            self._next_health_s = now_s + self._health_interval_s
            self._publish_health()

    def _record_acks(self) -> None:
        for ack in self._publisher.take_acks():
            if self._evidence is not None and self._evidence.settle(ack):
                continue
            seq = self._window.settle(ack)
            if seq is None:
                continue
            if ack.ok:
                self._acked.add(seq)
                self._rejecting = False
                continue
            self._rejected += 1
            if not self._rejecting:
                logger.error(
                    "the broker rejected counts message seq %d (%s); rows stay queued, retrying every %.0f s",
                    seq,
                    ack.reason,
                    self._retry_interval_s,
                )
            self._rejecting = True
            self._paused_until_s = self._monotonic() + self._retry_interval_s
        if self._acked:
            # Kept in memory until recorded, so a failing disk does not make us re-publish them.
            self._outbox.mark_delivered_many(sorted(self._acked))
            self._delivered += len(self._acked)
            self._acked.clear()

    def _publish_pending(self, generation: int) -> None:
        if self._window.free == 0:
            return
        rows = self._outbox.pending(len(self._window) + len(self._acked) + self._window.free)
        now = self._wall_clock()
        for row in rows:
            if self._window.free == 0:
                return
            if self._window.holds(row.seq) or row.seq in self._acked:
                continue
            body = self._renderer.render(row.seq, row.interval, backfill=is_backfill(row.interval, now))
            mid = self._publisher.publish_counts(body, generation=generation)
            if mid is None:
                return
            self._window.add(mid, row.seq, generation)

    def _publish_health(self) -> None:
        try:
            outbox = self._outbox.stats()
        except OutboxError:
            outbox = None
        pipeline = None
        if self._health is not None:
            try:
                pipeline = self._health()
            except Exception:  # the callback is the service's; its failure must not stop delivery
                logger.exception("the health callback failed; publishing health without pipeline figures")
        renderer = self._renderer
        self._publisher.publish_health(
            render_health(renderer.device_id, renderer.site_id, self._wall_clock(), pipeline, outbox)
        )

    def _flushed(self) -> bool:
        """Stop draining: deadline passed, nothing can be sent, or nothing is left."""
        if self._monotonic() >= self._flush_deadline_s:
            return True
        if self._publisher.status().state is not ConnectionState.CONNECTED:
            return True
        if len(self._window) or self._acked:
            return False
        try:
            return not self._outbox.pending(1)
        except OutboxError:
            return True
