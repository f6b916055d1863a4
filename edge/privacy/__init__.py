"""Privacy: the only place a camera image is prepared to leave the pipeline, anonymised.

Owns snapshot anonymisation (`anonymise`: every detected person pixelated beyond recognition)
and in-memory JPEG encoding (`encode_jpeg`). Uses OpenCV and numpy on records only.

privacy/ must NOT: run the detector itself (the caller passes the boxes found in the very frame
it anonymises), write images to disk, keep images after returning, log pixels or boxes, or
import the API, the stages or the settings.
"""

from __future__ import annotations

from edge.privacy.snapshot import anonymise, encode_jpeg

__all__ = ["anonymise", "encode_jpeg"]
