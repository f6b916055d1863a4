"""The verdict on outbox trouble: a refused write held in memory warns, a lost interval is red."""

from __future__ import annotations

import dataclasses

from edge.api.health import Level, assess
from tests.integration.api.device import STATUS


def test_intervals_the_disk_refused_but_held_are_amber_not_red() -> None:
    verdict = assess(dataclasses.replace(STATUS, outbox_write_errors=3))
    assert verdict.level is Level.AMBER
    assert any("disk refused" in reason for reason in verdict.reasons)


def test_intervals_dropped_undelivered_are_red() -> None:
    verdict = assess(dataclasses.replace(STATUS, outbox_write_errors=3, outbox_dropped=2))
    assert verdict.level is Level.RED
    assert any("dropped" in reason for reason in verdict.reasons)


def test_a_healthy_outbox_is_green() -> None:
    assert assess(STATUS).level is Level.GREEN
