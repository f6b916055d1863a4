"""Small state files written whole or not at all: a crash or a full disk never leaves half a file.

Used for the calibration, the API's session keys and a running validation. The text goes to a
hidden temporary beside the file (`mkstemp`: readable by the owner only from the first byte),
is flushed to disk, then renamed over the file.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_text_atomically(path: Path, text: str) -> None:
    """Replace `path` with `text` (UTF-8, mode 0600); on any failure the old file is left as it was.

    Raises:
        OSError: the folder cannot be written (the temporary is removed).
    """
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
