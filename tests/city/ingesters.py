"""`footfall ingest` as a real process against the test broker and database (kill it, restart it).

The database URL goes in the environment without its password; the password is a credential
file in `$CREDENTIALS_DIRECTORY`, as under systemd's `LoadCredential=`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from psycopg.conninfo import conninfo_to_dict, make_conninfo

# Seconds to wait for an ingester to subscribe or to stop.
READY_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 20.0


def ingest_environment(folder: Path, database_url: str, **extra: str) -> dict[str, str]:
    """Environment of `footfall ingest` for `database_url` (password moved to a credential file)."""
    parts = conninfo_to_dict(database_url)
    password = str(parts.pop("password", ""))
    credentials = folder / "credentials"
    credentials.mkdir(exist_ok=True)
    (credentials / "FOOTFALL_CITY_DATABASE_PASSWORD").write_text(password)
    return {
        **os.environ,
        "FOOTFALL_CITY_DATABASE_URL": make_conninfo(**{k: str(v) for k, v in parts.items()}),
        "CREDENTIALS_DIRECTORY": str(credentials),
        **extra,
    }


class IngesterProcess:
    """One `footfall ingest` process with a stable client id; its log is kept in `folder`."""

    def __init__(
        self,
        folder: Path,
        database_url: str,
        broker_port: int,
        client_id: str,
        group: str = "city",
        **environment: str,
    ) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.log = folder / f"{client_id}.log"
        self.client_id = client_id
        self._environment = ingest_environment(
            folder, database_url, FOOTFALL_CITY_MQTT_PORT=str(broker_port), **environment
        )
        self._arguments = ["-v", "ingest", "--host", "127.0.0.1", "--group", group, "--client-id", client_id]
        self._process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def subscriptions(self) -> int:
        """How many times this ingester has subscribed (once per connection)."""
        return self.log.read_text().count("subscribed to") if self.log.exists() else 0

    def start(self) -> None:
        assert self._process is None, "already running"
        marker = self.subscriptions()
        with self.log.open("ab") as log:
            self._process = subprocess.Popen(
                [str(Path(sys.executable).parent / "footfall"), *self._arguments],
                env=self._environment,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.starts += 1
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise AssertionError(f"ingester exited: {self.log.read_text()[-3000:]}")
            if self.subscriptions() > marker:
                return
            time.sleep(0.05)
        raise AssertionError(f"ingester did not subscribe: {self.log.read_text()[-3000:]}")

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no clean disconnect, no last batch, as when a server loses power."""
        assert self._process is not None
        self._process.kill()
        self._process.wait()
        self._process = None

    def stop(self) -> int:
        """SIGTERM and wait; the exit status."""
        if self._process is None:
            return 0
        self._process.send_signal(signal.SIGTERM)
        try:
            status = self._process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self._process.kill()
            status = self._process.wait()
        self._process = None
        return status
