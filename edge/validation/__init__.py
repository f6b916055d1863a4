"""Accuracy checks of a device against a reference count, and their evidence.

Owns: the on-site session (a technician's hand count of one line next to the device's count of
it), the comparison, the durable store of `ValidationRecord`s, their JSON document (stored,
served and published), ground-truth files and the offline replay behind `footfall validate`.
Must NOT: touch the network (delivery publishes the documents it is handed) or keep any image or
track: a session only adds up the crossings of its line.
"""

from edge.validation.codec import validation_document, validation_from_document
from edge.validation.keeper import RUNNING_FILE, RunningKeeper
from edge.validation.session import DeviceFacts, RunningValidation, ValidationSession
from edge.validation.store import ValidationStore, default_validation_path

__all__ = [
    "RUNNING_FILE",
    "DeviceFacts",
    "RunningKeeper",
    "RunningValidation",
    "ValidationSession",
    "ValidationStore",
    "default_validation_path",
    "validation_document",
    "validation_from_document",
]
