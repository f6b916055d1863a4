"""VideoFileSource and ImageFolderSource on the real shared clips and on damaged copies."""

from __future__ import annotations

import itertools
import logging
import re
import struct
from typing import TYPE_CHECKING

import cv2
import numpy as np
import pytest

from edge.errors import SourceError
from edge.sources import FrameSource, ImageFolderSource, VideoFileSource

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

CLIP_SIZE = (64, 48)  # width, height of the synthetic clips


def write_clip(path: Path, frames: int, fps: float = 10.0) -> Path:
    """Write an MJPG AVI whose frame i is flat grey level 10 * i."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), fps, CLIP_SIZE)
    assert writer.isOpened()
    for i in range(frames):
        writer.write(np.full((CLIP_SIZE[1], CLIP_SIZE[0], 3), 10 * i, dtype=np.uint8))
    writer.release()
    return path


@pytest.fixture
def tud_video(shared_data: Path) -> Path:
    return shared_data / "TUD-Stadtmitte" / "TUD-Stadtmitte.mp4"


def test_video_file_reads_every_frame_with_media_timestamps(tud_video: Path) -> None:
    with VideoFileSource(tud_video) as source:
        assert isinstance(source, FrameSource)
        assert (source.fps, source.frame_count, source.name) == (25.0, 179, str(tud_video))
        frames = list(source)

    assert [frame.index for frame in frames] == list(range(179))
    assert [frame.timestamp_s for frame in frames] == pytest.approx([i / 25.0 for i in range(179)])
    assert {(f.image.shape, f.image.dtype) for f in frames} == {((480, 640, 3), np.dtype(np.uint8))}


def test_video_file_fps_override_beats_header(tud_video: Path) -> None:
    with VideoFileSource(tud_video, fps=10.0) as source:
        first_three = list(itertools.islice(source, 3))
    assert source.fps == 10.0
    assert [frame.timestamp_s for frame in first_three] == pytest.approx([0.0, 0.1, 0.2])


def test_video_file_can_be_iterated_again_from_the_start(tud_video: Path) -> None:
    with VideoFileSource(tud_video) as source:
        first_pass = next(iter(source))
        second_pass = next(iter(source))
    assert second_pass.index == 0
    np.testing.assert_array_equal(first_pass.image, second_pass.image)


def test_closing_ends_a_running_iteration(tud_video: Path) -> None:
    source = VideoFileSource(tud_video)
    frames = iter(source)
    next(frames)
    source.close()
    assert next(frames, None) is None
    with pytest.raises(SourceError, match="closed"):
        iter(source)


def test_missing_video_file(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"video file not found: .*nope\.mp4"):
        VideoFileSource(tmp_path / "nope.mp4")


def _garbage(path: Path, tud: Path) -> None:
    path.write_bytes(bytes(range(256)) * 40)


def _first_half(path: Path, tud: Path) -> None:
    data = tud.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _no_frames(path: Path, tud: Path) -> None:
    write_clip(path, frames=0)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (_garbage, "cannot open video file"),
        (_first_half, "cannot open video file"),
        (_no_frames, "no decodable frame"),
    ],
    ids=["garbage-bytes", "truncated-mp4", "zero-frames"],
)
def test_unusable_video_file_is_rejected_at_construction(
    tmp_path: Path, tud_video: Path, damage: Callable[[Path, Path], None], message: str
) -> None:
    path = tmp_path / "clip.avi"
    damage(path, tud_video)
    with pytest.raises(SourceError, match=message):
        VideoFileSource(path)


def test_corrupt_frame_mid_video_ends_stream_with_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clip = write_clip(tmp_path / "clip.avi", frames=20)
    data = bytearray(clip.read_bytes())
    jpeg_starts = [match.start() for match in re.finditer(rb"\xff\xd8\xff", bytes(data))]
    assert len(jpeg_starts) == 20
    data[jpeg_starts[10] : jpeg_starts[11] - 16] = bytes(jpeg_starts[11] - 16 - jpeg_starts[10])
    clip.write_bytes(bytes(data))

    with caplog.at_level(logging.WARNING, logger="edge.sources"), VideoFileSource(clip) as source:
        frames = list(source)

    assert [frame.index for frame in frames] == list(range(10))
    assert [round(float(frame.image.mean()) / 10) for frame in frames] == list(range(10))
    assert "after 10 of the 20 frames" in caplog.text


def test_header_frame_rate_that_is_a_time_base_needs_fps(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "clip.avi", frames=5)
    data = bytearray(clip.read_bytes())
    stream_header = data.find(b"strh")
    rate_offset = stream_header + 8 + 4 + 4 + 4 + 2 + 2 + 4 + 4  # AVISTREAMHEADER.dwRate
    data[rate_offset : rate_offset + 4] = struct.pack("<I", 90_000)
    clip.write_bytes(bytes(data))

    with pytest.raises(SourceError, match="--fps"):
        VideoFileSource(clip)
    with VideoFileSource(clip, fps=12.5) as source:
        assert [frame.timestamp_s for frame in source] == pytest.approx([i / 12.5 for i in range(5)])


@pytest.mark.parametrize(
    "fps", [0.0, -1.0, float("nan"), float("inf")], ids=["zero", "negative", "nan", "inf"]
)
def test_invalid_fps_argument_is_a_value_error(tud_video: Path, fps: float) -> None:
    with pytest.raises(ValueError, match="fps"):
        VideoFileSource(tud_video, fps=fps)


@pytest.mark.parametrize("subfolder", ["", "img1"], ids=["sequence-folder", "image-folder"])
def test_mot_sequence_uses_seqinfo_frame_rate(shared_data: Path, subfolder: str) -> None:
    path = shared_data / "PETS09-S2L1-300" / subfolder
    with ImageFolderSource(path) as source:
        assert isinstance(source, FrameSource)
        assert (source.fps, source.frame_count) == (7.0, 300)
        first = list(itertools.islice(source, 2))

    assert [(frame.index, frame.timestamp_s) for frame in first] == [(0, 0.0), (1, pytest.approx(1 / 7))]
    expected = cv2.imread(str(shared_data / "PETS09-S2L1-300" / "img1" / "000001.jpg"))
    assert first[0].image.shape == (576, 768, 3)
    np.testing.assert_array_equal(first[0].image, expected)


def test_image_folder_without_seqinfo_needs_fps(shared_data: Path) -> None:
    sequence = shared_data / "PETS09-S3-MF1"
    with pytest.raises(SourceError, match="--fps"):
        ImageFolderSource(sequence)
    with ImageFolderSource(sequence, fps=7.0) as source:
        assert source.frame_count == 107  # img/ also holds det.txt, which is not an image
        first = next(iter(source))
    np.testing.assert_array_equal(first.image, cv2.imread(str(sequence / "img" / "frame_0001.jpg")))


def test_fps_override_beats_seqinfo(shared_data: Path) -> None:
    with ImageFolderSource(shared_data / "PETS09-S2L1-300", fps=14.0) as source:
        assert source.fps == 14.0
        assert [frame.timestamp_s for frame in itertools.islice(source, 3)] == pytest.approx(
            [0.0, 1 / 14, 2 / 14]
        )


def test_images_are_sorted_by_name_and_filtered_by_suffix(tmp_path: Path) -> None:
    names = ["c.bmp", "a.PNG", "b.jpeg", "d.jpg"]
    for level, name in zip((30, 10, 20, 40), names, strict=True):
        assert cv2.imwrite(str(tmp_path / name), np.full((8, 8, 3), level, dtype=np.uint8))
    (tmp_path / "notes.txt").write_text("not an image")

    with ImageFolderSource(tmp_path, fps=5.0) as source:
        levels = [round(float(frame.image.mean())) for frame in source]
    assert levels == [10, 20, 30, 40]


def test_unreadable_image_raises_naming_the_file(tmp_path: Path) -> None:
    cv2.imwrite(str(tmp_path / "000001.png"), np.zeros((8, 8, 3), dtype=np.uint8))
    (tmp_path / "000002.jpg").write_bytes(b"\x00not a jpeg")

    frames = iter(ImageFolderSource(tmp_path, fps=5.0))
    assert next(frames).index == 0
    with pytest.raises(SourceError, match=r"000002\.jpg"):
        next(frames)


@pytest.mark.parametrize(
    ("seqinfo", "expected"),
    [
        ("[Sequence]\nframeRate=30\n", 30.0),
        ("[Sequence]\nname=x\n", SourceError("--fps")),
        ("[Sequence]\nframeRate=fast\n", SourceError("frameRate")),
        ("[Sequence]\nframeRate=0\n", SourceError("frameRate")),
        ("not an ini file", SourceError("frameRate")),
    ],
    ids=["valid", "no-frame-rate", "not-a-number", "zero", "not-ini"],
)
def test_seqinfo_frame_rate(tmp_path: Path, seqinfo: str, expected: float | SourceError) -> None:
    (tmp_path / "img1").mkdir()
    cv2.imwrite(str(tmp_path / "img1" / "000001.jpg"), np.zeros((8, 8, 3), dtype=np.uint8))
    (tmp_path / "seqinfo.ini").write_text(seqinfo)
    if isinstance(expected, SourceError):
        with pytest.raises(SourceError, match=str(expected)):
            ImageFolderSource(tmp_path)
    else:
        assert ImageFolderSource(tmp_path).fps == expected


@pytest.mark.parametrize("make", ["missing", "empty"], ids=["missing-folder", "empty-folder"])
def test_folder_without_images(tmp_path: Path, make: str) -> None:
    folder = tmp_path / "seq"
    if make == "empty":
        folder.mkdir()
    with pytest.raises(SourceError, match="seq"):
        ImageFolderSource(folder, fps=5.0)
