"""`footfall export comptage-mobilites`: the command line of the open-data export.

Wiring only: read the sites file, read each device's intervals of the window and roll them up,
format, check against the schema and write. `run_export` takes the interval source as an
argument, so the whole use case runs in tests on given intervals as well as on the database.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from edge.city.export.checker import check_export
from edge.city.export.errors import ExportError
from edge.city.export.loader import IntervalSource, PostgresIntervalSource
from edge.city.export.records import MeasureRow
from edge.city.export.rollup import STEPS_S, export_window, roll_up
from edge.city.export.schema import Notion
from edge.city.export.sites import SitesConfig, load_sites
from edge.city.export.tables import channel_table, measure_table, site_table
from edge.city.export.writer import write_tables


@dataclass(frozen=True, slots=True)
class ExportSummary:
    """What an export wrote.

    Attributes:
        paths: the three files.
        measures: measure rows written.
        empty: of them, slots with an empty count (not observed or suppressed).
    """

    paths: tuple[Path, ...]
    measures: int
    empty: int


def run_export(
    config: SitesConfig,
    source: IntervalSource,
    first_day: date,
    last_day: date,
    step_s: int,
    out_dir: Path,
) -> ExportSummary:
    """Export the days `first_day`..`last_day` (local dates, both included) to `out_dir`.

    Raises:
        ExportError: the data cannot be read, the files would break the schema, or cannot be written.
    """
    window = export_window(first_day, last_day, config.zone, step_s)
    measures: list[MeasureRow] = []
    for device_id in config.device_ids:
        sites = [
            site.site_id for site in config.sites if any(c.device_id == device_id for c in site.channels)
        ]
        intervals = source.intervals(device_id, sites, window.start, window.end)
        measures += roll_up(intervals, config.sites, window, config.minimum_coverage, devices={device_id})
    measures.sort(key=lambda row: (row.start, row.channel_id))
    tables = {
        Notion.SITE: site_table(config),
        Notion.CHANNEL: channel_table(config, step_s),
        Notion.MEASURE: measure_table(measures, config.zone),
    }
    problems = check_export(tables)
    if problems:
        shown = "; ".join(str(problem) for problem in problems[:5])
        count = f"{len(problems)} problem" + ("s" if len(problems) > 1 else "")
        raise ExportError(f"the export would break the schema ({count}), nothing written: {shown}")
    paths = write_tables(out_dir, config.publisher, tables)
    empty = sum(1 for measure in measures if measure.count is None)
    return ExportSummary(tuple(paths), len(measures), empty)


def add_export_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `export comptage-mobilites` to the `footfall` command's subcommands."""
    formats = commands.add_parser("export", help="publish counts as open data (city server)").add_subparsers(
        required=True, metavar="FORMAT"
    )
    command = formats.add_parser(
        "comptage-mobilites",
        help="write the three CSV files of the French national schema schema-comptage-mobilites",
    )
    command.add_argument(
        "--from",
        dest="first_day",
        metavar="DATE",
        required=True,
        type=_day,
        help="first local day, YYYY-MM-DD",
    )
    command.add_argument(
        "--to", dest="last_day", metavar="DATE", required=True, type=_day, help="last local day (included)"
    )
    command.add_argument(
        "--step", type=int, choices=STEPS_S, default=900, help="slot length in seconds (default 900)"
    )
    command.add_argument(
        "--out", metavar="DIR", required=True, type=Path, help="folder for the CSV files (created if needed)"
    )
    command.add_argument(
        "--sites",
        metavar="FILE",
        required=True,
        type=Path,
        help="sites TOML file (names, coordinates, compass)",
    )
    command.add_argument(
        "--database-url",
        metavar="URL",
        help="PostgreSQL URL (default: FOOTFALL_CITY_DATABASE_URL and FOOTFALL_CITY_DATABASE_PASSWORD, "
        "as for footfall ingest)",
    )
    command.set_defaults(handler=_export)


def _export(args: argparse.Namespace, _settings: object) -> int:
    if args.last_day < args.first_day:
        raise ExportError(f"--to {args.last_day} is before --from {args.first_day}")
    config = load_sites(args.sites)
    database_url, password = _database(args.database_url)
    with PostgresIntervalSource(database_url, password) as source:
        summary = run_export(config, source, args.first_day, args.last_day, args.step, args.out)
    print(
        f"wrote {', '.join(str(path) for path in summary.paths)}: {summary.measures} measures, "
        f"{summary.empty} with an empty count (not observed)"
    )
    return 0


def _database(url_option: str | None) -> tuple[str, str | None]:
    """The database URL and password: --database-url as given, else the city server's settings."""
    if url_option:
        return url_option, None
    try:
        from edge.city.settings import load_city_settings  # noqa: PLC0415 (needs the city extra)
    except ImportError as exc:
        raise ExportError(
            f"the export needs the city extra: pip install 'footfall-edge[city]' ({exc.name})"
        ) from None
    settings = load_city_settings()
    secret = settings.database_password
    return settings.database_url, None if secret is None else secret.get_secret_value()


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date YYYY-MM-DD: {text!r}") from None
