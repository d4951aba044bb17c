"""Tokens: PII tokens, which Stripe.js creates with a publishable key.

A token lives in the account (and mode) of the key that created it; retrieving it needs a
secret key of that same account, anything else answers ``No such token``.
"""

from __future__ import annotations

from typing import Any

from ..api import Ctx, Params, route
from ..errors import StripeError
from ..ids import new_id

_KINDS = ("card", "bank_account", "pii", "account", "person", "cvc_update", "customer")


@route("POST", "/v1/tokens", "tokens")
def create_token(ctx: Ctx, p: Params) -> dict[str, Any]:
    if not any(p.has(kind) for kind in _KINDS):
        raise StripeError(
            400,
            "invalid_request_error",
            "You must supply either a card, customer, PII data, bank account, or account "
            "legal entity to create a token.",
        )
    if not p.has("pii"):
        # Only PII tokens are modelled here; say so rather than pretend.
        raise StripeError(
            400,
            "invalid_request_error",
            "The sandbox only creates PII tokens (pii[id_number]).",
        )
    p.sub("pii")
    token = {
        "id": new_id("pii"),
        "object": "token",
        "client_ip": None,
        "created": ctx.now,
        "livemode": ctx.livemode,
        "redaction": None,
        "type": "pii",
        "used": False,
    }
    ctx.sb.store.put(ctx.scope, token)  # no fixture fill: a PII token has no card
    return dict(token)


@route("GET", "/v1/tokens/{id}", "tokens")
def get_token(ctx: Ctx, p: Params, id: str) -> dict[str, Any]:
    return dict(ctx.get(id, "token", ("tok_", "pii_", "btok_", "cvctok_", "ct_", "cpt_")))
