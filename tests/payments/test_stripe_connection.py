"""Connecting Stripe: every validation against the sandbox, sealed storage, modes, webhook."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import Session, SQLModel, select

from nextoria_hub.errors import AccessDenied, StripeNotConnected, ValidationError
from nextoria_hub.models import AuditEntry, StripeKeys
from nextoria_hub.payments import stripe_connection as conn
from nextoria_hub.payments.stripe_connection import ConnectInput
from nextoria_hub.secret_box import unseal
from nextoria_hub.settings import get_settings
from tests.factories import actor_of, make_user, make_workspace


@pytest.fixture
def admin(db: Session):
    return actor_of(make_workspace(db, "acme", "Acme").admin)


def _test_keys(account: dict[str, Any]) -> ConnectInput:
    keys = account["test"]
    return ConnectInput(keys["publishable_key"], keys["secret_key"])


def test_connect_validates_with_stripe_and_stores_sealed(db, admin, stripe_account) -> None:
    row = conn.connect(db, admin, _test_keys(stripe_account))
    db.commit()
    secret = stripe_account["test"]["secret_key"]
    assert row.mode == "test"
    assert row.account_id == stripe_account["account_id"]
    assert row.secret_key_mask == f"sk_test_…{secret[-4:]}"
    assert secret not in row.secret_key_sealed
    assert unseal(row.secret_key_sealed) == secret
    assert conn.active_secret_key(db, admin.workspace_id) == ("test", secret)
    audit = db.exec(select(AuditEntry).where(AuditEntry.action == "stripe.connect")).one()
    assert "sk_test_…" in audit.detail and secret not in audit.detail


@pytest.mark.parametrize(
    ("pk", "sk", "wh", "field", "needle"),
    [
        (
            "pk_nope_123456789012",
            "sk_test_123456789012",
            "",
            "publishable_key",
            "starts with pk_test_",
        ),
        ("pk_test_123456789012", "xx_test_123456789012", "", "secret_key", "starts with sk_test_"),
        ("pk_test_123456789012", "sk_test_nope", "", "secret_key", "too short"),
        ("pk_test_nope", "sk_test_123456789012", "", "publishable_key", "too short"),
        ("pk_test_123456789012", "pk_test_123456789012", "", "secret_key", "publishable key"),
        ("pk_test_123456789012", "sk_test_123456789012", "secret", "webhook_secret", "whsec_"),
        ("pk_test_123456789012", "sk_live_123456789012", "", "secret_key", "different modes"),
    ],
)
def test_key_shapes_are_refused_before_calling_stripe(db, admin, pk, sk, wh, field, needle) -> None:
    with pytest.raises(ValidationError) as err:
        conn.connect(db, admin, ConnectInput(pk, sk, wh))
    assert err.value.field == field
    assert needle in err.value.message
    assert db.exec(select(StripeKeys)).all() == []


def test_mode_chosen_must_match_the_keys(db, admin, stripe_account) -> None:
    data = _test_keys(stripe_account)
    with pytest.raises(ValidationError, match="live mode but these are test keys"):
        conn.connect(db, admin, ConnectInput(data.publishable_key, data.secret_key, mode="live"))


def test_publishable_and_secret_of_different_modes_are_refused(db, admin, stripe_account) -> None:
    mixed = ConnectInput(
        stripe_account["test"]["publishable_key"], stripe_account["live"]["secret_key"]
    )
    with pytest.raises(ValidationError, match="different modes") as err:
        conn.connect(db, admin, mixed)
    assert err.value.field == "secret_key"


def test_mistyped_and_revoked_keys_are_refused(db, admin, stripe_account, stripe_sandbox) -> None:
    keys = stripe_account["test"]
    mistyped = ConnectInput(keys["publishable_key"], keys["secret_key"][:-3] + "zzz")
    with pytest.raises(ValidationError, match="Stripe rejected this key") as err:
        conn.connect(db, admin, mistyped)
    assert err.value.field == "secret_key"
    assert keys["secret_key"][:-3] not in err.value.message

    stripe_sandbox.control("POST", "keys/revoke", {"key": keys["secret_key"]})
    with pytest.raises(ValidationError, match="Stripe rejected this key"):
        conn.connect(db, admin, _test_keys(stripe_account))
    assert db.exec(select(StripeKeys)).all() == []


def test_restricted_key_lists_missing_permissions(
    db, admin, stripe_account, stripe_sandbox
) -> None:
    acct = stripe_account["account_id"]
    partial = stripe_sandbox.control(
        "POST",
        f"accounts/{acct}/restricted_keys",
        {
            "mode": "test",
            "permissions": {"account": "read", "customers": "write", "events": "read"},
        },
    )["key"]
    pk = stripe_account["test"]["publishable_key"]
    with pytest.raises(ValidationError) as err:
        conn.connect(db, admin, ConnectInput(pk, partial))
    assert err.value.field == "secret_key"
    assert "Checkout Sessions: Write" in err.value.message
    assert "PaymentIntents: Write" in err.value.message
    assert "Customers: Write" not in err.value.message
    assert partial not in err.value.message

    full = stripe_sandbox.control(
        "POST",
        f"accounts/{acct}/restricted_keys",
        {
            "mode": "test",
            "permissions": {
                name: "write"
                for name in [
                    "account",
                    "customers",
                    "checkout_sessions",
                    "payment_intents",
                    "setup_intents",
                    "payment_methods",
                    "products",
                    "prices",
                    "subscriptions",
                    "invoices",
                    "charges",
                    "events",
                    "webhook_endpoints",
                ]
            },
        },
    )["key"]
    row = conn.connect(db, admin, ConnectInput(pk, full))
    assert row.secret_key_mask.startswith("rk_test_…")


def test_stripe_unreachable_is_explained_and_nothing_stored(
    db, admin, stripe_account, monkeypatch
) -> None:
    monkeypatch.setenv("NEXTORIA_STRIPE_API_BASE", "http://127.0.0.1:9")
    get_settings.cache_clear()
    try:
        with pytest.raises(ValidationError, match="could not be reached") as err:
            conn.connect(db, admin, _test_keys(stripe_account))
        assert err.value.field == "form"
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    assert db.exec(select(StripeKeys)).all() == []


def test_register_webhook_twice_updates_rather_than_duplicates(
    db, admin, stripe_account, stripe_sandbox
) -> None:
    conn.connect(db, admin, _test_keys(stripe_account))
    first = conn.register_webhook(db, admin, "test")
    db.commit()
    second = conn.register_webhook(db, admin, "test")
    db.commit()
    assert first.webhook_endpoint_id == second.webhook_endpoint_id
    assert first.webhook_secret_mask.startswith("whsec_…")
    client = stripe_sandbox.client(stripe_account["test"]["secret_key"])
    endpoints = client.v1.webhook_endpoints.list().data
    assert len(endpoints) == 1
    assert endpoints[0].url == "http://acme.localhost:3000/api/webhooks/stripe"
    assert set(conn.WEBHOOK_EVENTS) <= set(endpoints[0].enabled_events)
    assert conn.check_connection(db, admin) == []


def test_modes_are_apart_and_switching_needs_keys(db, admin, stripe_account) -> None:
    conn.connect(db, admin, _test_keys(stripe_account))
    with pytest.raises(StripeNotConnected, match="live mode"):
        conn.set_mode(db, admin, "live")
    live = stripe_account["live"]
    conn.connect(db, admin, ConnectInput(live["publishable_key"], live["secret_key"]))
    assert conn.active_mode(db, admin.workspace_id) == "test"  # connecting live doesn't switch
    conn.set_mode(db, admin, "live")
    assert conn.active_secret_key(db, admin.workspace_id) == ("live", live["secret_key"])
    active, modes = conn.connection_status(db, admin)
    assert active == "live"
    assert [m.connected for m in modes] == [True, True]


def test_disconnect_removes_secrets_and_payments_stop(db, admin, stripe_account) -> None:
    conn.connect(db, admin, _test_keys(stripe_account))
    conn.disconnect(db, admin, "test")
    db.commit()
    assert db.exec(select(StripeKeys)).all() == []
    with pytest.raises(StripeNotConnected, match="hasn't connected Stripe"):
        conn.active_secret_key(db, admin.workspace_id)


def test_readiness_and_problems_are_reported(db, admin, stripe_account, stripe_sandbox) -> None:
    acct = stripe_account["account_id"]
    stripe_sandbox.control(
        "POST",
        f"accounts/{acct}/readiness",
        {
            "charges_enabled": False,
            "details_submitted": False,
            "currently_due": ["individual.verification.document"],
        },
    )
    row = conn.connect(db, admin, _test_keys(stripe_account))
    assert (row.charges_enabled, row.details_submitted) == (False, False)
    problems = conn.check_connection(db, admin)
    assert any("identity verification" in p for p in problems)
    assert any("individual.verification.document" in p for p in problems)
    assert any("No webhook signing secret" in p for p in problems)


def test_only_admins_change_the_connection(db, admin, stripe_account) -> None:
    member = actor_of(make_user(db, admin.workspace_id, "max@acme.test", "member"))
    client = actor_of(make_user(db, admin.workspace_id, "cleo@client.test", "client"))
    with pytest.raises(AccessDenied):
        conn.connect(db, member, _test_keys(stripe_account))
    conn.connect(db, admin, _test_keys(stripe_account))
    _active, modes = conn.connection_status(db, member)  # members see the status
    assert modes[0].secret_key_mask.startswith("sk_test_…")
    with pytest.raises(AccessDenied):
        conn.connection_status(db, client)


def test_no_secret_is_stored_in_plaintext_anywhere(db, admin, stripe_account) -> None:
    conn.connect(db, admin, _test_keys(stripe_account))
    conn.register_webhook(db, admin, "test")
    db.commit()
    dump = []
    for table in SQLModel.metadata.sorted_tables:
        for row in db.exec(text(f'SELECT * FROM "{table.name}"')).all():  # type: ignore[call-overload]
            dump.append(" ".join(str(v) for v in row))
    everything = "\n".join(dump)
    assert stripe_account["test"]["secret_key"] not in everything
    for prefix in ("sk_test_", "sk_live_", "rk_test_", "rk_live_", "whsec_"):
        for line in dump:
            # Only masks (prefix + '…' + last four) may appear.
            start = line.find(prefix)
            while start != -1:
                assert line[start + len(prefix)] == "…", (
                    f"plaintext {prefix} value stored: {line[:120]}"
                )
                start = line.find(prefix, start + 1)


def test_switching_to_live_without_a_live_webhook_secret_warns(db, admin, stripe_account) -> None:
    conn.connect(db, admin, _test_keys(stripe_account))
    live = stripe_account["live"]
    conn.connect(db, admin, ConnectInput(live["publishable_key"], live["secret_key"]))
    assert not conn.uses_live_keys(db, admin.workspace_id)
    warnings = conn.set_mode(db, admin, "live")
    assert conn.uses_live_keys(db, admin.workspace_id)
    assert not conn.uses_test_keys(db, admin.workspace_id)
    assert len(warnings) == 1 and "Live mode has no webhook secret" in warnings[0]
    conn.register_webhook(db, admin, "live")
    assert conn.set_mode(db, admin, "live") == []


def test_keys_of_two_different_accounts_are_refused_together(
    db, admin, stripe_account, stripe_sandbox
) -> None:
    other = stripe_sandbox.create_account("Someone Else Ltd")
    mixed = ConnectInput(other["test"]["publishable_key"], stripe_account["test"]["secret_key"])
    with pytest.raises(ValidationError, match="two different Stripe accounts") as err:
        conn.connect(db, admin, mixed)
    assert err.value.field == "publishable_key"
    assert db.exec(select(StripeKeys)).all() == []
    rolled = ConnectInput("pk_test_" + "x" * 30, stripe_account["test"]["secret_key"])
    with pytest.raises(ValidationError, match="rejected this publishable key"):
        conn.connect(db, admin, rolled)
    conn.connect(db, admin, _test_keys(stripe_account))  # one account's pair still connects
