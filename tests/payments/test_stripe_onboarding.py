"""Connect Onboarding over HTTP against the sandbox: "Create a new Stripe account", the
hosted set-up, readiness from ``account.updated`` on the Connect webhook, refresh_url, and
a client paying the new account."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from sqlmodel import Session, select

from nextoria_hub import stripe_gateway as gateway
from nextoria_hub.accounts.sessions import start_session
from nextoria_hub.billing.clients import create_client
from nextoria_hub.errors import ValidationError
from nextoria_hub.models import ConnectOnboarding, Role, StripeKeys
from nextoria_hub.payments import stripe_onboarding
from nextoria_hub.payments.checkout import start_checkout
from nextoria_hub.settings import get_settings
from nextoria_hub.tenancy import Actor
from stripe_sandbox.testing import SandboxServer
from tests.factories import build_tenant, quick_stripe_keys, quick_user
from tests.payments.conftest import Shop, sign


def _submit(url: str, name: str = "Fresh Agency LLC") -> httpx.Response:
    """What the agency does on Stripe's hosted set-up page."""
    page = httpx.get(url, trust_env=False)
    assert page.status_code == 200, page.text[:300]
    form_id = re.search(r"name='form' value='([^']+)'", page.text)
    assert form_id
    form = {
        "form": form_id.group(1),
        "business_name": name,
        "business_url": "https://fresh.example",
        "first_name": "Jenny",
        "last_name": "Rosen",
        "routing_number": "110000000",
        "account_number": "000123456789",
        "action": "submit",
    }
    return httpx.post(url, data=form, trust_env=False)


def _row(db: Session, workspace_id: int) -> StripeKeys:
    db.expire_all()
    return db.exec(select(StripeKeys).where(StripeKeys.workspace_id == workspace_id)).one()


def test_new_account_onboards_and_takes_a_payment(
    db: Session, stripe_sandbox: SandboxServer, platform: dict[str, Any], public_port: int
) -> None:
    tenant = build_tenant(db, "fresh", "Fresh")
    admin = Actor.of(tenant.admin)
    url = stripe_onboarding.start_onboarding(db, admin)
    row = _row(db, tenant.id)
    account = row.connected_account
    assert account.startswith("acct_") and account in url and row.mode == "test"
    assert (row.secret_key_sealed, row.publishable_key, row.webhook_secret_sealed) == ("", "", "")
    assert (row.charges_enabled, row.details_submitted) == (False, False)
    assert "external_account" in row.requirements_due.split(",")
    assert db.exec(select(ConnectOnboarding)).all() == []  # the attempt is done
    # Again (the admin clicked twice): the same account, a new link.
    again = stripe_onboarding.start_onboarding(db, admin)
    assert again != url and _row(db, tenant.id).connected_account == account
    platform_client = stripe_sandbox.client(platform["test"]["secret_key"])
    created = platform_client.v1.accounts.retrieve(account)
    assert created.business_profile.name == "Fresh" and created.email == "admin@fresh.test"

    done = _submit(again)
    assert done.status_code == 303
    assert done.headers["location"] == (
        f"http://fresh.localhost:{public_port}/settings/integrations?stripe_onboarding=return"
    )
    shop = Shop(db, tenant, None, None, {"account_id": account}, stripe_sandbox, public_port)  # type: ignore[arg-type]
    shop.settle_webhooks()  # account.updated through the platform's Connect endpoint
    row = _row(db, tenant.id)
    assert (row.charges_enabled, row.details_submitted, row.requirements_due) == (True, True, "")
    assert row.account_name == "Fresh Agency LLC"
    with pytest.raises(ValidationError):  # nothing left to set up
        stripe_onboarding.start_onboarding(db, admin)

    client = create_client(
        db, admin, name="Initech", billing_email="ap@fresh-client.test", currency="usd"
    )
    db.commit()
    user = quick_user(db, tenant.id, "peter@fresh-client.test", "client", "Peter")
    user.client_id, user.role = client.id, Role.client
    db.add(user)
    db.commit()
    shop = Shop(db, tenant, client, user, {"account_id": account}, stripe_sandbox, public_port)
    invoice = shop.invoice()
    pay_url = start_checkout(db, shop.portal, invoice.id, base_url=shop.base_url)  # type: ignore[arg-type]
    db.commit()
    shop.pay(pay_url)
    shop.settle_webhooks()
    shop.refresh(invoice)
    assert invoice.status == "paid"
    session_id = urlsplit(pay_url).path.rsplit("/", 1)[-1]
    paid = platform_client.v1.checkout.sessions.retrieve(
        session_id, options={"stripe_account": account}
    )
    assert paid.payment_status == "paid"


