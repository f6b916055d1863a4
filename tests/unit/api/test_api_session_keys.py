"""SessionKeys: rotation keeps the previous key for one period, the file stays private."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from edge.api.session_keys import ROTATION_S, SessionKeys


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_rotation_keeps_the_previous_key_for_one_period(tmp_path: Path) -> None:
    clock = Clock()
    path = tmp_path / "keys.json"
    keys = SessionKeys(path, wall_clock=clock)
    first = keys.signing_key()
    clock.now += ROTATION_S - 1
    assert keys.signing_key() == first
    clock.now += 2
    second = keys.signing_key()
    assert second != first
    assert keys.verifying_keys() == (second, first)
    # What was rotated is on disk: a restart sees the same two keys.
    assert SessionKeys(path, wall_clock=clock).verifying_keys() == (second, first)
    clock.now += ROTATION_S
    third = keys.signing_key()
    assert keys.verifying_keys() == (third, second)


def test_a_device_off_for_two_periods_drops_both_keys(tmp_path: Path) -> None:
    clock = Clock()
    path = tmp_path / "keys.json"
    old = SessionKeys(path, wall_clock=clock).signing_key()
    clock.now += 2 * ROTATION_S
    keys = SessionKeys(path, wall_clock=clock).verifying_keys()
    assert len(keys) == 1
    assert old not in keys


def test_revoked_sessions_are_forgotten_once_they_expire(tmp_path: Path) -> None:
    clock = Clock()
    path = tmp_path / "keys.json"
    keys = SessionKeys(path, wall_clock=clock)
    keys.revoke("early", clock.now + 10)
    keys.revoke("late", clock.now + 1000)
    clock.now += 100
    keys.revoke("another", clock.now + 1000)
    assert set(json.loads(path.read_text())["revoked"]) == {"late", "another"}
    assert SessionKeys(path, wall_clock=clock).is_revoked("late")


def test_a_file_readable_by_others_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    SessionKeys(path)
    path.chmod(0o644)
    SessionKeys(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_an_unwritable_place_keeps_keys_in_memory(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    keys = SessionKeys(blocker / "keys.json")  # a file is in the way of the directory
    assert len(keys.signing_key()) == 32
