"""A real Mosquitto broker on a free loopback port, for the delivery tests and benchmarks.

Each broker gets a generated config in tmp_path. Running as root, Mosquitto would switch to the
`mosquitto` user and lose access to tmp_path: the config names the current user instead.
TLS material (a self-signed CA, a server and a client certificate) is made with the openssl CLI
(the `cryptography` package is not a dependency); password files with `mosquitto_passwd`.
"""

from __future__ import annotations

import getpass
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

# Seconds to wait for the broker to accept connections after start.
START_TIMEOUT_S = 10.0


def _binary(name: str, *folders: str) -> str:
    found = shutil.which(name) or next(
        (str(Path(folder) / name) for folder in folders if (Path(folder) / name).is_file()), None
    )
    if found is None:
        raise RuntimeError(f"{name} not found: install the Debian packages mosquitto and openssl")
    return found


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True, slots=True)
class TlsMaterial:
    """PEM files of a throw-away CA, a server certificate for 127.0.0.1 and a client certificate."""

    ca_file: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


class MosquittoBroker:
    """One Mosquitto process with a generated config; can be stopped and restarted on the same port."""

    def __init__(
        self,
        folder: Path,
        *,
        persistence: bool = False,
        password_file: Path | None = None,
        tls: TlsMaterial | None = None,
        acl: str | None = None,
        autosave_interval_s: int | None = None,
    ) -> None:
        """`autosave_interval_s`: with persistence, save the state this often (a power cut loses
        only what changed since), instead of only at a clean stop."""
        self.folder = folder
        self.port = free_port()
        self.config = folder / "mosquitto.conf"
        self.log = folder / "mosquitto.log"
        self._process: subprocess.Popen[bytes] | None = None
        lines = [
            f"listener {self.port} 127.0.0.1",
            f"allow_anonymous {'false' if password_file else 'true'}",
            f"persistence {'true' if persistence else 'false'}",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
        ]
        if persistence:
            lines.append(f"persistence_location {folder}/")
            if autosave_interval_s is not None:
                lines.append(f"autosave_interval {autosave_interval_s}")
        if os.geteuid() == 0:
            lines.append(f"user {getpass.getuser()}")
        if password_file is not None:
            lines.append(f"password_file {password_file}")
        if acl is not None:
            (folder / "acl").write_text(acl)
            lines.append(f"acl_file {folder / 'acl'}")
        if tls is not None:
            lines += [
                f"cafile {tls.ca_file}",
                f"certfile {tls.server_cert}",
                f"keyfile {tls.server_key}",
                "require_certificate true",
            ]
        self.config.write_text("\n".join(lines) + "\n")

    def start(self) -> None:
        assert self._process is None, "broker already running"
        with self.log.open("ab") as log:
            self._process = subprocess.Popen(
                [_binary("mosquitto", "/usr/sbin"), "-c", str(self.config)], stdout=log, stderr=log
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise AssertionError(f"mosquitto exited: {self.log.read_text()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.02)
        raise AssertionError(f"mosquitto did not listen on {self.port}: {self.log.read_text()}")

    def stop(self) -> None:
        """SIGTERM (Mosquitto saves its persistence file then) and wait."""
        if self._process is None:
            return
        self._process.send_signal(signal.SIGTERM)
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

    def kill(self) -> None:
        """SIGKILL, as a power cut: nothing is saved beyond the last autosave."""
        if self._process is None:
            return
        self._process.kill()
        self._process.wait()
        self._process = None

    def restart(self) -> None:
        self.stop()
        self.start()


def make_password_file(folder: Path, users: dict[str, str]) -> Path:
    """A Mosquitto password file made by `mosquitto_passwd -b`."""
    path = folder / "passwords"
    tool = _binary("mosquitto_passwd", "/usr/bin")
    for index, (user, password) in enumerate(users.items()):
        create = ["-c"] if index == 0 else []
        subprocess.run([tool, *create, "-b", str(path), user, password], check=True, capture_output=True)
    return path


def make_tls_material(folder: Path) -> TlsMaterial:
    """A self-signed CA and, signed by it, a server certificate for 127.0.0.1 and a client certificate."""
    openssl = _binary("openssl", "/usr/bin")
    ca_key, ca_file = folder / "ca.key", folder / "ca.crt"

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], check=True, capture_output=True)

    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    ca_extensions = [
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]
    run("req", "-x509", *ec, *ca_extensions, "-keyout", str(ca_key), "-out", str(ca_file), "-days", "2",
        "-subj", "/CN=test CA")  # fmt: skip
    signed: list[Path] = []
    for name, extensions in (
        ("server", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"),
        ("client", "extendedKeyUsage=clientAuth\n"),
    ):
        key, request, cert, ext = (folder / f"{name}.{suffix}" for suffix in ("key", "csr", "crt", "ext"))
        ext.write_text("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n" + extensions)
        run("req", *ec, "-keyout", str(key), "-out", str(request), "-subj", f"/CN=footfall test {name}")
        run("x509", "-req", "-in", str(request), "-CA", str(ca_file), "-CAkey", str(ca_key),
            "-CAcreateserial", "-out", str(cert), "-days", "2", "-extfile", str(ext))  # fmt: skip
        signed += [cert, key]
    return TlsMaterial(ca_file, signed[0], signed[1], signed[2], signed[3])
