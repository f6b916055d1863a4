"""`ValidationStore` on real SQLite files: order, publication, restarts, bad files, and the row cap.

The store holds the device's evidence of accuracy: a corrupt file is moved aside (never deleted),
a file or folder it cannot write gives a `ValidationError` naming the path, and the row cap only
ever drops evidence the broker has already acknowledged.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jsonschema
import pytest

from edge.deliver import VALIDATION_SCHEMA, payload_schema
from edge.errors import ValidationError
from edge.records import LineId, ValidationRecord
from edge.validation import ValidationStore, default_validation_path

T0 = datetime(2024, 5, 17, 9, 30, tzinfo=UTC)
# uid and gid of `nobody`: who the permission tests run as when the suite runs as root.
NOBODY = 65534
VALIDATION_NAME = "validations.sqlite3"
CORRUPT_GLOB = f"{VALIDATION_NAME}.corrupt-*"


def record(minute: int, **changes: object) -> ValidationRecord:
    """A validation that ended `minute` minutes after T0, with an id derived from it."""
    base = ValidationRecord(
        validation_id=f"{minute:016x}",
        mode="on-site",
        site_id="market-square",
        device_id="pi-7",
        line_id=LineId("door"),
        started_at=T0 + timedelta(minutes=minute - 15),
        ended_at=T0 + timedelta(minutes=minute),
        reference_in=12,
        reference_out=5,
        device_in=11,
        device_out=minute % 7,
        tolerance=0.10,
        min_people=10,
        operator="Camille D.",
        software_version="0.1.0",
        model_name="yolox_nano.onnx",
        model_sha256="ab" * 32,
        calibration_version="0123456789ab",
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "validations.sqlite3"


@pytest.fixture
def store(store_path: Path) -> Iterator[ValidationStore]:
    opened = ValidationStore(store_path)
    yield opened
    opened.close()


def ids(records: list[ValidationRecord]) -> list[str]:
    return [item.validation_id for item in records]


def test_recent_is_newest_first_and_limited(store: ValidationStore) -> None:
    added = [record(minute) for minute in (30, 10, 50, 20, 40)]
    for item in added:
        store.add(item)
    assert ids(store.recent(3)) == [record(m).validation_id for m in (50, 40, 30)]
    everything = store.recent(100)
    assert ids(everything) == [record(m).validation_id for m in (50, 40, 30, 20, 10)]
    assert sorted(everything, key=lambda item: item.ended_at) == sorted(added, key=lambda item: item.ended_at)


def test_unpublished_oldest_first_until_marked(store: ValidationStore) -> None:
    for minute in (20, 10, 30):
        store.add(record(minute))
    pending = store.unpublished()
    assert [validation_id for validation_id, _ in pending] == [record(m).validation_id for m in (10, 20, 30)]
    schema = payload_schema(VALIDATION_SCHEMA)
    for validation_id, body in pending:
        document = json.loads(body)
        jsonschema.validate(document, schema)
        assert document["validation_id"] == validation_id
    store.mark_published(record(10).validation_id)
    assert [validation_id for validation_id, _ in store.unpublished()] == [
        record(20).validation_id,
        record(30).validation_id,
    ]
    assert len(store.recent(10)) == 3  # published evidence is still kept


def test_survives_close_and_reopen(store_path: Path) -> None:
    first = ValidationStore(store_path)
    first.add(record(1))
    first.add(record(2))
    first.mark_published(record(1).validation_id)
    first.close()
    again = ValidationStore(store_path)
    try:
        assert again.recent(10) == [record(2), record(1)]
        assert [validation_id for validation_id, _ in again.unpublished()] == [record(2).validation_id]
    finally:
        again.close()


def test_the_same_validation_twice_is_refused_and_changes_nothing(store: ValidationStore) -> None:
    store.add(record(1))
    with pytest.raises(ValidationError, match="cannot store the validation"):
        store.add(record(1, reference_in=99))
    assert store.recent(10) == [record(1)]


def test_concurrent_adds_are_all_kept(store: ValidationStore) -> None:
    def add(first: int) -> None:
        for minute in range(first, first + 10):
            store.add(record(minute))

    with ThreadPoolExecutor(4) as pool:
        for future in [pool.submit(add, first) for first in (0, 10, 20, 30)]:
            future.result()
    assert len(store.recent(100)) == 40
    assert len(store.unpublished()) == 40


def test_default_path_is_next_to_the_outbox(tmp_path: Path) -> None:
    assert default_validation_path(tmp_path / "var" / "outbox.sqlite3") == tmp_path / "var" / VALIDATION_NAME


class TestRowCap:
    def test_unpublished_evidence_is_never_dropped(self, store_path: Path) -> None:
        store = ValidationStore(store_path, max_rows=2)
        try:
            for minute in range(1, 6):
                store.add(record(minute))
            assert len(store.recent(100)) == 5
            assert len(store.unpublished()) == 5
        finally:
            store.close()

    def test_oldest_published_rows_go_first(self, store_path: Path) -> None:
        store = ValidationStore(store_path, max_rows=3)
        try:
            for minute in (1, 2, 3):
                store.add(record(minute))
            store.mark_published(record(2).validation_id)
            store.mark_published(record(1).validation_id)
            store.add(record(4))  # four rows, cap three: the oldest published one goes
            assert ids(store.recent(100)) == [record(m).validation_id for m in (4, 3, 2)]
            store.add(record(5))
            assert ids(store.recent(100)) == [record(m).validation_id for m in (5, 4, 3)]
            store.add(record(6))  # nothing published is left to drop: over the cap, but kept
            assert ids(store.recent(100)) == [record(m).validation_id for m in (6, 5, 4, 3)]
        finally:
            store.close()

    def test_cap_must_be_positive(self, store_path: Path) -> None:
        with pytest.raises(ValueError, match="max_rows"):
            ValidationStore(store_path, max_rows=0)


class TestCorruptFile:
    def test_garbage_is_moved_aside_and_a_new_store_works(self, store_path: Path) -> None:
        store_path.parent.mkdir(parents=True)
        garbage = b"this is not a database, it is a shopping list\n" * 100
        store_path.write_bytes(garbage)
        store = ValidationStore(store_path)
        try:
            store.add(record(1))
            assert store.recent(10) == [record(1)]
        finally:
            store.close()
        aside = list(store_path.parent.glob(CORRUPT_GLOB))
        assert [path.read_bytes() for path in aside] == [garbage]
        reopened = ValidationStore(store_path)
        try:
            assert reopened.recent(10) == [record(1)]
        finally:
            reopened.close()

    def test_two_corrupt_files_in_a_row_are_both_kept(self, store_path: Path) -> None:
        store_path.parent.mkdir(parents=True)
        contents = [b"first shopping list\n" * 100, b"second shopping list\n" * 100]
        for garbage in contents:
            store_path.write_bytes(garbage)
            ValidationStore(store_path).close()
        kept = sorted(path.read_bytes() for path in store_path.parent.glob(CORRUPT_GLOB))
        assert kept == sorted(contents)

    def test_damaged_pages_are_moved_aside(self, store_path: Path) -> None:
        store = ValidationStore(store_path)
        for minute in range(50):
            store.add(record(minute))
        store.close()
        damage_index_root(store_path)
        damaged = store_path.read_bytes()
        store = ValidationStore(store_path)
        try:
            store.add(record(99))  # the new store takes new evidence
            assert ids(store.recent(100)) == [record(99).validation_id]
        finally:
            store.close()
        assert [path.read_bytes() for path in store_path.parent.glob(CORRUPT_GLOB)] == [damaged]


def damage_index_root(path: Path) -> None:
    """Overwrite the root page of the primary-key index: the file opens, `quick_check` fails."""
    db = sqlite3.connect(path)
    try:
        page_size = db.execute("PRAGMA page_size").fetchone()[0]
        (root,) = db.execute("SELECT rootpage FROM sqlite_master WHERE type = 'index'").fetchone()
    finally:
        db.close()
    with path.open("r+b") as file:
        file.seek((root - 1) * page_size)
        file.write(b"\x55" * page_size)
    db = sqlite3.connect(path)
    try:
        problems = db.execute("PRAGMA quick_check").fetchall()
    finally:
        db.close()
    assert problems != [("ok",)], "the damage did not show: this test needs another page"


def open_and_add(path: Path, item: ValidationRecord) -> None:
    store = ValidationStore(path)
    try:
        store.add(item)
    finally:
        store.close()


@contextmanager
def unprivileged() -> Iterator[None]:
    """Run the block as `nobody` when the suite runs as root (root ignores file permissions)."""
    if os.geteuid() != 0:
        yield
        return
    os.setegid(NOBODY)
    os.seteuid(NOBODY)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A folder `nobody` can reach (pytest's tmp_path is private to root when run as root)."""
    folder = Path(tempfile.mkdtemp(prefix="footfall-validation-"))
    folder.chmod(0o755)
    yield folder
    for path in (folder, *folder.rglob("*")):
        if path.is_dir():
            path.chmod(0o755)
    shutil.rmtree(folder)


