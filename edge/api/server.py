"""Serve the app with uvicorn in a background thread, and stop it within a bounded time."""

from __future__ import annotations

import logging
import threading
import time

import uvicorn
from fastapi import FastAPI

from edge.errors import ConfigError

logger = logging.getLogger(__name__)

# How long start() waits for the socket to listen, and stop() for the server to finish, seconds.
START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0


class ApiServer:
    """uvicorn in a daemon thread (the counting loop owns the main thread and its signals).

    Args:
        app: the FastAPI app.
        host: address to bind (127.0.0.1 by default in the settings).
        port: port to bind; 0 picks a free one (see `port` after `start`).
        tls_cert_file: PEM certificate for HTTPS, with `tls_key_file`.
        tls_key_file: its key.
    """

    def __init__(
        self,
        app: FastAPI,
        *,
        host: str,
        port: int,
        tls_cert_file: str | None = None,
        tls_key_file: str | None = None,
    ) -> None:
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level="warning",
            access_log=False,  # requests that matter (login, snapshot, calibration) are logged by the app
            ssl_certfile=tls_cert_file,
            ssl_keyfile=tls_key_file,
            lifespan="off",
        )
        # Run from a thread, uvicorn leaves signals alone: the service's handlers stay in charge.
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="api", daemon=True)

    @property
    def port(self) -> int:
        """The port actually bound (useful with port 0)."""
        servers = getattr(self._server, "servers", [])
        for server in servers:
            for sock in server.sockets:
                return int(sock.getsockname()[1])
        return int(self._server.config.port)

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError(
                    f"API server could not start on {self._server.config.host}:{self._server.config.port}"
                )
            if time.monotonic() > deadline:
                raise ConfigError("the API server did not start in time")
            time.sleep(0.02)
        logger.info("status API and pages on %s:%d", self._server.config.host, self.port)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(STOP_TIMEOUT_S)
        if self._thread.is_alive():
            logger.warning("API server still finishing requests after %.0f s", STOP_TIMEOUT_S)
