"""SqliteOutbox.history: what the health page's chart reads, delivered or not, across a reopen."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from tests.unit.deliver.deliver_samples import BASE, sample_interval
from tests.unit.deliver.test_deliver_outbox import open_outbox


def test_history_holds_delivered_and_pending_intervals_after_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite3"
    with open_outbox(path) as outbox:
        seqs = [outbox.enqueue(sample_interval(index)) for index in range(10)]
        outbox.mark_delivered_many(seqs[:6])
    with open_outbox(path) as reopened:
        history = reopened.history(BASE, limit=100)
    assert [interval.start for interval in history] == [sample_interval(n).start for n in range(10)]
    assert history[3] == sample_interval(3)


def test_history_starts_at_since_and_keeps_the_newest_within_the_limit(tmp_path: Path) -> None:
    with open_outbox(tmp_path / "outbox.sqlite3") as outbox:
        for index in range(10):
            outbox.enqueue(sample_interval(index))
        since = BASE + timedelta(minutes=4, seconds=30)  # interval 4 ends after it, 3 does not
        assert [i.start for i in outbox.history(since, limit=100)] == [
            sample_interval(n).start for n in range(4, 10)
        ]
        assert [i.start for i in outbox.history(BASE, limit=3)] == [
            sample_interval(n).start for n in range(7, 10)
        ]
