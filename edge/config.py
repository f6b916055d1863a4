"""Settings: every tunable of the service in one validated, documented, frozen tree.

Read from `FOOTFALL_*` environment variables (nested with `__`, e.g.
`FOOTFALL_DETECTOR__THREADS=2`) and, for secrets later, from systemd credential files. Stages never
import this module: the composition root (`edge.pipeline`) hands each stage plain arguments.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from edge.errors import ConfigError


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DetectorSettings(_Section):
    model: str = Field(
        default="yolox_nano",
        description="Manifest name of the detector (see `footfall models list`) or a path to an .onnx file.",
    )
    threads: int = Field(default=0, ge=0, description="onnxruntime intra-op threads; 0 uses every core.")
    score_threshold: float = Field(
        default=0.1,
        gt=0.0,
        lt=1.0,
        description="Lowest person score passed to the tracker; weak boxes only extend existing tracks.",
    )
    nms_iou: float = Field(
        default=0.45, gt=0.0, le=1.0, description="IoU above which overlapping boxes merge."
    )


class TrackerSettings(_Section):
    high_score: float = Field(default=0.5, gt=0.0, lt=1.0, description="Score of detections matched first.")
    new_track_score: float = Field(
        default=0.6, gt=0.0, lt=1.0, description="Lowest score that starts a track."
    )
    lost_buffer_s: float = Field(
        default=1.5, gt=0.0, description="Seconds an unseen track is kept before it ends (any frame rate)."
    )
    birth_frames: int = Field(
        default=2, ge=1, description="Consecutive matched frames that confirm a new track."
    )


class CountingSettings(_Section):
    hysteresis: float = Field(
        default=0.01,
        ge=0.0,
        lt=0.5,
        description="Half-width of the band around a line, normalised; nobody changes side inside it.",
    )
    handover_s: float = Field(
        default=1.0,
        ge=0.0,
        description="Seconds within which a new track may take over a vanished one's line state.",
    )
    handover_distance: float = Field(
        default=0.05, ge=0.0, description="Normalised distance within which such a takeover is allowed."
    )


class Settings(BaseSettings):
    """All settings of footfall-edge."""

    model_config = SettingsConfigDict(
        env_prefix="FOOTFALL_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    cache_dir: Path | None = Field(
        default=None,
        description="Fetched models and clips; default $XDG_CACHE_HOME/footfall or ~/.cache/footfall.",
    )
    mirror: Path | None = Field(
        default=None,
        description="Local folder of byte-identical copies of the downloads, used instead of the network.",
    )
    detector: DetectorSettings = Field(default_factory=DetectorSettings, description="Person detector.")
    tracker: TrackerSettings = Field(default_factory=TrackerSettings, description="Multi-person tracker.")
    counting: CountingSettings = Field(
        default_factory=CountingSettings, description="Line and zone counting."
    )


def load_settings() -> Settings:
    """Read settings from the environment; raise ConfigError naming the offending variable."""
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        location = "FOOTFALL_" + "__".join(str(part) for part in first["loc"]).upper()
        raise ConfigError(f"invalid setting {location}: {first['msg']}") from exc
