"""Security headers sent with every response, and the Content-Security-Policy of the pages.

The pages load only the device's own scripts, styles and images; none may be framed (against
click-jacking: a framed calibration page could be tricked into saving), no response is
content-sniffed, and no page address leaks to another site in a Referer.
"""

from __future__ import annotations

import base64
import hashlib
import re

_POLICY = (
    "default-src 'none'; script-src 'self'{scripts}; style-src 'self'{styles}; img-src 'self' data: blob:; "
    "connect-src 'self'; font-src 'self'; manifest-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
CONTENT_SECURITY_POLICY = _POLICY.format(scripts="", styles="")
SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    # Not no-referrer: with it a browser sends `Origin: null` on the page's own login form, which
    # the login then refuses as posted from another site.
    "referrer-policy": "same-origin",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}

_INLINE = re.compile(r"<(script|style)(?![^>]*\bsrc=)[^>]*>(.*?)</\1>", re.DOTALL | re.IGNORECASE)


def page_policy(html: str) -> str:
    """The policy for one page: the default, plus the hash of each inline script and style in it
    (so a page keeps its small inline scripts without allowing any injected one)."""
    hashes: dict[str, list[str]] = {"script": [], "style": []}
    for kind, content in _INLINE.findall(html):
        digest = base64.b64encode(hashlib.sha256(content.encode()).digest()).decode()
        hashes[kind.lower()].append(f" 'sha256-{digest}'")
    return _POLICY.format(scripts="".join(hashes["script"]), styles="".join(hashes["style"]))
