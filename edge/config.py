"""Settings: every tunable of the service in one validated, documented, frozen tree.

Read from `FOOTFALL_*` environment variables (nested with `__`, e.g.
`FOOTFALL_DETECTOR__THREADS=2`) and, for secrets, from files named like the variable in
`$CREDENTIALS_DIRECTORY` (systemd `LoadCredential=FOOTFALL_MQTT_PASSWORD:/etc/footfall/mqtt-password`).
Stages never import this module: the composition root (`edge.pipeline`) hands each stage plain
arguments.
"""

from __future__ import annotations

import logging
import os
import tomllib
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from edge.config_environment import environment_values, unknown_variables
from edge.errors import ConfigError

logger = logging.getLogger(__name__)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DetectorSettings(_Section):
    model: str = Field(
        default="yolox_nano",
        description="Manifest name of the detector (see `footfall models list`) or a path to an .onnx file.",
    )
    threads: int = Field(
        default=0, ge=0, description="onnxruntime threads; 0 uses every core but one (README D-009)."
    )
    score_threshold: float = Field(
        default=0.1,
        gt=0.0,
        lt=1.0,
        description="Lowest person score passed to the tracker; weak boxes only extend existing tracks.",
    )
    nms_iou: float = Field(
        default=0.45, gt=0.0, le=1.0, description="IoU above which overlapping boxes merge."
    )
    input_size: Literal["auto", "model"] | tuple[int, int] = Field(
        default="auto",
        description='Detector input: "auto" (default) takes the camera\'s aspect ratio within '
        '`pixel_budget` (512x288 for 16:9, 480x352 for 4:3; never enlarging the frame); "model" the '
        "model's own (416x416, letterboxed); or [width, height], multiples of 32, e.g. from `footfall site "
        "plan`. A size other than the model's is patched once into the cache (D-016).",
    )
    pixel_budget: int = Field(
        default=416 * 416,
        ge=32 * 32,
        description='Most input pixels (width x height) for input_size "auto"; inference time grows '
        "with it. Default 173056 = 416x416, the CPU of the model's own input.",
    )
    crop: tuple[float, float, float, float] | None = Field(
        default=None,
        description="(left, top, right, bottom), normalised: the part of the frame the detector looks at "
        "(the lines and zones with a margin). None: the whole frame. `footfall site plan` suggests one.",
    )

    @model_validator(mode="after")
    def _check_input(self) -> Self:
        if isinstance(self.input_size, tuple) and any(side <= 0 or side % 32 for side in self.input_size):
            raise ValueError(
                f"input_size sides must be positive multiples of 32, got {list(self.input_size)}"
            )
        if self.crop is not None:
            left, top, right, bottom = self.crop
            if not (0.0 <= left < right <= 1.0 and 0.0 <= top < bottom <= 1.0):
                raise ValueError(
                    f"crop must be 0 <= left < right <= 1 and 0 <= top < bottom <= 1, got {list(self.crop)}"
                )
        return self


class ScheduleSettings(_Section):
    adaptive: bool = Field(
        default=True,
        description="Detect only as often as walking people need and skip still scenes (D-018); "
        "false runs the detector on every frame.",
    )
    # 30/30: every frame while anyone is seen (D-018). Thinning by walking speed (e.g. min_fps 2)
    # cost 5-11 points on the shopping street; only empty, still scenes are skipped by default.
    min_fps: float = Field(
        default=30.0,
        gt=0.0,
        description="Lowest detection rate while anyone is seen; the default (30) detects every frame "
        "then. Lower values let the rate follow walking speed, which costs counts in crowds (D-018).",
    )
    max_fps: float = Field(default=30.0, gt=0.0, description="Highest detection rate.")
    idle_check_s: float = Field(
        default=1.0, gt=0.0, description="Longest gap between detections while nothing moves, seconds."
    )
    cpu_budget: float | None = Field(
        default=None,
        gt=0.0,
        le=1.0,
        description="Share (0-1] of the time the detector may be busy; caps the rate on a hot or shared "
        "device (e.g. 0.5 with a second camera). None: no cap.",
    )
    motion_gate: bool = Field(
        default=True, description="Skip detection while nothing moves near the lines and zones."
    )
    motion_margin: float = Field(
        default=0.25,
        ge=0.0,
        le=1.0,
        description="Margin around the lines and zones (fraction of the frame) watched by the motion gate.",
    )

    @model_validator(mode="after")
    def _check_rates(self) -> Self:
        if self.max_fps < self.min_fps:
            raise ValueError(f"max_fps ({self.max_fps}) must be >= min_fps ({self.min_fps})")
        return self


