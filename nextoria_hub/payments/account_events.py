"""``account.updated``: Stripe changed what the connected account can do (charges, details)."""

from __future__ import annotations

from sqlmodel import Session

from nextoria_hub.payments import stripe_connect
from nextoria_hub.payments.stripe_connection import apply_account_update
from nextoria_hub.payments.webhook_handlers import EventContext, HandlerResult, handler


@handler("account.updated")
def account_updated(db: Session, ctx: EventContext) -> HandlerResult:
    if apply_account_update(db, ctx.workspace_id, ctx.mode, ctx.obj):
        return "applied", "account readiness updated"
    return "unmatched", "not the account connected in this mode"


@handler("account.application.deauthorized")
def application_deauthorized(db: Session, ctx: EventContext) -> HandlerResult:
    """The agency removed the platform in its Stripe Dashboard: disconnect, tell its admins."""
    if stripe_connect.apply_deauthorization(db, ctx.workspace_id, ctx.mode, ctx.account):
        return "applied", "disconnected: access removed in Stripe"
    return "unmatched", "not the account connected through Stripe Connect"
