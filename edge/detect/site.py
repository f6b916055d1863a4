"""Per-site detector geometry: which part of the frame to look at, and at what input size.

Chosen once at install from the calibration and from how tall people appear near its lines and
zones (`person_heights`: detector boxes over sample frames; or heights measured by hand):

1. **Region** (`region_of_interest`): the bounding box of every line and zone, grown by one
   person height to the left, right and bottom and by two to the top (a foot point on the edge of
   the region still has its whole body inside it, with room for the approach), clipped to the
   frame. A region that leaves less than `MIN_SAVING` of the frame out is not worth a crop.
2. **Input size** (`choose_input_size`): the smallest input, in steps of 32 pixels, at which the
   10th-percentile person is at least `MIN_PERSON_PX` tall in model-input pixels.
3. The crop is then widened (or heightened) to the input's aspect ratio where the frame allows,
   so the letterbox pads nothing and people at the sides of the region get more context.

Measurement behind `MIN_PERSON_PX` (``python -m benchmarks.input_size``, section "recall by
height"): YOLOX-Nano run at square inputs 160-416 on the four clips of ../shared/data with MOT
boxes; a ground-truth person counts as found if a detection with score >= 0.5 (the tracker's
`high_score`) overlaps it with IoU >= 0.5. To separate size from occlusion, only people that
overlap no other person by more than 10 % of their box and do not touch the frame edge are kept,
and recall is taken relative to the people found at 416 or 640 ("detectable"). Recall of
detectable people by height in model pixels, pooled over sizes 160-416:

    model px   12-16  16-20  20-24  24-28  28-32  32-40  40-48  48-64  64-96  >=96
    recall      0.06   0.46   0.80   0.91   0.96   0.96   0.98   0.99   1.00   1.00

Recall is flat (>= 0.98) from 40 px up and drops below it, so the rule keeps the 10th-percentile
person at 40 px or more. Occluded people (only partly visible) lose a few per cent more at small
inputs even above 40 px (TUD clips: all-people recall 0.82 at 416, 0.77 at 192); the benchmark
reports the count accuracy and MOTA that result, and they are mixed (see the report in
benchmarks/RESULTS.md, section input_size): treat the plan as an install-time option to measure.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from edge.detect.crop import Crop
from edge.records import Detections, LineSpec, ZoneSpec

logger = logging.getLogger(__name__)

MIN_PERSON_PX = 40.0
"""Model-input pixels the 10th-percentile person must be tall: recall is flat above, drops below."""
HEIGHT_PERCENTILE = 10.0
"""Percentile of person heights (%) that must reach `MIN_PERSON_PX`: the smaller people matter too."""
MARGIN_PERCENTILE = 90.0
"""Percentile of person heights (%) used as the crop margin: tall people must fit in it."""
SIZE_STEP = 32
"""Input sides are multiples of the coarsest YOLOX stride, pixels."""
MIN_SIDE = 64
"""Smallest input side, pixels: two cells of the coarsest feature map."""
MAX_SIDE = 640
"""Largest input side, pixels: YOLOX's largest training size; beyond it Nano gains nothing."""
MIN_SAVING = 0.1
"""A crop must leave out at least this fraction of the frame's area to be used."""
NEAR_HEIGHTS = 1.0
"""A detection is 'near' a line or zone if its foot is within this many of its own heights."""
SAMPLE_SCORE = 0.5
"""Lowest detection score whose height is trusted when sampling (the tracker's high score)."""


@dataclass(frozen=True, slots=True)
class SitePlan:
    """Detector geometry for one camera.

    Attributes:
        input_width: model input width in pixels (multiple of 32).
        input_height: model input height in pixels (multiple of 32).
        crop: the region of the frame given to the model (full frame when not worth cropping).
        person_height_px: the 10th-percentile person height in source pixels the size rests on.
        margin_px: crop margin in source pixels (the 90th-percentile person height).
    """

    input_width: int
    input_height: int
    crop: Crop
    person_height_px: float
    margin_px: float


def person_heights(
    detections: Iterable[Detections],
    lines: Sequence[LineSpec],
    zones: Sequence[ZoneSpec],
    *,
    min_score: float = SAMPLE_SCORE,
) -> list[float]:
    """Heights in source pixels of confident detections whose foot is near a line or in a zone.

    Args:
        detections: the detector's output on sample frames of the site (full frame).
        lines: calibrated lines (normalised).
        zones: calibrated zones (normalised).
        min_score: lowest score of a detection whose height is used.
    """
    heights: list[float] = []
    for found in detections:
        boxes = found.boxes[found.scores >= min_score].astype(np.float64)
        if boxes.size == 0:
            continue
        feet = np.stack(((boxes[:, 0] + boxes[:, 2]) / 2, boxes[:, 3]), axis=1)
        tall = boxes[:, 3] - boxes[:, 1]
        distance = _distance_to_geometry(feet, lines, zones, found.width, found.height)
        heights += [float(h) for h in tall[distance <= NEAR_HEIGHTS * tall]]
    return heights


