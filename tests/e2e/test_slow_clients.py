"""Many slow-body clients on loopback: /api/health keeps answering and the server drops them.

300 connections each start a POST whose body never finishes (a few bytes of a declared
kilobyte), against the real ``reflex run --env prod`` server. While they hang, the health
route answers; then every one of them is answered 408 or closed by the server once the
body time limit (``NEXTORIA_BODY_TIMEOUT_SECONDS``, 10 s) has passed.
"""

from __future__ import annotations

import socket
from contextlib import ExitStack

import httpx

from tests.e2e.conftest import RunningApp

SLOW_CONNECTIONS = 300
# Ample for the 10 s limit; a socket still open after this fails the test.
READ_TIMEOUT = 40.0


def _slow_post(port: int, host: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=READ_TIMEOUT)
    head = (
        f"POST /api/session HTTP/1.1\r\nHost: {host}\r\nOrigin: http://{host}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1024\r\n\r\ngrant="
    )
    sock.sendall(head.encode())
    return sock


def test_health_answers_while_slow_bodies_hang_and_they_are_cut_off(
    app_server: RunningApp,
) -> None:
    host = f"slowpoke.localhost:{app_server.port}"
    with ExitStack() as stack:
        socks = [
            stack.enter_context(_slow_post(app_server.port, host)) for _ in range(SLOW_CONNECTIONS)
        ]
        for _ in range(5):
            health = httpx.get(f"http://127.0.0.1:{app_server.port}/api/health", timeout=5)
            assert health.status_code == 200, health.text
        answers = []
        for sock in socks:
            data = b""
            while True:
                chunk = sock.recv(4096)  # raises on READ_TIMEOUT: the server kept it open
                if not chunk:
                    break
                data += chunk
                if b"\r\n\r\n" in data:
                    break
            answers.append(data.split(b"\r\n", 1)[0])
    assert all(a in (b"", b"HTTP/1.1 408 Request Timeout") for a in answers), set(answers)
    assert httpx.get(f"http://127.0.0.1:{app_server.port}/api/health", timeout=5).status_code == 200