class TrackerSettings(_Section):
    # 0.5 / 0.6, measured against 0.4 / 0.4 across every clip (README D-020): the lower pair only
    # helped the held-out shopping street at low rates and cost MOTA on every clip (PETS09-S2L1
    # 0.66 -> 0.45, TUD-Campus 0.52 -> -0.03) with false tracks.
    high_score: float = Field(default=0.5, gt=0.0, lt=1.0, description="Score of detections matched first.")
    new_track_score: float = Field(
        default=0.6, gt=0.0, lt=1.0, description="Lowest score that starts a track."
    )
    lost_buffer_s: float = Field(
        default=1.5, gt=0.0, description="Seconds an unseen track is kept before it ends (any frame rate)."
    )
    birth_frames: int = Field(default=2, ge=1, description="Matched frames that confirm a new track.")
    # 1.2 s: two missed detections in a row at 2 per second, a busy Pi's rate (unseen 1.0 s), with
    # a margin for timestamp jitter (README D-054, D-057).
    tentative_s: float = Field(
        default=1.2,
        ge=0.0,
        description="Seconds a new, not yet confirmed track waits for its next sighting (0: none).",
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


# A topic level the device owns: no MQTT separators, wildcards or white space.
_TOPIC_LEVEL = r"^[^/#+\s]+$"


class OutboxSettings(_Section):
    path: Path | None = Field(
        default=None,
        description="SQLite outbox file; default $STATE_DIRECTORY (systemd) or ~/.local/state/footfall, "
        "file outbox.sqlite3.",
    )
    retention_s: float = Field(
        default=7 * 86400.0, gt=0.0, description="Seconds a delivered row is kept before it is pruned."
    )
    max_rows: int = Field(
        default=100_000,
        ge=10,
        description="Most rows kept; when full, the oldest delivered rows go first, then (logged, "
        "counted) the oldest undelivered ones (README D-012).",
    )
    prune_interval_s: float = Field(
        default=3600.0, gt=0.0, description="Seconds between prunes of delivered rows."
    )


class MqttSettings(_Section):
    enabled: bool = Field(default=False, description="Deliver interval counts to an MQTT broker.")
    host: str = Field(default="localhost", min_length=1, description="Broker host name or address.")
    port: int = Field(default=1883, ge=1, le=65535, description="Broker port (8883 is usual with TLS).")
    protocol: Literal["3.1.1", "5"] = Field(default="5", description="MQTT protocol version.")
    site_id: str = Field(
        default="default", pattern=_TOPIC_LEVEL, description="Site the device belongs to; a topic level."
    )
    device_id: str | None = Field(
        default=None,
        pattern=_TOPIC_LEVEL,
        description="Id of this device, unique in its site; a topic level and the prefix of message "
        "ids. Required when enabled.",
    )
    topic_prefix: str = Field(
        default="footfall",
        pattern=r"^[^#+\s/]+(/[^#+\s/]+)*$",
        description="First topic levels: {prefix}/{site}/{device}/counts|status|health.",
    )
    client_id: str | None = Field(
        default=None, description="MQTT client id; default footfall-{site_id}-{device_id}."
    )
    username: str | None = Field(
        default=None, description="Broker user name; the password is the secret FOOTFALL_MQTT_PASSWORD."
    )
    keepalive_s: int = Field(
        default=30,
        ge=2,
        le=3600,
        description="Seconds between keep-alives; the broker publishes `offline` after 1.5 x this "
        "without traffic.",
    )
    tls: bool = Field(default=False, description="Connect with TLS (server certificate verified).")
    ca_file: Path | None = Field(
        default=None, description="PEM CA bundle that signed the broker certificate; default system CAs."
    )
    client_cert_file: Path | None = Field(
        default=None, description="PEM client certificate, when the broker requires one."
    )
    client_key_file: Path | None = Field(
        default=None, description="PEM private key of the client certificate."
    )
    reconnect_min_delay_s: int = Field(
        default=1, ge=1, description="First reconnect delay; doubles each try."
    )
    reconnect_max_delay_s: int = Field(default=120, ge=1, description="Longest delay between reconnects.")
    inflight_window: int = Field(
        default=20, ge=1, le=1000, description="Counts messages published and not yet acknowledged, at most."
    )
    health_interval_s: float = Field(
        default=60.0, gt=0.0, description="Seconds between refreshes of the retained health message."
    )
    stop_timeout_s: float = Field(
        default=5.0, ge=0.0, description="Seconds a clean shutdown waits to flush and publish `stopped`."
    )

    @model_validator(mode="after")
    def _check_identity_and_tls(self) -> Self:
        if self.enabled and self.device_id is None:
            raise ValueError("device_id is required when MQTT delivery is enabled")
        if self.client_key_file is not None and self.client_cert_file is None:
            raise ValueError("client_key_file needs client_cert_file")
        if self.reconnect_max_delay_s < self.reconnect_min_delay_s:
            raise ValueError("reconnect_max_delay_s must be >= reconnect_min_delay_s")
        return self


class PayloadSettings(_Section):
    format: Literal["native", "ngsi-ld"] = Field(
        default="native",
        description="`native` (footfall-edge/counts/v1 JSON) or `ngsi-ld` (FIWARE CrowdFlowObserved).",
    )
    suppress_below: int = Field(
        default=0,
        ge=0,
        description="Privacy option: people counts c with 0 < c < this are published as null with a "
        "suppressed flag (README, Delivery); 0 or 1 turns it off.",
    )
    ngsi_inbound: Literal["in", "out"] = Field(
        default="in",
        description="Which line direction NGSI-LD reports as `inbound` (the other is `outbound`).",
    )
    ngsi_inbound_by_line: dict[str, Literal["in", "out"]] = Field(
        default_factory=dict, description='Per-line override of ngsi_inbound, e.g. {"side-door": "out"}.'
    )
    latitude: float | None = Field(
        default=None, ge=-90.0, le=90.0, description="WGS84 latitude of the camera for NGSI-LD `location`."
    )
    longitude: float | None = Field(
        default=None, ge=-180.0, le=180.0, description="WGS84 longitude of the camera for NGSI-LD `location`."
    )

    @model_validator(mode="after")
    def _check_location(self) -> Self:
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("set both latitude and longitude, or neither")
        return self


class SourceSettings(_Section):
    uri: str = Field(
        default="picamera",
        min_length=1,
        description="Camera: `picamera[:N]`, `usb:N`, `/dev/videoN`, an rtsp:// URL, or a video file "
        "played as a camera (looped in real time).",
    )
    fps: float | None = Field(default=None, gt=0.0, description="Frame rate to ask for or assume.")
    width: int = Field(default=1280, ge=64, description="Capture width in pixels (Pi and USB cameras).")
    height: int = Field(default=720, ge=64, description="Capture height in pixels (Pi and USB cameras).")
    channel_order: Literal["bgr", "rgb"] = Field(
        default="bgr",
        description="Byte order of the Pi camera's RGB888 frames: bgr on current kernels; set rgb if "
        "people look blue in the snapshot (reported to flip between kernels).",
    )
    detector_stream: bool = Field(
        default=True,
        description="Pi camera: read frames from the ISP's small `lores` stream sized for the detector "
        "input, so no full-size frame is copied or shrunk (D-019); the snapshot is then that size too. "
        "false reads the width x height main stream.",
    )


class AggregateSettings(_Section):
    interval_s: int = Field(
        default=60,
        ge=10,
        le=3600,
        description="Length of a count interval in seconds, aligned to UTC; must divide 3600.",
    )
    low_light_brightness: float = Field(
        default=35.0, ge=0.0, le=255.0, description="Mean frame luma (0-255) below which a frame is dark."
    )

    @model_validator(mode="after")
    def _check_divides_hour(self) -> Self:
        if 3600 % self.interval_s:
            raise ValueError(f"interval_s must divide 3600, got {self.interval_s}")
        return self


class ValidationSettings(_Section):
    tolerance: float = Field(
        default=0.10,
        ge=0.0,
        lt=1.0,
        description="Largest relative error (0-1) of a validation that still passes: "
        "(|error in| + |error out|) / reference count.",
    )
    min_people: int = Field(
        default=10,
        ge=1,
        description="Fewer reference crossings than this make a validation inconclusive: too few to judge.",
    )


class ApiSettings(_Section):
    enabled: bool = Field(default=True, description="Serve the status API and the pages.")
    host: str = Field(
        default="127.0.0.1",
        description="Address to bind; 0.0.0.0 exposes the pages on every network (use with TLS or a VPN).",
    )
    port: int = Field(default=8080, ge=1, le=65535, description="Port of the status API and pages.")
    snapshots: bool = Field(
        default=True, description="Allow the anonymised calibration snapshot; off disables it entirely."
    )
    tls_cert_file: Path | None = Field(default=None, description="PEM certificate to serve HTTPS.")
    tls_key_file: Path | None = Field(default=None, description="PEM key of that certificate.")
    allowed_hosts: list[str] = Field(
        default_factory=list,
        description="Host names the pages answer to besides localhost, this machine's name, <name>.local "
        'and IP addresses (against DNS rebinding, README D-043), e.g. ["counter-7.example.org"]; '
        '["*"] turns the check off.',
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="Addresses of reverse proxies whose X-Forwarded-For is believed (the login throttle "
        "and the log then see the client it names, README D-042); empty: none, the peer is the client.",
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
    schedule: ScheduleSettings = Field(
        default_factory=ScheduleSettings, description="When to run the detector (adaptive rate, motion gate)."
    )
    tracker: TrackerSettings = Field(default_factory=TrackerSettings, description="Multi-person tracker.")
    counting: CountingSettings = Field(
        default_factory=CountingSettings, description="Line and zone counting."
    )
    outbox: OutboxSettings = Field(
        default_factory=OutboxSettings, description="Durable outbox of interval counts."
    )
    mqtt: MqttSettings = Field(default_factory=MqttSettings, description="MQTT delivery to the city servers.")
    payload: PayloadSettings = Field(default_factory=PayloadSettings, description="Published message format.")
    calibration: Path = Field(
        default=Path("calibration.json"),
        description="Calibration file of the camera; changes saved from the pages are written here, "
        "the previous version kept next to it.",
    )
    source: SourceSettings = Field(default_factory=SourceSettings, description="Camera.")
    aggregate: AggregateSettings = Field(default_factory=AggregateSettings, description="Count intervals.")
    api: ApiSettings = Field(default_factory=ApiSettings, description="Status API and pages.")
    validation: ValidationSettings = Field(
        default_factory=ValidationSettings, description="On-site and replay accuracy checks."
    )
    api_password: SecretStr | None = Field(
        default=None,
        description="Password of the pages and bearer token of the API; a secret: set "
        "FOOTFALL_API_PASSWORD or the systemd credential of that name, never logged.",
    )
    mqtt_password: SecretStr | None = Field(
        default=None,
        description="Broker password; a secret: set FOOTFALL_MQTT_PASSWORD or the systemd credential of "
        "that name, never logged.",
    )


def load_settings(config_file: Path | None = None) -> Settings:
    """Read settings; raise ConfigError naming the offending variable or file entry.

    Precedence, highest first: environment variables, secret files in `$CREDENTIALS_DIRECTORY`,
    the TOML config file (`config_file`, else `$FOOTFALL_CONFIG`), defaults. The environment and
    the file are validated together, once: a rule may take one field from each. Unknown
    `FOOTFALL_*` variables are logged as warnings with the closest real name.
    """
    credentials = os.environ.get("CREDENTIALS_DIRECTORY")
    secrets_dir = Path(credentials) if credentials and Path(credentials).is_dir() else None
    named = config_file or (
        Path(os.environ["FOOTFALL_CONFIG"]) if os.environ.get("FOOTFALL_CONFIG") else None
    )
    file_values = _read_config_file(named) if named else {}
    environment = environment_values(Settings, secrets_dir)
    for warning in unknown_variables(os.environ, Settings):
        logger.warning("%s", warning)
    if named is not None:
        _check_sections_are_tables(file_values, environment, named)
    try:
        return Settings.model_validate(_deep_merge(file_values, environment))
    except ValidationError as exc:
        raise _config_error(exc, named, file_values, environment) from exc


def _check_sections_are_tables(file_values: dict[str, Any], environment: dict[str, Any], named: Path) -> None:
    """A section written as a plain value is an error even when a variable sets part of it: merged,
    the variable would silently replace it."""
    for key, value in file_values.items():
        field = Settings.model_fields.get(key)
        section = (
            field is not None
            and isinstance(field.annotation, type)
            and issubclass(field.annotation, BaseModel)
        )
        if section and not isinstance(value, dict):
            also = f" (FOOTFALL_{key.upper()}__* is set too)" if key in environment else ""
            raise ConfigError(
                f"invalid setting {named}: [{key}] must be a section ([{key}] and its keys below it), "
                f"got {type(value).__name__} {value!r}"[:300]
                + also
            )


def _config_error(
    exc: ValidationError, config_file: Path | None, file_values: dict[str, Any], environment: dict[str, Any]
) -> ConfigError:
    first = exc.errors()[0]
    path = [str(part) for part in first["loc"]]
    variable = "FOOTFALL_" + "__".join(path).upper()
    in_environment = _has_path(environment, path)
    in_file = config_file is not None and _has_path(file_values, path)
    if in_file and not (in_environment and len(path) > 1):  # a variable wins over the file's value
        where = f"{config_file}: [{'.'.join(path)}]"
        if in_environment:
            where += f" (with {variable}__* from the environment)"
    else:
        where = variable
    return ConfigError(f"invalid setting {where}: {first['msg']}")


def _has_path(values: dict[str, Any], path: list[str]) -> bool:
    node: Any = values
    for part in path:
        if not isinstance(node, dict):
            return False
        matches = [key for key in node if str(key).lower() == part.lower()]
        if not matches:
            return False
        node = node[matches[0]]
    return True


def _read_config_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"config file {path} is not UTF-8 text (byte {exc.start}: {exc.reason}); save it as UTF-8"
        ) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged
