"""Settings → Workspace → Change address: at once, webhook moved, old address kept 30 days."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from nextoria_hub.accounts.workspaces import ALIAS_DAYS, alias_workspace, change_address
from nextoria_hub.api.moved import MovedAddressMiddleware, forget_aliases
from nextoria_hub.audit import list_audit
from nextoria_hub.errors import AccessDenied, ValidationError
from nextoria_hub.models import WorkspaceAlias
from nextoria_hub.payments import stripe_connection as conn
from nextoria_hub.payments.checkout import start_checkout
from nextoria_hub.tenancy import Actor, workspace_for_host
from tests.factories import build_tenant
from tests.payments.conftest import Shop, post_event


def test_address_change_moves_the_webhook_and_the_old_address_keeps_working(
    shop: Shop,
) -> None:
    old_url = conn.webhook_url(shop.tenant.workspace)
    old, new = change_address(shop.db, shop.admin, "acme-studio")
    assert (old, new) == ("acme", "acme-studio")
    assert conn.move_webhooks(shop.db, shop.admin) == []
    shop.db.commit()
    endpoints = shop.stripe.v1.webhook_endpoints.list().data
    assert [e.url for e in endpoints] == [
        f"http://acme-studio.localhost:{shop.port}/api/webhooks/stripe"
    ]
    assert old_url != endpoints[0].url
    assert conn.check_connection(shop.db, shop.admin) == []
    shop.db.commit()  # the check stores fresh readiness; the webhook route needs the database
    # The new address answers, and so does the old one's webhook route, for 30 days.
    assert workspace_for_host(shop.db, f"acme-studio.localhost:{shop.port}") is not None
    assert workspace_for_host(shop.db, f"acme.localhost:{shop.port}") is None
    moved = workspace_for_host(shop.db, f"acme.localhost:{shop.port}", former=True)
    assert moved is not None and moved.id == shop.tenant.id
    event = {
        "id": "evt_late_1",
        "object": "event",
        "type": "invoice.paid",
        "livemode": False,
        "created": 1_790_000_000,
        "data": {"object": {"id": "in_x", "object": "invoice"}},
    }
    assert post_event(shop.port, "acme", event, shop.webhook_secret()).status_code == 200
    # A payment after the move is delivered to the new URL and applied.
    invoice = shop.invoice()
    url = start_checkout(shop.db, shop.portal, invoice.id, base_url=shop.base_url)
    shop.db.commit()
    shop.pay(url)
    shop.settle_webhooks()
    shop.refresh(invoice)
    assert invoice.status == "paid"
    # Pages on the old address redirect to the new one (the path kept).
    forget_aliases()
    pages = TestClient(MovedAddressMiddleware(Starlette()), follow_redirects=False)
    resp = pages.get(f"/invoices/{invoice.id}?x=1", headers={"host": f"acme.localhost:{shop.port}"})
    assert resp.status_code == 301
    assert resp.headers["location"] == (
        f"http://acme-studio.localhost:{shop.port}/invoices/{invoice.id}?x=1"
    )
    current = pages.get("/dashboard", headers={"host": f"acme-studio.localhost:{shop.port}"})
    assert current.status_code == 404  # not redirected: passed on (to an empty app here)
    actions = [e.action for e in list_audit(shop.db, shop.admin)]
    assert "workspace.address" in actions and "stripe.webhook_moved" in actions


def test_the_old_address_is_held_for_30_days_then_released(shop: Shop) -> None:
    change_address(shop.db, shop.admin, "acme-studio")
    shop.db.commit()
    other = build_tenant(shop.db, "globex", "Globex")
    with pytest.raises(ValidationError, match="taken"):
        change_address(shop.db, Actor.of(other.admin), "acme")
    assert alias_workspace(shop.db, "acme") is not None
    alias = shop.db.exec(select(WorkspaceAlias)).one()
    assert (alias.expires_at - alias.created_at) == timedelta(days=ALIAS_DAYS)
    alias.expires_at = alias.created_at - timedelta(seconds=1)
    shop.db.commit()
    assert alias_workspace(shop.db, "acme") is None
    change_address(shop.db, Actor.of(other.admin), "acme")  # free again
    # Taking back one's own former address is allowed at once.
    change_address(shop.db, shop.admin, "acme-two")
    change_address(shop.db, shop.admin, "acme-studio")


def test_only_admins_change_the_address_and_shapes_are_checked(shop: Shop) -> None:
    with pytest.raises(ValidationError, match="reserved"):
        change_address(shop.db, shop.admin, "admin")
    with pytest.raises(ValidationError, match="already"):
        change_address(shop.db, shop.admin, "acme")
    with pytest.raises(AccessDenied):
        change_address(shop.db, shop.portal, "acme-x")
