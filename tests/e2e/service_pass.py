"""One real-time pass of a clip through `footfall run`: what the service stored and how often it detected.

Shared by `tests/e2e/test_service_pi_rate.py` and `benchmarks/service_rate.py`. The service runs as
its own process with the real model; a video file given as its camera is played in real time and
looped forever (`edge.sources.PacedLoopSource`, the clock starting at the first frame), so the
service never sees an end of file. `run_one_pass` therefore waits for the first frame (the status
API turns `camera_state` "ok"), works out when the pass ends and sends SIGTERM `margin_s` after
that; SIGTERM closes the open interval into the outbox. The end is set from the first interval
the service closes (its end time and the camera frames it saw, counted and dropped: frames come
in real time), so a late first status answer does not shift it. The first frames of the second
pass are counted as well: `ServicePass.second_pass_frames` says how many (the margin's worth, ~10
frames, at most one detection at a Pi's 3 a second: too few to confirm a new track).

What the run measured comes from the service's own outputs only:
- counts: the sum of the interval records it committed to its outbox (MQTT off);
- frames: the intervals' `quality.frames` (frames through the counting loop) and `frames_dropped`
  (camera frames the loop was too busy to take);
- detections per second: frames per observed second times the time mean of `detected_share`
  (the status API's smoothed share of frames the detector ran on), sampled at random gaps of
  `SAMPLE_S` on average;
- CPU: the process's user + system time from /proc between the first frame and SIGTERM.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import httpx

from edge.deliver import SqliteOutbox
from edge.deliver.codec import interval_from_json
from edge.records import IntervalCount, LineId, LineInterval
from tests.integration.deliver.mosquitto import free_port

__all__ = ["ServicePass", "accuracy", "run_one_pass"]

FOOTFALL = Path(sys.executable).parent / "footfall"
DEVICE_ID = "pi-rate"
PASSWORD = "pi-rate-password"
# Shortest interval the service accepts, seconds: a pass of ~18 s spans two or three of them.
INTERVAL_S = 10
# Status poll period while waiting for the first frame, seconds (sets how late the pass clock starts).
FIRST_FRAME_POLL_S = 0.02
# Mean status sample period during the pass, seconds. Each gap is drawn from [0.5, 1.5] x this:
# `detected_share` is a sawtooth (it jumps at each detection and decays over ~10 frames), and
# evenly spaced samples alias with a capped detection rate (0.2 s against 1/3 s was 10 % off).
SAMPLE_S = 0.1
# Samples of the first second are left out: the smoothed share starts at 1 (the first frame is detected).
WARM_UP_S = 1.0
# Longest wait for model loading and the first frame, seconds.
START_TIMEOUT_S = 60.0
# Longest wait for the process to exit after SIGTERM, seconds.
STOP_TIMEOUT_S = 30.0


@dataclass(frozen=True, slots=True)
class ServicePass:
    """What one pass of the clip through the service produced.

    Attributes:
        lines: per line, the in and out totals over every stored interval.
        intervals: interval records the service committed to its outbox.
        frames: frames through the counting loop (detected or skipped by the schedule).
        frames_dropped: camera frames the loop never took (it was busy).
        observed_s: seconds covered by processed frames.
        detected_share: time mean of the status API's `detected_share` over the pass.
        wall_s: wall time from the first frame to SIGTERM.
        cpu_s: the process's CPU time (all threads) over `wall_s`.
        clip_frames: frames of one pass of the clip.
    """

    lines: tuple[LineInterval, ...]
    intervals: int
    frames: int
    frames_dropped: int
    observed_s: float
    detected_share: float
    wall_s: float
    cpu_s: float
    clip_frames: int

    @property
    def frames_per_s(self) -> float:
        return self.frames / self.observed_s if self.observed_s > 0 else 0.0

    @property
    def detections_per_s(self) -> float:
        """Detector runs per second of camera time."""
        return self.frames_per_s * self.detected_share

    @property
    def cpu_cores(self) -> float:
        """Mean CPU use while counting, in cores (1.0 = one core busy all the time)."""
        return self.cpu_s / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def second_pass_frames(self) -> int:
        """Camera frames of the clip's second pass that reached the service before it stopped."""
        return self.frames + self.frames_dropped - self.clip_frames

    def counts(self) -> dict[str, tuple[int, int]]:
        """In and out per line id."""
        return {line.line_id: (line.in_count, line.out_count) for line in self.lines}


