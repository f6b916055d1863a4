"""Real damaged SQLite files: a corrupt outbox's readable undelivered rows are salvaged and sent,
what could not be read is reported; a row changed on disk (one digit) is never published."""

from __future__ import annotations

import json
import logging
import re
import sqlite3
from contextlib import closing
from itertools import pairwise
from pathlib import Path

import pytest

from edge.deliver import SqliteOutbox
from tests.integration.deliver.helpers import DEVICE, backlog, eventually, make_delivery
from tests.integration.deliver.mosquitto import MosquittoBroker
from tests.integration.deliver.subscriber import RecordingSubscriber
from tests.unit.deliver.deliver_samples import sample_interval

ROWS = 200
DELIVERED = 50


def fill_outbox(path: Path) -> list[int]:
    """ROWS intervals committed, the first DELIVERED of them acknowledged; returns every seq."""
    with SqliteOutbox(path, device_id=DEVICE) as outbox:
        seqs = [outbox.enqueue(sample_interval(index)) for index in range(ROWS)]
        outbox.mark_delivered_many(seqs[:DELIVERED])
    return seqs


def damage_page_holding(path: Path, text: bytes) -> None:
    """Break the cell pointers of the page that stores `text`: that page's rows become unreadable."""
    data = bytearray(path.read_bytes())
    page_size = int.from_bytes(data[16:18], "big")
    offset = data.find(text)
    assert offset > 0, f"{text!r} is not in {path}"
    page_start = offset // page_size * page_size
    data[page_start + 8 : page_start + 40] = b"\x00\xff" * 16
    path.write_bytes(bytes(data))


def test_a_corrupt_outbox_is_salvaged_and_its_undelivered_rows_are_sent(
    tmp_path: Path, broker: MosquittoBroker, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "outbox.sqlite3"
    seqs = fill_outbox(path)
    damage_page_holding(path, b"2026-01-05T09:40:00Z")  # interval 100 and its neighbours on that page
    subscriber = RecordingSubscriber(broker.port).start()
    with caplog.at_level(logging.WARNING):
        outbox = SqliteOutbox(path, device_id=DEVICE)
    delivery = make_delivery(outbox, broker.port, window=20)
    delivery.start()
    try:
        stats = outbox.stats()
        undelivered = seqs[DELIVERED:]
        assert stats.salvaged_rows > len(undelivered) // 2  # most of them, not only those before the page
        assert stats.salvaged_rows + stats.unsalvaged_rows == len(undelivered)
        assert stats.unsalvaged_rows > 0
        assert re.search(
            rf"salvaged {stats.salvaged_rows} undelivered row\(s\) from the damaged outbox", caplog.text
        )
        assert f"{stats.unsalvaged_rows} sequence number(s) in it could not be read" in caplog.text
        new = delivery.submit(sample_interval(ROWS))
        assert new is not None
        assert new > seqs[-1]
        assert subscriber.wait_for(lambda sub: len(sub.seqs) == stats.salvaged_rows + 1, timeout_s=30.0)
        assert eventually(lambda: backlog(delivery) == 0)
        assert set(subscriber.seqs) <= set(undelivered) | {new}
        assert subscriber.duplicates == 0
        by_seq = {document["seq"]: document for document in subscriber.counts}
        for index, seq in enumerate(seqs):
            if seq in by_seq:  # each salvaged row arrives with the counts it was stored with
                assert by_seq[seq]["lines"][0]["in"] == sample_interval(index).lines[0].in_count
    finally:
        delivery.stop(timeout_s=2.0)
        subscriber.stop()
        outbox.close()
    assert len(list(tmp_path.glob("outbox.sqlite3.corrupt-*"))) == 1  # the damaged file is kept


def test_a_second_corruption_keeps_the_totals_of_the_first(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "outbox.sqlite3"
    fill_outbox(path)
    damage_page_holding(path, b"2026-01-05T09:40:00Z")
    with SqliteOutbox(path, device_id=DEVICE) as outbox:
        first = outbox.stats()
        for index in range(ROWS, ROWS + 40):
            outbox.enqueue(sample_interval(index))
    assert first.unsalvaged_rows > 0
    damage_page_holding(path, b"2026-01-05T11:35:00Z")  # a page of the rows added since
    caplog.clear()
    with caplog.at_level(logging.WARNING), SqliteOutbox(path, device_id=DEVICE) as outbox:
        second = outbox.stats()
    found = re.search(r"salvaged (\d+) undelivered row\(s\).*; (\d+) sequence number", caplog.text)
    assert found is not None, caplog.text
    salvaged_now, unsaved_now = int(found.group(1)), int(found.group(2))
    # What was lost before is still counted: totals are never forgotten with a replaced file.
    assert second.unsalvaged_rows == first.unsalvaged_rows + unsaved_now
    assert second.salvaged_rows == first.salvaged_rows + salvaged_now
    # The first file's unreadable numbers are carried on, not counted again in the second file.
    with closing(sqlite3.connect(path)) as conn:
        ranges = sorted(conn.execute("SELECT first, last FROM lost_seqs").fetchall())
    assert sum(last - first + 1 for first, last in ranges) == second.unsalvaged_rows
    assert all(earlier[1] < later[0] for earlier, later in pairwise(ranges))


def test_a_row_changed_on_disk_is_quarantined_never_published(
    tmp_path: Path, broker: MosquittoBroker, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "outbox.sqlite3"
    with SqliteOutbox(path, device_id=DEVICE) as outbox:
        seqs = [outbox.enqueue(sample_interval(index, in_count=0)) for index in range(3)]
    # One digit on disk: the middle interval's first line count 0 -> 7 (the review's case).
    body = sample_interval(1, in_count=0)
    with closing(sqlite3.connect(path)) as conn:
        stored = conn.execute("SELECT body FROM outbox WHERE seq = ?", (seqs[1],)).fetchone()[0]
    assert json.loads(stored)["lines"][0] == ["entrance", 0, body.lines[0].out_count]
    changed = stored.replace('[["entrance",0,', '[["entrance",7,', 1)
    data = path.read_bytes()
    assert data.count(stored.encode()) == 1
    path.write_bytes(data.replace(stored.encode(), changed.encode()))

    subscriber = RecordingSubscriber(broker.port).start()
    outbox = SqliteOutbox(path, device_id=DEVICE)
    delivery = make_delivery(outbox, broker.port)
    delivery.start()
    try:
        with caplog.at_level(logging.ERROR):
            assert subscriber.wait_for(lambda sub: len(sub.seqs) == 2)
            assert eventually(lambda: backlog(delivery) == 0)
        assert subscriber.seqs == [seqs[0], seqs[2]]
        assert all(document["lines"][0]["in"] == 0 for document in subscriber.counts)
        assert outbox.stats().quarantined_rows == 1
        assert f"row seq {seqs[1]} is not published because its checksum does not match" in caplog.text
    finally:
        delivery.stop(timeout_s=2.0)
        subscriber.stop()
        outbox.close()
    with closing(sqlite3.connect(path)) as conn:
        kept = conn.execute("SELECT seq, body FROM quarantine").fetchall()
    assert kept == [(seqs[1], changed)]  # kept for inspection
