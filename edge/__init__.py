"""footfall-edge: a privacy-first people counter for Raspberry Pi.

Frames stay in memory and are dropped at once; only anonymous aggregate counts leave the device.
"""

__version__ = "0.1.0"
