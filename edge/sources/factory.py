"""`open_source`: turn the one string a user types (`--source`) into the right `FrameSource`.

Keywords and URL schemes are matched before the file system, so a folder that happens to be
called `picamera` must be given as `./picamera`.
"""

from __future__ import annotations

import re
from pathlib import Path

from edge.errors import SourceError
from edge.sources.base import FrameSource, redact_url
from edge.sources.files import ImageFolderSource, VideoFileSource
from edge.sources.live import StreamSource, UsbCameraSource
from edge.sources.picamera import PicameraSource

__all__ = ["open_source"]

# URL schemes read as network streams (FFmpeg via OpenCV).
STREAM_SCHEMES = frozenset({"rtsp", "rtsps", "rtmp", "http", "https", "udp", "tcp", "srt"})
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")
_USB = re.compile(r"^usb:(\d+)$")
_V4L2_DEVICE = re.compile(r"^/dev/video\d+$")
_PICAMERA = re.compile(r"^picamera(?::(\d+))?$")


def open_source(spec: str, *, fps: float | None = None) -> FrameSource:
    """Open the source described by `spec`.

    | spec | source |
    |---|---|
    | `rtsp://`, `rtsps://`, `http(s)://`, `rtmp://`, `udp://`, `tcp://`, `srt://` URL | `StreamSource` |
    | `usb:N` or `/dev/videoN` | `UsbCameraSource` |
    | `picamera` or `picamera:N` | `PicameraSource` (camera N) |
    | an existing folder | `ImageFolderSource` |
    | an existing file | `VideoFileSource` |

    Args:
        spec: what to open.
        fps: frame rate override (required for image folders without `seqinfo.ini`).

    Raises:
        SourceError: `spec` matches nothing, or the source cannot be opened.
        ValueError: `fps` is not a positive frame rate.
    """
    spec = spec.strip()
    if not spec:
        raise SourceError("no source given")
    scheme = _SCHEME.match(spec)
    if scheme is not None and scheme.group(1).lower() in STREAM_SCHEMES:
        return StreamSource(spec, fps=fps)
    if (usb := _USB.match(spec)) is not None:
        return UsbCameraSource(int(usb.group(1)), fps=fps)
    if _V4L2_DEVICE.match(spec):
        return UsbCameraSource(spec, fps=fps)
    if (picamera := _PICAMERA.match(spec)) is not None:
        return PicameraSource(camera_num=int(picamera.group(1) or 0), fps=fps)
    path = Path(spec).expanduser()
    if path.is_dir():
        return ImageFolderSource(path, fps=fps)
    if path.is_file():
        return VideoFileSource(path, fps=fps)
    raise SourceError(f"no such file or folder: {redact_url(spec)}")
