"""Write the three tables as the schema's CSV files: UTF-8, comma-separated, one header line.

Each file is written beside its final name and renamed over it, so a failed or interrupted
export leaves the previous files whole rather than half a file on the open-data portal's path.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Mapping
from pathlib import Path

from edge.city.export.errors import ExportError
from edge.city.export.schema import Notion, file_name
from edge.city.export.tables import Table


def write_tables(out_dir: Path, publisher: str, tables: Mapping[Notion, Table]) -> list[Path]:
    """Write every table to `out_dir/comptagemobilites_<notion>_<publisher>.csv`; return the paths.

    Raises:
        ExportError: the folder cannot be created or a file cannot be written.
    """
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise ExportError(f"output folder {out_dir} is not a folder") from None
    except OSError as exc:
        raise ExportError(f"cannot create output folder {out_dir}: {exc.strerror}") from None
    paths = []
    for notion, table in tables.items():
        path = out_dir / file_name(notion, publisher)
        _write_atomically(path, table)
        paths.append(path)
    return paths


def _write_atomically(path: Path, table: Table) -> None:
    partial = path.with_name(f".{path.name}.partial")
    try:
        with partial.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(table.header)
            writer.writerows(table.rows)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise ExportError(f"cannot write {path}: {exc.strerror}") from None
