"""``account.updated``: Stripe changed what the connected account can do (charges, details)."""

from __future__ import annotations

from sqlmodel import Session

from nextoria_hub.payments.stripe_connection import apply_account_update
from nextoria_hub.payments.webhook_handlers import EventContext, HandlerResult, handler


@handler("account.updated")
def account_updated(db: Session, ctx: EventContext) -> HandlerResult:
    if apply_account_update(db, ctx.workspace_id, ctx.mode, ctx.obj):
        return "applied", "account readiness updated"
    return "unmatched", "not the account connected in this mode"
