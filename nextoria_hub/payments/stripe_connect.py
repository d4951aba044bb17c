""" "Connect with Stripe": OAuth for an agency's Standard account, beside pasted keys.

The hub keeps the connected account's id and mode, never a secret of the agency: calls use
the platform's secret key with ``Stripe-Account`` (``stripe_gateway.ConnectedKey``). The
OAuth ``state`` is signed, single-use, short-lived and bound to the workspace and to the
admin's session (the callback at the apex cannot read the workspace's host-only cookie, so
it checks that the session which started the attempt is still live and still an admin's).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, timedelta
from urllib.parse import urlencode

from sqlmodel import Session, select

from nextoria_hub import stripe_gateway as gateway
from nextoria_hub.accounts.tokens import token_hash
from nextoria_hub.audit import record_audit
from nextoria_hub.billing.finance import get_finance
from nextoria_hub.clock import utcnow
from nextoria_hub.errors import NextoriaError, NotFound, ValidationError
from nextoria_hub.models import (
    ConnectOAuthState,
    Role,
    StripeKeys,
    User,
    UserSession,
    Workspace,
)
from nextoria_hub.notifications.outbox import email_admins
from nextoria_hub.settings import get_settings
from nextoria_hub.tenancy import Actor

STATE_TTL = timedelta(minutes=10)
CALLBACK_PATH = "/api/stripe/connect/callback"
CONNECT_WEBHOOK_PATH = "/api/webhooks/stripe/connect"
CONNECTED_MASK = "Connected with Stripe"


def configured() -> bool:
    return get_settings().connect_configured


def platform_key() -> str:
    """The platform's secret key; use at once, never log."""
    key = get_settings().stripe_platform_secret_key.strip()
    if not key:
        raise NextoriaError("Stripe Connect is not configured on this server.")
    return key


def platform_mode() -> str:
    return "live" if platform_key().startswith(("sk_live_", "rk_live_")) else "test"


def redirect_uri() -> str:
    return get_settings().apex_url(CALLBACK_PATH)


def credentials(row: StripeKeys) -> str:
    """What the gateway needs for a connected row: the platform key + ``Stripe-Account``."""
    return gateway.ConnectedKey(platform_key(), row.connected_account)


def _signature(nonce: str, workspace_id: int) -> str:
    key = hashlib.sha256(("stripe-connect-state:" + get_settings().master_keys()[0]).encode())
    msg = f"{nonce}:{workspace_id}".encode()
    return hmac.new(key.digest(), msg, hashlib.sha256).hexdigest()[:32]


def _session_id(db: Session, actor: Actor, token: str) -> int | None:
    """The id of the actor's own live session ``token``; None for anyone else's."""
    row = db.exec(select(UserSession).where(UserSession.token_hash == token_hash(token))).first()
    if row is None or row.ended_at is not None:
        return None
    if row.workspace_id != actor.workspace_id or row.user_id != actor.user_id:
        return None
    return row.id


def authorize_url(db: Session, actor: Actor, session_token: str) -> str:
    """Stripe's consent page for this workspace; records a single-use ``state``."""
    actor.require_admin()
    if not configured():
        raise ValidationError("Stripe Connect is not configured on this server.", "form")
    session_id = _session_id(db, actor, session_token)
    if session_id is None or actor.user_id is None:
        raise ValidationError("Sign in again to connect Stripe.", "form")
    nonce = secrets.token_urlsafe(24)
    db.add(
        ConnectOAuthState(
            nonce=nonce,
            workspace_id=actor.workspace_id,
            user_id=actor.user_id,
            session_id=session_id,
        )
    )
    db.flush()
    settings = get_settings()
    query = {
        "response_type": "code",
        "client_id": settings.stripe_connect_client_id,
        "scope": "read_write",
        "state": f"{nonce}.{_signature(nonce, actor.workspace_id)}",
        "redirect_uri": redirect_uri(),
    }
    return f"{settings.effective_connect_base}/oauth/authorize?{urlencode(query)}"


@dataclass(frozen=True)
class CallbackResult:
    workspace_slug: str  # "" when the state names no workspace (nowhere to send the browser)
    ok: bool
    message: str


def _claim_state(db: Session, state: str) -> ConnectOAuthState | None:
    """The attempt ``state`` names, marked used; None if forged, used, stale or orphaned."""
    nonce, _, signature = state.partition(".")
    row = db.exec(select(ConnectOAuthState).where(ConnectOAuthState.nonce == nonce)).first()
    if row is None or row.used_at is not None:
        return None
    if not hmac.compare_digest(signature, _signature(nonce, row.workspace_id)):
        return None
    row.used_at = utcnow()
    db.add(row)
    created = (
        row.created_at.replace(tzinfo=UTC) if row.created_at.tzinfo is None else row.created_at
    )
    if utcnow() - created > STATE_TTL:
        return None
    session = db.get(UserSession, row.session_id)
    user = db.get(User, row.user_id)
    now = utcnow()
    if session is None or session.ended_at is not None or session.user_id != row.user_id:
        return None
    expires = session.expires_at
    if (expires.replace(tzinfo=UTC) if expires.tzinfo is None else expires) < now:
        return None
    if user is None or user.workspace_id != row.workspace_id or user.role != Role.admin:
        return None
    if user.removed_at is not None:
        return None
    return row


