"""Payment terms without Stripe: the Finance default, the rules' edges, and a revised draft
keeping the terms of the invoice it replaces."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from nextoria_hub.billing.clients import create_client
from nextoria_hub.billing.drafts import void_and_duplicate
from nextoria_hub.billing.finance import FinanceUpdate, update_finance
from nextoria_hub.billing.invoices import LineInput, create_invoice, send_invoice
from nextoria_hub.billing.payment_terms import (
    TermsInput,
    check_part,
    pay_options,
    set_payment_terms,
)
from nextoria_hub.errors import AccessDenied, ValidationError
from nextoria_hub.models import Client, Invoice
from nextoria_hub.tenancy import Actor


@pytest.fixture
def client(db: Session, admin: Actor) -> Client:
    c = create_client(db, admin, name="Initech", billing_email="ap@initech.test", currency="jpy")
    db.commit()
    return c


def _invoice(db: Session, admin: Actor, client: Client, amount: str = "100000") -> Invoice:
    invoice = create_invoice(
        db,
        admin,
        client_id=client.id,  # type: ignore[arg-type]
        lines=[LineInput("Retainer", "1", amount)],
    )
    db.commit()
    return invoice


def test_finance_default_reaches_new_invoices_in_their_currency(
    db: Session, admin: Actor, member: Actor, client: Client
) -> None:
    update = FinanceUpdate("usd", ["card"], True, [1], 3, partial_payments=True)
    with pytest.raises(ValidationError, match=r"minimum like 100\.00"):
        update_finance(db, admin, FinanceUpdate(**{**update.__dict__, "partial_minimum": "-1"}))
    with pytest.raises(AccessDenied):
        update_finance(db, member, FinanceUpdate(**{**update.__dict__, "partial_minimum": "5"}))
    update_finance(db, admin, FinanceUpdate(**{**update.__dict__, "partial_minimum": "5000"}))
    db.commit()
    invoice = _invoice(db, admin, client)  # JPY: no decimals
    assert (invoice.allow_partial, invoice.partial_minimum) == (True, 5000)
    # A member (staff) may set a draft's terms; the minimum never goes below Stripe's.
    set_payment_terms(db, member, invoice.id, TermsInput(True, minimum="1"))  # type: ignore[arg-type]
    send_invoice(db, admin, invoice.id)  # type: ignore[arg-type]
    options = pay_options(invoice)
    assert (options.minimum, options.balance, options.parts) == (50, 100000, True)  # ¥50
    assert check_part(invoice, 50) == 50
    with pytest.raises(ValidationError, match="at least ¥50"):
        check_part(invoice, 49)


def test_void_and_duplicate_keeps_the_terms(db: Session, admin: Actor, client: Client) -> None:
    invoice = _invoice(db, admin, client)
    set_payment_terms(
        db,
        admin,
        invoice.id,  # type: ignore[arg-type]
        TermsInput(True, minimum="2000", deposit_kind="percent", deposit="25"),
    )
    send_invoice(db, admin, invoice.id)  # type: ignore[arg-type]
    db.commit()
    draft = void_and_duplicate(db, admin, invoice.id)  # type: ignore[arg-type]
    db.commit()
    assert (draft.allow_partial, draft.partial_minimum) == (True, 2000)
    assert (draft.deposit_kind, draft.deposit_value, draft.deposit_amount) == (
        "percent",
        2500,
        25000,
    )
