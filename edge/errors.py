"""Error hierarchy: one root, one subclass per situation a caller can act on.

Third-party failures are wrapped once, at their boundary (`raise ModelError(...) from exc`), so
the CLI and the service can turn any `FootfallError` into a one-line message and a non-zero exit.
Messages never contain secrets or credentialed URLs.
"""

from __future__ import annotations


class FootfallError(Exception):
    """Root of every error this package raises on purpose."""


class ConfigError(FootfallError):
    """Settings or a calibration file are invalid; the message names the offending item."""


class AssetError(FootfallError):
    """A model or clip is missing, truncated or has the wrong digest, or cannot be fetched."""


class ModelError(FootfallError):
    """The ONNX model cannot be loaded or does not have the expected inputs and outputs."""


class SourceError(FootfallError):
    """A frame source cannot be opened or read (missing file, corrupt video, no camera)."""


class SourceDisconnectedError(SourceError):
    """A live source stopped delivering frames; live sources reconnect with backoff."""


class OutboxError(FootfallError):
    """The delivery outbox cannot be opened or written (unwritable path, disk full); counting goes on."""


class DeliveryError(FootfallError):
    """MQTT delivery cannot be set up (bad TLS files, invalid topic parts); counts stay in the outbox."""


class ValidationError(FootfallError):
    """A validation cannot start, go on or finish (one is already running, unknown line, ...)."""
