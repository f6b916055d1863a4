"""Invariant (Hypothesis): any mix of enqueue, publish, ack, rejection, duplicate ack, reconnect and
restart marks every row delivered exactly once, only after the broker took it, and never hands out
a delivered row again.

Drives the real SqliteOutbox and InFlightWindow the way `Delivery` does; the broker is modelled as
the list of messages in transit, which a reconnect loses (paho's queue is memory-only) and a
restart loses together with the window.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from edge.deliver import Ack, SqliteOutbox
from edge.deliver.inflight import InFlightWindow
from tests.unit.deliver.deliver_samples import sample_interval

WINDOW = 3
operations = st.lists(
    st.one_of(
        st.just(("enqueue", 0)),
        st.just(("publish", 0)),
        st.tuples(st.just("ack"), st.integers(0, 10)),
        st.tuples(st.just("reject"), st.integers(0, 10)),
        st.tuples(st.just("duplicate_ack"), st.integers(0, 10)),
        st.just(("reconnect", 0)),
        st.just(("restart", 0)),
    ),
    max_size=40,
)


@dataclass
class Device:
    """One delivering process: outbox, in-flight window, connection generation, next message id."""

    path: Path
    outbox: SqliteOutbox = field(init=False)
    window: InFlightWindow = field(init=False)
    generation: int = 1
    next_mid: int = 1
    in_transit: list[tuple[int, int, int]] = field(default_factory=list)
    received: set[int] = field(default_factory=set)
    old_acks: list[Ack] = field(default_factory=list)
    delivered: Counter[int] = field(default_factory=Counter)
    enqueued: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.boot()

    def boot(self) -> None:
        self.outbox = SqliteOutbox(self.path, device_id="cam-1")
        self.window = InFlightWindow(WINDOW)
        # A new process: paho numbers messages from 1 again; acks of the old connection never arrive.
        self.generation, self.next_mid, self.in_transit, self.old_acks = 1, 1, [], []

    def publish(self) -> None:
        for row in self.outbox.pending(WINDOW * 2):
            assert self.delivered[row.seq] == 0, "a delivered row was handed out again"
            if self.window.free == 0:
                return
            if not self.window.holds(row.seq):
                self.window.add(self.next_mid, row.seq, self.generation)
                self.in_transit.append((self.next_mid, self.generation, row.seq))
                self.next_mid += 1

    def answer(self, index: int, *, ok: bool) -> None:
        if not self.in_transit:
            return
        mid, generation, seq = self.in_transit.pop(index % len(self.in_transit))
        if ok:
            self.received.add(seq)  # the broker took it (and passed it on) before answering
        ack = Ack(mid, generation, ok, "Success" if ok else "Quota exceeded")
        self.old_acks.append(ack)
        self.settle(ack)

    def settle(self, ack: Ack) -> None:
        seq = self.window.settle(ack)
        if seq is not None and ack.ok and self.outbox.mark_delivered(seq):
            self.delivered[seq] += 1

    def reconnect(self) -> None:
        self.generation += 1
        self.in_transit = []  # dropped by paho on connect; re-published from the outbox
        self.window.forget_older_than(self.generation)

    def restart(self) -> None:
        self.outbox.close()  # SIGKILL loses only memory: the window and what was in transit
        self.boot()

    def drain(self) -> None:
        for _ in range(len(self.enqueued) + 5):
            self.reconnect()
            self.publish()
            while self.in_transit:
                self.answer(0, ok=True)
            if not self.outbox.pending(1):
                return


@settings(max_examples=60, deadline=None)
@given(steps=operations)
def test_every_row_is_delivered_exactly_once(steps: list[tuple[str, int]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        device = Device(Path(folder) / "outbox.sqlite3")
        for name, argument in steps:
            if name == "enqueue":
                device.enqueued.append(device.outbox.enqueue(sample_interval(len(device.enqueued))))
            elif name == "publish":
                device.publish()
            elif name in ("ack", "reject"):
                device.answer(argument, ok=name == "ack")
            elif name == "duplicate_ack" and device.old_acks:
                device.settle(device.old_acks[argument % len(device.old_acks)])
            elif name == "reconnect":
                device.reconnect()
            elif name == "restart":
                device.restart()
            pending = [row.seq for row in device.outbox.pending(1000)]
            assert pending == sorted(pending)
        device.drain()
        assert device.enqueued == sorted(set(device.enqueued))
        assert sorted(device.delivered) == device.enqueued
        assert set(device.delivered) <= device.received, "marked delivered without the broker's PUBACK"
        assert set(device.delivered.values()) <= {1}
        device.outbox.close()
