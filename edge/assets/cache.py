"""The local asset cache: where fetched files live, how they get there, and whether they are intact.

A file enters the cache only through `fetch`, which streams it (from a mirror folder or over https)
into a temporary file next to its final place, fsyncs it, checks size and sha256, and only then
renames it into place with `os.replace`. A reader therefore sees either no file or the whole,
verified file under the final name, never a partial one. `status` and `resolve` hash the cached file
on every call: the files are a few MB, so this costs milliseconds and needs no digest bookkeeping.
"""

from __future__ import annotations

import hashlib
import http.client
import ipaddress
import logging
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from contextlib import closing
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import BinaryIO, Protocol
from urllib.parse import urlsplit, urlunsplit

import edge
from edge.assets.manifest import Asset, load_manifest
from edge.errors import AssetError

logger = logging.getLogger(__name__)

CACHE_DIR_ENV = "FOOTFALL_CACHE_DIR"
"""Environment variable naming the cache folder; overrides the XDG default."""
MIRROR_ENV = "FOOTFALL_MIRROR"
"""Environment variable naming a local folder with byte-identical copies of the assets."""
FETCH_COMMAND = "footfall models fetch"
"""The CLI command that fills the cache; quoted in error messages."""
DEFAULT_TIMEOUT_S = 60.0
"""Socket timeout per blocking network operation (connect, each read), not for the whole file."""
CHUNK_BYTES = 64 * 1024
"""Read/write granularity: bounded memory on a Pi, few enough system calls to be fast."""
USER_AGENT = f"footfall-edge/{edge.__version__} (asset fetcher)"
"""Sent with every download so servers can tell who is asking."""

ProgressCallback = Callable[[int, int], None]
"""Called as `(bytes_done, bytes_total)` after every chunk written."""


class AssetState(StrEnum):
    """What the cache holds for one asset."""

    PRESENT = "present"
    MISSING = "missing"
    CORRUPT = "corrupt"


@dataclass(frozen=True, slots=True)
class AssetStatus:
    """The cache state of one asset.

    Attributes:
        asset: the manifest entry.
        path: where the file is (or would be) in the cache.
        state: present (size and sha256 match), missing, or corrupt.
        detail: why it is corrupt (wrong size, wrong digest, unreadable); empty otherwise.
    """

    asset: Asset
    path: Path
    state: AssetState
    detail: str = ""


class HttpResponse(Protocol):
    """The part of `http.client.HTTPResponse` that `fetch` uses."""

    def read(self, amt: int, /) -> bytes: ...

    def geturl(self) -> str: ...

    def close(self) -> None: ...


class Opener(Protocol):
    """Opens a request; `urllib.request.urlopen` by default, injectable for tests."""

    def __call__(self, url: urllib.request.Request, *, timeout: float) -> HttpResponse: ...


