"""The login throttle over real HTTP: forged proxy headers, stale tokens and other sites' pages
cannot get around it, or turn it against the technician."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from edge.api import ApiServer, create_app
from tests.integration.api.conftest import PASSWORD, Served
from tests.integration.api.device import MemoryDevice

WRONG = {"password": "guess"}


@pytest.fixture
def behind_proxy(tmp_path: Path) -> Iterator[str]:
    """The server configured to believe X-Forwarded-For from 127.0.0.1 (api.trusted_proxies)."""
    device = MemoryDevice(validation_store=tmp_path / "validations.sqlite3")
    server = ApiServer(
        create_app(device, password=SecretStr(PASSWORD)),
        host="127.0.0.1",
        port=0,
        trusted_proxies=["127.0.0.1"],
    )
    server.start()
    yield f"http://127.0.0.1:{server.port}"
    server.stop()


def test_a_forged_forwarded_for_does_not_reset_the_throttle(served: Served) -> None:
    for attempt in range(5):
        forged = {"X-Forwarded-For": f"203.0.113.{attempt}"}
        httpx.post(served.base_url + "/login", data=WRONG, headers=forged)
    blocked = httpx.post(served.base_url + "/login", data=WRONG, headers={"X-Forwarded-For": "203.0.113.99"})
    assert blocked.status_code == 429


def test_a_configured_proxy_is_believed(behind_proxy: str) -> None:
    for _ in range(5):
        httpx.post(behind_proxy + "/login", data=WRONG, headers={"X-Forwarded-For": "203.0.113.7"})
    assert (
        httpx.post(
            behind_proxy + "/login", data=WRONG, headers={"X-Forwarded-For": "203.0.113.7"}
        ).status_code
        == 429
    )
    # Another client behind the same proxy is not locked out by the first one's guesses.
    other = httpx.post(
        behind_proxy + "/login", data={"password": PASSWORD}, headers={"X-Forwarded-For": "198.51.100.1"}
    )
    assert other.status_code == 303
    assert other.headers["location"] == "/"


def test_wrong_tokens_do_not_lock_the_login_page_out(served: Served) -> None:
    for _ in range(10):
        httpx.get(served.base_url + "/api/status", headers={"Authorization": "Bearer stale-token"})
    assert (
        httpx.get(served.base_url + "/api/status", headers={"Authorization": "Bearer x"}).status_code == 429
    )
    login = httpx.post(served.base_url + "/login", data={"password": PASSWORD})
    assert login.status_code == 303
    assert login.headers["location"] == "/"
    assert httpx.get(served.base_url + "/api/status", cookies=login.cookies).status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"Origin": "https://evil.example"}, id="foreign-origin"),
        pytest.param({"Origin": "null"}, id="opaque-origin"),
        pytest.param({"Sec-Fetch-Site": "cross-site"}, id="cross-site-fetch"),
        pytest.param({"Sec-Fetch-Site": "same-site"}, id="same-site-other-origin"),
    ],
)
def test_other_sites_login_posts_are_refused_and_lock_nobody_out(
    served: Served, headers: dict[str, str]
) -> None:
    for _ in range(10):
        refused = httpx.post(served.base_url + "/login", data=WRONG, headers=headers)
        assert refused.status_code == 403
    own = httpx.post(
        served.base_url + "/login",
        data={"password": PASSWORD},
        headers={"Origin": served.base_url, "Sec-Fetch-Site": "same-origin"},
    )
    assert own.status_code == 303
    assert own.headers["location"] == "/"


def test_the_lock_out_says_how_long_to_wait(served: Served) -> None:
    for _ in range(5):
        httpx.post(served.base_url + "/login", data=WRONG)
    page = httpx.post(served.base_url + "/login", data=WRONG)
    seconds = int(page.headers["retry-after"])
    assert 0 < seconds <= 60
    assert f"wait {seconds} s" in page.text
    for _ in range(5):
        httpx.get(served.base_url + "/api/status", headers={"Authorization": "Bearer x"})
    api = httpx.get(served.base_url + "/api/status", headers={"Authorization": "Bearer x"})
    assert api.status_code == 429
    assert f"wait {api.headers['retry-after']} s" in api.json()["detail"]
