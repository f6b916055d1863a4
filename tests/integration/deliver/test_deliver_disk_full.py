"""The outbox on a real full file system (a 1 MiB tmpfs), filled then freed.

While the disk is full every closed interval still gets its sequence number, waits in memory and
is published if the broker is up; it is written as soon as space comes back. Write errors survive
a restart, a restart on the full disk works, the WAL stays bounded, and an interval lost while the
disk was full (stop before space came back) leaves a gap in the sequence numbers, never a reuse.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.deliver import SqliteOutbox
from edge.deliver.sqlite_file import JOURNAL_SIZE_LIMIT_BYTES
from tests.integration.deliver.helpers import DEVICE, backlog, eventually, make_delivery, submit_all
from tests.integration.deliver.mosquitto import MosquittoBroker
from tests.integration.deliver.subscriber import RecordingSubscriber
from tests.integration.deliver.volume import fill, free_bytes, small_volume
from tests.unit.deliver.deliver_samples import sample_interval

VOLUME_BYTES = 1024 * 1024


@pytest.fixture
def volume(tmp_path: Path) -> Iterator[Path]:
    with small_volume(tmp_path / "volume", VOLUME_BYTES) as mounted:
        yield mounted


def test_intervals_closed_on_a_full_disk_are_published_then_written_and_never_renumbered(
    volume: Path, broker: MosquittoBroker, caplog: pytest.LogCaptureFixture
) -> None:
    path = volume / "outbox.sqlite3"
    subscriber = RecordingSubscriber(broker.port).start()
    outbox = SqliteOutbox(path, device_id=DEVICE)
    delivery = make_delivery(outbox, broker.port, health_interval_s=0.5)
    delivery.start()
    try:
        before = submit_all(delivery, range(5))
        assert subscriber.wait_for(lambda sub: len(sub.seqs) == 5)
        filler = fill(volume)
        assert free_bytes(volume) == 0
        with caplog.at_level(logging.WARNING):
            during = submit_all(delivery, range(5, 25))  # every one gets a number: none is lost
        assert during == list(range(before[-1] + 1, before[-1] + 21))
        held = outbox.stats()
        assert held.write_errors > 0
        assert held.unwritten_rows > 0
        assert "holding closed intervals in memory" in caplog.text
        # Published from memory while the disk is still full, each once, in order.
        assert subscriber.wait_for(lambda sub: len(sub.seqs) == 25), subscriber.seqs
        assert subscriber.seqs == before + during
        assert eventually(lambda: backlog(delivery) == 0)
        # The retained health message says so, while the disk is still full.
        assert subscriber.wait_for(
            lambda sub: any(h["outbox_write_errors"] == held.write_errors and h["outbox_unwritten_rows"]
                            for h in sub.health)
        ), subscriber.health[-1:]  # fmt: skip
    finally:
        delivery.stop(timeout_s=2.0)
        subscriber.stop()
    outbox.close()  # a clean stop on the full disk: acknowledged held rows are not a loss

    # A restart while the disk is still full works and remembers the write errors.
    with SqliteOutbox(path, device_id=DEVICE) as reopened:
        stats = reopened.stats()
        assert stats.write_errors == held.write_errors
        assert stats.dropped_undelivered == 0
        assert stats.last_seq is not None
        assert stats.last_seq >= during[-1]

    filler.unlink()
    with SqliteOutbox(path, device_id=DEVICE) as reopened:
        after = [reopened.enqueue(sample_interval(index)) for index in range(25, 125)]
        assert after[0] == during[-1] + 1  # above every number handed out while the disk was full
        assert reopened.stats().write_errors == held.write_errors
        wal = path.with_name(path.name + "-wal")
        assert wal.stat().st_size <= JOURNAL_SIZE_LIMIT_BYTES + 16 * 4096  # bounded, not 24 kB a row
    assert not wal.exists() or wal.stat().st_size == 0  # truncated at a clean stop


def test_intervals_lost_on_a_full_disk_leave_a_gap_in_the_sequence(
    volume: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = volume / "outbox.sqlite3"
    outbox = SqliteOutbox(path, device_id=DEVICE)
    first = outbox.enqueue(sample_interval(0))
    filler = fill(volume)
    held = [outbox.enqueue(sample_interval(index)) for index in range(1, 4)]
    assert held == [first + 1, first + 2, first + 3]
    with caplog.at_level(logging.ERROR):
        outbox.close()  # no broker took them and the disk is still full: they are lost
    assert "are lost" in caplog.text
    filler.unlink()
    with SqliteOutbox(path, device_id=DEVICE) as reopened:
        stats = reopened.stats()
        assert stats.dropped_undelivered == len(held)  # counted, persisted without the database
        assert stats.write_errors == len(held)
        assert [row.seq for row in reopened.pending(10)] == [first]
        assert reopened.enqueue(sample_interval(4)) == held[-1] + 1  # the gap shows the loss