def default_cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Return the cache folder: `$FOOTFALL_CACHE_DIR`, `$XDG_CACHE_HOME/footfall` or `~/.cache/footfall`.

    Args:
        environ: environment to read; `os.environ` when None. A relative `XDG_CACHE_HOME` is
            ignored, as the XDG Base Directory specification requires.
    """
    env = os.environ if environ is None else environ
    explicit = env.get(CACHE_DIR_ENV, "")
    if explicit:
        return Path(explicit).expanduser()
    xdg_cache_home = env.get("XDG_CACHE_HOME", "")
    if xdg_cache_home and Path(xdg_cache_home).is_absolute():
        return Path(xdg_cache_home) / "footfall"
    return Path.home() / ".cache" / "footfall"


def default_mirror(environ: Mapping[str, str] | None = None) -> Path | None:
    """Return `$FOOTFALL_MIRROR` as an absolute path, or None when it is unset or empty."""
    env = os.environ if environ is None else environ
    value = env.get(MIRROR_ENV, "")
    return Path(value).expanduser().absolute() if value else None


def cached_path(asset: Asset, cache_dir: Path) -> Path:
    """Return where `asset` lives in `cache_dir` (whether or not it is there)."""
    return cache_dir / asset.file_name


def status(asset: Asset, cache_dir: Path) -> AssetStatus:
    """Check the cached copy of `asset` by size and sha256.

    Never raises for a bad file: an unreadable file is reported as corrupt with the reason.
    """
    path = cached_path(asset, cache_dir)
    if not path.is_file():
        return AssetStatus(asset, path, AssetState.MISSING)
    try:
        size_bytes = path.stat().st_size
        if size_bytes != asset.size_bytes:
            detail = f"{size_bytes} bytes, expected {asset.size_bytes}"
            return AssetStatus(asset, path, AssetState.CORRUPT, detail)
        with path.open("rb") as handle:
            digest = hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError as exc:
        return AssetStatus(asset, path, AssetState.CORRUPT, f"unreadable: {exc.strerror or exc}")
    if digest != asset.sha256:
        return AssetStatus(asset, path, AssetState.CORRUPT, f"sha256 {digest}, expected {asset.sha256}")
    return AssetStatus(asset, path, AssetState.PRESENT)


def fetch(
    asset: Asset,
    *,
    cache_dir: Path,
    mirror: Path | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    opener: Opener | None = None,
    allow_loopback_http: bool = False,
    on_progress: ProgressCallback | None = None,
) -> Path:
    """Make sure a verified copy of `asset` is in `cache_dir` and return its path.

    A cached copy that verifies is returned as is. Otherwise the file is copied from
    `mirror / asset.file_name` when a mirror is given (a mirror without the file is an error, never
    a fall-through to the network), else downloaded from `asset.url`. A corrupt cached copy is
    replaced. The file is verified before it takes its final name.

    Args:
        asset: what to fetch.
        cache_dir: cache folder; created if needed.
        mirror: local folder with byte-identical copies, for machines without internet.
        timeout_s: socket timeout per blocking network operation.
        opener: opens the download request; `urllib.request.urlopen` when None.
        allow_loopback_http: also accept plain http from a loopback host (tests only).
        on_progress: called with `(bytes_done, bytes_total)` after each chunk.

    Raises:
        AssetError: the mirror lacks the file, the download fails, or the bytes do not match the
            manifest size and sha256; the cache is left without a file under the final name
            (or with the previous corrupt one).
    """
    current = status(asset, cache_dir)
    if current.state is AssetState.PRESENT:
        logger.debug("%s is already cached at %s", asset.name, current.path)
        return current.path
    if current.state is AssetState.CORRUPT:
        logger.warning("cached %s is corrupt (%s); fetching it again", asset.name, current.detail)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise AssetError(f"cannot create cache folder {cache_dir}: {exc.strerror or exc}") from exc
    if mirror is not None:
        _copy_from_mirror(asset, mirror, current.path, on_progress)
    else:
        _download(asset, current.path, timeout_s, opener, allow_loopback_http, on_progress)
    logger.info("fetched %s into %s", asset.name, current.path)
    return current.path


def resolve(name_or_path: str, *, cache_dir: Path, assets: tuple[Asset, ...] | None = None) -> Path:
    """Turn a command-line model/clip argument into a file path.

    An existing file path is returned as given. A manifest asset name is returned as its cached path
    if that file verifies. Nothing is fetched and there is no fallback to another file.

    Args:
        name_or_path: a file path or an asset name such as `yolox_nano`.
        cache_dir: cache folder to look in.
        assets: the manifest; `load_manifest()` when None.

    Raises:
        AssetError: neither an existing file nor a known asset, or the asset is missing from the
            cache or corrupt; the message says which command fetches it.
    """
    candidate = Path(name_or_path).expanduser()
    if candidate.is_file():
        return candidate
    by_name = {asset.name: asset for asset in (load_manifest() if assets is None else assets)}
    asset = by_name.get(name_or_path)
    if asset is None:
        names = ", ".join(by_name) or "none"
        raise AssetError(f"{name_or_path!r} is neither an existing file nor a known asset (known: {names})")
    current = status(asset, cache_dir)
    hint = f"run `{FETCH_COMMAND} {asset.name}`"
    if current.state is AssetState.MISSING:
        raise AssetError(f"{asset.kind} '{asset.name}' is not in the cache ({cache_dir}); {hint}")
    if current.state is AssetState.CORRUPT:
        raise AssetError(
            f"{asset.kind} '{asset.name}' in the cache is corrupt ({current.detail}): {current.path}; "
            f"{hint} to replace it"
        )
    return current.path


def _copy_from_mirror(
    asset: Asset, mirror: Path, final_path: Path, on_progress: ProgressCallback | None
) -> None:
    source = mirror / asset.file_name
    if not mirror.is_dir():
        raise AssetError(f"mirror folder {mirror} does not exist (check ${MIRROR_ENV})")
    if not source.is_file():
        raise AssetError(f"mirror folder {mirror} has no {asset.file_name} (asset {asset.name})")
    logger.info("copying %s from mirror %s", asset.name, source)
    try:
        handle = source.open("rb")
    except OSError as exc:
        raise AssetError(f"cannot read {source}: {exc.strerror or exc}") from exc
    with handle:
        _write_verified(asset, handle, str(source), final_path, on_progress)


def _download(
    asset: Asset,
    final_path: Path,
    timeout_s: float,
    opener: Opener | None,
    allow_loopback_http: bool,
    on_progress: ProgressCallback | None,
) -> None:
    shown_url = _display_url(asset.url)
    _require_secure_url(asset, asset.url, allow_loopback_http)
    request = urllib.request.Request(asset.url, headers={"User-Agent": USER_AGENT})
    open_url: Opener = urllib.request.urlopen if opener is None else opener
    logger.info("downloading %s from %s", asset.name, shown_url)
    try:
        response = open_url(request, timeout=timeout_s)
    except (OSError, http.client.HTTPException, ValueError) as exc:
        if isinstance(exc, urllib.error.HTTPError):
            exc.close()  # an HTTPError holds the open error response
        raise AssetError(f"cannot download {asset.name} from {shown_url}: {_describe(exc)}") from exc
    with closing(response):
        _require_secure_url(asset, response.geturl(), allow_loopback_http)
        _write_verified(asset, response, shown_url, final_path, on_progress)


def _write_verified(
    asset: Asset,
    source: HttpResponse | BinaryIO,
    source_label: str,
    final_path: Path,
    on_progress: ProgressCallback | None,
) -> None:
    """Stream `source` into a temporary file beside `final_path`; rename it into place once verified."""
    try:
        descriptor, temp_name = tempfile.mkstemp(
            dir=final_path.parent, prefix=f".{final_path.name}.", suffix=".part"
        )
    except OSError as exc:
        raise AssetError(f"cannot write into {final_path.parent}: {exc.strerror or exc}") from exc
    temp_path = Path(temp_name)
    try:
        with os.fdopen(descriptor, "wb") as sink:
            size_bytes, digest = _stream(asset, source, source_label, sink, on_progress)
            sink.flush()
            os.fsync(sink.fileno())
        if size_bytes != asset.size_bytes or digest != asset.sha256:
            raise AssetError(
                f"{asset.name} from {source_label} does not match the manifest: expected "
                f"{asset.size_bytes} bytes with sha256 {asset.sha256}, got {size_bytes} bytes with "
                f"sha256 {digest}"
            )
        temp_path.chmod(0o644)
        os.replace(temp_path, final_path)
    except OSError as exc:
        temp_path.unlink(missing_ok=True)
        raise AssetError(f"cannot write {final_path}: {exc.strerror or exc}") from exc
    except BaseException:
        temp_path.unlink(missing_ok=True)
        raise
    _fsync_directory(final_path.parent)


def _stream(
    asset: Asset,
    source: HttpResponse | BinaryIO,
    source_label: str,
    sink: BinaryIO,
    on_progress: ProgressCallback | None,
) -> tuple[int, str]:
    """Copy `source` to `sink` in chunks; return (bytes, sha256). Stops one byte past the expected size."""
    hasher = hashlib.sha256()
    size_bytes = 0
    while True:
        try:
            chunk = source.read(CHUNK_BYTES)
        except (OSError, http.client.HTTPException) as exc:
            raise AssetError(
                f"reading {asset.name} from {source_label} failed after {size_bytes} bytes: {_describe(exc)}"
            ) from exc
        if not chunk:
            return size_bytes, hasher.hexdigest()
        size_bytes += len(chunk)
        if size_bytes > asset.size_bytes:
            raise AssetError(
                f"{asset.name} from {source_label} is larger than the expected {asset.size_bytes} bytes"
            )
        hasher.update(chunk)
        sink.write(chunk)
        if on_progress is not None:
            on_progress(size_bytes, asset.size_bytes)


def _require_secure_url(asset: Asset, url: str, allow_loopback_http: bool) -> None:
    """Accept https; accept http only from a loopback host and only when explicitly allowed."""
    parts = urlsplit(url)
    if parts.scheme == "https":
        return
    if parts.scheme == "http" and allow_loopback_http and _is_loopback(parts.hostname or ""):
        return
    raise AssetError(f"refusing to download {asset.name} from {_display_url(url)}: only https is allowed")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _display_url(url: str) -> str:
    """Drop credentials, query and fragment, which may hold secrets, before a URL enters a message."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port is not None else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _describe(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        return str(exc.reason)
    return str(exc) or type(exc).__name__


def _fsync_directory(directory: Path) -> None:
    """Persist the rename itself, so a power cut right after fetch cannot lose the file."""
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        logger.debug("cannot open %s to fsync it", directory)
        return
    try:
        os.fsync(descriptor)
    except OSError:
        logger.debug("cannot fsync %s", directory)
    finally:
        os.close(descriptor)
