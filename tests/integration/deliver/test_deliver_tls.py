"""(c) TLS with a self-signed CA, client certificate and password; a wrong password is a clear error
while counts stay queued, and the right one delivers them all."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from edge.deliver import ConnectionState, MqttProtocol, SqliteOutbox, TlsFiles
from tests.integration.deliver.helpers import DEVICE, backlog, eventually, make_delivery, submit_all
from tests.integration.deliver.mosquitto import MosquittoBroker, make_password_file, make_tls_material
from tests.integration.deliver.subscriber import RecordingSubscriber

WRONG_PASSWORD = "not-the-password-3141"
RIGHT_PASSWORD = "correct-horse-2718"


@pytest.mark.parametrize("protocol", list(MqttProtocol), ids=["mqtt-3.1.1", "mqtt-5"])
def test_tls_with_password_wrong_password_keeps_counts_queued_until_fixed(
    broker_factory: Callable[..., MosquittoBroker],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    protocol: MqttProtocol,
) -> None:
    tls = make_tls_material(tmp_path)
    passwords = make_password_file(tmp_path, {DEVICE: RIGHT_PASSWORD, "city": "city-password"})
    broker = broker_factory(password_file=passwords, tls=tls)
    client_tls = TlsFiles(tls.ca_file, tls.client_cert, tls.client_key)
    subscriber = RecordingSubscriber(broker.port, tls=tls, username="city", password="city-password").start()
    with SqliteOutbox(tmp_path / "outbox.sqlite3", device_id=DEVICE) as outbox:
        refused = make_delivery(
            outbox, broker.port, protocol=protocol, username=DEVICE, password=WRONG_PASSWORD, tls=client_tls
        )
        with caplog.at_level(logging.INFO):
            refused.start()
            seqs = submit_all(refused, range(4))
            assert eventually(lambda: refused.status().connection.state is ConnectionState.NOT_AUTHORISED)
            assert backlog(refused) == 4
            refused.stop(timeout_s=1.0)
        errors = [record.getMessage() for record in caplog.records if record.levelno == logging.ERROR]
        assert any("refused the connection" in message and "password" in message for message in errors)
        assert WRONG_PASSWORD not in caplog.text
        assert subscriber.seqs == []

        fixed = make_delivery(
            outbox, broker.port, protocol=protocol, username=DEVICE, password=RIGHT_PASSWORD, tls=client_tls
        )
        fixed.start()
        try:
            assert subscriber.wait_for(lambda sub: len(sub.seqs) == 4)
            assert subscriber.seqs == seqs
            assert eventually(lambda: backlog(fixed) == 0)
            assert fixed.status().connection.state is ConnectionState.CONNECTED
        finally:
            fixed.stop(timeout_s=2.0)
            subscriber.stop()


# paho 2.2 leaves the socket of a failed TLS handshake to the garbage collector (ResourceWarning).
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_untrusted_broker_certificate_is_not_accepted(
    broker_factory: Callable[..., MosquittoBroker], tmp_path: Path
) -> None:
    tls = make_tls_material(tmp_path)
    broker = broker_factory(tls=tls)
    (tmp_path / "other").mkdir()
    other_ca = make_tls_material(tmp_path / "other")
    with SqliteOutbox(tmp_path / "outbox.sqlite3", device_id=DEVICE) as outbox:
        delivery = make_delivery(
            outbox, broker.port, tls=TlsFiles(other_ca.ca_file, tls.client_cert, tls.client_key)
        )
        delivery.start()
        try:
            submit_all(delivery, range(2))
            assert eventually(lambda: delivery.status().connection.state is ConnectionState.UNREACHABLE)
            assert backlog(delivery) == 2
        finally:
            delivery.stop(timeout_s=1.0)


def test_mqtt5_publish_denied_by_the_broker_acl_stays_queued(
    broker_factory: Callable[..., MosquittoBroker], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """MQTT 5 PUBACK with a failure reason is not a delivery. (MQTT 3.1.1 cannot tell: Mosquitto
    acknowledges and drops a denied publish, so the device account must be allowed its topics.)"""
    passwords = make_password_file(tmp_path, {DEVICE: RIGHT_PASSWORD})
    topics = "footfall/main-street/cam-1"
    acl = f"user {DEVICE}\ntopic write {topics}/status\ntopic write {topics}/health\n"
    broker = broker_factory(password_file=passwords, acl=acl)
    with SqliteOutbox(tmp_path / "outbox.sqlite3", device_id=DEVICE) as outbox:
        delivery = make_delivery(outbox, broker.port, username=DEVICE, password=RIGHT_PASSWORD)
        with caplog.at_level(logging.ERROR):
            delivery.start()
            try:
                submit_all(delivery, range(3))
                assert eventually(lambda: delivery.status().rejected >= 1)
                assert backlog(delivery) == 3
                assert delivery.status().delivered == 0
            finally:
                delivery.stop(timeout_s=1.0)
    assert "rejected counts message" in caplog.text
    assert "Not authorized" in caplog.text
