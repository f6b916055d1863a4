"""The service over time: RSS must stay flat, and what one frame costs in CPU.

Runs `footfall run` as a process on the demo clip played as a camera (real time, looped) for
`--minutes`, samples its resident memory and CPU time from /proc every `--every` seconds, then
reads the frames it processed from its outbox (each interval records its frame count).

    python -m benchmarks.service [--minutes 10] [--every 10] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from benchmarks.clips import PROJECT_ROOT, machine_line, write_section
from edge.assets import default_cache_dir, fetch, find_asset

FOOTFALL = Path(sys.executable).parent / "footfall"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--every", type=float, default=10.0, help="seconds between samples")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = measure(args.minutes * 60.0, args.every)
    write_section("service", to_markdown(result))
    print(json.dumps(result) if args.json else to_markdown(result))
    return 0


def measure(duration_s: float, every_s: float) -> dict[str, Any]:
    cache_dir = default_cache_dir()
    mirror = Path(os.environ["FOOTFALL_MIRROR"]) if os.environ.get("FOOTFALL_MIRROR") else None
    clip = fetch(find_asset("demo-clip"), cache_dir=cache_dir, mirror=mirror)
    fetch(find_asset("yolox_nano"), cache_dir=cache_dir, mirror=mirror)
    api_port = _free_port()
    with tempfile.TemporaryDirectory() as folder:
        state = Path(folder)
        shutil.copyfile(PROJECT_ROOT / "calibration" / "examples" / "demo.json", state / "calibration.json")
        environment = {key: value for key, value in os.environ.items() if not key.startswith("FOOTFALL_")}
        environment.update(
            {
                "FOOTFALL_CACHE_DIR": str(cache_dir),
                "FOOTFALL_SOURCE__URI": str(clip),
                "FOOTFALL_CALIBRATION": str(state / "calibration.json"),
                "FOOTFALL_OUTBOX__PATH": str(state / "outbox.sqlite3"),
                "FOOTFALL_AGGREGATE__INTERVAL_S": "60",
                "FOOTFALL_API__PORT": str(api_port),
                "FOOTFALL_API_PASSWORD": "benchmark",
            }
        )
        process = subprocess.Popen([str(FOOTFALL), "run"], env=environment, stderr=subprocess.DEVNULL)
        samples = []
        started = time.monotonic()
        try:
            while time.monotonic() - started < duration_s:
                time.sleep(every_s)
                # The pages poll the status like an operator's browser would.
                _poll_status(api_port)
                samples.append({"t_s": round(time.monotonic() - started, 1), **_sample(process.pid)})
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)
        frames = _frames_counted(state / "outbox.sqlite3")
    cpu_s = samples[-1]["cpu_s"]
    rss = [sample["rss_mb"] for sample in samples]
    settled = rss[len(rss) // 4 :]  # after warm-up (model load, first allocations)
    return {
        "machine": machine_line(),
        "duration_s": round(duration_s),
        "frames": frames,
        "cpu_ms_per_frame": round(cpu_s / frames * 1000.0, 2) if frames else None,
        "fps": round(frames / duration_s, 2),
        "rss_mb_first": rss[0],
        "rss_mb_last": rss[-1],
        "rss_mb_settled_min": min(settled),
        "rss_mb_settled_max": max(settled),
        "samples": samples,
    }


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _poll_status(port: int) -> None:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/status", headers={"Authorization": "Bearer benchmark"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            response.read()
    except OSError:
        pass  # still starting


def _sample(pid: int) -> dict[str, float]:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    cpu_s = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime
    rss_pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    return {"cpu_s": round(cpu_s, 2), "rss_mb": round(rss_pages * PAGE_BYTES / 2**20, 1)}


def _frames_counted(outbox: Path) -> int:
    with sqlite3.connect(outbox) as database:
        bodies = [row[0] for row in database.execute("SELECT body FROM outbox")]
    # Body: the interval as canonical JSON; quality is [observed_s, coverage, frames, ...].
    return sum(int(json.loads(body)["quality"][2]) for body in bodies)


def to_markdown(result: dict[str, Any]) -> str:
    samples = ", ".join(f"{s['rss_mb']:.0f}" for s in result["samples"])
    return "\n".join(
        [
            "## Service over time (`benchmarks/service.py`)",
            "",
            f"Measured {result['machine']}. `footfall run` (API on, status polled at every sample) on the "
            "demo clip played as a 10 fps camera for "
            f"{result['duration_s']} s: {result['frames']} frames ({result['fps']} frames/s), "
            f"**{result['cpu_ms_per_frame']} ms of CPU per frame** (all threads).",
            "",
            f"RSS after warm-up stays between {result['rss_mb_settled_min']:.0f} and "
            f"{result['rss_mb_settled_max']:.0f} MB (first sample {result['rss_mb_first']:.0f} MB, last "
            f"{result['rss_mb_last']:.0f} MB). Samples (MB): {samples}.",
        ]
    )


if __name__ == "__main__":
    sys.exit(main())
