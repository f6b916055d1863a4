"""Memory of the API server while it is sent a huge body: anonymous, and with the password.

The review's 200 MB unauthenticated body took the service from 190 to 895 MB (over the unit's
MemoryMax=768M) because FastAPI read and parsed it before the password was checked. Here the
app for the API tests' in-memory device runs in a child process on real uvicorn; its peak
resident memory (VmHWM) is read before and after each body is streamed to it, and the answer
is recorded.

    python -m benchmarks.api_memory [--megabytes N] [--json]
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.clips import PROJECT_ROOT, machine_line, write_section

PASSWORD = "memory benchmark password"
CHUNK = b"[" + b" " * (1 << 20)  # JSON that never ends, 1 MiB at a time
# Runs in the child: serve the API for the in-memory device until killed.
_SERVE = """
import sys, time
from pathlib import Path
from pydantic import SecretStr
from edge.api import ApiServer, create_app
from tests.integration.api.device import MemoryDevice
device = MemoryDevice(validation_store=Path(sys.argv[1]) / "validations.sqlite3")
server = ApiServer(create_app(device, password=SecretStr(sys.argv[2])), host="127.0.0.1", port=0)
server.start()
print(server.port, flush=True)
while True:
    time.sleep(1)
"""


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc status")


def _send(port: int, megabytes: int, authorization: str | None) -> str:
    """Stream a POST of `megabytes` MiB; the status line of the answer (or how it ended)."""
    head = (
        f"POST /api/validations/current HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {megabytes * len(CHUNK)}\r\n"
        + (f"Authorization: {authorization}\r\n" if authorization else "")
        + "\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(head.encode())
        try:
            for _ in range(megabytes):
                sock.sendall(CHUNK)
        except OSError:
            pass  # the server answered and closed without reading the rest: the point
        try:
            return sock.makefile("rb").readline().decode().strip() or "connection closed"
        except OSError as exc:
            return f"connection ended: {exc}"


def measure(megabytes: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as state:
        child = subprocess.Popen(
            [sys.executable, "-c", _SERVE, state, PASSWORD],
            cwd=PROJECT_ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert child.stdout is not None
            port = int(child.stdout.readline())
            time.sleep(0.5)
            idle = _peak_rss_mb(child.pid)
            results: dict[str, Any] = {"idle_peak_mb": round(idle, 1), "megabytes": megabytes, "runs": []}
            for who, authorization in (("anonymous", None), ("with the password", f"Bearer {PASSWORD}")):
                answer = _send(port, megabytes, authorization)
                time.sleep(0.5)
                results["runs"].append(
                    {"client": who, "answer": answer, "peak_mb": round(_peak_rss_mb(child.pid), 1)}
                )
            return results
        finally:
            child.kill()
            child.wait()


def _markdown(result: dict[str, Any]) -> str:
    rows = "\n".join(f"| {run['client']} | `{run['answer']}` | {run['peak_mb']} |" for run in result["runs"])
    return (
        "## API memory under a huge body (`benchmarks/api_memory.py`)\n\n"
        f"Measured {machine_line()}. A {result['megabytes']} MiB body streamed to "
        f"`POST /api/validations/current`; peak resident memory of the server process (VmHWM), "
        f"idle {result['idle_peak_mb']} MB.\n\n"
        f"| client | answer | peak MB after |\n|---|---|---|\n{rows}\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=200, help="body size in MiB (default 200)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args()
    result = measure(args.megabytes)
    print(json.dumps(result, indent=2) if args.json else _markdown(result))
    write_section("api-memory", _markdown(result))


if __name__ == "__main__":
    main()
