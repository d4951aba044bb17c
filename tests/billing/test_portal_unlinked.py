"""A portal login that is not linked to a client sees an empty portal, never other invoices."""

from __future__ import annotations

import pytest

from nextoria_hub.billing.clients import create_client
from nextoria_hub.billing.invoices import (
    LineInput,
    create_invoice,
    get_invoice,
    list_invoices,
    send_invoice,
)
from nextoria_hub.errors import AccessDenied, NotFound
from tests.factories import actor_of, make_user, make_workspace


def test_unlinked_client_login_sees_nothing(db) -> None:
    created = make_workspace(db, "acme", "Acme")
    admin = actor_of(created.admin)
    client = create_client(db, admin, name="Globex", billing_email="ap@globex.test", currency="usd")
    invoice = create_invoice(db, admin, client_id=client.id, lines=[LineInput("Work", "1", "100")])
    send_invoice(db, admin, invoice.id)
    db.commit()
    unlinked = actor_of(make_user(db, created.workspace.id, "stray@globex.test", "client"))
    assert list_invoices(db, unlinked) == []
    with pytest.raises((NotFound, AccessDenied)):
        get_invoice(db, unlinked, invoice.id)
