"""On a Pi (no `city` extra) `footfall` still works, and a city command says which extra to install."""

from __future__ import annotations

import subprocess
import sys

# psycopg made unimportable, as on a device installed without the extra.
WITHOUT_PSYCOPG = (
    "import sys; sys.modules['psycopg'] = None; from edge.cli import main; sys.exit(main(sys.argv[1:]))"
)


def _footfall(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_PSYCOPG, *arguments],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_the_command_and_its_help_load_without_psycopg() -> None:
    done = _footfall("--help")
    assert done.returncode == 0, done.stderr
    assert "ingest" in done.stdout
    assert "fleet" in done.stdout


def test_a_city_command_names_the_missing_extra() -> None:
    done = _footfall("fleet")
    assert done.returncode == 1
    assert done.stderr.strip() == (
        "footfall: error: the city server needs the city extra: pip install 'footfall-edge[city]'"
        " (psycopg is missing)"
    )
