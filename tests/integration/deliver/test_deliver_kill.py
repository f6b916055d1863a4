"""(b) The delivering process is SIGKILLed while publishing, then restarted: every committed interval
arrives once after de-duplication, in order, without a gap. (d) Its last will says `offline`."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.integration.deliver.mosquitto import MosquittoBroker
from tests.integration.deliver.subscriber import RecordingSubscriber

PROJECT_ROOT = Path(__file__).resolve().parents[3]


def run_device(db: Path, port: int, *arguments: str) -> subprocess.Popen[bytes]:
    """Start deliver_runner.py in its own process, output to `<db>.<n>.log` (see the runner's docstring)."""
    log = db.with_name(f"{db.name}.{len(list(db.parent.glob(db.name + '.*.log')))}.log")
    command = [sys.executable, "-m", "tests.integration.deliver.deliver_runner", "--db", str(db)]
    with log.open("wb") as output:
        return subprocess.Popen(
            [*command, "--port", str(port), *arguments],
            cwd=PROJECT_ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def logs(db: Path) -> str:
    return "\n".join(path.read_text() for path in sorted(db.parent.glob(db.name + ".*.log")))


def committed_seqs(db: Path) -> list[int]:
    with sqlite3.connect(db) as conn:
        return [seq for (seq,) in conn.execute("SELECT seq FROM outbox ORDER BY seq")]


def test_sigkill_while_publishing_then_restart_delivers_everything_once_in_order(
    broker: MosquittoBroker, tmp_path: Path
) -> None:
    db = tmp_path / "outbox.sqlite3"
    subscriber = RecordingSubscriber(broker.port).start()
    try:
        first = run_device(
            db, broker.port, "--count", "500", "--pace-s", "0", "--protocol", "3.1.1", "--linger"
        )
        try:
            assert subscriber.wait_for(lambda sub: len(sub.seqs) >= 40), logs(db)
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait()
        received_before_kill = len(subscriber.seqs)
        assert received_before_kill < 500, "the kill came too late to interrupt publishing"

        second = run_device(db, broker.port, "--count", "20", "--first-index", "1000", "--wait-delivered")
        assert second.wait(timeout=30) == 0, logs(db)

        committed = committed_seqs(db)
        assert subscriber.wait_for(lambda sub: len(sub.seqs) >= len(committed))
        assert subscriber.seqs == committed  # every committed interval, once, in order
        assert committed == list(range(committed[0], committed[0] + len(committed)))  # no gap
        starts = [document["start"] for document in subscriber.counts]
        assert starts == sorted(starts)
    finally:
        subscriber.stop()


def test_killed_process_leaves_offline_via_its_last_will(broker: MosquittoBroker, tmp_path: Path) -> None:
    subscriber = RecordingSubscriber(broker.port).start()
    db = tmp_path / "outbox.sqlite3"
    device = run_device(db, broker.port, "--keepalive-s", "2", "--linger")
    try:
        assert subscriber.wait_for(lambda sub: sub.status_payloads()[-1:] == ["online"]), logs(db)
        device.send_signal(signal.SIGKILL)
        device.wait()
        assert subscriber.wait_for(lambda sub: sub.status_payloads()[-1:] == ["offline"], timeout_s=10.0)
    finally:
        if device.poll() is None:
            device.kill()
            device.wait()
        subscriber.stop()
    late = RecordingSubscriber(broker.port, client_id="late-joiner").start()
    try:
        assert late.wait_for(lambda sub: sub.statuses != [])
        assert [(message.payload, message.retained) for message in late.statuses] == [("offline", True)]
    finally:
        late.stop()
