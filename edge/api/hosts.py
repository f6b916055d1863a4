"""Which `Host` headers the device answers to: a defence against DNS rebinding (README D-043).

A page on another site can make a browser resolve its own name to the device's address and then
read the device's answers as same-origin; the browser still sends that foreign name as `Host`.
So the device answers only to names it knows (localhost, its host name, `<host name>.local`, and
`api.allowed_hosts`) and to bare IP addresses, which a rebinding page cannot use as its origin.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable

# `api.allowed_hosts` entry that turns the check off (behind a proxy that checks names itself).
ANY_HOST = "*"


class HostPolicy:
    """Decides whether a request's `Host` header names this device.

    Args:
        extra_names: names to accept besides the defaults (`api.allowed_hosts`); "*" accepts any.
        hostname: this machine's name (injected in tests); default `socket.gethostname()`.
    """

    def __init__(self, extra_names: Iterable[str] = (), *, hostname: str | None = None) -> None:
        own = (hostname or socket.gethostname()).lower().rstrip(".")
        names = {"localhost", own, f"{own}.local", *(name.lower().rstrip(".") for name in extra_names)}
        self._any = ANY_HOST in names
        self._names = frozenset(names)

    def allows(self, host_header: str | None) -> bool:
        """True for a known name or an IP address, with or without a port; True without a header
        (HTTP/1.0: no browser sends that)."""
        if host_header is None or self._any:
            return True
        host = _without_port(host_header.strip()).lower().rstrip(".")
        if host in self._names:
            return True
        try:
            ipaddress.ip_address(host)
        except ValueError:
            return False
        return True


def _without_port(host: str) -> str:
    if host.startswith("["):  # [v6]:port
        return host[1 : host.find("]")] if "]" in host else host
    name, separator, port = host.rpartition(":")
    return name if separator and port.isdigit() and ":" not in name else host
