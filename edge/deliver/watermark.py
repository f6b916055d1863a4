"""A few numbers that must survive a crash while the disk is full: the sequence high-water mark
and the loss counters.

While the outbox cannot write (disk full, read-only), closed intervals wait in memory with sequence
numbers of their own, and may already be published. If the process then dies, SQLite never saw
those numbers; without this file the next start would hand them out again and a consumer would
take the new intervals for duplicates. So every number given out in memory is first written here:
a fixed 4 KiB file created (and fully allocated) while there is space, overwritten in place with
`pwrite` + `fsync`, which needs no new blocks on ext4, f2fs or tmpfs. A CRC guards against a torn
write; a bad or missing record reads as zeros (the database's own figures then stand).

The file is also the outbox's owner lock: the process that holds its `flock` is the one counting
(a SIGKILL releases it). Another process opening the same outbox (`footfall doctor` while the
service runs) is not the owner, and must not commit the owner's open interval as a crashed one.
"""

from __future__ import annotations

import fcntl
import logging
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

# One file-system block: allocated once, then only ever overwritten.
FILE_BYTES = 4096
_MAGIC = b"FFMARKS1"
# magic, highest sequence number handed out, write errors, undelivered rows dropped (totals); CRC32.
_RECORD = struct.Struct("<8sQQQ")
_CRC = struct.Struct("<I")


@dataclass(frozen=True, slots=True)
class Marks:
    """Totals that only ever grow: the highest sequence number given out and two loss counters."""

    last_seq: int = 0
    write_errors: int = 0
    dropped_undelivered: int = 0


class WatermarkFile:
    """The fixed-size file of `Marks` next to the outbox (`<outbox>-marks`)."""

    def __init__(self, path: Path) -> None:
        """Open the file, creating and allocating it if missing; works on (logs) failure."""
        self._path = path
        self._fd: int | None = None
        self._owner = True
        try:
            self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                self._owner = False  # a live process counts with this outbox
            if os.fstat(self._fd).st_size < FILE_BYTES:
                os.posix_fallocate(self._fd, 0, FILE_BYTES)
                os.fsync(self._fd)
        except OSError as exc:
            logger.warning(
                "cannot prepare %s (%s): intervals held in memory on a full disk will not be published",
                path,
                exc,
            )
            self.close()

    @property
    def usable(self) -> bool:
        return self._fd is not None

    @property
    def owner(self) -> bool:
        """False when another live process holds the outbox (it is the one counting)."""
        return self._owner

    def read(self) -> Marks:
        """The marks written last, or zeros if there are none or the record is damaged."""
        if self._fd is None:
            return Marks()
        try:
            data = os.pread(self._fd, _RECORD.size + _CRC.size, 0)
        except OSError:
            return Marks()
        if len(data) < _RECORD.size + _CRC.size:
            return Marks()
        (crc,) = _CRC.unpack_from(data, _RECORD.size)
        magic, last_seq, write_errors, dropped = _RECORD.unpack_from(data)
        if magic != _MAGIC or crc != zlib.crc32(data[: _RECORD.size]):
            return Marks()
        return Marks(last_seq, write_errors, dropped)

    def write(self, marks: Marks) -> bool:
        """Overwrite the record durably; False if it could not be (nothing is raised)."""
        if self._fd is None or not self._owner:
            return False
        record = _RECORD.pack(_MAGIC, marks.last_seq, marks.write_errors, marks.dropped_undelivered)
        try:
            os.pwrite(self._fd, record + _CRC.pack(zlib.crc32(record)), 0)
            os.fsync(self._fd)
        except OSError as exc:
            logger.error("cannot write %s: %s", self._path, exc)
            return False
        return True

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