def test_refresh_url_makes_a_new_link_for_the_signed_in_admin_only(
    db: Session, stripe_sandbox: SandboxServer, platform: dict[str, Any], public_port: int
) -> None:
    tenant = build_tenant(db, "refresher", "Refresher")
    url = stripe_onboarding.start_onboarding(db, Actor.of(tenant.admin))
    assert httpx.get(url, trust_env=False).status_code == 200  # opened once: now used
    used = httpx.get(url, trust_env=False)
    assert used.status_code == 303
    refresh = used.headers["location"]
    assert refresh == f"http://refresher.localhost:{public_port}/api/stripe/onboarding/refresh"
    token = start_session(db, tenant.admin)
    db.commit()
    local = f"http://127.0.0.1:{public_port}/api/stripe/onboarding/refresh"
    host = {"host": f"refresher.localhost:{public_port}"}
    signed_in = httpx.get(local, headers={**host, "cookie": f"nx_session={token}"}, trust_env=False)
    assert signed_in.status_code == 303
    fresh = signed_in.headers["location"]
    assert fresh.startswith(stripe_sandbox.base_url) and fresh != url
    assert _submit(fresh).status_code == 303
    anonymous = httpx.get(local, headers=host, trust_env=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == "/login?next=/settings/integrations"
    member = quick_user(db, tenant.id, "max@refresher.test", "member", "Max")
    member_token = start_session(db, member)
    db.commit()
    refused = httpx.get(
        local, headers={**host, "cookie": f"nx_session={member_token}"}, trust_env=False
    )
    assert refused.status_code == 303 and "stripe_onboarding=failed" in refused.headers["location"]
    apex = httpx.get(local, headers={"host": f"localhost:{public_port}"}, trust_env=False)
    assert apex.status_code == 404


def test_a_lost_answer_gets_the_same_account_and_pasted_keys_are_kept(
    db: Session, stripe_sandbox: SandboxServer, platform: dict[str, Any], public_port: int
) -> None:
    tenant = build_tenant(db, "retry", "Retry")
    # An earlier click reached Stripe, but its answer was lost before it was stored.
    db.add(ConnectOnboarding(workspace_id=tenant.id, mode="test", idempotency_key="k-lost-1"))
    db.commit()
    lost = gateway.create_connected_account(
        platform["test"]["secret_key"],
        name="Retry",
        email="admin@retry.test",
        idempotency="k-lost-1",
    )
    stripe_onboarding.start_onboarding(db, Actor.of(tenant.admin))
    assert _row(db, tenant.id).connected_account == lost.id

    pasted = build_tenant(db, "pasted", "Pasted")
    quick_stripe_keys(db, pasted.id, "pasted")
    db.commit()
    with pytest.raises(ValidationError, match="pasted test keys"):
        stripe_onboarding.start_onboarding(db, Actor.of(pasted.admin))
    assert _row(db, pasted.id).connected_account == ""


def test_another_workspaces_account_updated_changes_nothing_here(
    db: Session, stripe_sandbox: SandboxServer, platform: dict[str, Any], public_port: int
) -> None:
    ours = build_tenant(db, "oursnew", "Ours")
    theirs = build_tenant(db, "theirsnew", "Theirs")
    stripe_onboarding.start_onboarding(db, Actor.of(ours.admin))
    url = stripe_onboarding.start_onboarding(db, Actor.of(theirs.admin))
    assert _submit(url).status_code == 303
    shop = Shop(db, ours, None, None, {}, stripe_sandbox, public_port)  # type: ignore[arg-type]
    shop.settle_webhooks()
    assert _row(db, theirs.id).charges_enabled
    mine = _row(db, ours.id)
    assert not mine.charges_enabled and not mine.details_submitted
    # A signed event naming their account, carrying our account's id in its object: the
    # workspace comes from ``account``, and theirs does not hold this object's account.
    forged = {
        "id": "evt_cross_onboarding",
        "object": "event",
        "type": "account.updated",
        "account": _row(db, theirs.id).connected_account,
        "livemode": False,
        "created": 1_700_000_000,
        "api_version": gateway.API_VERSION,
        "data": {
            "object": {
                "id": mine.connected_account,
                "object": "account",
                "charges_enabled": True,
                "details_submitted": True,
                "requirements": {"currently_due": []},
            }
        },
    }
    payload = json.dumps(forged).encode()
    resp = httpx.post(
        f"http://127.0.0.1:{public_port}/api/webhooks/stripe/connect",
        content=payload,
        headers={
            "host": f"localhost:{public_port}",
            "stripe-signature": sign(payload, platform["webhook_secret"]),
        },
        trust_env=False,
    )
    assert resp.status_code == 200, resp.text
    shop.settle_webhooks()
    mine = _row(db, ours.id)
    assert not mine.charges_enabled and not mine.details_submitted
    assert get_settings().connect_configured
