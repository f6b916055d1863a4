"""A throwaway PostgreSQL cluster on a free loopback port, for the city-server tests and benchmarks.

initdb refuses to run as root, and tests run as root here and in CI: the cluster then belongs to
the `postgres` user (or `nobody`), in a folder of its own under /tmp (pytest's tmp_path is private
to root), and every server program runs through `runuser`. The superuser `footfall` logs in over
TCP with a password (SCRAM), as a city server would; Unix sockets stay inside the folder.
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path

import psycopg

from tests.integration.deliver.mosquitto import free_port

SUPERUSER = "footfall"
# Seconds pg_ctl waits for the server to start or stop.
PG_CTL_TIMEOUT_S = 60


def postgres_bin() -> Path:
    """Folder of Debian's PostgreSQL server programs (the newest installed major version)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda path: int(path.split("/")[4]))
    if not found:
        raise RuntimeError("PostgreSQL server programs not found: install the Debian package postgresql")
    return Path(found[-1]).parent


def _server_user() -> pwd.struct_passwd | None:
    """The unprivileged user to run the server as, or None when not root (run as ourselves)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise RuntimeError("running as root, and neither a postgres nor a nobody user exists")


class PostgresServer:
    """One PostgreSQL cluster: `initdb` at construction, then `start`/`stop` as often as a test needs.

    Args:
        fsync: keep fsync on (benchmarks); tests turn it off, a crash of this machine loses nothing
            they need.
    """

    def __init__(self, *, fsync: bool = False) -> None:
        self._user = _server_user()
        self.folder = Path(tempfile.mkdtemp(prefix="footfall-pg-"))
        self.data = self.folder / "data"
        self.log = self.folder / "server.log"
        self.port = free_port()
        self.password = secrets.token_urlsafe(16)
        self.running = False
        password_file = self.folder / "password"
        password_file.write_text(self.password + "\n")
        if self._user is not None:
            os.chown(self.folder, self._user.pw_uid, self._user.pw_gid)
            os.chown(password_file, self._user.pw_uid, self._user.pw_gid)
        self._run("initdb", "-D", str(self.data), "-U", SUPERUSER, f"--pwfile={password_file}",
                  "--auth-host=scram-sha-256", "--auth-local=trust", "-E", "UTF8", "--locale=C.UTF-8",
                  "--no-sync")  # fmt: skip
        password_file.unlink()
        settings = {
            "port": str(self.port),
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{self.folder}'",
            "fsync": "on" if fsync else "off",
            "full_page_writes": "on" if fsync else "off",
            "max_connections": "200",
            "timezone": "'UTC'",
        }
        with (self.data / "postgresql.conf").open("a") as config:
            config.writelines(f"{name} = {value}\n" for name, value in settings.items())

    def _run(self, program: str, *args: str) -> None:
        command = [str(postgres_bin() / program), *args]
        if self._user is not None:
            command = ["runuser", "-u", self._user.pw_name, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=self.folder)
        if done.returncode != 0:
            log = self.log.read_text() if self.log.exists() else ""
            raise AssertionError(f"{program} failed: {done.stdout}{done.stderr}{log}")

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        timeout = str(PG_CTL_TIMEOUT_S)
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", timeout, "start")
        self.running = True

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (`fast`: roll back open transactions; `immediate`: like a crash)."""
        if self.running:
            self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", str(PG_CTL_TIMEOUT_S), "stop")
            self.running = False

    def url(self, database: str = "postgres", *, with_password: bool = True) -> str:
        """libpq URL of `database` on this server (the password in it unless told otherwise)."""
        secret = f":{self.password}" if with_password else ""
        return f"postgresql://{SUPERUSER}{secret}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str, *, template: str | None = None) -> str:
        """Create `name` (a copy of `template` if given) and return its URL."""
        with psycopg.connect(self.url(), autocommit=True) as admin:
            query = f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")
            admin.execute(query.encode("utf-8"))
        return self.url(name)

    def destroy(self) -> None:
        """Stop the server and delete the cluster."""
        self.stop("immediate")
        shutil.rmtree(self.folder, ignore_errors=True)
