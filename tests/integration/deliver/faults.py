"""Fault runs like the outside review's: a device on the wall clock, a real Mosquitto, a
de-duplicating subscriber, faults injected, and the outbox (with the device's own log) as truth.

The device is `deliver_runner --slot-s` (outbox + MQTT + drain loop, one interval per slot of the
UTC clock). A `FaultRun` starts broker, subscriber and device, lets a scenario break things, then
restarts whatever is down, waits until the outbox has nothing undelivered and tallies:

- committed: sequence numbers the device committed (its log, its outbox, what arrived);
- delivered: of those, how many reached the subscriber (after de-duplication by message id);
- lost: committed, never delivered (reported ones, e.g. unsalvageable rows, included);
- duplicated: slots that arrived under more than one sequence number (de-duplication cannot
  fix those); redelivered: the same message id twice (harmless, de-duplicated);
- missing while alive: slots that ended while the device was running and never arrived.

Used by `benchmarks/faults.py` (every scenario, longer) and `test_deliver_faults.py` (a few).
"""

from __future__ import annotations

import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack, closing, suppress
from dataclasses import dataclass, field
from pathlib import Path

from tests.integration.deliver.mosquitto import MosquittoBroker
from tests.integration.deliver.subscriber import RecordingSubscriber
from tests.integration.deliver.volume import fill, small_volume

