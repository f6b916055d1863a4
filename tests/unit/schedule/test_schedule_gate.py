"""MotionGate on synthetic frames: still, noisy, a walking person, lighting changes, a region."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest

from edge.records import Frame, ImageArray
from edge.schedule import MotionGate, region_around

WIDTH_PX, HEIGHT_PX = 320, 240
FPS = 10.0
# A person a fifth of the frame high, as wide as a pedestrian box (~0.4 of the height).
PERSON_HEIGHT_PX, PERSON_WIDTH_PX = 48, 20


def _scene(seed: int = 0) -> ImageArray:
    """A textured, mid-grey background (smooth gradients plus mild texture, like a pavement)."""
    rng = np.random.default_rng(seed)
    rows = np.linspace(60.0, 160.0, HEIGHT_PX)[:, None]
    columns = np.linspace(0.0, 40.0, WIDTH_PX)[None, :]
    texture = np.kron(rng.normal(0.0, 8.0, (HEIGHT_PX // 4, WIDTH_PX // 4)), np.ones((4, 4)))
    grey = np.clip(rows + columns + texture, 0, 255)
    return np.repeat(grey[:, :, None], 3, axis=2).astype(np.uint8)


def _with_person(image: ImageArray, left_px: int, top_px: int = 125) -> ImageArray:
    out = image.copy()
    out[top_px : top_px + PERSON_HEIGHT_PX, left_px : left_px + PERSON_WIDTH_PX] = (40, 30, 90)
    return out


def _noisy(image: ImageArray, rng: np.random.Generator, sigma: float = 4.0) -> ImageArray:
    """Independent Gaussian sensor noise on every pixel and channel."""
    noise = rng.standard_normal(image.shape, dtype=np.float32) * sigma
    return np.clip(image + noise, 0, 255).astype(np.uint8)


def _frames(images: list[ImageArray]) -> list[Frame]:
    return [Frame(index, index / FPS, image) for index, image in enumerate(images)]


def test_the_first_frame_seeds_the_background_and_identical_frames_show_no_motion() -> None:
    gate = MotionGate()
    scene = _scene()
    motions = [gate.update(frame) for frame in _frames([scene] * 20)]
    assert all(not motion.moving and motion.changed_fraction == 0.0 for motion in motions)


def test_sensor_noise_is_not_motion() -> None:
    rng = np.random.default_rng(1)
    gate = MotionGate()
    scene = _scene()
    motions = [gate.update(frame) for frame in _frames([_noisy(scene, rng) for _ in range(50)])]
    assert not any(motion.moving for motion in motions)


def test_a_walking_person_is_motion() -> None:
    rng = np.random.default_rng(2)
    gate = MotionGate()
    scene = _scene()
    # Empty for a second, then a person walks in at ~1.4 m/s (0.8 of their height per second).
    step_px = round(0.8 * PERSON_HEIGHT_PX / FPS)
    images = [_noisy(scene, rng) for _ in range(10)]
    images += [_noisy(_with_person(scene, 100 + step_px * n), rng) for n in range(20)]
    motions = [gate.update(frame) for frame in _frames(images)]
    assert not any(motion.moving for motion in motions[:10])
    assert all(motion.moving for motion in motions[10:])


def test_a_person_who_stops_fades_into_the_background() -> None:
    gate = MotionGate(background_time_s=0.5)
    scene = _scene()
    standing = _with_person(scene, 150)
    motions = [gate.update(frame) for frame in _frames([scene] * 5 + [standing] * 40)]
    assert motions[5].moving
    assert not motions[-1].moving  # 3.5 s later: part of the background


@pytest.mark.parametrize(
    "gain", [0.6, 0.8, 1.15, 1.3], ids=["darker-40%", "darker-20%", "brighter-15%", "brighter-30%"]
)
def test_a_brightness_change_of_the_whole_picture_is_not_motion(gain: float) -> None:
    rng = np.random.default_rng(3)
    gate = MotionGate()
    scene = _scene()
    changed = np.clip(scene.astype(np.float32) * gain, 0, 255).astype(np.uint8)
    images = [_noisy(scene, rng) for _ in range(10)] + [_noisy(changed, rng) for _ in range(10)]
    motions = [gate.update(frame) for frame in _frames(images)]
    assert not any(motion.moving for motion in motions)


def test_a_change_over_most_of_the_picture_is_lighting_and_resets_the_background() -> None:
    gate = MotionGate()
    scene = _scene()
    # Light from one side: a gradient the mean-gain correction cannot undo.
    ramp = np.linspace(0.5, 1.6, WIDTH_PX)[None, :, None]
    relit = np.clip(scene * ramp, 0, 255).astype(np.uint8)
    motions = [gate.update(frame) for frame in _frames([scene] * 5 + [relit] * 5)]
    assert motions[5].lighting_change
    assert not motions[5].moving
    assert not any(motion.moving or motion.lighting_change for motion in motions[6:])


def test_motion_outside_the_region_is_ignored() -> None:
    scene = _scene()
    images = [scene] * 5 + [_with_person(scene, 10 + 4 * n) for n in range(10)]  # left edge only
    inside = MotionGate(region=(0.5, 0.0, 1.0, 1.0))
    everywhere = MotionGate()
    assert not any(inside.update(frame).moving for frame in _frames(images))
    assert any(everywhere.update(frame).moving for frame in _frames(images))


def test_a_frame_of_another_size_reseeds_the_background() -> None:
    gate = MotionGate()
    gate.update(Frame(0, 0.0, _scene()))
    other = np.zeros((120, 160, 3), dtype=np.uint8)
    assert not gate.update(Frame(1, 0.1, other)).moving


def test_the_gate_costs_well_under_a_millisecond_per_frame() -> None:
    gate = MotionGate()
    frames = _frames([_scene(seed) for seed in range(4)] * 25)
    gate.update(frames[0])
    started = time.perf_counter()
    for frame in frames[1:]:
        gate.update(frame)
    per_frame_ms = (time.perf_counter() - started) * 1000.0 / (len(frames) - 1)
    assert per_frame_ms < 2.0  # ~0.15 ms on an idle x86 core; generous for a shared CI machine


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"width_px": 8}, "width_px"),
        ({"pixel_threshold": 0.0}, "pixel_threshold"),
        ({"min_changed_fraction": 0.7}, "min_changed_fraction"),
        ({"background_time_s": 0.0}, "background_time_s"),
        ({"region": (0.5, 0.0, 0.4, 1.0)}, "region"),
    ],
    ids=["tiny-width", "zero-threshold", "minimum-above-global", "zero-time", "inverted-region"],
)
def test_invalid_arguments_are_rejected(arguments: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        MotionGate(**arguments)


@pytest.mark.parametrize(
    ("points", "margin", "expected"),
    [
        ([(0.5, 0.5)], 0.25, (0.25, 0.25, 0.75, 0.75)),
        ([(0.85, 0.6), (0.85, 1.0)], 0.1, (0.75, 0.5, 0.95, 1.0)),
        ([(0.0, 0.0), (1.0, 1.0)], 0.3, (0.0, 0.0, 1.0, 1.0)),
        ([(1.0, 0.5)], 0.0, (0.0, 0.0, 1.0, 1.0)),
    ],
    ids=["point", "line-at-bottom", "whole-frame", "degenerate-edge"],
)
def test_region_around_widens_and_clips(
    points: list[tuple[float, float]], margin: float, expected: tuple[float, float, float, float]
) -> None:
    assert region_around(points, margin) == pytest.approx(expected)


def test_region_around_needs_points() -> None:
    with pytest.raises(ValueError, match="points"):
        region_around([])
