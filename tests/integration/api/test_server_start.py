"""Starting the API server: a wrong address, a port in use or bad TLS files are one clear error."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from edge.api import ApiServer, create_app
from edge.errors import ConfigError
from tests.integration.api.conftest import PASSWORD
from tests.integration.api.device import MemoryDevice


@pytest.fixture
def device(tmp_path: Path) -> MemoryDevice:
    return MemoryDevice(validation_store=tmp_path / "validations.sqlite3")


def _server(device: MemoryDevice, **options: object) -> ApiServer:
    settings: dict[str, object] = {"host": "127.0.0.1", "port": 0, **options}
    return ApiServer(create_app(device, password=SecretStr(PASSWORD)), **settings)  # type: ignore[arg-type]


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def test_a_port_in_use_is_a_config_error(device: MemoryDevice) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError, match=rf"cannot listen on 127.0.0.1:{port}: .*set api.port"):
            _server(device, port=port).start()


@pytest.mark.parametrize(
    ("host", "message"),
    [
        pytest.param("no-such-host.invalid", "is not an address of this machine", id="unknown-name"),
        pytest.param("192.0.2.123", "cannot listen on 192.0.2.123", id="address-of-another-machine"),
    ],
)
def test_a_bad_host_is_a_config_error(device: MemoryDevice, host: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _server(device, host=host).start()


def test_missing_or_garbage_tls_files_are_config_errors(device: MemoryDevice, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"api.tls_cert_file .*: no such file"):
        _server(
            device, tls_cert_file=str(tmp_path / "none.pem"), tls_key_file=str(tmp_path / "none.key")
        ).start()
    garbage = tmp_path / "garbage.pem"
    garbage.write_bytes(b"-----BEGIN CERTIFICATE-----\nnot base64\n")
    with pytest.raises(ConfigError, match="not a PEM certificate and its key"):
        _server(device, tls_cert_file=str(garbage), tls_key_file=str(garbage)).start()


def test_good_tls_files_serve_https(device: MemoryDevice, tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    server = _server(device, tls_cert_file=str(cert), tls_key_file=str(key))
    server.start()
    try:
        response = httpx.get(f"https://127.0.0.1:{server.port}/healthz", verify=False)
        assert response.json() == {"status": "alive"}
    finally:
        server.stop()
