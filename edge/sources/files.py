"""Recorded sources: a video file (OpenCV) and a folder of images (MOT layout).

Both know their length and frame rate before the first frame, so `timestamp_s = index / fps` is
media time, independent of how fast frames are processed. Both can be iterated more than once;
each pass starts again at frame 0.

Decode failures: a file that cannot be opened or yields no frame at all raises `SourceError` when
the source is constructed. A failure in the middle of a video (truncated or damaged file) ends the
stream with a logged warning and keeps the frames read so far, as a player would; the warning
says how many of the frames announced by the header were read. An unreadable image in a folder
raises `SourceError` naming the file, because a folder has no container to blame.
"""

from __future__ import annotations

import configparser
import logging
from pathlib import Path
from typing import TYPE_CHECKING, cast

import cv2

from edge.errors import SourceError
from edge.records import Frame, ImageArray
from edge.sources.base import SourceBase, is_usable_fps, validate_fps

if TYPE_CHECKING:
    from collections.abc import Generator

__all__ = ["IMAGE_SUFFIXES", "ImageFolderSource", "VideoFileSource"]

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp"})
# Image subfolders of a MOT sequence folder, in order of preference.
_SEQUENCE_IMAGE_DIRS = ("img1", "img")


class VideoFileSource(SourceBase):
    """Frames of a video file decoded by OpenCV.

    Args:
        path: the video file.
        fps: frame rate to use instead of the one in the file header (headers can lie).

    Raises:
        SourceError: the file is missing, cannot be opened, has no decodable frame, or its header
            has no usable frame rate and `fps` was not given.
        ValueError: `fps` is not a positive frame rate.
    """

    def __init__(self, path: str | Path, *, fps: float | None = None) -> None:
        self._path = Path(path)
        super().__init__(str(self._path))
        fps = validate_fps(fps)
        if not self._path.is_file():
            raise SourceError(f"video file not found: {self._path}")
        header_fps, header_count = self._probe()
        if fps is None:
            if not is_usable_fps(header_fps):
                raise SourceError(
                    f"video file {self._path} has no usable frame rate in its header "
                    f"({header_fps:g}); pass the rate with --fps"
                )
            fps = header_fps
        self._fps = fps
        self._frame_count = int(header_count) if header_count >= 1 else None

    @property
    def fps(self) -> float:
        return self._fps

    @property
    def frame_count(self) -> int | None:
        """Frame count from the container header (None if it has none)."""
        return self._frame_count

    def _open(self) -> cv2.VideoCapture:
        capture = cv2.VideoCapture(str(self._path))
        if not capture.isOpened():
            capture.release()
            raise SourceError(
                f"cannot open video file {self._path}: corrupt, truncated or unsupported format"
            )
        return capture

    def _probe(self) -> tuple[float, float]:
        """Return header fps and frame count; check that at least one frame decodes."""
        capture = self._open()
        try:
            header_fps = capture.get(cv2.CAP_PROP_FPS)
            header_count = capture.get(cv2.CAP_PROP_FRAME_COUNT)
            decoded, _ = capture.read()
        finally:
            capture.release()
        if not decoded:
            raise SourceError(f"video file {self._path} has no decodable frame: corrupt or unsupported codec")
        return header_fps, header_count

    def _frames(self) -> Generator[Frame, None, None]:
        capture = self._open()
        index = 0
        try:
            while not self._closed.is_set():
                try:
                    decoded, image = capture.read()
                except cv2.error as exc:
                    logger.warning(
                        "%s: decoding failed after %d frames (%s); ending the video", self.name, index, exc
                    )
                    return
                if not decoded:
                    break
                yield Frame(index, index / self._fps, cast(ImageArray, image))
                index += 1
        finally:
            capture.release()
        if not self._closed.is_set() and self._frame_count is not None and index < self._frame_count:
            logger.warning(
                "%s: video ended after %d of the %d frames its header announces (truncated or damaged file); "
                "keeping the frames read so far",
                self.name,
                index,
                self._frame_count,
            )


class ImageFolderSource(SourceBase):
    """Frames from a folder of images, sorted by file name (.jpg, .jpeg, .png, .bmp).

    Accepts a MOT sequence folder (images in its `img1/` or `img/` subfolder, frame rate in its
    `seqinfo.ini`) or the image folder itself (then `seqinfo.ini` is looked for next to it).

    Args:
        path: the sequence folder or the image folder.
        fps: frame rate; overrides `seqinfo.ini`. Required when there is no `seqinfo.ini`.

    Raises:
        SourceError: the folder is missing or holds no images, or no frame rate is known.
        ValueError: `fps` is not a positive frame rate.
    """

    def __init__(self, path: str | Path, *, fps: float | None = None) -> None:
        folder = Path(path)
        super().__init__(str(folder))
        fps = validate_fps(fps)
        if not folder.is_dir():
            raise SourceError(f"image folder not found: {folder}")
        image_dir = next((folder / sub for sub in _SEQUENCE_IMAGE_DIRS if (folder / sub).is_dir()), folder)
        self._files = tuple(
            sorted(
                (entry for entry in image_dir.iterdir() if entry.suffix.lower() in IMAGE_SUFFIXES),
                key=lambda entry: entry.name,
            )
        )
        if not self._files:
            raise SourceError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in folder {image_dir}")
        if fps is None:
            # seqinfo.ini sits in the sequence folder: `folder`, or the parent of an image folder.
            sequence_dirs = (folder,) if image_dir != folder else (folder, folder.parent)
            fps = next((rate for d in sequence_dirs if (rate := _sequence_frame_rate(d)) is not None), None)
        if fps is None:
            raise SourceError(
                f"image folder {folder} has no seqinfo.ini with a frameRate; pass the rate with --fps"
            )
        self._fps = fps

    @property
    def fps(self) -> float:
        return self._fps

    @property
    def frame_count(self) -> int:
        return len(self._files)

    def _frames(self) -> Generator[Frame, None, None]:
        for index, file in enumerate(self._files):
            if self._closed.is_set():
                return
            image = cv2.imread(str(file), cv2.IMREAD_COLOR)
            if image is None:
                raise SourceError(f"cannot read image {file}: corrupt or not an image")
            yield Frame(index, index / self._fps, cast(ImageArray, image))


def _sequence_frame_rate(sequence_dir: Path) -> float | None:
    """Frame rate from `<sequence_dir>/seqinfo.ini` ([Sequence] frameRate), None if absent."""
    info_file = sequence_dir / "seqinfo.ini"
    if not info_file.is_file():
        return None
    parser = configparser.ConfigParser()
    try:
        parser.read(info_file, encoding="utf-8")
        value = parser.getfloat("Sequence", "frameRate", fallback=None)
    except (configparser.Error, ValueError) as exc:
        raise SourceError(f"cannot read frameRate from {info_file}: {exc}") from exc
    if value is None:
        return None
    if not is_usable_fps(value):
        raise SourceError(f"{info_file} has an unusable frameRate ({value:g}); pass the rate with --fps")
    return value