class TestUnwritable:
    def test_read_only_folder(self, shared_dir: Path) -> None:
        folder = shared_dir / "state"
        folder.mkdir()
        folder.chmod(0o555)
        path = folder / VALIDATION_NAME
        with unprivileged(), pytest.raises(ValidationError) as caught:
            ValidationStore(path)
        assert str(path) in str(caught.value)

    def test_folder_that_cannot_be_created(self, shared_dir: Path) -> None:
        shared_dir.chmod(0o555)
        path = shared_dir / "state" / VALIDATION_NAME
        with unprivileged(), pytest.raises(ValidationError) as caught:
            ValidationStore(path)
        assert str(path) in str(caught.value)

    def test_folder_is_a_file(self, tmp_path: Path) -> None:
        (tmp_path / "state").write_text("not a folder")
        path = tmp_path / "state" / VALIDATION_NAME
        with pytest.raises(ValidationError) as caught:
            ValidationStore(path)
        assert str(path) in str(caught.value)

    def test_read_only_file_is_refused_and_kept(self, shared_dir: Path) -> None:
        path = shared_dir / VALIDATION_NAME
        store = ValidationStore(path)
        store.add(record(1))
        store.close()
        shared_dir.chmod(0o777)  # the folder stays writable: only the file is read only
        path.chmod(0o444)
        with unprivileged(), pytest.raises(ValidationError) as caught:
            open_and_add(path, record(2))
        assert str(path) in str(caught.value)
        # Not mistaken for a corrupt file: still in place, with its evidence.
        assert list(shared_dir.glob(CORRUPT_GLOB)) == []
        path.chmod(0o644)
        again = ValidationStore(path)
        try:
            assert again.recent(10) == [record(1)]
        finally:
            again.close()