def accuracy(counted: Mapping[str, tuple[int, int]], truth: Mapping[str, tuple[int, int]]) -> float:
    """1 - sum |error| / sum(truth) over every line and direction of `truth`."""
    errors = 0
    for line_id, (truth_in, truth_out) in truth.items():
        counted_in, counted_out = counted.get(line_id, (0, 0))
        errors += abs(counted_in - truth_in) + abs(counted_out - truth_out)
    return 1.0 - errors / sum(truth_in + truth_out for truth_in, truth_out in truth.values())


def run_one_pass(
    clip: Path,
    calibration: Path,
    state: Path,
    *,
    cache_dir: Path,
    clip_frames: int,
    clip_fps: float,
    settings: Mapping[str, str] | None = None,
    margin_s: float = 0.3,
) -> ServicePass:
    """Run `footfall run` on `clip` played as a camera for one pass plus `margin_s`, then SIGTERM.

    Args:
        clip: the video file played as the camera.
        calibration: calibration JSON file (the service may rewrite it, so give a copy).
        state: empty folder for the outbox and the service's log (`service.log`).
        cache_dir: model cache holding the default model.
        clip_frames: frames in one pass of the clip.
        clip_fps: the clip's frame rate.
        settings: more `FOOTFALL_...` environment settings (e.g. the schedule's rates).
        margin_s: wall time after one pass's worth before SIGTERM.

    Raises:
        RuntimeError: the service did not deliver a first frame, died, or did not stop cleanly.
    """
    api_port = free_port()
    outbox = state / "outbox.sqlite3"
    environment = _environment(clip, calibration, outbox, cache_dir, api_port, settings or {})
    log = state / "service.log"
    with (
        log.open("w") as stderr,
        httpx.Client(
            base_url=f"http://127.0.0.1:{api_port}",
            headers={"Authorization": f"Bearer {PASSWORD}"},
            timeout=5.0,
        ) as api,
    ):
        process = subprocess.Popen(
            [str(FOOTFALL), "run"], env=environment, stdout=subprocess.DEVNULL, stderr=stderr
        )
        try:
            first_frame_s = _wait_for_first_frame(process, api, log)
            cpu_first_s = _cpu_s(process.pid)
            shares = _watch_pass(
                process,
                api,
                log,
                outbox,
                first_frame_s,
                clip_frames=clip_frames,
                clip_fps=clip_fps,
                margin_s=margin_s,
            )
            cpu_s = _cpu_s(process.pid) - cpu_first_s
            wall_s = time.monotonic() - first_frame_s
            _stop(process, log)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    with SqliteOutbox(outbox, device_id=DEVICE_ID) as stored:
        intervals = stored.pending(10_000)
    return _summarise(
        [row.interval for row in intervals], shares, wall_s=wall_s, cpu_s=cpu_s, clip_frames=clip_frames
    )


def _environment(
    clip: Path, calibration: Path, outbox: Path, cache_dir: Path, api_port: int, settings: Mapping[str, str]
) -> dict[str, str]:
    """This process's environment without its `FOOTFALL_` settings, plus the service's."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("FOOTFALL_")}
    environment.update(
        {
            "FOOTFALL_CACHE_DIR": str(cache_dir),
            "FOOTFALL_SOURCE__URI": str(clip),
            "FOOTFALL_CALIBRATION": str(calibration),
            "FOOTFALL_OUTBOX__PATH": str(outbox),
            "FOOTFALL_AGGREGATE__INTERVAL_S": str(INTERVAL_S),
            "FOOTFALL_MQTT__DEVICE_ID": DEVICE_ID,
            "FOOTFALL_API__PORT": str(api_port),
            "FOOTFALL_API_PASSWORD": PASSWORD,
            **settings,
        }
    )
    return environment


def _wait_for_first_frame(process: subprocess.Popen[bytes], api: httpx.Client, log: Path) -> float:
    """Monotonic time at which the status API first reported a counted frame."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"footfall run exited with {process.returncode} before a frame: {_tail(log)}")
        try:
            state = api.get("/api/status").json()["camera_state"]
        except httpx.TransportError:
            state = "starting"  # the API is not listening yet (model loading)
        if state == "ok":
            return time.monotonic()
        time.sleep(FIRST_FRAME_POLL_S)
    raise RuntimeError(f"no frame counted within {START_TIMEOUT_S:.0f} s: {_tail(log)}")


