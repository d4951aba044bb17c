"""What a Client Portal invoice card shows: the amount owed while open, the total once settled."""

from __future__ import annotations

from sqlmodel import Session

from nextoria_hub.billing import invoices as inv
from nextoria_hub.billing.clients import create_client
from nextoria_hub.billing.invoices import LineInput
from nextoria_hub.tenancy import Actor
from nextoria_hub.ui.states.portal import portal_row


def test_paid_invoices_show_their_total_and_open_ones_what_is_due(
    db: Session, admin: Actor
) -> None:
    client = create_client(db, admin, name="Initech", billing_email="ap@initech.test")
    lines = [LineInput("Retainer", "1", "1250.00")]
    paid = inv.create_invoice(db, admin, client_id=client.id, lines=lines)
    inv.send_invoice(db, admin, paid.id)
    inv.mark_paid_manually(db, admin, paid.id, "Bank transfer")
    still_open = inv.create_invoice(db, admin, client_id=client.id, lines=lines)
    inv.send_invoice(db, admin, still_open.id)
    db.commit()

    assert (portal_row(paid)["status"], portal_row(paid)["amount"]) == ("Paid", "$1,250.00")
    assert (portal_row(still_open)["status"], portal_row(still_open)["amount"]) == (
        "Open",
        "$1,250.00",
    )
    assert paid.amount_due == 0  # what the card used to show as "$0.00"
