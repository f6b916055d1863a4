"""Open-data export: stored device intervals -> the French national schema `schema-comptage-mobilites`.

Owns the schema's fields as written in its documentation (`schema`), the city's sites file
(`sites`: names, coordinates, compass directions the devices do not send), the pure roll-up of
device intervals into quarter-hour or hourly measures (`rollup`), the three tables (`tables`),
their CSV files (`writer`), a checker of the schema's field rules (`checker`), the SQL loader
(`loader`, the only module that touches the database) and the command (`command`). Runs on a city
server, never on a device; it reads the database and never writes to it.
"""

from __future__ import annotations

from edge.city.export.command import ExportSummary, add_export_command, run_export

__all__ = ["ExportSummary", "add_export_command", "run_export"]