def _watch_pass(
    process: subprocess.Popen[bytes],
    api: httpx.Client,
    log: Path,
    outbox: Path,
    first_frame_s: float,
    *,
    clip_frames: int,
    clip_fps: float,
    margin_s: float,
) -> list[float]:
    """Sample `detected_share` about every `SAMPLE_S` (after the warm-up second) until the pass ends.

    The end is first guessed from the first frame's arrival, then set from the first interval the
    service closes (see `_pass_end_epoch_s`), which does not depend on how late the status API
    reported the first frame.
    """
    shares: list[float] = []
    gaps = random.Random(0)
    next_s = first_frame_s + WARM_UP_S
    until_s = first_frame_s + clip_frames / clip_fps + margin_s
    anchored = False
    while (now_s := time.monotonic()) < until_s:
        if not anchored and (end_epoch_s := _pass_end_epoch_s(outbox, clip_frames, clip_fps)) is not None:
            until_s, anchored = now_s + end_epoch_s + margin_s - time.time(), True
        if now_s >= next_s:
            try:
                share = api.get("/api/status").json()["detected_share"]
            except httpx.TransportError as exc:
                raise RuntimeError(
                    f"status API gone ({exc}); exit code {process.poll()}: {_tail(log)}"
                ) from exc
            if share is not None:
                shares.append(float(share))
            next_s += gaps.uniform(0.5, 1.5) * SAMPLE_S
        time.sleep(max(0.0, min(next_s, until_s) - time.monotonic()))
    return shares


def _pass_end_epoch_s(outbox: Path, clip_frames: int, clip_fps: float) -> float | None:
    """When the clip's last frame has been shown (UTC epoch seconds); None before an interval closed.

    Frames come in real time, so a closed interval that saw N camera frames (counted and dropped)
    by its end puts frame N at that end, and the end of the pass `clip_frames - N` frames later.
    """
    try:
        with closing(sqlite3.connect(f"file:{outbox}?mode=ro", uri=True)) as database:
            row = database.execute("SELECT body FROM outbox ORDER BY seq LIMIT 1").fetchone()
    except sqlite3.Error:
        return None  # not created yet, or busy: try again at the next step
    if row is None:
        return None
    first = interval_from_json(row[0])
    frames_seen = first.quality.frames + first.quality.frames_dropped
    return first.end.timestamp() + (clip_frames - frames_seen) / clip_fps


def _stop(process: subprocess.Popen[bytes], log: Path) -> None:
    """SIGTERM, as systemd stops the service; it must close the open interval and exit 0."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        raise RuntimeError(f"footfall run still running {STOP_TIMEOUT_S:.0f} s after SIGTERM") from exc
    if process.returncode != 0:
        raise RuntimeError(f"footfall run exited with {process.returncode}: {_tail(log)}")


def _summarise(
    intervals: list[IntervalCount], shares: list[float], *, wall_s: float, cpu_s: float, clip_frames: int
) -> ServicePass:
    totals: dict[str, list[int]] = {}
    for interval in intervals:
        for line in interval.lines:
            counted = totals.setdefault(line.line_id, [0, 0])
            counted[0] += line.in_count
            counted[1] += line.out_count
    return ServicePass(
        lines=tuple(LineInterval(LineId(line_id), *counted) for line_id, counted in totals.items()),
        intervals=len(intervals),
        frames=sum(interval.quality.frames for interval in intervals),
        frames_dropped=sum(interval.quality.frames_dropped for interval in intervals),
        observed_s=sum(interval.quality.observed_s for interval in intervals),
        detected_share=statistics.fmean(shares) if shares else 0.0,
        wall_s=wall_s,
        cpu_s=cpu_s,
        clip_frames=clip_frames,
    )


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of process `pid` (all its threads) from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _tail(log: Path, lines: int = 20) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
