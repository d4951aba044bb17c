""" "Void and duplicate as draft" over HTTP against the sandbox: the Checkout page the client
still has open on the old invoice is expired at Stripe, the old invoice can't take money, and
the new draft has no way to be paid until it is sent."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlmodel import select

from nextoria_hub.billing.drafts import void_and_duplicate
from nextoria_hub.errors import NotFound
from nextoria_hub.models import CheckoutSession
from nextoria_hub.payments.checkout import start_checkout
from stripe_sandbox.testing import SandboxServer, submit_checkout
from tests.payments.conftest import Shop
from tests.payments.test_payment_paths import assert_ledger_agrees, session_status


@pytest.fixture(autouse=True)
def _no_webhook_in_flight(stripe_sandbox: SandboxServer) -> Iterator[None]:
    yield
    stripe_sandbox.wait_for_deliveries(20)


def test_void_and_duplicate_closes_the_open_checkout(shop: Shop) -> None:
    invoice = shop.invoice()
    url = start_checkout(shop.db, shop.portal, invoice.id, base_url=shop.base_url)  # type: ignore[arg-type]
    shop.db.commit()
    draft = void_and_duplicate(shop.db, shop.admin, invoice.id, "wrong hours")  # type: ignore[arg-type]
    shop.db.commit()  # the session is expired at Stripe once this commits
    assert session_status(shop, url) == "expired"
    row = shop.db.exec(select(CheckoutSession)).one()
    shop.refresh(row)
    assert row.status == "expired" and "voided" in row.close_reason
    resp = submit_checkout(url)
    assert resp.status_code >= 400 or "expired" in resp.text.lower()
    shop.settle_webhooks()
    shop.refresh(invoice, draft)
    assert (invoice.status, invoice.amount_paid) == ("void", 0)
    assert (draft.status, draft.total, draft.duplicated_from_id) == (
        "draft",
        invoice.total,
        invoice.id,
    )
    with pytest.raises(NotFound):  # a draft is not even visible to the client
        start_checkout(shop.db, shop.portal, draft.id, base_url=shop.base_url)  # type: ignore[arg-type]
    shop.db.rollback()
    assert assert_ledger_agrees(shop) == []
