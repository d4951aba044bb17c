"""The command line: ``serve`` (start time, persistence with --db) and ``account create``."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import stripe

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "stripe_sandbox", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


class Served:
    def __init__(self, port: int, db: Path | None = None) -> None:
        self.port = port
        cmd = [sys.executable, "-m", "stripe_sandbox", "serve", "--port", str(port)]
        if db is not None:
            cmd += ["--db", str(db)]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.started = time.monotonic()
        self.proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.ready_after = self._wait()

    def _wait(self) -> float:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                url = f"http://127.0.0.1:{self.port}/_sandbox/health"
                if httpx.get(url, trust_env=False, timeout=1).status_code == 200:
                    return time.monotonic() - self.started
            except httpx.HTTPError:
                time.sleep(0.02)
        raise RuntimeError(self.proc.stderr.read().decode() if self.proc.stderr else "no start")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


@pytest.fixture
def served() -> Iterator[Served]:
    server = Served(_free_port())
    yield server
    server.stop()


def test_serve_answers_health_and_stops_on_terminate() -> None:
    # How fast it starts is a benchmark's question, not a test's (a loaded CI machine varies).
    server = Served(_free_port())
    assert server.ready_after > 0
    server.stop()
    assert server.proc.returncode is not None


def _outside_address() -> str | None:
    """This machine's non-loopback address, if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.255.255.255", 1))
        except OSError:
            return None
        addr = str(s.getsockname()[0])
    return None if addr.startswith("127.") else addr


def test_serve_listens_on_loopback_only(served: Served) -> None:
    addr = _outside_address()
    if addr is None:
        pytest.skip("no non-loopback address to probe")
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://{addr}:{served.port}/_sandbox/health", trust_env=False, timeout=2)


def test_account_create_json(served: Served) -> None:
    out = _run("account", "create", "--name", "Studio Nine", "--port", str(served.port), "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert set(data) == {"account_id", "test", "live"}
    assert data["account_id"].startswith("acct_")
    assert data["test"]["publishable_key"].startswith("pk_test_")
    assert data["test"]["secret_key"].startswith("sk_test_")
    assert data["live"]["publishable_key"].startswith("pk_live_")
    assert data["live"]["secret_key"].startswith("sk_live_")
    client = stripe.StripeClient(
        data["test"]["secret_key"],
        base_addresses={"api": f"http://127.0.0.1:{served.port}"},
        max_network_retries=0,
    )
    assert client.v1.accounts.retrieve_current().settings.dashboard.display_name == "Studio Nine"


def test_account_create_human_and_other_commands(served: Served) -> None:
    base = f"http://127.0.0.1:{served.port}"
    out = _run(
        "account", "create", "--name", "Plain", "--url", "https://p.example", "--api-base", base
    )
    assert out.returncode == 0 and "sk_test_" in out.stdout and "acct_" in out.stdout
    acct = out.stdout.split()[1]
    ledger = _run("account", "ledger", acct, "--api-base", base, "--json")
    assert json.loads(ledger.stdout)["data"] == []
    ready = _run("account", "readiness", acct, "--charges-enabled", "false", "--api-base", base)
    assert json.loads(ready.stdout)["charges_enabled"] is False
    paused = _run("webhooks", "pause", "--api-base", base, "--json")
    assert json.loads(paused.stdout)["paused"] is True
    chaos = _run("chaos", "--latency-ms", "5", "--api-base", base, "--json")
    assert json.loads(chaos.stdout)["latency_ms"] == 5
    missing = _run("subscription", "advance", "sub_missing", "--api-base", base)
    assert missing.returncode != 0 and "404" in missing.stderr


def test_unreachable_sandbox_is_a_clear_error() -> None:
    out = _run("account", "create", "--name", "X", "--port", str(_free_port()))
    assert out.returncode != 0 and "cannot reach the sandbox" in out.stderr


def test_state_survives_restart_with_db(tmp_path: Path) -> None:
    db = tmp_path / "sandbox.db"
    port = _free_port()
    first = Served(port, db)
    try:
        out = _run("account", "create", "--name", "Durable", "--port", str(port), "--json")
        keys = json.loads(out.stdout)
        client = stripe.StripeClient(
            keys["test"]["secret_key"],
            base_addresses={"api": f"http://127.0.0.1:{port}"},
            max_network_retries=0,
        )
        cus = client.v1.customers.create(params={"name": "kept"})
    finally:
        first.stop()
    second = Served(port, db)
    try:
        assert client.v1.customers.retrieve(cus.id).name == "kept"
        assert [e.type for e in client.v1.events.list().data] == ["customer.created"]
    finally:
        second.stop()
