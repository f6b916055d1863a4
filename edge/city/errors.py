"""Errors of the city server, under the package's root error (so the CLI prints one line)."""

from __future__ import annotations

from edge.errors import FootfallError


class CityError(FootfallError):
    """The city server cannot run: database unreachable or refused, bad settings, schema too old."""