def region_of_interest(
    lines: Sequence[LineSpec], zones: Sequence[ZoneSpec], width: int, height: int, margin_px: float
) -> Crop:
    """Lines and zones plus `margin_px` left, right and below and twice that above, in the frame.

    Args:
        lines: calibrated lines (normalised).
        zones: calibrated zones (normalised).
        width: frame width in pixels.
        height: frame height in pixels.
        margin_px: one person height in source pixels.
    """
    if margin_px < 0:
        raise ValueError(f"margin_px must be >= 0, got {margin_px}")
    points = [p for line in lines for p in (line.a, line.b)] + [p for zone in zones for p in zone.polygon]
    if not points:
        raise ValueError("lines and zones are both empty: nothing to crop to")
    xs = np.array([p[0] for p in points]) * width
    ys = np.array([p[1] for p in points]) * height
    left, right = max(0.0, float(xs.min()) - margin_px), min(float(width), float(xs.max()) + margin_px)
    top, bottom = max(0.0, float(ys.min()) - 2.0 * margin_px), min(float(height), float(ys.max()) + margin_px)
    # A line along a frame edge with no margin would give an empty crop: keep at least one pixel.
    left, right = _grow(left, right, 1.0, float(width))
    top, bottom = _grow(top, bottom, 1.0, float(height))
    return Crop(left / width, top / height, right / width, bottom / height)


def choose_input_size(
    person_height_px: float,
    region_width_px: float,
    region_height_px: float,
    *,
    min_person_px: float = MIN_PERSON_PX,
) -> tuple[int, int]:
    """Smallest (width, height), multiples of 32, that shows the person `min_person_px` tall.

    The region is letterboxed into the input keeping its aspect ratio, so the scale is that of
    the region to the input; sides are clamped to [`MIN_SIDE`, `MAX_SIDE`].

    Args:
        person_height_px: the small-person height (10th percentile) in source pixels.
        region_width_px: width of the part of the frame given to the model, source pixels.
        region_height_px: its height, source pixels.
        min_person_px: model-input pixels that person must be tall.
    """
    if person_height_px <= 0 or region_width_px <= 0 or region_height_px <= 0:
        raise ValueError(
            f"person_height_px and the region must be positive, got {person_height_px}, "
            f"{region_width_px} x {region_height_px}"
        )
    scale = min_person_px / person_height_px
    limit = MAX_SIDE / max(region_width_px, region_height_px)
    if scale > limit:
        logger.warning(
            "people are %.0f px tall: even %d px inputs show them below %.0f px",
            person_height_px,
            MAX_SIDE,
            min_person_px,
        )
        scale = limit

    def side(length_px: float) -> int:
        steps = math.ceil(length_px * scale / SIZE_STEP - 1e-9)
        return min(MAX_SIDE, max(MIN_SIDE, steps * SIZE_STEP))

    return side(region_width_px), side(region_height_px)


def plan_site(
    lines: Sequence[LineSpec],
    zones: Sequence[ZoneSpec],
    width: int,
    height: int,
    heights_px: Sequence[float],
    *,
    crop: bool = True,
) -> SitePlan:
    """Crop and input size for a site from its geometry and the people heights seen there.

    Args:
        lines: calibrated lines (normalised).
        zones: calibrated zones (normalised).
        width: frame width in pixels.
        height: frame height in pixels.
        heights_px: person heights near the lines and zones, source pixels (`person_heights`).
        crop: False to size the model for the full frame.
    """
    if not heights_px:
        raise ValueError("heights_px is empty: sample frames with people near the lines first")
    small = float(np.percentile(heights_px, HEIGHT_PERCENTILE))
    margin = float(np.percentile(heights_px, MARGIN_PERCENTILE))
    region = region_of_interest(lines, zones, width, height, margin) if crop else Crop()
    if 1.0 - region.area < MIN_SAVING:
        region = Crop()
    left, top, right, bottom = region.pixels(width, height)
    input_width, input_height = choose_input_size(small, right - left, bottom - top)
    if not region.is_full:
        region = fit_aspect(region, input_width / input_height, width, height)
    return SitePlan(input_width, input_height, region, small, margin)


def fit_aspect(crop: Crop, aspect: float, width: int, height: int) -> Crop:
    """Grow `crop` about its centre (kept inside the frame) towards width / height = `aspect`."""
    left, top, right, bottom = crop.left * width, crop.top * height, crop.right * width, crop.bottom * height
    crop_w, crop_h = right - left, bottom - top
    if crop_w / crop_h < aspect:
        left, right = _grow(left, right, min(float(width), crop_h * aspect), float(width))
    else:
        top, bottom = _grow(top, bottom, min(float(height), crop_w / aspect), float(height))
    return Crop(left / width, top / height, right / width, bottom / height)


def _grow(start: float, end: float, length: float, limit: float) -> tuple[float, float]:
    """Widen [start, end] to `length` about its centre, shifted to stay inside [0, limit]."""
    extra = max(0.0, length - (end - start)) / 2.0
    start, end = start - extra, end + extra
    shift = max(0.0, -start) - max(0.0, end - limit)
    return max(0.0, start + shift), min(limit, end + shift)


def _distance_to_geometry(
    feet: npt.NDArray[np.float64],
    lines: Sequence[LineSpec],
    zones: Sequence[ZoneSpec],
    width: int,
    height: int,
) -> npt.NDArray[np.float64]:
    """Pixel distance of each foot point to the nearest line segment or zone (0 inside a zone)."""
    best = np.full(len(feet), np.inf)
    size = np.array([width, height], dtype=np.float64)
    for line in lines:
        a, b = np.asarray(line.a) * size, np.asarray(line.b) * size
        along = np.clip(((feet - a) @ (b - a)) / max(float((b - a) @ (b - a)), 1e-12), 0.0, 1.0)
        best = np.minimum(best, np.linalg.norm(feet - (a + along[:, None] * (b - a)), axis=1))
    for zone in zones:
        polygon = (np.asarray(zone.polygon) * size).astype(np.float32)
        signed = np.array([cv2.pointPolygonTest(polygon, (float(x), float(y)), True) for x, y in feet])
        best = np.minimum(best, np.maximum(-signed, 0.0))
    return best
