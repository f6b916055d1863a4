"""Model and clip assets: the manifest, the local cache, and fetching into it.

Owns `models/manifest.toml` (what exists, where from, which size and sha256), the cache folder
(`$FOOTFALL_CACHE_DIR`, else `$XDG_CACHE_HOME/footfall`, else `~/.cache/footfall`) and the only code in
the project that downloads anything: from a local mirror folder (`$FOOTFALL_MIRROR`) or over https,
always verified before a file takes its final name.
Must NOT run in the frame loop, read settings, or be imported by pipeline stages: the CLI and the
composition root call `resolve()` and hand plain paths to the stages. Must NOT fall back silently:
a missing, corrupt or unknown asset is an `AssetError` that says how to fix it.
"""

from __future__ import annotations

from edge.assets.cache import (
    CACHE_DIR_ENV,
    FETCH_COMMAND,
    MIRROR_ENV,
    AssetState,
    AssetStatus,
    HttpResponse,
    Opener,
    ProgressCallback,
    cached_path,
    default_cache_dir,
    default_mirror,
    fetch,
    resolve,
    status,
)
from edge.assets.manifest import Asset, AssetKind, default_manifest_path, find_asset, load_manifest

__all__ = [
    "CACHE_DIR_ENV",
    "FETCH_COMMAND",
    "MIRROR_ENV",
    "Asset",
    "AssetKind",
    "AssetState",
    "AssetStatus",
    "HttpResponse",
    "Opener",
    "ProgressCallback",
    "cached_path",
    "default_cache_dir",
    "default_manifest_path",
    "default_mirror",
    "fetch",
    "find_asset",
    "load_manifest",
    "resolve",
    "status",
]
