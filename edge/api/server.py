"""Serve the app with uvicorn in a background thread, and stop it within a bounded time.

Everything that can stop the server from starting is checked in the caller's thread, as a
`ConfigError` naming the setting: the address (`api.host`), the port (`api.port` in use), the
TLS files (`api.tls_cert_file`, `api.tls_key_file`). `check_listen` and `check_tls` are the same
checks for `footfall check-config`. Proxy headers (X-Forwarded-For) are believed only from
`trusted_proxies` (README D-042): uvicorn's default trusts them from 127.0.0.1, which let any
local client pick the address the login throttle and the log see.
"""

from __future__ import annotations

import errno
import logging
import socket
import ssl
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import uvicorn
from starlette.types import ASGIApp

from edge.errors import ConfigError

logger = logging.getLogger(__name__)

# How long start() waits for the socket to listen, and stop() for the server to finish, seconds.
START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0


class ApiServer:
    """uvicorn in a daemon thread (the counting loop owns the main thread and its signals).

    Args:
        app: the ASGI app.
        host: address to bind (127.0.0.1 by default in the settings).
        port: port to bind; 0 picks a free one (see `port` after `start`).
        tls_cert_file: PEM certificate for HTTPS, with `tls_key_file`.
        tls_key_file: its key.
        trusted_proxies: addresses whose X-Forwarded-For/-Proto are believed; empty: none.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        host: str,
        port: int,
        tls_cert_file: str | None = None,
        tls_key_file: str | None = None,
        trusted_proxies: Sequence[str] = (),
    ) -> None:
        self._tls_files = (tls_cert_file, tls_key_file)
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level="warning",
            access_log=False,  # requests that matter (login, snapshot, calibration) are logged by the app
            ssl_certfile=tls_cert_file,
            ssl_keyfile=tls_key_file,
            lifespan="off",
            proxy_headers=bool(trusted_proxies),
            forwarded_allow_ips=list(trusted_proxies) or None,
        )
        # Run from a thread, uvicorn leaves signals alone: the service's handlers stay in charge.
        self._server = uvicorn.Server(config)
        self._socket: socket.socket | None = None
        self._thread = threading.Thread(target=self._serve, name="api", daemon=True)

    @property
    def port(self) -> int:
        """The port actually bound (useful with port 0)."""
        if self._socket is not None:
            return int(self._socket.getsockname()[1])
        return int(self._server.config.port)

    def start(self) -> None:
        """Listen and serve; ConfigError (nothing started) if the address, port or TLS files are wrong."""
        config = self._server.config
        cert_file, key_file = self._tls_files
        if cert_file is not None:
            check_tls(Path(cert_file), None if key_file is None else Path(key_file))
        self._socket = _listening_socket(config.host, config.port)
        try:
            config.load()
        except (OSError, ssl.SSLError) as exc:  # checked above; a file changed in between
            self._socket.close()
            raise ConfigError(f"cannot load the API's TLS files: {exc}") from exc
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._server.started:
            if not self._thread.is_alive():
                raise ConfigError(f"the API server on {config.host}:{self.port} stopped while starting")
            if time.monotonic() > deadline:
                raise ConfigError("the API server did not start in time")
            time.sleep(0.02)
        logger.info("status API and pages on %s:%d", config.host, self.port)

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(STOP_TIMEOUT_S)
        if self._thread.is_alive():
            logger.warning("API server still finishing requests after %.0f s", STOP_TIMEOUT_S)

    def _serve(self) -> None:
        assert self._socket is not None
        self._server.run(sockets=[self._socket])


def check_listen(host: str, port: int) -> None:
    """Raise ConfigError if the API could not listen on `host`:`port` now (bad address, port in use)."""
    _listening_socket(host, port).close()


def check_tls(cert_file: Path, key_file: Path | None) -> None:
    """Raise ConfigError unless `cert_file` (and `key_file`) are a readable PEM certificate and key."""
    for setting, path in (("api.tls_cert_file", cert_file), ("api.tls_key_file", key_file)):
        if path is not None and not path.is_file():
            raise ConfigError(f"{setting} {path}: no such file")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(cert_file, key_file)
    except ssl.SSLError as exc:
        raise ConfigError(
            f"api.tls_cert_file {cert_file} / api.tls_key_file {key_file}: not a PEM certificate and its "
            f"key ({exc.reason or exc})"
        ) from exc
    except OSError as exc:
        raise ConfigError(f"cannot read the API's TLS files: {exc.strerror or exc}") from exc


def _listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound and listening on `host`:`port`, as uvicorn would make it."""
    try:
        family, kind, protocol, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except (socket.gaierror, UnicodeError) as exc:
        reason = exc.strerror if isinstance(exc, socket.gaierror) else str(exc)
        raise ConfigError(f"api.host {host!r} is not an address of this machine: {reason}") from exc
    sock = socket.socket(family, kind, protocol)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        in_use = exc.errno == errno.EADDRINUSE
        hint = " (another program, or footfall itself, uses it: set api.port)" if in_use else ""
        raise ConfigError(f"the API cannot listen on {host}:{port}: {exc.strerror or exc}{hint}") from exc
    sock.set_inheritable(True)
    return sock
