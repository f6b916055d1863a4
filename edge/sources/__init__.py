"""Frame sources: everything that turns a file, a folder, a stream or a camera into `Frame`s.

Owns OpenCV video capture and image decoding for input, picamera2 (imported lazily, only here),
the reconnect-with-backoff policy of live sources and read-ahead (`prefetch`).
Must NOT detect, track, count, read settings or write frames anywhere: frames live in memory
only and are handed on. Names and messages never contain credentialed URLs.
"""

from __future__ import annotations

from edge.sources.base import FrameSource, redact_url
from edge.sources.camera import LatestFrame, LatestFrameReader, PacedLoopSource
from edge.sources.factory import open_source
from edge.sources.files import ImageFolderSource, VideoFileSource
from edge.sources.live import LiveSource, StreamSource, UsbCameraSource
from edge.sources.picamera import PicameraSource
from edge.sources.prefetch import PrefetchSource, prefetch

__all__ = [
    "FrameSource",
    "ImageFolderSource",
    "LatestFrame",
    "LatestFrameReader",
    "LiveSource",
    "PacedLoopSource",
    "PicameraSource",
    "PrefetchSource",
    "StreamSource",
    "UsbCameraSource",
    "VideoFileSource",
    "open_source",
    "prefetch",
    "redact_url",
]
