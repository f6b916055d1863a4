"""A power cut kills the device and its broker together: after the broker restarts from its
persistence file, the retained status must not keep saying `online` for the dead device.

Mosquitto restores the retained `online` from its file but not the device's last will (lost with
the session), so without an expiry the city would see the dead device online for ever.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from pathlib import Path

from tests.integration.deliver.mosquitto import MosquittoBroker
from tests.integration.deliver.subscriber import RecordingSubscriber
from tests.integration.deliver.test_deliver_kill import logs, run_device

KEEPALIVE_S = 2
# The runner's default expiry factor: `online` outlives the last refresh by 3 keepalives.
STATUS_EXPIRY_S = 3 * KEEPALIVE_S


def retained_statuses(port: int, client_id: str) -> list[tuple[str, bool]]:
    """What a platform connecting now is told: the retained status messages, if any."""
    late = RecordingSubscriber(port, client_id=client_id).start()
    try:
        late.wait_for(lambda sub: sub.statuses != [], timeout_s=1.0)
        return [(message.payload, message.retained) for message in late.statuses]
    finally:
        late.stop()


def test_after_a_power_cut_of_device_and_broker_the_status_stops_saying_online(
    broker_factory: Callable[..., MosquittoBroker], tmp_path: Path
) -> None:
    broker = broker_factory(persistence=True, autosave_interval_s=1)
    db = tmp_path / "outbox.sqlite3"
    device = run_device(db, broker.port, "--keepalive-s", str(KEEPALIVE_S), "--linger")
    try:
        subscriber = RecordingSubscriber(broker.port).start()
        try:
            assert subscriber.wait_for(lambda sub: sub.status_payloads()[-1:] == ["online"]), logs(db)
        finally:
            subscriber.stop()
        time.sleep(2.5)  # the broker's autosave has written the retained `online` to its file
    finally:
        device.send_signal(signal.SIGKILL)
        broker.kill()
        device.wait()
    cut_s = time.monotonic()
    broker.start()
    # Right after the restart the broker still holds the `online` it saved (what the review saw).
    assert retained_statuses(broker.port, "platform-1") == [("online", True)]
    time.sleep(max(0.0, cut_s + STATUS_EXPIRY_S + 1.0 - time.monotonic()))
    assert ("online", True) not in retained_statuses(broker.port, "platform-2")
