"""Clients: list, search, create, edit, archive, invite a contact to the portal."""

from __future__ import annotations

import reflex as rx

from nextoria_hub.billing import clients as svc
from nextoria_hub.billing.finance import get_finance
from nextoria_hub.billing.money import SUPPORTED_CURRENCIES, currency_label
from nextoria_hub.errors import AccessDenied, NotFound, NotSignedIn, ValidationError
from nextoria_hub.ui.states.session import AppState

CURRENCIES = [{"code": c, "label": currency_label(c)} for c in SUPPORTED_CURRENCIES]


def client_row(c) -> dict[str, str]:
    return {
        "id": str(c.id),
        "name": c.name,
        "email": c.billing_email,
        "contact": c.contact_name,
        "currency": c.currency.upper(),
        "currency_code": c.currency,
        "archived": "yes" if c.archived_at else "",
    }


class ClientsState(AppState):
    clients: list[dict[str, str]] = []
    invite_email: str = ""
    invite_name: str = ""
    currencies: list[dict[str, str]] = CURRENCIES
    search: str = ""
    show_archived: bool = False
    default_currency: str = "usd"
    # The create/edit dialog: editing_id "" means a new client.
    dialog_open: bool = False
    editing_id: str = ""
    form: dict[str, str] = {}
    errors: dict[str, str] = {}
    invite_for: str = ""
    invite_error: str = ""

    def _refresh(self, db, actor) -> None:
        self.clients = [
            client_row(c)
            for c in svc.list_clients(
                db, actor, search=self.search, include_archived=self.show_archived
            )
        ]
        self.default_currency = get_finance(db, actor.workspace_id).default_currency

    @rx.event
    def load(self):
        try:
            with self._unit() as (db, actor):
                self._refresh(db, actor)
        except (NotSignedIn, AccessDenied) as err:
            return self._denied(err)
        return None

    @rx.event
    def set_search(self, value: str):
        self.search = value
        return ClientsState.load

    @rx.event
    def set_show_archived(self, value: bool):
        self.show_archived = value
        return ClientsState.load

    @rx.event
    def open_new(self) -> None:
        self.editing_id, self.errors = "", {}
        self.form = {
            "name": "",
            "billing_email": "",
            "contact_name": "",
            "currency": self.default_currency,
        }
        self.dialog_open = True

    @rx.event
    def open_edit(self, client: dict[str, str]) -> None:
        self.editing_id, self.errors = client["id"], {}
        self.form = {
            "name": client["name"],
            "billing_email": client["email"],
            "contact_name": client["contact"],
            "currency": client["currency_code"],
        }
        self.dialog_open = True

    @rx.event
    def set_dialog_open(self, value: bool) -> None:
        self.dialog_open = value

    @rx.event
    def set_form_field(self, name: str, value: str) -> None:
        self.form = {**self.form, name: value}

    @rx.event
    def save(self):
        self.errors = {}
        f = self.form
        try:
            with self._unit() as (db, actor):
                if self.editing_id:
                    svc.update_client(
                        db,
                        actor,
                        int(self.editing_id),
                        name=f.get("name", ""),
                        billing_email=f.get("billing_email", ""),
                        contact_name=f.get("contact_name", ""),
                        currency=f.get("currency", ""),
                    )
                else:
                    svc.create_client(
                        db,
                        actor,
                        name=f.get("name", ""),
                        billing_email=f.get("billing_email", ""),
                        contact_name=f.get("contact_name", ""),
                        currency=f.get("currency") or None,
                    )
                self._refresh(db, actor)
        except ValidationError as err:
            self.errors = {err.field or "form": err.message}
            return None
        except NotFound as err:
            return rx.toast.error(err.message)
        except (NotSignedIn, AccessDenied) as err:
            return self._denied(err)
        self.dialog_open = False
        return rx.toast.success(
            "Client saved." if self.editing_id else f"{f.get('name', '').strip()} added."
        )

    @rx.event
    def archive(self, client_id: str, archive: bool):
        try:
            with self._unit() as (db, actor):
                if archive:
                    svc.archive_client(db, actor, int(client_id))
                else:
                    svc.restore_client(db, actor, int(client_id))
                self._refresh(db, actor)
        except (ValidationError, NotFound) as err:
            return rx.toast.error(err.message)
        except (NotSignedIn, AccessDenied) as err:
            return self._denied(err)
        return rx.toast.success("Client archived." if archive else "Client restored.")

    @rx.event
    def open_invite(self, client_id: str) -> None:
        self.invite_for, self.invite_error = client_id, ""
        # Offer the client's billing email and contact name; the agency may change them.
        client = next((c for c in self.clients if c["id"] == client_id), None)
        self.invite_email = client["email"] if client else ""
        self.invite_name = client["contact"] if client else ""

    @rx.event
    def close_invite(self, open_: bool) -> None:
        if not open_:
            self.invite_for = ""

    @rx.event
    def send_invite(self, form: dict):
        self.invite_error = ""
        try:
            with self._unit() as (db, actor):
                svc.invite_client_contact(
                    db,
                    actor,
                    int(self.invite_for),
                    email=(form.get("email") or ""),
                    name=(form.get("name") or ""),
                )
        except (ValidationError, NotFound) as err:
            self.invite_error = err.message
            return None
        except (NotSignedIn, AccessDenied) as err:
            return self._denied(err)
        self.invite_for = ""
        return rx.toast.success(f"Portal invitation sent to {(form.get('email') or '').strip()}.")
