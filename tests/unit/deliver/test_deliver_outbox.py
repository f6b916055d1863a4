"""SqliteOutbox: sequence numbers, acks, restart, prune, size cap, corrupt and unwritable files, disk full."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from edge.deliver import (
    Delivery,
    MqttOptions,
    MqttPublisher,
    PayloadRenderer,
    SqliteOutbox,
    Topics,
    default_outbox_path,
    interval_from_json,
    interval_to_json,
)
from edge.errors import OutboxError
from edge.records import IntervalCount, IntervalQuality, LineId, LineInterval
from tests.unit.deliver.deliver_samples import sample_interval

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class Clock:
    """A settable UTC wall clock."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def open_outbox(
    path: Path, clock: Clock | None = None, *, max_rows: int = 100_000, retention_s: float = 86400.0
) -> SqliteOutbox:
    return SqliteOutbox(
        path, device_id="cam-1", wall_clock=clock or Clock(), max_rows=max_rows, retention_s=retention_s
    )


def pending_seqs(outbox: SqliteOutbox, limit: int = 1000) -> list[int]:
    return [row.seq for row in outbox.pending(limit)]


def test_sequence_starts_at_creation_time_and_grows_by_one(tmp_path: Path) -> None:
    with open_outbox(tmp_path / "outbox.sqlite3") as outbox:
        seqs = [outbox.enqueue(sample_interval(index)) for index in range(5)]
        assert seqs[0] == int(NOW.timestamp() * 1000)
        assert seqs == list(range(seqs[0], seqs[0] + 5))
        assert outbox.stats().last_seq == seqs[-1]


def test_pending_returns_undelivered_rows_oldest_first_with_their_intervals(tmp_path: Path) -> None:
    with open_outbox(tmp_path / "outbox.sqlite3") as outbox:
        seqs = [outbox.enqueue(sample_interval(index)) for index in range(6)]
        assert outbox.mark_delivered(seqs[1])
        assert outbox.mark_delivered_many([seqs[3], seqs[4]]) == 2
        rows = outbox.pending(10)
        assert [row.seq for row in rows] == [seqs[0], seqs[2], seqs[5]]
        assert [row.interval for row in rows] == [sample_interval(0), sample_interval(2), sample_interval(5)]
        assert rows[0].message_id == f"cam-1:{seqs[0]}"
        assert pending_seqs(outbox, limit=2) == [seqs[0], seqs[2]]


def test_marking_twice_or_an_unknown_row_changes_nothing(tmp_path: Path) -> None:
    with open_outbox(tmp_path / "outbox.sqlite3") as outbox:
        seq = outbox.enqueue(sample_interval(0))
        assert outbox.mark_delivered(seq)
        assert not outbox.mark_delivered(seq)
        assert not outbox.mark_delivered(seq + 100)
        assert outbox.mark_delivered_many([]) == 0


def test_restart_keeps_undelivered_rows_and_continues_the_sequence(tmp_path: Path) -> None:
    clock = Clock()
    with open_outbox(tmp_path / "outbox.sqlite3", clock) as outbox:
        seqs = [outbox.enqueue(sample_interval(index)) for index in range(3)]
        outbox.mark_delivered(seqs[0])
    clock.advance(3600)
    with open_outbox(tmp_path / "outbox.sqlite3", clock) as reopened:
        assert pending_seqs(reopened) == seqs[1:]
        assert reopened.enqueue(sample_interval(3)) == seqs[-1] + 1


def test_stats_report_backlog_and_age_of_the_oldest_undelivered_row(tmp_path: Path) -> None:
    clock = Clock()
    with open_outbox(tmp_path / "outbox.sqlite3", clock) as outbox:
        empty = outbox.stats()
        assert (empty.backlog_rows, empty.oldest_undelivered_age_s, empty.last_seq) == (0, None, None)
        first = outbox.enqueue(sample_interval(0))
        clock.advance(60)
        outbox.enqueue(sample_interval(1))
        clock.advance(30)
        stats = outbox.stats()
        assert (stats.backlog_rows, stats.oldest_undelivered_age_s, stats.total_rows) == (2, 90.0, 2)
        outbox.mark_delivered(first)
        assert outbox.stats().oldest_undelivered_age_s == 30.0


