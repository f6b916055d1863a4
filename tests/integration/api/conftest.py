"""A real uvicorn server on a free loopback port serving the app for an in-memory device."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic import SecretStr

from edge.api import ApiServer, create_app
from tests.integration.api.device import MemoryDevice

PASSWORD = "correct horse battery staple"


@dataclass
class Served:
    device: MemoryDevice
    base_url: str


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    device = MemoryDevice(validation_store=tmp_path / "validations.sqlite3")
    server = ApiServer(create_app(device, password=SecretStr(PASSWORD)), host="127.0.0.1", port=0)
    server.start()
    yield Served(device, f"http://127.0.0.1:{server.port}")
    server.stop()
