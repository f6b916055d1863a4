"""`footfall site plan`: the detector input size and crop for one site, from its own frames.

Runs the configured detector on frames sampled from the site's camera or a recording, measures
how tall people are near the calibrated lines and zones (`edge.detect.site.person_heights`) and
derives the plan (`plan_site`: smallest input showing the 10th-percentile person at >= 40 model
pixels, where YOLOX-Nano's recall is still >= 0.98; a crop of the lines' region when it saves
at least 10 % of the frame). Frames stay in memory; only the plan is printed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from edge.calibration import Calibration
from edge.detect import StagedDetector
from edge.detect.site import SitePlan, person_heights, plan_site
from edge.errors import SourceError
from edge.records import Detections
from edge.sources import FrameSource

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SiteSurvey:
    """What was measured on the site's frames, and the plan drawn from it."""

    frames: int
    people: int
    plan: SitePlan
    frame_size: tuple[int, int]


def survey_site(
    source: FrameSource,
    detector: StagedDetector,
    calibration: Calibration,
    *,
    frames: int,
    every_s: float,
    crop: bool = True,
) -> SiteSurvey:
    """Detect on `frames` frames `every_s` media seconds apart and plan the site.

    Raises:
        SourceError: the source has no frame, or nobody was seen near the lines and zones.
    """
    found: list[Detections] = []
    next_s = float("-inf")
    for frame in source:
        if frame.timestamp_s < next_s:
            continue
        found.append(detector.detect(frame))
        next_s = frame.timestamp_s + every_s
        if len(found) == frames:
            break
    if not found:
        raise SourceError(f"{source.name}: no frame to survey")
    heights = person_heights(found, calibration.lines, calibration.zones)
    if not heights:
        raise SourceError(
            f"nobody seen near the lines and zones in {len(found)} frames of {source.name}: "
            "survey at a busier time or over more frames (--frames, --every)"
        )
    width, height = found[0].width, found[0].height
    plan = plan_site(calibration.lines, calibration.zones, width, height, heights, crop=crop)
    return SiteSurvey(len(found), len(heights), plan, (width, height))


def format_survey(survey: SiteSurvey) -> str:
    """The plan for people, with the settings to paste into the config file."""
    plan = survey.plan
    crop = plan.crop
    lines = [
        f"{survey.frames} frames {survey.frame_size[0]}x{survey.frame_size[1]}, {survey.people} people near "
        f"the lines; 10th-percentile height {plan.person_height_px:.0f} px",
        f"input {plan.input_width}x{plan.input_height}"
        + (
            ""
            if crop.is_full
            else f", crop {crop.left:.3f},{crop.top:.3f} - {crop.right:.3f},{crop.bottom:.3f}"
        ),
        "",
        "[detector]",
        f"input_size = [{plan.input_width}, {plan.input_height}]",
    ]
    if not crop.is_full:
        lines.append(f"crop = [{crop.left:.4f}, {crop.top:.4f}, {crop.right:.4f}, {crop.bottom:.4f}]")
    lines += [
        "",
        "Check it before use: footfall validate <recording> --calibration ... --truth ... --config <file>",
    ]
    return "\n".join(lines)
