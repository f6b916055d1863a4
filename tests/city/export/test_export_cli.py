"""`footfall export comptage-mobilites` on bad input: one clear line on stderr, no traceback, no file lost."""

from __future__ import annotations

import socket
from datetime import date
from pathlib import Path

import pytest

from edge.city.export import run_export
from edge.city.export.errors import ExportError
from edge.city.export.sites import load_sites
from edge.cli import main
from tests.city.export.dataset import SITES_TOML, MemoryIntervalSource


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture
def sites(tmp_path: Path) -> Path:
    path = tmp_path / "sites.toml"
    path.write_text(SITES_TOML, encoding="utf-8")
    return path


def _export(*extra: str) -> list[str]:
    return ["export", "comptage-mobilites", "--from", "2026-01-05", "--to", "2026-01-05", *extra]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--sites", "{absent}"], "sites file not found"),
        (["--sites", "{bad}"], "invalid entry in"),
        (
            ["--sites", "{sites}", "--database-url", "postgresql://export:s3cret@127.0.0.1:{port}/city"],
            "cannot read intervals",
        ),
    ],
    ids=["missing-sites", "bad-sites", "database-down"],
)
def test_failures_are_one_line_and_keep_earlier_files(
    tmp_path: Path, sites: Path, capsys: pytest.CaptureFixture[str], arguments: list[str], message: str
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(SITES_TOML.replace('compass = "N"', 'compass = "north"'), encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    earlier = out / "comptagemobilites_measure_Testville.csv"
    earlier.write_text("published yesterday\n", encoding="utf-8")
    names = {"absent": tmp_path / "absent.toml", "bad": bad, "sites": sites, "port": _closed_port()}
    filled = [argument.format(**names) for argument in arguments]

    status = main(_export("--out", str(out), *filled))

    stderr = capsys.readouterr().err
    assert status == 1
    assert stderr.startswith("footfall: error: ")
    assert message in stderr
    assert "Traceback" not in stderr
    assert "s3cret" not in stderr
    assert earlier.read_text(encoding="utf-8") == "published yesterday\n"
    assert sorted(path.name for path in out.iterdir()) == [earlier.name]


def test_to_before_from_is_refused(sites: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    arguments = ["export", "comptage-mobilites", "--from", "2026-01-06", "--to", "2026-01-05"]
    status = main([*arguments, "--sites", str(sites), "--out", str(tmp_path / "out")])
    assert status == 1
    assert "--to 2026-01-05 is before --from 2026-01-06" in capsys.readouterr().err


@pytest.mark.parametrize(
    "arguments",
    [["--step", "600"], ["--from", "05/01/2026"]],
    ids=["step", "date"],
)
def test_usage_errors_exit_2(sites: Path, tmp_path: Path, arguments: list[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        main([*_export("--sites", str(sites), "--out", str(tmp_path)), *arguments])
    assert raised.value.code == 2


def test_an_output_path_that_is_a_file_is_refused(sites: Path, tmp_path: Path) -> None:
    taken = tmp_path / "taken"
    taken.write_text("not a folder\n", encoding="utf-8")
    with pytest.raises(ExportError, match="is not a folder"):
        run_export(
            load_sites(sites), MemoryIntervalSource([]), date(2026, 1, 5), date(2026, 1, 5), 900, taken
        )
    assert taken.read_text(encoding="utf-8") == "not a folder\n"


def test_an_export_that_would_break_the_schema_writes_nothing(sites: Path, tmp_path: Path) -> None:
    """The checker guards the files: a value that slipped past the sites file stops the export."""
    config = load_sites(sites)
    channel = config.sites[0].channels[0].model_copy(update={"compass": "NNE"})
    site = config.sites[0].model_copy(update={"channels": (channel, *config.sites[0].channels[1:])})
    broken = config.model_copy(update={"sites": (site, *config.sites[1:])})
    out = tmp_path / "out"
    with pytest.raises(
        ExportError, match=r"break the schema \(1 problem\), nothing written: channel: row 1, direction"
    ):
        run_export(broken, MemoryIntervalSource([]), date(2026, 1, 5), date(2026, 1, 5), 900, out)
    assert not out.exists()


def test_without_a_database_setting_the_message_names_the_variable(
    sites: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FOOTFALL_CITY_DATABASE_URL", raising=False)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    status = main(_export("--sites", str(sites), "--out", str(tmp_path / "out")))
    stderr = capsys.readouterr().err
    assert status == 1
    assert stderr.startswith("footfall: error: ")
    assert "FOOTFALL_CITY_DATABASE_URL" in stderr
    assert not (tmp_path / "out").exists()
