"""The local status API and pages: device health for operators, calibration for technicians.

Owns FastAPI (no other package imports it), authentication (every route but `/healthz`, checked
by `guard.RequestGuard` before any body is read, with the body caps and security headers), the
Prometheus text rendering and the static pages (plain HTML, CSS and JS served from the device: no
CDN, no build step). Must NOT call into pipeline stages: everything it shows or changes goes
through the `Device` port the service implements (`edge.api.ports`), and it never reads or stores
a frame itself (the snapshot it serves was anonymised by the service).
"""

from __future__ import annotations

from edge.api.app import create_app
from edge.api.health import Verdict, assess
from edge.api.ports import Device
from edge.api.server import ApiServer

__all__ = ["ApiServer", "Device", "Verdict", "assess", "create_app"]
