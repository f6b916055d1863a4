"""Fakes for hardware edges only (camera, sensors), each mirroring the real API it replaces."""
