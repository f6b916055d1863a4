"""JSON Schemas the city server checks messages against, beyond those the device ships."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any


def ngsi_counts_schema() -> dict[str, Any]:
    """Schema of an NGSI-LD counts message: an array of CrowdFlowObserved entities (edge/deliver/ngsi.py)."""
    text = resources.files("edge.city.schemas").joinpath("crowdflow-ngsi-ld.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema
