"""SystemdNotifier: datagrams as systemd expects them, rate-limited pings, silent without systemd."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.notify import SystemdNotifier


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    path = str(tmp_path / "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(0.5)
    yield sock, path
    sock.close()


def test_ready_is_sent_once_and_pings_are_rate_limited(listener: tuple[socket.socket, str]) -> None:
    sock, path = listener
    now = [100.0]
    notifier = SystemdNotifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "10000000"}, monotonic=lambda: now[0])
    notifier.ready()
    notifier.ready()
    notifier.watchdog()
    now[0] += 4.9  # half the 10 s period has not passed
    notifier.watchdog()
    now[0] += 0.2
    notifier.watchdog()
    received = []
    while True:
        try:
            received.append(sock.recv(64).decode())
        except TimeoutError:
            break
    assert received == ["READY=1\nSTATUS=counting", "WATCHDOG=1", "WATCHDOG=1"]


def test_abstract_socket_names_get_a_leading_nul() -> None:
    name = "footfall-test-notify"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.settimeout(0.5)
    try:
        SystemdNotifier({"NOTIFY_SOCKET": "@" + name}).ready()
        assert sock.recv(64) == b"READY=1\nSTATUS=counting"
    finally:
        sock.close()


def test_without_systemd_every_call_is_a_no_op() -> None:
    notifier = SystemdNotifier({})
    assert not notifier.enabled
    notifier.ready()
    notifier.watchdog()
    notifier.stopping()


def test_a_vanished_socket_is_logged_not_raised(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    notifier = SystemdNotifier({"NOTIFY_SOCKET": str(tmp_path / "gone")})
    notifier.ready()
    assert "sd_notify 'READY=1' failed" in caplog.text
