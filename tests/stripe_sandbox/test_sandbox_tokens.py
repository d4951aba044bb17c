"""PII tokens as Stripe makes them: created with a publishable key, seen only by its account."""

from __future__ import annotations

import pytest
import stripe

from stripe_sandbox.testing import SandboxServer


def test_a_pii_token_is_retrievable_only_by_its_own_accounts_secret_key(
    stripe_sandbox: SandboxServer,
) -> None:
    mine = stripe_sandbox.create_account("Mine Ltd")["test"]
    theirs = stripe_sandbox.create_account("Theirs Ltd")["test"]
    token = stripe_sandbox.client(mine["publishable_key"]).v1.tokens.create(
        {"pii": {"id_number": "000000000"}}
    )
    assert token.id.startswith("pii_") and token.type == "pii" and token.livemode is False
    again = stripe_sandbox.client(mine["secret_key"]).v1.tokens.retrieve(token.id)
    assert again.id == token.id and again.used is False
    with pytest.raises(stripe.InvalidRequestError) as err:
        stripe_sandbox.client(theirs["secret_key"]).v1.tokens.retrieve(token.id)
    assert err.value.code == "resource_missing" and err.value.http_status == 404
    with pytest.raises(stripe.PermissionError):  # retrieving needs a secret key
        stripe_sandbox.client(mine["publishable_key"]).v1.tokens.retrieve(token.id)
    with pytest.raises(stripe.InvalidRequestError, match="must supply either"):
        stripe_sandbox.client(mine["publishable_key"]).v1.tokens.create({})
