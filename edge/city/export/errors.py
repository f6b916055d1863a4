"""Errors of the open-data export, under the package's one root error."""

from __future__ import annotations

from edge.errors import FootfallError


class ExportError(FootfallError):
    """The export cannot read its data or write its files; the message says which and why."""
