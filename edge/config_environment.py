"""The settings as the environment gives them: values read without judging them, and the names
of `FOOTFALL_*` variables that no setting has.

`edge.config.load_settings` validates the environment together with the TOML file, once, so a
rule that spans both (mqtt.enabled from a variable, mqtt.device_id from the file) holds, and a
misspelled variable is reported like a misspelled TOML key would be, as a warning naming the
closest real one.
"""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, get_args, get_origin

from pydantic import BaseModel
from pydantic_settings import BaseSettings, EnvSettingsSource, SecretsSettingsSource
from pydantic_settings.exceptions import SettingsError

from edge.errors import ConfigError

PREFIX = "FOOTFALL_"
DELIMITER = "__"
# Variables read outside the settings tree (the config file's own name).
OTHER_VARIABLES = frozenset({"FOOTFALL_CONFIG"})
# The city server's own settings (`footfall ingest`, `fleet`, `export`; edge.city), not the device's.
OTHER_PREFIXES = ("FOOTFALL_CITY_",)


def environment_values(settings: type[BaseSettings], secrets_dir: Path | None) -> dict[str, Any]:
    """Nested values from `FOOTFALL_*` variables over secret files, as given (not yet validated).

    Raises:
        ConfigError: a variable that must hold JSON (a section, list or table) does not.
    """
    try:
        secrets = SecretsSettingsSource(settings, secrets_dir=secrets_dir)() if secrets_dir else {}
        environment = EnvSettingsSource(settings)()
    except SettingsError as exc:
        named = ", ".join(_not_json(os.environ, settings)) or f"a {PREFIX}* variable"
        raise ConfigError(
            f"invalid setting {named}: a section, list or table must be given as JSON, "
            f'e.g. FOOTFALL_PAYLOAD__NGSI_INBOUND_BY_LINE=\'{{"door": "out"}}\' ({exc.__cause__ or exc})'
        ) from exc
    return _merge(secrets, environment)


def unknown_variables(environ: Mapping[str, str], settings: type[BaseSettings]) -> list[str]:
    """One warning per `FOOTFALL_*` variable that names no setting, with the closest real name."""
    known = set(_variable_names(settings)) | OTHER_VARIABLES
    open_ended = tuple(name + DELIMITER for name in _table_names(settings)) + OTHER_PREFIXES
    warnings = []
    for name in sorted(environ):
        upper = name.upper()
        if not upper.startswith(PREFIX) or upper in known or upper.startswith(open_ended):
            continue
        close = difflib.get_close_matches(upper, known, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        warnings.append(f"environment variable {name} is not a setting and is ignored{hint}")
    return warnings


def _not_json(environ: Mapping[str, str], settings: type[BaseSettings]) -> list[str]:
    """Variables of structured settings whose value does not parse as JSON."""
    structured = set(_structured_names(settings))
    found = []
    for name, value in environ.items():
        if name.upper() in structured:
            try:
                json.loads(value)
            except ValueError:
                found.append(name)
    return sorted(found)


def _structured_names(model: type[BaseModel], prefix: str = PREFIX) -> Iterator[str]:
    for field_name, field in model.model_fields.items():
        name = prefix + field_name.upper()
        section = _section_type(field.annotation)
        if section is not None or get_origin(field.annotation) in (dict, list, tuple):
            yield name
        if section is not None:
            yield from _structured_names(section, name + DELIMITER)


def _variable_names(model: type[BaseModel], prefix: str = PREFIX) -> Iterator[str]:
    for field_name, field in model.model_fields.items():
        name = prefix + field_name.upper()
        yield name
        section = _section_type(field.annotation)
        if section is not None:
            yield from _variable_names(section, name + DELIMITER)


def _table_names(model: type[BaseModel], prefix: str = PREFIX) -> Iterator[str]:
    """Variables of dict settings, which take keys below them (FOOTFALL_X__TABLE__KEY)."""
    for field_name, field in model.model_fields.items():
        name = prefix + field_name.upper()
        if get_origin(field.annotation) is dict:
            yield name
        section = _section_type(field.annotation)
        if section is not None:
            yield from _table_names(section, name + DELIMITER)


def _section_type(annotation: Any) -> type[BaseModel] | None:
    candidates = [annotation, *get_args(annotation)]
    for candidate in candidates:
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged
