"""The service at a Raspberry Pi 4's detection rate: detection capped at 3 a second, the counts hold.

`footfall run` (real model, a process) watches ADL-Rundle-6, the busy shopping street of
../shared/data (525 frames at 30 fps, 55 crossings over four lines), played as a live camera in
real time, with ``schedule.max_fps`` = ``min_fps`` = 3. What it stored in its outbox must be close
to the truth, and the detector must really have run no more than ~3 times a second.

Bounds, measured with the current tracker (`python -m benchmarks.service_rate` and ~50 more runs
of the service at 3/s, about half with three busy processes competing for the two cores):
accuracy 0.745 (14 errors in 55, identical to `footfall count` offline with the same schedule and
to `--every 10`) in every run without load. Under load about one run in ten drops a frame early
enough to move every later detection by one frame, and gave 0.673: offline, every 10th frame from
each of the 10 start offsets gives 0.673-0.782. The test accepts 0.65, one error below the worst
offset. Detections/s estimated 2.74-3.01 (the cap allows 3.0; the estimate reads low under load,
when status answers tend to come while the detector runs, before the share is updated); the test
accepts 10 % over the cap for the sampled estimate.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edge.sources import VideoFileSource
from tests.conftest import SHARED_DATA
from tests.e2e.service_pass import accuracy, run_one_pass

CLIP_FOLDER = SHARED_DATA / "ADL-Rundle-6"
# In and out per line, from the gt boxes (../shared/data/README.md, "Line-crossing truth").
TRUTH = {"L1": (1, 11), "L2": (1, 12), "L3": (1, 10), "L4": (4, 15)}
PI_RATE_FPS = 3.0
# Lowest accuracy accepted: 0.745 measured (14 errors in 55); the worst of the 10 detection
# phases at 3/s is 0.673 (18 errors), one more error allowed.
MIN_ACCURACY = 0.65
# Highest detection rate accepted: the cap plus 10 % for the sampled estimate (measured 2.74-3.01).
MAX_DETECTIONS_PER_S = 3.3
# Lowest detection rate accepted: the street is never empty, so the capped schedule detects ~3/s
# (an idle scene would be checked once a second); this also shows the estimate works.
MIN_DETECTIONS_PER_S = 2.0
# Frames of the clip's second pass (it loops) that may be counted before the stop: under 1 s.
MAX_SECOND_PASS_FRAMES = 30

pytestmark = pytest.mark.skipif(
    not CLIP_FOLDER.is_dir(), reason=f"shared data not found at {CLIP_FOLDER} (clip and its lines)"
)


@pytest.fixture
def calibration(tmp_path: Path) -> Path:
    """The clip's four lines, read from ../shared/data at run time, as a calibration file."""
    lines = json.loads((CLIP_FOLDER / "lines.json").read_text())
    path = tmp_path / "calibration.json"
    path.write_text(json.dumps({"description": "ADL-Rundle-6", "lines": lines}))
    return path


def test_detection_capped_at_three_a_second_keeps_the_counts(
    tmp_path: Path, model_cache: Path, calibration: Path
) -> None:
    clip = CLIP_FOLDER / "ADL-Rundle-6.avi"
    with VideoFileSource(clip) as video:
        frame_count, fps = video.frame_count, video.fps
    assert frame_count == 525
    state = tmp_path / "state"
    state.mkdir()

    run = run_one_pass(
        clip,
        calibration,
        state,
        cache_dir=model_cache,
        clip_frames=frame_count,
        clip_fps=fps,
        settings={
            "FOOTFALL_SCHEDULE__MAX_FPS": str(PI_RATE_FPS),
            "FOOTFALL_SCHEDULE__MIN_FPS": str(PI_RATE_FPS),
        },
    )

    # The whole clip went through the service, and little of its second pass.
    assert 0 <= run.second_pass_frames <= MAX_SECOND_PASS_FRAMES, run
    assert run.intervals >= 2, run  # the pass spans a 10 s boundary: a closed and a partial interval
    # The cap is real: the detector ran about 3 times a second, not on every frame.
    assert MIN_DETECTIONS_PER_S <= run.detections_per_s <= MAX_DETECTIONS_PER_S, run
    # The counts hold at that rate.
    counted = run.counts()
    assert set(counted) == set(TRUTH)
    assert accuracy(counted, TRUTH) >= MIN_ACCURACY, counted
