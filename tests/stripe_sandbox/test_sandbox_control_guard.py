"""The controls answer only loopback Hosts and JSON POSTs: no cross-site forgery, no rebinding.

Over real HTTP; the hosted pages under /_sandbox (3-D Secure) stay browser pages.
"""

from __future__ import annotations

import httpx
import pytest

from stripe_sandbox.testing import SandboxServer


def _call(sandbox: SandboxServer, method: str, path: str, **kwargs) -> httpx.Response:  # type: ignore[no-untyped-def]
    return httpx.request(
        method, f"{sandbox.base_url}/_sandbox/{path}", trust_env=False, timeout=10, **kwargs
    )


@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:12111", "127.0.0.1.evil.example", "localhost.evil", ""]
)
def test_a_foreign_host_reaches_no_control(fresh_sandbox: SandboxServer, host: str) -> None:
    """DNS rebinding: a page's own name resolving to 127.0.0.1 still carries its name."""
    for method, path, kwargs in (
        ("GET", "accounts", {}),
        ("GET", "health", {}),
        ("POST", "chaos", {"json": {"latency_ms": 5000}}),
        ("DELETE", "chaos", {}),
    ):
        resp = _call(fresh_sandbox, method, path, headers={"host": host}, **kwargs)
        assert resp.status_code == 403, (method, path, resp.text)
    assert fresh_sandbox.control("GET", "chaos")["latency_ms"] == 0


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/plain", b'{"latency_ms": 5000}'),  # what a cross-site "simple" POST can send
        ("application/x-www-form-urlencoded", b"latency_ms=5000"),
        ("multipart/form-data; boundary=x", b"--x--"),
        (None, b""),
    ],
)
def test_a_post_that_is_not_json_is_refused(
    fresh_sandbox: SandboxServer, content_type: str | None, body: bytes
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    resp = _call(fresh_sandbox, "POST", "chaos", content=body, headers=headers)
    assert resp.status_code == 415, resp.text
    assert fresh_sandbox.control("GET", "chaos")["latency_ms"] == 0


def test_loopback_json_still_works(fresh_sandbox: SandboxServer) -> None:
    port = fresh_sandbox.port
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", "LOCALHOST", "127.0.0.1"):
        resp = _call(
            fresh_sandbox,
            "POST",
            "chaos",
            json={"latency_ms": 1},
            headers={"host": host, "content-type": "application/json; charset=utf-8"},
        )
        assert resp.status_code == 200, (host, resp.text)
    assert fresh_sandbox.control("GET", "chaos")["latency_ms"] == 1
    assert fresh_sandbox.control("POST", "webhooks/pause")  # a POST without a body, as JSON
    fresh_sandbox.control("POST", "webhooks/release")
    fresh_sandbox.control("DELETE", "chaos")


def test_the_hosted_authentication_page_is_not_a_control(fresh_sandbox: SandboxServer) -> None:
    """The 3-D Secure page is a browser form (form-encoded POST), so it is not guarded."""
    resp = _call(
        fresh_sandbox,
        "POST",
        "authenticate/pi_missing",
        content=b"action=complete",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert resp.status_code not in (403, 415)
