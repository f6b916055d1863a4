"""Unit tests for edge.assets: manifest validation, the cache, mirror copies and https downloads.

Fake assets are small files with their real size and sha256; downloads go to a real HTTP server on
127.0.0.1 in a thread. Nothing here touches the internet.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import stat
import tempfile
import threading
from contextlib import AbstractContextManager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.assets import (
    FETCH_COMMAND,
    Asset,
    AssetKind,
    AssetState,
    HttpResponse,
    default_cache_dir,
    default_mirror,
    fetch,
    find_asset,
    load_manifest,
    resolve,
    status,
)
from edge.errors import AssetError

if TYPE_CHECKING:
    import urllib.request
    from collections.abc import Iterator

PAYLOAD = bytes(range(256)) * 1000  # 256 000 bytes: several 64 KiB chunks
FILE_NAME = "fake.onnx"


def make_asset(content: bytes = PAYLOAD, url: str = "https://example.invalid/fake.onnx") -> Asset:
    return Asset(
        name="fake-model",
        kind=AssetKind.MODEL,
        file_name=FILE_NAME,
        size_bytes=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        url=url,
        licence="Apache-2.0",
        description="test asset",
    )


def make_mirror(folder: Path, content: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / FILE_NAME).write_bytes(content)
    return folder


def files_in(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir()) if folder.exists() else []


# --- manifest -------------------------------------------------------------------------------------

VALID_ENTRY: dict[str, object] = {
    "kind": "model",
    "file_name": "m.onnx",
    "size_bytes": 10,
    "sha256": "ab" * 32,
    "url": "https://example.org/m.onnx",
    "licence": "MIT",
    "licence_url": "https://example.org/LICENSE",
    "attribution": "someone",
    "description": "a model",
}


def render_toml(tables: dict[str, dict[str, object]], top_level: str = "") -> str:
    lines = [top_level]
    for name, entry in tables.items():
        lines.append(f"[assets.{name}]")
        lines.extend(f"{key} = {json.dumps(value)}" for key, value in entry.items())
    return "\n".join(lines) + "\n"


def entry_with(**changes: object) -> dict[str, object]:
    entry = {**VALID_ENTRY, **changes}
    return {key: value for key, value in entry.items() if value is not None}


MANIFEST_CASES = [
    ("valid", render_toml({"m": VALID_ENTRY}), None),
    ("missing-key", render_toml({"m": entry_with(sha256=None)}), r"\[assets\.m\] is missing .*sha256"),
    ("unknown-key", render_toml({"m": entry_with(mirror="x")}), "unknown key.*mirror"),
    ("size-as-text", render_toml({"m": entry_with(size_bytes="10")}), "size_bytes must be a int"),
    ("size-bool", render_toml({"m": entry_with(size_bytes=True)}), "size_bytes must be a int"),
    ("size-negative", render_toml({"m": entry_with(size_bytes=-1)}), "size_bytes must be a positive"),
    ("sha-short", render_toml({"m": entry_with(sha256="abc")}), "sha256 must be 64"),
    ("sha-upper", render_toml({"m": entry_with(sha256="AB" * 32)}), "sha256 must be 64"),
    ("http-url", render_toml({"m": entry_with(url="http://example.org/m")}), "url must be https"),
    ("credentials", render_toml({"m": entry_with(url="https://u:pw@example.org/m")}), "credentials"),
    ("path-traversal", render_toml({"m": entry_with(file_name="../m.onnx")}), "plain file name"),
    ("hidden-file", render_toml({"m": entry_with(file_name=".m.onnx")}), "plain file name"),
    ("bad-kind", render_toml({"m": entry_with(kind="weights")}), "kind must be one of model, clip"),
    ("bad-name", render_toml({"M x": VALID_ENTRY}).replace("M x", '"M x"'), "name must match"),
    ("no-assets", "title = 'x'\n", "unknown top-level"),
    ("empty", "", "at least one"),
    ("entry-not-table", "[assets]\nm = 3\n", r"\[assets\.m\] must be a table"),
    ("not-toml", "[assets.m\n", "not valid TOML"),
    ("same-file", render_toml({"a": VALID_ENTRY, "b": VALID_ENTRY}), "share file_name m.onnx"),
]


@pytest.mark.parametrize(
    ("text", "error"), [case[1:] for case in MANIFEST_CASES], ids=[c[0] for c in MANIFEST_CASES]
)
def test_load_manifest_validates_every_entry(tmp_path: Path, text: str, error: str | None) -> None:
    path = tmp_path / "manifest.toml"
    path.write_text(text)
    expectation: AbstractContextManager[object] = (
        contextlib.nullcontext() if error is None else pytest.raises(AssetError, match=error)
    )
    with expectation:
        assets = load_manifest(path)
        assert [asset.name for asset in assets] == ["m"]
        assert assets[0].kind is AssetKind.MODEL


def test_credentialed_url_is_not_echoed(tmp_path: Path) -> None:
    path = tmp_path / "manifest.toml"
    path.write_text(render_toml({"m": entry_with(url="https://user:s3cret@example.org/m")}))
    with pytest.raises(AssetError) as caught:
        load_manifest(path)
    assert "s3cret" not in str(caught.value)


def test_missing_manifest_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(AssetError, match=r"not found at .*nowhere\.toml"):
        load_manifest(tmp_path / "nowhere.toml")


def test_project_manifest_pins_the_model_and_the_demo_clip() -> None:
    assets = {asset.name: asset for asset in load_manifest()}
    assert set(assets) == {"yolox_nano", "demo-clip"}
    assert assets["yolox_nano"].kind is AssetKind.MODEL
    assert assets["yolox_nano"].file_name == "yolox_nano.onnx"
    assert assets["demo-clip"].kind is AssetKind.CLIP
    assert all(asset.url.startswith("https://") and asset.attribution for asset in assets.values())


def test_find_asset_lists_known_names_for_an_unknown_one() -> None:
    assert find_asset("yolox_nano").file_name == "yolox_nano.onnx"
    with pytest.raises(AssetError, match=r"unknown asset 'yolo'.*yolox_nano, demo-clip"):
        find_asset("yolo")


# --- locations ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"FOOTFALL_CACHE_DIR": "/srv/cache", "XDG_CACHE_HOME": "/xdg"}, Path("/srv/cache")),
        ({"XDG_CACHE_HOME": "/xdg"}, Path("/xdg/footfall")),
        ({"XDG_CACHE_HOME": "relative/xdg"}, Path("/home/pi/.cache/footfall")),
        ({"FOOTFALL_CACHE_DIR": ""}, Path("/home/pi/.cache/footfall")),
    ],
    ids=["explicit-wins", "xdg", "relative-xdg-ignored", "default"],
)
def test_default_cache_dir(monkeypatch: pytest.MonkeyPatch, environ: dict[str, str], expected: Path) -> None:
    monkeypatch.setenv("HOME", "/home/pi")
    assert default_cache_dir(environ) == expected


def test_default_mirror_is_absolute_or_none(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    assert default_mirror({"FOOTFALL_MIRROR": "../mirror"}) == tmp_path / ".." / "mirror"
    assert default_mirror({"FOOTFALL_MIRROR": ""}) is None
    assert default_mirror({}) is None


# --- mirror and cache -----------------------------------------------------------------------------


def test_fetch_copies_from_mirror_and_verifies(tmp_path: Path) -> None:
    asset = make_asset()
    progress: list[tuple[int, int]] = []
    path = fetch(
        asset,
        cache_dir=tmp_path / "cache",
        mirror=make_mirror(tmp_path / "mirror", PAYLOAD),
        on_progress=lambda done, total: progress.append((done, total)),
    )
    assert path == tmp_path / "cache" / FILE_NAME
    assert path.read_bytes() == PAYLOAD
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert status(asset, tmp_path / "cache").state is AssetState.PRESENT
    assert progress[-1] == (len(PAYLOAD), len(PAYLOAD))
    assert [done for done, _ in progress] == sorted({done for done, _ in progress})
    assert files_in(tmp_path / "cache") == [FILE_NAME]


def test_cache_hit_does_not_copy_again(tmp_path: Path) -> None:
    asset = make_asset()
    first = fetch(asset, cache_dir=tmp_path, mirror=make_mirror(tmp_path / "mirror", PAYLOAD))
    inode = first.stat().st_ino
    # A mirror that does not exist would fail any copy attempt, so success proves a cache hit.
    second = fetch(asset, cache_dir=tmp_path, mirror=tmp_path / "no-such-mirror")
    assert second == first
    assert second.stat().st_ino == inode


FLIPPED = bytes([PAYLOAD[0] ^ 0xFF]) + PAYLOAD[1:]

BAD_MIRROR_CASES = [
    (
        "wrong-digest",
        FLIPPED,
        r"expected 256000 bytes with sha256 [0-9a-f]{64}, got 256000 bytes with sha256",
    ),
    ("truncated", PAYLOAD[:100_000], "got 100000 bytes"),
    ("empty", b"", "got 0 bytes"),
    ("too-long", PAYLOAD + b"x", "larger than the expected 256000 bytes"),
]


@pytest.mark.parametrize(
    ("content", "error"), [case[1:] for case in BAD_MIRROR_CASES], ids=[case[0] for case in BAD_MIRROR_CASES]
)
def test_bad_mirror_file_is_rejected_and_leaves_nothing(tmp_path: Path, content: bytes, error: str) -> None:
    asset = make_asset()
    mirror = make_mirror(tmp_path / "mirror", content)
    with pytest.raises(AssetError, match=error) as caught:
        fetch(asset, cache_dir=tmp_path / "cache", mirror=mirror)
    assert "fake-model" in str(caught.value)
    assert files_in(tmp_path / "cache") == []


def test_wrong_digest_message_names_both_digests(tmp_path: Path) -> None:
    asset = make_asset()
    with pytest.raises(AssetError) as caught:
        fetch(asset, cache_dir=tmp_path / "cache", mirror=make_mirror(tmp_path / "mirror", FLIPPED))
    assert asset.sha256 in str(caught.value)
    assert hashlib.sha256(FLIPPED).hexdigest() in str(caught.value)


def test_mirror_without_the_file_is_an_error_not_a_download(tmp_path: Path) -> None:
    (tmp_path / "mirror").mkdir()
    with pytest.raises(AssetError, match=r"has no fake\.onnx \(asset fake-model\)"):
        fetch(make_asset(), cache_dir=tmp_path / "cache", mirror=tmp_path / "mirror")
    with pytest.raises(AssetError, match="does not exist"):
        fetch(make_asset(), cache_dir=tmp_path / "cache", mirror=tmp_path / "absent")


@pytest.mark.parametrize(
    ("cached", "detail"),
    [(PAYLOAD[:10], "10 bytes, expected 256000"), (FLIPPED, "sha256 [0-9a-f]{64}, expected")],
    ids=["short", "same-size-wrong-bytes"],
)
def test_corrupt_cached_file_is_detected_then_replaced(tmp_path: Path, cached: bytes, detail: str) -> None:
    asset = make_asset()
    (tmp_path / FILE_NAME).write_bytes(cached)
    before = status(asset, tmp_path)
    assert before.state is AssetState.CORRUPT
    assert before.path == tmp_path / FILE_NAME
    assert re.search(detail, before.detail)
    with pytest.raises(AssetError, match=f"corrupt.*run `{FETCH_COMMAND} fake-model` to replace it"):
        resolve("fake-model", cache_dir=tmp_path, assets=(asset,))
    fetch(asset, cache_dir=tmp_path, mirror=make_mirror(tmp_path / "mirror", PAYLOAD))
    assert status(asset, tmp_path).state is AssetState.PRESENT
    assert (tmp_path / FILE_NAME).read_bytes() == PAYLOAD


@settings(max_examples=25, deadline=None)
@given(cut=st.integers(min_value=0, max_value=2999), flip=st.booleans())
def test_any_damaged_mirror_copy_never_reaches_the_cache(cut: int, flip: bool) -> None:
    content = bytes(range(250)) * 12  # 3000 bytes
    asset = make_asset(content)
    damaged = content[:cut] + bytes([content[cut] ^ 0x01]) + content[cut + 1 :] if flip else content[:cut]
    with tempfile.TemporaryDirectory() as temp:
        root = Path(temp)
        with pytest.raises(AssetError):
            fetch(asset, cache_dir=root / "cache", mirror=make_mirror(root / "mirror", damaged))
        assert files_in(root / "cache") == []


# --- resolve --------------------------------------------------------------------------------------


def test_resolve_paths_names_and_unknowns(tmp_path: Path) -> None:
    asset = make_asset()
    own_file = tmp_path / "my-model.onnx"
    own_file.write_bytes(b"not checked")
    assert resolve(str(own_file), cache_dir=tmp_path / "cache", assets=(asset,)) == own_file
    message = (
        rf"model 'fake-model' is not in the cache \({tmp_path / 'cache'}\); run `{FETCH_COMMAND} fake-model`"
    )
    with pytest.raises(AssetError, match=message):
        resolve("fake-model", cache_dir=tmp_path / "cache", assets=(asset,))
    with pytest.raises(
        AssetError, match=r"'nope\.onnx' is neither an existing file nor a known asset.*fake-model"
    ):
        resolve("nope.onnx", cache_dir=tmp_path / "cache", assets=(asset,))
    fetch(asset, cache_dir=tmp_path / "cache", mirror=make_mirror(tmp_path / "mirror", PAYLOAD))
    assert (
        resolve("fake-model", cache_dir=tmp_path / "cache", assets=(asset,)) == tmp_path / "cache" / FILE_NAME
    )


# --- downloads ------------------------------------------------------------------------------------


class FailingResponse:
    """A download that delivers `good_chunks` chunks and then loses the connection."""

    def __init__(self, content: bytes, good_chunks: int) -> None:
        self._content = content
        self._good_chunks = good_chunks
        self._offset = 0

    def read(self, amt: int, /) -> bytes:
        if self._good_chunks == 0:
            raise ConnectionResetError(104, "Connection reset by peer")
        self._good_chunks -= 1
        chunk = self._content[self._offset : self._offset + amt]
        self._offset += len(chunk)
        return chunk

    def geturl(self) -> str:
        return "https://example.invalid/fake.onnx"

    def close(self) -> None:
        pass


def test_connection_lost_mid_download_leaves_old_file_and_no_partial(tmp_path: Path) -> None:
    asset = make_asset()
    (tmp_path / FILE_NAME).write_bytes(b"old corrupt copy")

    def opener(url: urllib.request.Request, *, timeout: float) -> HttpResponse:
        return FailingResponse(PAYLOAD, good_chunks=2)

    with pytest.raises(AssetError, match=r"failed after 131072 bytes: .*Connection reset by peer"):
        fetch(asset, cache_dir=tmp_path, opener=opener)
    assert files_in(tmp_path) == [FILE_NAME]
    assert (tmp_path / FILE_NAME).read_bytes() == b"old corrupt copy"


def test_redirect_to_plain_http_is_refused(tmp_path: Path) -> None:
    class Redirected(FailingResponse):
        def geturl(self) -> str:
            return "http://mirror.example.org/fake.onnx"

    def opener(url: urllib.request.Request, *, timeout: float) -> HttpResponse:
        return Redirected(PAYLOAD, good_chunks=100)

    with pytest.raises(AssetError, match="only https is allowed"):
        fetch(make_asset(), cache_dir=tmp_path, opener=opener)
    assert files_in(tmp_path) == []


class QuietHTTPServer(ThreadingHTTPServer):
    """Ignores the broken pipes of clients that hang up early (the timeout test does)."""

    def handle_error(self, request: object, client_address: object) -> None:
        pass


class Server:
    """A real HTTP server on 127.0.0.1 that serves PAYLOAD in several broken ways."""

    def __init__(self) -> None:
        self.user_agents: list[str] = []
        self.release = threading.Event()
        self.httpd = QuietHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    def url(self, route: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{route}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.user_agents.append(self.headers.get("User-Agent", ""))
                route = self.path.split("?")[0]
                if route == "/missing":
                    self.send_error(404)
                    return
                if route == "/slow":
                    server.release.wait(5.0)
                body = {"/truncated": PAYLOAD[:100_000], "/short": PAYLOAD[:100_000]}.get(route, PAYLOAD)
                self.send_response(200)
                length = len(PAYLOAD) if route == "/truncated" else len(body)
                self.send_header("Content-Length", str(length))
                self.end_headers()
                self.wfile.write(body)
                self.close_connection = True

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler


@pytest.fixture
def server() -> Iterator[Server]:
    running = Server()
    running.thread.start()
    yield running
    running.release.set()
    running.httpd.shutdown()
    running.httpd.server_close()
    running.thread.join(timeout=5.0)


def test_download_over_loopback_http(tmp_path: Path, server: Server) -> None:
    asset = make_asset(url=server.url("/good"))
    path = fetch(asset, cache_dir=tmp_path, allow_loopback_http=True)
    assert path.read_bytes() == PAYLOAD
    assert server.user_agents[0].startswith("footfall-edge/")


@pytest.mark.parametrize(
    ("route", "error"),
    [
        ("/truncated", "got 100000 bytes"),
        ("/short", "got 100000 bytes"),
        ("/missing", r"from http://127\.0\.0\.1:\d+/missing: HTTP 404 Not Found"),
        ("/slow", r"timed out"),
    ],
    ids=["connection-closed-early", "short-body", "not-found", "timeout"],
)
def test_failed_download_leaves_nothing(tmp_path: Path, server: Server, route: str, error: str) -> None:
    asset = make_asset(url=server.url(route) + "?token=s3cret")
    with pytest.raises(AssetError, match=error) as caught:
        fetch(asset, cache_dir=tmp_path, allow_loopback_http=True, timeout_s=0.3)
    assert "s3cret" not in str(caught.value)
    assert files_in(tmp_path) == []


def test_plain_http_needs_permission_and_a_loopback_host(tmp_path: Path, server: Server) -> None:
    with pytest.raises(AssetError, match="only https is allowed"):
        fetch(make_asset(url=server.url("/good")), cache_dir=tmp_path)
    with pytest.raises(AssetError, match="only https is allowed"):
        fetch(make_asset(url="http://example.org/fake.onnx"), cache_dir=tmp_path, allow_loopback_http=True)
    assert server.user_agents == []
    assert files_in(tmp_path) == []


def test_connection_refused_names_the_url(tmp_path: Path) -> None:
    closed = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    port = closed.server_address[1]
    closed.server_close()
    asset = make_asset(url=f"http://127.0.0.1:{port}/fake.onnx")
    with pytest.raises(
        AssetError, match=rf"cannot download fake-model from http://127\.0\.0\.1:{port}/fake\.onnx"
    ):
        fetch(asset, cache_dir=tmp_path, allow_loopback_http=True, timeout_s=2.0)
    assert files_in(tmp_path) == []
