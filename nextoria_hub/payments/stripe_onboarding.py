"""Connect Onboarding: "Create a new Stripe account" for an agency that has none yet.

The platform creates the account (Accounts v1 with Standard controller properties), the
workspace stores its id at once (it is connected, not yet able to take payments), and the
admin is sent to Stripe's hosted onboarding through a single-use account link. Stripe sends
the browser back to ``return_url`` (the Integrations page, which asks Stripe for readiness)
or, for a used or expired link, to ``refresh_url`` (a route that makes a new link).
Readiness then follows ``account.updated`` on the Connect webhook.

No Stripe call runs inside a transaction: each step commits first, then asks Stripe, then
records the answer in a new unit of work.
"""

from __future__ import annotations

import secrets

from sqlmodel import Session, select

from nextoria_hub import stripe_gateway as gateway
from nextoria_hub.audit import record_audit
from nextoria_hub.errors import ValidationError
from nextoria_hub.models import ConnectOnboarding, StripeKeys, Workspace
from nextoria_hub.payments import stripe_connect
from nextoria_hub.settings import get_settings
from nextoria_hub.tenancy import Actor

REFRESH_PATH = "/api/stripe/onboarding/refresh"
RETURN_PATH = "/settings/integrations?stripe_onboarding=return"


def _keys(db: Session, workspace_id: int, mode: str) -> StripeKeys | None:
    return db.exec(
        select(StripeKeys).where(StripeKeys.workspace_id == workspace_id, StripeKeys.mode == mode)
    ).first()


def _attempt(db: Session, workspace_id: int, mode: str) -> ConnectOnboarding | None:
    return db.exec(
        select(ConnectOnboarding).where(
            ConnectOnboarding.workspace_id == workspace_id, ConnectOnboarding.mode == mode
        )
    ).first()


def _urls(slug: str) -> tuple[str, str]:
    settings = get_settings()
    return settings.workspace_url(slug, REFRESH_PATH), settings.workspace_url(slug, RETURN_PATH)


def start_onboarding(db: Session, actor: Actor) -> str:
    """The URL of Stripe's onboarding for this workspace's new account (created only once).

    Commits ``db``. An account created earlier and not finished is continued with a new
    link; pasted keys of the platform's mode are never silently replaced.
    """
    actor.require_admin()
    if not stripe_connect.configured():
        raise ValidationError("Stripe Connect is not configured on this server.", "form")
    mode = stripe_connect.platform_mode()
    workspace = db.get(Workspace, actor.workspace_id)
    assert workspace is not None
    row = _keys(db, actor.workspace_id, mode)
    if row is not None and not row.connected_account:
        raise ValidationError(
            f"This workspace uses pasted {mode} keys. Disconnect them first to create a new "
            "Stripe account.",
            "form",
        )
    if row is not None and row.details_submitted and not row.requirements_due:
        raise ValidationError("Stripe already has this account's details.", "form")
    account = row.connected_account if row is not None else ""
    idempotency = ""
    if not account:
        attempt = _attempt(db, actor.workspace_id, mode)
        if attempt is None:
            attempt = ConnectOnboarding(
                workspace_id=actor.workspace_id,
                mode=mode,
                idempotency_key=f"connect-account-{secrets.token_hex(16)}",
            )
            db.add(attempt)
        idempotency = attempt.idempotency_key
    name, email, slug = workspace.name, actor.email, workspace.slug
    db.commit()  # nothing of ours is held while Stripe answers

    key = stripe_connect.platform_key()
    if not account:
        info = gateway.create_connected_account(
            key, name=name, email=email, idempotency=idempotency
        )
        account = info.id
        stripe_connect.store_connected_account(db, actor, mode, account, info)
        attempt = _attempt(db, actor.workspace_id, mode)
        if attempt is not None:
            db.delete(attempt)
        record_audit(db, actor, "stripe.connect_onboarding", f"{mode}: new account {account}")
        db.commit()
    refresh_url, return_url = _urls(slug)
    return gateway.create_account_link(key, account, refresh_url=refresh_url, return_url=return_url)


def continue_onboarding(db: Session, actor: Actor) -> str:
    """``refresh_url``: a new link for the account being onboarded (the old one was used or
    expired). Refuses when there is no such account."""
    actor.require_admin()
    if not stripe_connect.configured():
        raise ValidationError("Stripe Connect is not configured on this server.", "form")
    row = _keys(db, actor.workspace_id, stripe_connect.platform_mode())
    if row is None or not row.connected_account:
        raise ValidationError("There is no new Stripe account to set up here.", "form")
    return start_onboarding(db, actor)
