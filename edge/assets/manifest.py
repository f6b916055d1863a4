"""The asset manifest: which models and clips exist, where they come from and what they hash to.

The manifest is `models/manifest.toml` in the project checkout, found relative to this package
(`<checkout>/edge/assets/manifest.py` -> `<checkout>/models/manifest.toml`), so footfall-edge must be
installed from its checkout (`pip install -e .`), not from a wheel (models/README.md).
Every entry is validated when the manifest is read; a bad entry is an `AssetError` naming the file,
the entry and the key.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import edge
from edge.errors import AssetError

# Asset names are command-line words: lowercase, digits, '_' and '-'.
_NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]*")
# Plain file names only: no folders, no leading dot (temporary files in the cache start with one).
_FILE_NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_SHA256_PATTERN = re.compile(r"[0-9a-f]{64}")

# Keys every manifest entry must have, with the TOML type each must be.
_ENTRY_KEYS: dict[str, type] = {
    "kind": str,
    "file_name": str,
    "size_bytes": int,
    "sha256": str,
    "url": str,
    "licence": str,
    "licence_url": str,
    "attribution": str,
    "description": str,
}


class AssetKind(StrEnum):
    """What an asset is used for."""

    MODEL = "model"
    CLIP = "clip"


@dataclass(frozen=True, slots=True)
class Asset:
    """One downloadable file, pinned by size and sha256.

    Attributes:
        name: manifest key and command-line name, e.g. `yolox_nano`.
        kind: model or clip.
        file_name: plain file name in the cache and in a mirror folder.
        size_bytes: exact size of the file.
        sha256: lowercase hex sha256 digest of the file.
        url: where the file is downloaded from (https for manifest entries; fetch enforces it).
        licence: licence id, e.g. `Apache-2.0`.
        description: one line for humans.
        licence_url: where the licence text lives.
        attribution: who made the file, for credits.

    Raises:
        ValueError: a field is malformed; the message names the field.
    """

    name: str
    kind: AssetKind
    file_name: str
    size_bytes: int
    sha256: str
    url: str
    licence: str
    description: str
    licence_url: str = ""
    attribution: str = ""

    def __post_init__(self) -> None:
        if not _NAME_PATTERN.fullmatch(self.name):
            raise ValueError(f"name must match {_NAME_PATTERN.pattern}, got {self.name!r}")
        if not isinstance(self.kind, AssetKind):
            raise ValueError(f"kind must be an AssetKind, got {self.kind!r}")
        if not _FILE_NAME_PATTERN.fullmatch(self.file_name):
            raise ValueError(f"file_name must be a plain file name, got {self.file_name!r}")
        if isinstance(self.size_bytes, bool) or self.size_bytes <= 0:
            raise ValueError(f"size_bytes must be a positive integer, got {self.size_bytes!r}")
        if not _SHA256_PATTERN.fullmatch(self.sha256):
            raise ValueError(f"sha256 must be 64 lowercase hex digits, got {self.sha256!r}")
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"url must be an http(s) URL with a host, got scheme {parts.scheme!r}")
        if parts.username is not None or parts.password is not None:
            raise ValueError("url must not carry credentials")
        if not self.licence.strip():
            raise ValueError("licence must not be empty")


def default_manifest_path() -> Path:
    """Return `<checkout>/models/manifest.toml` for the checkout this package is imported from."""
    return Path(edge.__file__).resolve().parent.parent / "models" / "manifest.toml"


def load_manifest(path: Path | None = None) -> tuple[Asset, ...]:
    """Read and validate the asset manifest.

    Args:
        path: manifest file; the checkout's `models/manifest.toml` when None.

    Returns:
        The assets in manifest order.

    Raises:
        AssetError: the file is missing or unreadable, is not TOML, or an entry is invalid.
    """
    manifest_path = default_manifest_path() if path is None else path
    try:
        with manifest_path.open("rb") as handle:
            document = tomllib.load(handle)
    except FileNotFoundError as exc:
        raise AssetError(
            f"asset manifest not found at {manifest_path}; footfall-edge must be installed from its "
            "checkout (pip install -e .), see models/README.md"
        ) from exc
    except OSError as exc:
        raise AssetError(f"cannot read asset manifest {manifest_path}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise AssetError(f"{manifest_path}: not valid TOML: {exc}") from exc
    return _parse_document(document, manifest_path)


def find_asset(name: str, assets: tuple[Asset, ...] | None = None) -> Asset:
    """Return the asset called `name`.

    Args:
        name: asset name, e.g. `yolox_nano`.
        assets: the manifest to search; `load_manifest()` when None.

    Raises:
        AssetError: no asset has that name; the message lists the known names.
    """
    known = load_manifest() if assets is None else assets
    for asset in known:
        if asset.name == name:
            return asset
    names = ", ".join(asset.name for asset in known) or "none"
    raise AssetError(f"unknown asset {name!r}; known assets: {names}")


def _parse_document(document: dict[str, Any], where: Path) -> tuple[Asset, ...]:
    unknown = sorted(set(document) - {"assets"})
    if unknown:
        raise AssetError(
            f"{where}: unknown top-level keys {', '.join(unknown)}; expected only [assets.<name>]"
        )
    tables = document.get("assets")
    if not isinstance(tables, dict) or not tables:
        raise AssetError(f"{where}: needs at least one [assets.<name>] table")
    assets = tuple(_parse_entry(name, entry, where) for name, entry in tables.items())
    seen: dict[str, str] = {}
    for asset in assets:
        if asset.file_name in seen:
            raise AssetError(
                f"{where}: assets {seen[asset.file_name]} and {asset.name} share file_name {asset.file_name}"
            )
        seen[asset.file_name] = asset.name
    return assets


def _parse_entry(name: str, entry: object, where: Path) -> Asset:
    location = f"{where}: [assets.{name}]"
    if not isinstance(entry, dict):
        raise AssetError(f"{location} must be a table")
    missing = [key for key in _ENTRY_KEYS if key not in entry]
    if missing:
        raise AssetError(f"{location} is missing required key(s): {', '.join(missing)}")
    unknown = sorted(set(entry) - set(_ENTRY_KEYS))
    if unknown:
        raise AssetError(f"{location} has unknown key(s): {', '.join(unknown)}")
    for key, expected in _ENTRY_KEYS.items():
        value = entry[key]
        if not isinstance(value, expected) or isinstance(value, bool):
            raise AssetError(f"{location}: {key} must be a {expected.__name__}, got {value!r}")
    kinds = [kind.value for kind in AssetKind]
    if entry["kind"] not in kinds:
        raise AssetError(f"{location}: kind must be one of {', '.join(kinds)}, got {entry['kind']!r}")
    scheme = urlsplit(entry["url"]).scheme
    if scheme != "https":
        raise AssetError(f"{location}: url must be https, got scheme {scheme!r}")
    try:
        return Asset(
            name=name,
            kind=AssetKind(entry["kind"]),
            file_name=entry["file_name"],
            size_bytes=entry["size_bytes"],
            sha256=entry["sha256"],
            url=entry["url"],
            licence=entry["licence"],
            description=entry["description"],
            licence_url=entry["licence_url"],
            attribution=entry["attribution"],
        )
    except ValueError as exc:
        raise AssetError(f"{location}: {exc}") from exc
