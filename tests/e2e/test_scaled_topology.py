"""The scaled-out deployment itself: two backend workers sharing state in Redis, jobs in one
``nextoria scheduler`` process. Runs when ``NEXTORIA_E2E_TOPOLOGY=scaled`` (CI does, once)."""

from __future__ import annotations

import time

import pytest
import redis
from playwright.sync_api import Page, expect

from nextoria_hub.db import session_scope
from nextoria_hub.notifications.outbox import enqueue_email
from tests.e2e.conftest import REDIS_URL, RunningApp, _backend_workers
from tests.e2e.helpers import seed_workspace, sign_in, unique_slug
from tests.resend_capture import ResendCapture


@pytest.fixture
def scaled(app_server: RunningApp) -> RunningApp:
    if app_server.topology != "scaled":
        pytest.skip("runs only with NEXTORIA_E2E_TOPOLOGY=scaled (CI's third, scaled-out pass)")
    return app_server


def test_two_workers_share_client_state_in_redis(scaled: RunningApp, page: Page) -> None:
    assert len(_backend_workers(scaled.pid)) == 2
    store = redis.Redis.from_url(REDIS_URL)
    before = set(store.scan_iter())
    slug = unique_slug("scale")
    admin = seed_workspace(slug)
    sign_in(page, scaled.url(slug, "/login"), admin)
    page.wait_for_url(scaled.url(slug, "/dashboard"))
    # A fresh page load opens a new websocket, which may land on the other worker: the
    # session must still be there because the state lives in Redis, not in a worker.
    for _ in range(3):
        page.reload()
        expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    assert set(store.scan_iter()) - before, "no Reflex state was written to Redis"


def test_the_worker_processes_deliver_the_outbox(
    scaled: RunningApp, _resend_server: ResendCapture
) -> None:
    """The web workers run no worker here (NEXTORIA_WORKERS=0) and have no Resend key: only a
    `nextoria worker` process can deliver this email."""
    slug = unique_slug("jobs")
    seed_workspace(slug)
    to = f"new-hire@{slug}.test"
    with session_scope() as db:
        enqueue_email(
            db,
            workspace_id=None,
            to=to,
            kind="team_invite",
            context={
                "inviter_name": "Ada",
                "workspace_name": "Scale",
                "role": "member",
                "link": "http://x",
                "invitee_name": "",
            },
        )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if any(to in str(r.body) for r in _resend_server.requests):
            return
        time.sleep(1)
    pytest.fail("no worker process delivered the queued email within 120 s")


def test_inbox_workers_report_their_heartbeat(scaled: RunningApp) -> None:
    """The web workers apply nothing here (NEXTORIA_WORKERS=0); the worker processes beat."""
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        body = httpx.get(scaled.url(path="/api/health"), trust_env=False, timeout=10).json()
        if body.get("worker_heartbeat_seconds") is not None:
            assert body["worker_heartbeat_seconds"] < 60 and "inbox_depth" in body
            return
        time.sleep(1)
    pytest.fail("no inbox worker reported a heartbeat within 60 s")
