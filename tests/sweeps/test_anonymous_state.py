"""A visitor without a session cannot grow the state of signed-in pages through setter events."""

from __future__ import annotations

import inspect

from sqlmodel import Session

from nextoria_hub.accounts.sessions import start_session
from nextoria_hub.ui.states.session import PUBLIC_STATES, SETTER_PREFIXES
from tests.factories import build_tenant
from tests.sweeps.harness import all_handlers, fire

HOST = "acme.localhost:3000"


def _setters() -> list[str]:
    return sorted(
        key
        for key in all_handlers()
        if key.split(".")[1].startswith(SETTER_PREFIXES)
        and key.split(".")[0] not in PUBLIC_STATES
        and not key.startswith("Signup")
    )


def test_setters_of_signed_in_pages_are_refused_without_a_session(db: Session) -> None:
    build_tenant(db, "acme", "Acme Creative")
    db.commit()
    setters = _setters()
    assert "ClientDetailState.add_r_line" in setters and "InvoiceEditorState.add_line" in setters
    for key in setters:
        params = list(inspect.signature(all_handlers()[key].fn).parameters)[1:]
        args = tuple("x" * 10_000 for _ in params)
        outcome = fire(
            key, host=HOST, route="/login", path="/login", params={}, token="", args=args
        )
        assert outcome.delta == {} or all(
            not values for state, values in outcome.delta.items() if "app_state." in state
        ), (key, outcome.delta)
        assert outcome.events == [], key


def test_a_signed_in_tab_still_uses_its_setters(db: Session) -> None:
    acme = build_tenant(db, "acme", "Acme Creative")
    token = start_session(db, acme.admin)
    db.commit()
    outcome = fire(
        "InvoiceEditorState.add_line",
        host=HOST,
        route="/invoices/new",
        path="/invoices/new",
        params={},
        token=token,
        prep={"user_role": "admin"},
    )
    assert any("lines" in str(values) for values in outcome.delta.values()), outcome.delta
