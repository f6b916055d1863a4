"""open_source dispatch and redact_url."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.errors import SourceError
from edge.sources import (
    ImageFolderSource,
    PicameraSource,
    StreamSource,
    UsbCameraSource,
    VideoFileSource,
    open_source,
    redact_url,
)
from tests.fakes import picamera2 as fake_picamera2

if TYPE_CHECKING:
    from pathlib import Path

TUD_VIDEO = "TUD-Stadtmitte/TUD-Stadtmitte.mp4"


@pytest.mark.parametrize(
    ("spec", "fps", "expected_type", "expected_name"),
    [
        ("{data}/" + TUD_VIDEO, None, VideoFileSource, "{data}/" + TUD_VIDEO),
        ("{data}/PETS09-S2L1-300", None, ImageFolderSource, "{data}/PETS09-S2L1-300"),
        ("{data}/PETS09-S3-MF1", 7.0, ImageFolderSource, "{data}/PETS09-S3-MF1"),
        ("{data}/PETS09-S3-MF1", None, SourceError("--fps"), ""),
        ("rtsp://user:pw@cam.local:554/h264", None, StreamSource, "rtsp://cam.local:554/h264"),
        ("rtsps://cam.local/live", None, StreamSource, "rtsps://cam.local/live"),
        ("http://cam.local/video.mjpg", None, StreamSource, "http://cam.local/video.mjpg"),
        ("HTTPS://cam.local/video.mjpg", None, StreamSource, "HTTPS://cam.local/video.mjpg"),
        ("usb:0", None, UsbCameraSource, "usb:0"),
        ("usb:12", 15.0, UsbCameraSource, "usb:12"),
        ("/dev/video2", None, UsbCameraSource, "/dev/video2"),
        ("picamera", None, PicameraSource, "picamera:0"),
        ("picamera:1", None, PicameraSource, "picamera:1"),
        ("{data}/no-such-clip.mp4", None, SourceError("no such file or folder: .*no-such-clip.mp4"), ""),
        ("usb:front", None, SourceError("no such file or folder: usb:front"), ""),
        ("ftp://user:pw@host/x.mp4", None, SourceError("no such file or folder: ftp://host/x.mp4"), ""),
        ("  ", None, SourceError("no source given"), ""),
    ],
    ids=[
        "video-file",
        "mot-sequence",
        "image-folder-with-fps",
        "image-folder-without-fps",
        "rtsp-credentials-stripped",
        "rtsps",
        "http",
        "scheme-case-insensitive",
        "usb-index",
        "usb-index-with-fps",
        "v4l2-device",
        "picamera",
        "picamera-number",
        "missing-file",
        "usb-not-a-number",
        "unsupported-scheme-redacted",
        "blank",
    ],
)
def test_open_source_dispatch(
    shared_data: Path,
    monkeypatch: pytest.MonkeyPatch,
    spec: str,
    fps: float | None,
    expected_type: type | SourceError,
    expected_name: str,
) -> None:
    monkeypatch.setitem(sys.modules, "picamera2", fake_picamera2)
    fake_picamera2.reset(cameras=2)
    spec = spec.format(data=shared_data)
    if isinstance(expected_type, SourceError):
        with pytest.raises(SourceError, match=str(expected_type)) as raised:
            open_source(spec, fps=fps)
        assert "pw" not in str(raised.value)
        return
    with open_source(spec, fps=fps) as source:
        assert type(source) is expected_type
        assert source.name == expected_name.format(data=shared_data)
        if fps is not None:
            assert source.fps == fps
    fake_picamera2.reset()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("rtsp://admin:s3cret@10.0.0.5:554/stream1", "rtsp://10.0.0.5:554/stream1"),
        ("rtsp://admin@10.0.0.5/stream1", "rtsp://10.0.0.5/stream1"),
        ("rtsp://admin:p@ss/w0rd@cam:554/s", "rtsp://cam:554/s"),
        ("http://cam/mjpg?user=admin&pwd=x&fps=5", "http://cam/mjpg?user=***&pwd=***&fps=5"),
        ("rtsp://cam/live?channel=1&subtype=0", "rtsp://cam/live?channel=1&subtype=0"),
        ("/videos/clip.mp4", "/videos/clip.mp4"),
        ("usb:0", "usb:0"),
    ],
    ids=[
        "user-and-password",
        "user-only",
        "password-with-at-and-slash",
        "query-secrets",
        "plain-query",
        "path",
        "usb",
    ],
)
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected


@given(
    user=st.text(min_size=1),
    password=st.text(min_size=1),
    path=st.from_regex(r"/[a-z0-9/_.]*", fullmatch=True),
)
def test_redact_url_strips_any_user_info(user: str, password: str, path: str) -> None:
    assert redact_url(f"rtsp://{user}:{password}@cam.example:8554{path}") == f"rtsp://cam.example:8554{path}"