def test_prune_deletes_only_delivered_rows_older_than_the_retention(tmp_path: Path) -> None:
    clock = Clock()
    with open_outbox(tmp_path / "outbox.sqlite3", clock, retention_s=3600.0) as outbox:
        old, undelivered, recent = (outbox.enqueue(sample_interval(index)) for index in range(3))
        outbox.mark_delivered(old)
        clock.advance(3000)
        outbox.mark_delivered(recent)
        clock.advance(1000)
        assert outbox.prune() == 1
        assert outbox.prune(clock() + timedelta(seconds=10_000)) == 1
        assert pending_seqs(outbox) == [undelivered]
        assert outbox.stats().total_rows == 1


def test_full_outbox_deletes_delivered_rows_first_without_complaint(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with open_outbox(tmp_path / "outbox.sqlite3", max_rows=5) as outbox:
        seqs = [outbox.enqueue(sample_interval(index)) for index in range(5)]
        outbox.mark_delivered_many(seqs[:2])
        with caplog.at_level(logging.ERROR):
            seqs += [outbox.enqueue(sample_interval(index)) for index in (5, 6)]
        assert not caplog.records
        assert pending_seqs(outbox) == seqs[2:]
        assert (outbox.stats().total_rows, outbox.stats().dropped_undelivered) == (5, 0)


def test_full_outbox_of_undelivered_rows_drops_the_oldest_loudly_and_counts_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "outbox.sqlite3"
    with open_outbox(path, max_rows=4) as outbox:
        seqs = [outbox.enqueue(sample_interval(index)) for index in range(4)]
        with caplog.at_level(logging.ERROR):
            seqs += [outbox.enqueue(sample_interval(index)) for index in (4, 5)]
        assert pending_seqs(outbox) == seqs[2:]
        assert [record.levelno for record in caplog.records] == [logging.ERROR, logging.ERROR]
        assert f"seq {seqs[0]}-{seqs[0]}" in caplog.records[0].getMessage()
    with open_outbox(path, max_rows=4) as reopened:
        assert reopened.stats().dropped_undelivered == 2


def test_corrupt_file_is_moved_aside_never_deleted_and_a_new_outbox_starts(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "outbox.sqlite3"
    garbage = b"this is not a database " * 400
    path.write_bytes(garbage)
    with caplog.at_level(logging.ERROR), open_outbox(path) as outbox:
        assert outbox.enqueue(sample_interval(0)) == int(NOW.timestamp() * 1000)
    aside = tmp_path / "outbox.sqlite3.corrupt-20260301T120000Z"
    assert aside.read_bytes() == garbage
    assert "moved aside" in caplog.text
    assert str(aside) in caplog.text


def test_database_with_a_damaged_page_fails_the_check_and_is_moved_aside(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite3"
    with open_outbox(path) as outbox:
        for index in range(200):
            outbox.enqueue(sample_interval(index))
    data = bytearray(path.read_bytes())
    page_size = int.from_bytes(data[16:18], "big")
    data[page_size + 100 : 2 * page_size] = b"\xff" * (page_size - 100)  # scribble over page 2
    path.write_bytes(bytes(data))
    with open_outbox(path) as outbox:
        assert outbox.stats().total_rows == 0
    assert [p.name for p in tmp_path.glob("*.corrupt-*")] == ["outbox.sqlite3.corrupt-20260301T120000Z"]


@pytest.mark.parametrize(
    ("make_path", "message"),
    [
        # Tests run as root, where chmod 0o500 does not stop writes: a path below a regular file
        # is unwritable for everyone.
        (lambda tmp: _file(tmp / "not-a-folder") / "outbox.sqlite3", "cannot create the outbox folder"),
        (lambda tmp: _folder(tmp / "a-folder"), "cannot open the outbox"),
    ],
    ids=["parent-is-a-file", "path-is-a-folder"],
)
def test_unopenable_path_raises_outbox_error_naming_it(
    tmp_path: Path, make_path: Callable[[Path], Path], message: str
) -> None:
    path = make_path(tmp_path)
    with pytest.raises(OutboxError, match=message) as raised:
        open_outbox(path)
    assert str(path.parent) in str(raised.value)


def _file(path: Path) -> Path:
    path.write_text("x")
    return path


def _folder(path: Path) -> Path:
    path.mkdir()
    return path


def test_disk_full_frees_delivered_rows_then_holds_intervals_in_memory_until_it_can_write(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    outbox = open_outbox(tmp_path / "outbox.sqlite3")
    # A full disk as SQLite sees it: the file may not grow beyond its current pages plus a few.
    assert outbox._conn is not None
    pages = outbox._conn.execute("PRAGMA page_count").fetchone()[0]
    outbox._conn.execute(f"PRAGMA max_page_count = {pages + 4}")
    big = _wide_interval()
    delivered = [outbox.enqueue(big) for _ in range(3)]
    outbox.mark_delivered_many(delivered)
    with caplog.at_level(logging.WARNING):
        seqs = [outbox.enqueue(big) for _ in range(12)]
    assert "disk full; deleted 3 delivered rows and retrying" in caplog.text
    assert "holding closed intervals in memory" in caplog.text
    stats = outbox.stats()
    held = stats.unwritten_rows
    assert held > 0
    # Every interval got the next number, committed or held, and every one waits to be sent.
    assert seqs == list(range(delivered[-1] + 1, delivered[-1] + 13))
    assert pending_seqs(outbox) == seqs
    assert (stats.write_errors, stats.backlog_rows, stats.dropped_undelivered) == (held, 12, 0)
    # Acknowledged while held, then written as delivered once the disk has room again.
    outbox.mark_delivered_many(seqs[-held:])
    outbox._conn.execute("PRAGMA max_page_count = 1073741823")
    assert outbox.retry_writes()
    assert outbox.stats().unwritten_rows == 0
    assert pending_seqs(outbox) == seqs[:-held]
    assert outbox.enqueue(big) == seqs[-1] + 1
    outbox.close()
    with open_outbox(tmp_path / "outbox.sqlite3") as reopened:
        assert reopened.stats().write_errors == held  # persisted


def test_read_only_database_holds_the_interval_and_writes_it_when_writable_again(tmp_path: Path) -> None:
    outbox = open_outbox(tmp_path / "outbox.sqlite3")
    assert outbox._conn is not None
    first = outbox.enqueue(sample_interval(0))
    outbox._conn.execute("PRAGMA query_only = ON")  # what a file system remounted read-only does
    assert outbox.enqueue(sample_interval(1)) == first + 1
    assert _unstarted_delivery(outbox).submit(sample_interval(2)) == first + 2
    assert (outbox.stats().write_errors, outbox.stats().unwritten_rows) == (2, 2)
    outbox._conn.execute("PRAGMA query_only = OFF")
    assert _unstarted_delivery(outbox).submit(sample_interval(3)) == first + 3
    assert pending_seqs(outbox) == [first, first + 1, first + 2, first + 3]
    assert outbox.stats().unwritten_rows == 0
    outbox.close()


def test_closed_outbox_raises_outbox_error(tmp_path: Path) -> None:
    outbox = open_outbox(tmp_path / "outbox.sqlite3")
    outbox.close()
    with pytest.raises(OutboxError, match="closed"):
        outbox.pending(1)


@pytest.mark.parametrize(
    ("options", "match"),
    [({"max_rows": 0}, "max_rows"), ({"retention_s": 0.0}, "retention_s")],
    ids=["max-rows", "retention"],
)
def test_invalid_options_raise_value_error_naming_them(
    tmp_path: Path, options: dict[str, Any], match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        open_outbox(tmp_path / "outbox.sqlite3", **options)


def test_naive_interval_times_are_rejected(tmp_path: Path) -> None:
    interval = sample_interval(0)
    naive = IntervalCount(
        interval.start.replace(tzinfo=None), interval.end, interval.lines, interval.zones, interval.quality
    )
    with open_outbox(tmp_path / "outbox.sqlite3") as outbox, pytest.raises(ValueError, match="naive"):
        outbox.enqueue(naive)


def test_codec_round_trips_and_is_canonical() -> None:
    interval = sample_interval(7, coverage=0.5)
    text = interval_to_json(interval)
    assert interval_from_json(text) == interval
    assert " " not in text.replace("side door", "")
    with pytest.raises(ValueError, match="malformed"):
        interval_from_json('{"start": "2026-01-01T00:00:00Z"}')


def test_default_path_follows_systemd_state_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("STATE_DIRECTORY", f"{tmp_path}:/other")
    assert default_outbox_path() == tmp_path / "outbox.sqlite3"
    monkeypatch.delenv("STATE_DIRECTORY")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert default_outbox_path() == tmp_path / "footfall" / "outbox.sqlite3"


def _wide_interval() -> IntervalCount:
    """An interval with many lines, so a few rows fill a page."""
    base = sample_interval(0)
    lines = tuple(LineInterval(LineId(f"line-{index}"), index, index) for index in range(60))
    return IntervalCount(base.start, base.end, lines, base.zones, base.quality)


def _unstarted_delivery(outbox: SqliteOutbox) -> Delivery:
    publisher = MqttPublisher(MqttOptions("127.0.0.1", 1, Topics("footfall", "site", "cam-1")))
    return Delivery(outbox, publisher, PayloadRenderer("cam-1", "site"))


def test_numpy_numbers_are_stored_as_plain_json_numbers(tmp_path: Path) -> None:
    import numpy as np

    base = sample_interval(3)
    lines = (LineInterval(LineId("entrance"), np.int64(3), np.int64(4)),)  # type: ignore[arg-type]
    interval = IntervalCount(base.start, base.end, lines, base.zones, base.quality)
    with open_outbox(tmp_path / "outbox.sqlite3") as outbox:
        outbox.enqueue(interval)
        assert outbox.pending(1)[0].interval.lines == (LineInterval(LineId("entrance"), 3, 4),)


def test_malformed_interval_is_logged_and_counting_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    base = sample_interval(0)
    quality = IntervalQuality(0.0, float("nan"), 0, 0.0, 0, False)
    broken = IntervalCount(base.start, base.end, base.lines, base.zones, quality)
    with open_outbox(tmp_path / "outbox.sqlite3") as outbox, caplog.at_level(logging.ERROR):
        delivery = _unstarted_delivery(outbox)
        assert delivery.submit(broken) is None
        assert delivery.submit(sample_interval(1)) is not None
        assert outbox.stats().backlog_rows == 1
    assert "not queued for delivery" in caplog.text


def test_a_second_opener_does_not_take_the_running_owners_open_interval(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite3"
    running = open_outbox(path)
    running.save_open_interval(sample_interval(0, coverage=0.5))
    with open_outbox(path) as doctor:  # e.g. `footfall doctor` while the service counts
        assert doctor.stats().backlog_rows == 0
    # The owner dies without closing: its connection and its lock on the marks file go with it.
    assert running._conn is not None
    running._conn.close()
    running._conn = None
    running._held.close()
    with open_outbox(path) as restarted:
        rows = restarted.pending(10)
    assert [row.interval for row in rows] == [sample_interval(0, coverage=0.5)]