def complete(db: Session, *, state: str, code: str = "", error: str = "") -> CallbackResult:
    """The OAuth callback: check the state, exchange the code, store the connected account."""
    row = _claim_state(db, state)
    if row is None:
        return CallbackResult("", False, "This Connect link expired or was already used.")
    workspace = db.get(Workspace, row.workspace_id)
    user = db.get(User, row.user_id)
    assert workspace is not None and user is not None
    if error or not code:
        return CallbackResult(workspace.slug, False, "Stripe was not connected: access denied.")
    try:
        grant = gateway.oauth_token(platform_key(), code)
    except gateway.StripeGatewayError as err:
        return CallbackResult(workspace.slug, False, err.message)
    mode = "live" if grant.livemode else "test"
    actor = Actor(
        workspace_id=workspace.id,  # type: ignore[arg-type]
        user_id=user.id,
        role=user.role,
        email=user.email,
        name=user.name,
    )
    try:
        info: gateway.AccountInfo | None = gateway.retrieve_account(
            gateway.ConnectedKey(platform_key(), grant.account)
        )
    except gateway.StripeGatewayError:
        info = None  # readiness follows from account.updated / refresh
    store_connected_account(db, actor, mode, grant.account, info)
    record_audit(db, actor, "stripe.connect_oauth", f"{mode}: account {grant.account}")
    return CallbackResult(workspace.slug, True, "Stripe is connected.")


def store_connected_account(
    db: Session, actor: Actor, mode: str, account: str, info: gateway.AccountInfo | None
) -> StripeKeys:
    """Make ``account`` the workspace's Stripe account of ``mode`` (OAuth or onboarding).

    A pasted key of this mode is replaced: no agency secret is kept once connected. The
    first mode connected becomes the one in use.
    """
    workspace_id = actor.workspace_id
    keys = db.exec(
        select(StripeKeys).where(StripeKeys.workspace_id == workspace_id, StripeKeys.mode == mode)
    ).first()
    if keys is None:
        keys = StripeKeys(
            workspace_id=workspace_id,
            mode=mode,
            publishable_key="",
            secret_key_sealed="",
            secret_key_mask="",
        )
    keys.publishable_key = ""
    keys.secret_key_sealed = keys.webhook_secret_sealed = ""
    keys.secret_key_mask, keys.webhook_secret_mask = CONNECTED_MASK, ""
    keys.webhook_endpoint_id = ""
    keys.connected_account = account
    keys.account_id = account
    keys.connected_at = utcnow()
    keys.connected_by_id, keys.connected_by_label = actor.user_id, actor.name or actor.email
    if info is not None:
        keys.account_name = info.name
        keys.charges_enabled, keys.details_submitted = info.charges_enabled, info.details_submitted
        keys.requirements_due = ",".join(info.requirements_due)
        keys.checked_at = utcnow()
    else:
        keys.account_name = account
    db.add(keys)
    finance = get_finance(db, workspace_id)
    other = "live" if mode == "test" else "test"
    has_other = db.exec(
        select(StripeKeys).where(StripeKeys.workspace_id == workspace_id, StripeKeys.mode == other)
    ).first()
    if has_other is None and finance.stripe_mode != mode:
        finance.stripe_mode = mode
        db.add(finance)
    db.flush()
    return keys


def disconnect_connected(db: Session, actor: Actor, row: StripeKeys) -> None:
    """Deauthorize the platform's access, then forget the connected account."""
    actor.require_admin()
    if row.workspace_id != actor.workspace_id or not row.connected_account:
        raise NotFound("Stripe is not connected with Stripe Connect here.")
    gateway.oauth_deauthorize(platform_key(), row.connected_account)
    record_audit(
        db, actor, "stripe.disconnect", f"{row.mode}: account {row.connected_account} (Connect)"
    )
    db.delete(row)


def apply_deauthorization(db: Session, workspace_id: int, mode: str, account: str) -> bool:
    """``account.application.deauthorized``: the agency removed us in Stripe; tell its admins."""
    row = db.exec(
        select(StripeKeys).where(
            StripeKeys.workspace_id == workspace_id,
            StripeKeys.mode == mode,
            StripeKeys.connected_account == account,
        )
    ).first()
    if row is None or not account:
        return False
    db.delete(row)
    record_audit(
        db,
        None,
        "stripe.deauthorized",
        f"{mode}: account {account} disconnected in Stripe",
        workspace_id=workspace_id,
    )
    workspace = db.get(Workspace, workspace_id)
    email_admins(
        db,
        workspace_id,
        kind="stripe_deauthorized",
        context={
            "workspace_name": workspace.name if workspace else "",
            "account": account,
            "mode": mode,
            "link": get_settings().workspace_url(
                workspace.slug if workspace else "", "/settings/integrations"
            ),
        },
    )
    return True


def workspace_for_account(db: Session, account: str, mode: str) -> int | None:
    """The workspace connected to ``account`` in ``mode`` (from an event's ``account``)."""
    if not account:
        return None
    row = db.exec(
        select(StripeKeys).where(StripeKeys.connected_account == account, StripeKeys.mode == mode)
    ).first()
    return row.workspace_id if row else None