PROJECT_ROOT = Path(__file__).resolve().parents[3]
# A slot every half second: many intervals per run, far more than a minute's would give.
SLOT_S = 0.5
# A slot counts as "while alive" only if it ended this long before the device died.
KILL_MARGIN_S = 0.3
DRAIN_TIMEOUT_S = 60.0
# The outbox's tmpfs in the disk-full scenario.
SMALL_DISK_BYTES = 2 * 1024 * 1024
_SLOT_LINE = re.compile(r"^slot (\d+) (\d+|None)$", re.MULTILINE)
_STARTED_LINE = re.compile(r"^started (\d+)$", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class Tally:
    """One scenario's outcome (see the module docstring)."""

    scenario: str
    committed: int
    delivered: int
    lost: int
    duplicated: int
    redelivered: int
    missing_while_alive: int
    reported_lost: int = 0

    def row(self) -> str:
        lost = f"{self.lost} ({self.reported_lost})"
        cells = (
            self.committed,
            self.delivered,
            lost,
            self.duplicated,
            self.redelivered,
            self.missing_while_alive,
        )
        return f"| {self.scenario} | " + " | ".join(map(str, cells)) + " |"


@dataclass(slots=True)
class _Life:
    log: Path
    process: subprocess.Popen[bytes]
    ended_at: float | None = None


@dataclass(slots=True)
class FaultRun:
    """Broker, subscriber and device in `folder`; the outbox on a small tmpfs if `small_disk`."""

    folder: Path
    small_disk: bool = False
    rng: random.Random = field(default_factory=lambda: random.Random(14))
    broker: MosquittoBroker | None = None
    subscriber: RecordingSubscriber | None = None
    lives: list[_Life] = field(default_factory=list)
    reported_lost: int = 0
    _stack: ExitStack = field(default_factory=ExitStack)

    @property
    def db(self) -> Path:
        return (self.folder / "volume" if self.small_disk else self.folder) / "outbox.sqlite3"

    def __enter__(self) -> FaultRun:
        if self.small_disk:
            self._stack.enter_context(small_volume(self.folder / "volume", SMALL_DISK_BYTES))
        broker_folder = self.folder / "broker"
        broker_folder.mkdir(parents=True, exist_ok=True)
        self.broker = MosquittoBroker(broker_folder, persistence=True, autosave_interval_s=1)
        self.broker.start()
        self.subscriber = RecordingSubscriber(self.broker.port, client_id="city", persistent=True).start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.kill_device()
        if self.subscriber is not None:
            self.subscriber.stop()
        if self.broker is not None:
            self.broker.stop()
        self._stack.close()

    # -- faults ---------------------------------------------------------------------------------

    def start_device(self, *extra: str) -> _Life:
        assert self.broker is not None
        log = self.folder / f"device-{len(self.lives)}.log"
        command = [sys.executable, "-m", "tests.integration.deliver.deliver_runner", "--db", str(self.db)]
        command += [
            "--port",
            str(self.broker.port),
            "--slot-s",
            str(SLOT_S),
            "--keepalive-s",
            "2",
            "--linger",
        ]
        with log.open("wb") as output:
            process = subprocess.Popen(
                [*command, *extra], cwd=PROJECT_ROOT, stdout=output, stderr=subprocess.STDOUT
            )
        life = _Life(log, process)
        self.lives.append(life)
        deadline = time.monotonic() + 20.0
        while not _STARTED_LINE.search(log.read_text()):
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the device did not start: {log.read_text()}")
            time.sleep(0.05)
        return life

    def kill_device(self) -> None:
        """SIGKILL the running device (a crash or a power cut), if it runs."""
        life = self.lives[-1] if self.lives else None
        if life is None or life.ended_at is not None:
            return
        life.process.send_signal(signal.SIGKILL)
        life.process.wait()
        life.ended_at = time.time()

    def wait_device_death(self, timeout_s: float = 30.0) -> None:
        """Wait for a device that kills itself (`--die-after-commit`)."""
        life = self.lives[-1]
        deadline = time.monotonic() + timeout_s
        while life.process.poll() is None:
            assert time.monotonic() < deadline, "the device did not die after its commit"
            time.sleep(0.02)
        life.ended_at = time.time()

    def fill_disk_for(self, seconds: float) -> None:
        filler = fill(self.db.parent)
        time.sleep(seconds)
        filler.unlink()

    def corrupt_outbox(self) -> None:
        """With the device dead: break the page of the main file holding an undelivered row."""
        with closing(sqlite3.connect(self.db)) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # what the next open would do anyway
            rows = conn.execute("SELECT body FROM outbox WHERE delivered_at IS NULL ORDER BY seq").fetchall()
        assert rows, "nothing undelivered to damage: stop the broker first"
        start = re.search(r'"start":"([^"]+)"', rows[len(rows) // 2][0])
        assert start is not None
        data = bytearray(self.db.read_bytes())
        page_size = int.from_bytes(data[16:18], "big")
        page = data.find(start.group(1).encode()) // page_size * page_size
        data[page + 8 : page + 40] = b"\x00\xff" * 16
        self.db.write_bytes(bytes(data))

    def pause(self, low_s: float, high_s: float) -> None:
        time.sleep(self.rng.uniform(low_s, high_s))

    # -- the outcome ----------------------------------------------------------------------------

    def tally(self, scenario: str) -> Tally:
        """Restart what is down, wait for the outbox to drain, then count."""
        assert self.broker is not None
        assert self.subscriber is not None
        if not self.lives or self.lives[-1].ended_at is not None:
            self.start_device()
        self._wait_drained()
        self.kill_device()
        self.reported_lost += self._unsalvaged()
        subscriber = self.subscriber
        with suppress(Exception):
            subscriber.wait_for(lambda sub: False, timeout_s=1.0)  # late arrivals
        delivered = set(subscriber.seqs)
        committed = self._committed() | delivered
        slots_by_seq = {document["seq"]: _slot_of(document["start"]) for document in subscriber.counts}
        seqs_per_slot: dict[int, set[int]] = {}
        for seq, slot in slots_by_seq.items():
            seqs_per_slot.setdefault(slot, set()).add(seq)
        expected = self._slots_while_alive()
        return Tally(
            scenario=scenario,
            committed=len(committed),
            delivered=len(committed & delivered),
            lost=len(committed - delivered),
            duplicated=sum(1 for seqs in seqs_per_slot.values() if len(seqs) > 1),
            redelivered=subscriber.duplicates,
            missing_while_alive=len(expected - set(seqs_per_slot)),
            reported_lost=self.reported_lost,
        )

    def _wait_drained(self) -> None:
        deadline = time.monotonic() + DRAIN_TIMEOUT_S
        time.sleep(2 * SLOT_S)
        while self._undelivered() > 0:
            assert time.monotonic() < deadline, f"the outbox did not drain: {self._undelivered()} left"
            time.sleep(0.2)

    def _undelivered(self) -> int:
        with closing(sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=5.0)) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL").fetchone()[0])

    def _unsalvaged(self) -> int:
        with closing(sqlite3.connect(f"file:{self.db}?mode=ro", uri=True)) as conn:
            row = conn.execute("SELECT value FROM counters WHERE name = 'unsalvaged'").fetchone()
        return 0 if row is None else int(row[0])

    def _committed(self) -> set[int]:
        logged = {
            int(seq)
            for life in self.lives
            for _, seq in _SLOT_LINE.findall(life.log.read_text())
            if seq != "None"
        }
        with closing(sqlite3.connect(f"file:{self.db}?mode=ro", uri=True)) as conn:
            stored = {
                int(seq) for (seq,) in conn.execute("SELECT seq FROM outbox UNION SELECT seq FROM quarantine")
            }
        return logged | stored

    def _slots_while_alive(self) -> set[int]:
        expected: set[int] = set()
        for life in self.lives:
            started = _STARTED_LINE.search(life.log.read_text())
            assert started is not None
            assert life.ended_at is not None
            last = int((life.ended_at - KILL_MARGIN_S) // SLOT_S) - 1  # the last slot that ended before
            expected |= set(range(int(started.group(1)), last + 1))
        return expected


def _slot_of(start: str) -> int:
    from edge.deliver.codec import parse_utc

    return round(parse_utc(start).timestamp() / SLOT_S)


Scenario = Callable[[FaultRun, int], None]


def broker_killed(run: FaultRun, times: int) -> None:
    """The broker SIGKILLed `times` times while the device counts, back after 1-3 s."""
    assert run.broker is not None
    run.start_device()
    for _ in range(times):
        run.pause(2.0, 4.0)
        run.broker.kill()
        run.pause(1.0, 3.0)
        run.broker.start()


def service_killed_at_random(run: FaultRun, times: int) -> None:
    """The device SIGKILLed at random moments, restarted after 0.5-1.5 s."""
    run.start_device()
    for _ in range(times):
        run.pause(1.5, 4.0)
        run.kill_device()
        run.pause(0.5, 1.5)
        run.start_device()


def service_killed_at_commit(run: FaultRun, times: int) -> None:
    """The device dies right after a commit, before publishing it; restarted after 0.5-1.5 s."""
    for _ in range(times):
        run.start_device("--die-after-commit", str(run.rng.randint(2, 6)))
        run.wait_device_death()
        run.pause(0.5, 1.5)


def power_cut(run: FaultRun, times: int) -> None:
    """Device and broker SIGKILLed together (the broker keeps only its last autosave)."""
    assert run.broker is not None
    run.start_device()
    for _ in range(times):
        run.pause(2.0, 4.0)
        run.kill_device()
        run.broker.kill()
        run.pause(1.0, 2.0)
        run.broker.start()
        run.start_device()


def disk_full(run: FaultRun, times: int) -> None:
    """The outbox's file system filled to the last byte for 4 s, then freed."""
    run.start_device()
    for _ in range(times):
        run.pause(1.5, 3.0)
        run.fill_disk_for(4.0)
    run.pause(1.5, 3.0)


def outbox_corrupted(run: FaultRun, times: int) -> None:
    """Broker down so rows wait, device killed, a page of its outbox broken, everything restarted.

    The outbox first grows past one page (about 12 rows), so the broken page is one leaf of the
    table, not all of it.
    """
    assert run.broker is not None
    run.start_device()
    for _ in range(times):
        run.pause(6.0, 8.0)
        run.broker.stop()
        run.pause(3.0, 4.0)
        run.kill_device()
        run.corrupt_outbox()
        run.broker.start()
        run.start_device()


# name -> (scenario, its outbox on a small tmpfs).
SCENARIOS: dict[str, tuple[Scenario, bool]] = {
    "broker killed": (broker_killed, False),
    "service killed at random": (service_killed_at_random, False),
    "service killed at the commit": (service_killed_at_commit, False),
    "power cut (service + broker)": (power_cut, False),
    "disk full, then freed": (disk_full, True),
    "outbox corrupted": (outbox_corrupted, False),
}


def run_scenario(name: str, folder: Path, times: int, seed: int = 14) -> Tally:
    """Run one scenario of `SCENARIOS` in `folder` and tally it."""
    scenario, small_disk = SCENARIOS[name]
    with FaultRun(folder, small_disk=small_disk, rng=random.Random(seed)) as run:
        scenario(run, times)
        return run.tally(name)


TABLE_HEADER = (
    "| scenario | committed | delivered | lost (reported by the device) | duplicated | redelivered "
    "| slots missing while alive |\n|---|---|---|---|---|---|---|"
)
