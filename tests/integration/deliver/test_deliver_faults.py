"""A lighter fault run than `benchmarks/faults.py`: the device killed right after a commit, a
power cut of device and broker, and a full disk, each once, against a real Mosquitto with a
de-duplicating subscriber and the outbox as truth. Nothing committed may be lost or arrive twice
under two numbers, and every slot that ended while the device ran must arrive."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.deliver.faults import run_scenario


@pytest.mark.parametrize(
    "scenario",
    ["service killed at the commit", "power cut (service + broker)", "disk full, then freed"],
    ids=["killed-at-commit", "power-cut", "disk-full"],
)
def test_a_fault_loses_and_duplicates_nothing(tmp_path: Path, scenario: str) -> None:
    tally = run_scenario(scenario, tmp_path, times=1)
    assert tally.committed >= 3, tally  # the run did count
    assert (tally.lost, tally.duplicated, tally.missing_while_alive) == (0, 0, 0), tally
    assert tally.delivered == tally.committed
