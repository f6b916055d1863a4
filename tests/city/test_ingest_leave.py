"""An ingester that stops for good: Mosquitto keeps assigning its persistent session a share of the
counts, held until the session expires. `footfall ingest --leave` with its client id stores what
the session holds and ends it, so the rest of the group gets everything from then on (D-033)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from tests.city.ingesters import IngesterProcess, ingest_environment
from tests.city.queries import interval_count, quarantine
from tests.city.simulator import FleetPublisher, device_name
from tests.integration.deliver.helpers import eventually
from tests.integration.deliver.mosquitto import MosquittoBroker

FOOTFALL = str(Path(sys.executable).parent / "footfall")


def _publish(fleet: FleetPublisher, seqs: range) -> None:
    for seq in seqs:
        for index in range(20):
            fleet.publish_counts(device_name(index), seq)
    fleet.flush()


def test_leave_stores_what_a_retired_session_holds(
    city_db: str,
    city_broker: MosquittoBroker,
    fleet: FleetPublisher,
    ingester_factory: Callable[[str], IngesterProcess],
    tmp_path: Path,
) -> None:
    ingester_factory("ingest-a")
    retired = ingester_factory("ingest-b")
    assert retired.stop() == 0  # SIGTERM: a clean stop, the session stays
    _publish(fleet, range(1, 11))
    assert eventually(lambda: interval_count(city_db) == 100, timeout_s=20)
    time.sleep(1.0)
    assert interval_count(city_db) == 100, "the broker no longer holds a share for a stopped session?"

    done = subprocess.run(
        [
            FOOTFALL,
            "-v",
            "ingest",
            "--leave",
            "--host",
            "127.0.0.1",
            "--group",
            "city",
            "--client-id",
            "ingest-b",
        ],
        env=ingest_environment(tmp_path, city_db, FOOTFALL_CITY_MQTT_PORT=str(city_broker.port)),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert interval_count(city_db) == 200
    assert "session drained: ending it" in done.stderr

    _publish(fleet, range(11, 16))
    assert eventually(lambda: interval_count(city_db) == 300, timeout_s=20), interval_count(city_db)
    assert quarantine(city_db) == []
