"""The real manifest against the shared offline mirror: every asset fetches, verifies and resolves.

The mirror (`../shared/mirror` next to the checkout, or `$FOOTFALL_MIRROR`) holds byte-identical
copies of the public downloads and a README table of their sizes, digests and URLs; the manifest
must agree with that table, and the fetched bytes with both.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pytest

from edge.assets import AssetKind, AssetState, default_mirror, fetch, load_manifest, resolve, status

MIRROR = default_mirror() or Path(__file__).resolve().parents[2] / ".." / "shared" / "mirror"

pytestmark = pytest.mark.skipif(not MIRROR.is_dir(), reason=f"offline mirror not found at {MIRROR}")


@dataclass(frozen=True, slots=True)
class MirrorRow:
    """One row of the mirror README's table."""

    file_name: str
    size_bytes: int
    sha256: str
    url: str


def read_mirror_table() -> dict[str, MirrorRow]:
    """Parse `| file | bytes | sha256 | public URL | licence |` rows from the mirror README."""
    rows: dict[str, MirrorRow] = {}
    for line in (MIRROR / "README.md").read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) >= 4 and cells[1].isdigit():
            rows[cells[0]] = MirrorRow(cells[0], int(cells[1]), cells[2], cells[3])
    return rows


def test_manifest_agrees_with_the_mirror_readme() -> None:
    table = read_mirror_table()
    assets = load_manifest()
    assert {asset.file_name for asset in assets} == set(table)
    for asset in assets:
        row = table[asset.file_name]
        assert (asset.size_bytes, asset.sha256, asset.url) == (row.size_bytes, row.sha256, row.url)


def test_every_asset_fetches_from_the_mirror_and_resolves(tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    table = read_mirror_table()
    for asset in load_manifest():
        assert status(asset, cache_dir).state is AssetState.MISSING
        path = fetch(asset, cache_dir=cache_dir, mirror=MIRROR)
        assert path.parent == cache_dir
        with path.open("rb") as handle:
            assert hashlib.file_digest(handle, "sha256").hexdigest() == table[asset.file_name].sha256
        assert status(asset, cache_dir).state is AssetState.PRESENT
        assert resolve(asset.name, cache_dir=cache_dir) == path
        # Second fetch is a cache hit: an absent mirror would fail any copy.
        assert fetch(asset, cache_dir=cache_dir, mirror=tmp_path / "absent") == path
    assert sorted(p.name for p in cache_dir.iterdir()) == sorted(table)


def test_fetched_model_and_clip_open_in_their_runtimes(tmp_path: Path) -> None:
    import cv2
    import onnxruntime

    fetched = {asset.kind: fetch(asset, cache_dir=tmp_path, mirror=MIRROR) for asset in load_manifest()}
    session = onnxruntime.InferenceSession(str(fetched[AssetKind.MODEL]), providers=["CPUExecutionProvider"])
    assert [list(model_input.shape) for model_input in session.get_inputs()] == [[1, 3, 416, 416]]
    capture = cv2.VideoCapture(str(fetched[AssetKind.CLIP]))
    try:
        ok, frame = capture.read()
    finally:
        capture.release()
    assert ok
    assert frame.ndim == 3
