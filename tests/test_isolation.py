"""Tenant isolation: an actor of workspace A can neither read nor change B's objects.

Workspaces A and B are each filled with one of everything: people, a session, a sign-in
link, an invitation, emails, audit entries, finance settings, clients (one archived), a
portal user, invoices in every state with their lines and activity, a Stripe payment, a
manual payment, a failed attempt, a Checkout session, Stripe events and webhook
deliveries; B also has Stripe keys, A has none (so nothing can fall back on B's). Each case
attacks B from A with B's real ids and tokens, checks the answer (NotFound, AccessDenied,
None, or only A's rows) and then every row of B is compared with the snapshot taken
before. To cover a new tenant service, add a case to CASES;
``test_every_tenant_service_is_in_the_matrix`` reminds you to. A client user of A is
checked too: their own client's invoices only, and no staff service.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import Session, SQLModel, select

from nextoria_hub import audit, webhooks_health
from nextoria_hub.accounts import (
    branding,
    passwords,
    sessions,
    signin,
    team,
    tokens,
    users,
    workspaces,
)
from nextoria_hub.accounts.sessions import (
    create_sign_in_link,
    grant_is_live,
    redeem_grant,
    redeem_sign_in_link,
    session_user,
    start_session,
)
from nextoria_hub.accounts.signin import sign_in
from nextoria_hub.accounts.team import (
    accept_invitation,
    change_role,
    invitation_for_token,
    invite,
    list_client_contacts,
    list_pending_invitations,
    list_team,
    remove_client_contact,
    remove_member,
)
from nextoria_hub.accounts.users import create_user, find_user
from nextoria_hub.accounts.workspaces import change_address
from nextoria_hub.audit import list_audit
from nextoria_hub.billing import (
    clients,
    drafts,
    exports,
    finance,
    invoices,
    locales,
    payment_terms,
    pdf,
    reminders,
)
from nextoria_hub.billing import portal as portal_home_svc
from nextoria_hub.billing import profile as profile_svc
from nextoria_hub.billing.clients import (
    archive_client,
    create_client,
    get_client,
    invite_client_contact,
    list_clients,
    portal_client,
    portal_client_id,
    restore_client,
    update_client,
)
from nextoria_hub.billing.finance import FinanceUpdate, get_finance, read_finance, update_finance
from nextoria_hub.billing.invoices import (
    LineInput,
    create_invoice,
    dashboard_totals,
    get_invoice,
    get_invoice_view,
    list_invoices,
    mark_paid_manually,
    next_invoice_number,
    payments_by_day,
    processing_ids,
    send_invoice,
    update_draft,
    void_invoice,
)
from nextoria_hub.billing.payment_terms import TermsInput, set_payment_terms
from nextoria_hub.clock import utcnow
from nextoria_hub.db import get_engine
from nextoria_hub.errors import AccessDenied, NotFound, StripeNotConnected, ValidationError
from nextoria_hub.models import (
    CheckoutSession,
    Client,
    ClientReminderSetting,
    ConnectOAuthState,
    Invoice,
    LateFee,
    Payment,
    ReminderSettings,
    StripeEvent,
    StripeKeys,
    User,
    WebhookDelivery,
)
from nextoria_hub.models.client_profile import ClientProfile
from nextoria_hub.notifications import outbox
from nextoria_hub.notifications.outbox import DEFAULT_BRAND, brand_context, list_emails
from nextoria_hub.payments import (
    checkout,
    disputes,
    queries,
    settlement,
    stripe_connect,
    stripe_connection,
    stripe_onboarding,
)
from nextoria_hub.payments.checkout import checkout_return, start_checkout, start_chosen_checkout
from nextoria_hub.payments.queries import invoice_numbers, list_payments, unmatched_events
from nextoria_hub.payments.settlement import (
    payment_for_charge,
    processing_payment,
    record_failed_attempt,
    record_processing,
    record_refund,
    record_refund_failure,
    settle_payment,
)
from nextoria_hub.payments.stripe_connection import (
    ConnectInput,
    active_mode,
    active_secret_key,
    apply_account_update,
    check_connection,
    connect,
    connection_status,
    disconnect,
    method_warnings,
    move_webhooks,
    refresh_stale_readiness,
    register_webhook,
    secret_key_for,
    set_mode,
    set_webhook_secret,
    uses_live_keys,
    uses_test_keys,
    webhook_secrets,
)
from nextoria_hub.settings import get_settings
from nextoria_hub.tenancy import Actor, moved_workspace
from nextoria_hub.webhooks_health import deliveries_refused, not_applied_events, webhook_health
from tests.factories import (
    PASSWORD,
    Tenant,
    build_tenant,
    invite_token_for,
    quick_portal_user,
    quick_stripe_keys,
)


@dataclass
class Books:
    """One tenant's billing: clients, invoices in every state, payments and Stripe traces."""

    client: Client  # the client of the portal user
    other: Client  # another client of the same workspace
    archived: Client
    portal: User  # a Client Portal login bound to ``client``
    draft: Invoice  # of ``client``
    open: Invoice  # of ``client``: a failed attempt and an open Checkout session
    other_open: Invoice  # of ``other``
    paid: Invoice  # paid through Stripe (a charge that could be refunded)
    manual: Invoice  # paid by bank transfer
    checkout: str  # the Checkout session id on ``open``
    charge: dict[str, Any]  # the charge of ``paid``, as Stripe would send it refunded

    def invoices(self) -> list[Invoice]:
        return [self.draft, self.open, self.other_open, self.paid, self.manual]

    def invoice_ids(self) -> list[int]:
        return [i.id for i in self.invoices()]  # type: ignore[misc]

    def client_ids(self) -> list[int]:
        return [c.id for c in (self.client, self.other, self.archived)]  # type: ignore[misc]


@dataclass
class World:
    a: Tenant
    b: Tenant
    b_session: str  # a live session token of B's admin
    b_link: str  # an unused sign-in link of B's admin
    b_invite: str  # a pending invitation token of B
    b_invitation_id: int
    a_books: Books  # in USD; A has no Stripe keys (nothing to fall back on but B's)
    b_books: Books  # in EUR; B has test keys with a webhook secret
    request: pytest.FixtureRequest

    @property
    def a_admin(self) -> Actor:
        return Actor.of(self.a.admin)

    @property
    def a_client_user(self) -> Actor:
        return Actor.of(self.a_books.portal)

    def b_user_ids(self) -> list[int]:
        return [self.b.admin.id, self.b.member.id, self.b_books.portal.id]  # type: ignore[list-item]

    def connect_a(self, db: Session) -> dict[str, Any]:
        """Connect A to a fresh sandbox account (only the cases that talk to Stripe do)."""
        account = self.request.getfixturevalue("stripe_account")
        keys = account["test"]
        connect(db, self.a_admin, ConnectInput(keys["publishable_key"], keys["secret_key"]))
        db.commit()
        return account


LINES = [LineInput("Website design", "2", "1250.00", "20")]


def _invoice(db: Session, admin: Actor, client: Client, *, send: bool = True) -> Invoice:
    invoice = create_invoice(db, admin, client_id=client.id, lines=LINES)  # type: ignore[arg-type]
    if send:
        send_invoice(db, admin, invoice.id)  # type: ignore[arg-type]
    return invoice


def build_books(db: Session, tenant: Tenant, currency: str) -> Books:
    slug = tenant.workspace.slug
    admin = Actor.of(tenant.admin)
    update_finance(db, admin, FinanceUpdate(currency, ["card"], True, [1, 3], 3))
    client = create_client(db, admin, name=f"{slug.title()} Buyer", billing_email=f"ap@{slug}.buy")
    other = create_client(db, admin, name=f"{slug.title()} Other", billing_email=f"ap@{slug}.oth")
    archived = create_client(db, admin, name=f"{slug.title()} Gone", billing_email=f"ap@{slug}.old")
    archive_client(db, admin, archived.id)  # type: ignore[arg-type]
    draft = _invoice(db, admin, client, send=False)
    open_ = _invoice(db, admin, client)
    other_open = _invoice(db, admin, other)
    paid = _invoice(db, admin, client)
    manual = _invoice(db, admin, client)
    mark_paid_manually(db, admin, manual.id, "Bank transfer")  # type: ignore[arg-type]
    charge_id = f"ch_{slug}_paid"
    settle_payment(
        db,
        workspace_id=tenant.id,
        invoice_id=paid.id,  # type: ignore[arg-type]
        mode="test",
        payment_intent={
            "id": f"pi_{slug}_paid",
            "amount": paid.total,
            "amount_received": paid.total,
            "currency": currency,
            "status": "succeeded",
            "latest_charge": {
                "id": charge_id,
                "payment_method_details": {
                    "type": "card",
                    "card": {"brand": "visa", "last4": "4242"},
                },
            },
        },
        source="checkout",
    )
    record_failed_attempt(
        db,
        workspace_id=tenant.id,
        invoice_id=open_.id,  # type: ignore[arg-type]
        mode="test",
        payment_intent={
            "id": f"pi_{slug}_declined",
            "amount": open_.total,
            "currency": currency,
            "last_payment_error": {
                "code": "card_declined",
                "decline_code": "generic_decline",
                "message": "Your card was declined.",
                "charge": f"ch_{slug}_declined",
            },
        },
        source="checkout",
    )
    checkout = f"cs_test_{slug}_open"
    db.add(
        CheckoutSession(
            workspace_id=tenant.id,
            invoice_id=open_.id,
            client_id=client.id,  # type: ignore[arg-type]
            mode="test",
            session_id=checkout,
            url=f"https://checkout.stripe.test/c/pay/{checkout}",
            amount=open_.amount_due,
            currency=currency,
            expires_at=utcnow() + timedelta(hours=23),
        )
    )
    db.add(
        StripeEvent(
            workspace_id=tenant.id,
            event_id=f"evt_{slug}_stray",
            type="payment_intent.succeeded",
            mode="test",
            result="unmatched",
        )
    )
    db.add(
        WebhookDelivery(
            workspace_id=tenant.id,
            outcome="applied",
            event_id=f"evt_{slug}_1",
            event_type=f"checkout.session.completed.{slug}",
            mode="test",
        )
    )
    db.commit()
    portal = quick_portal_user(db, client, f"peter@{slug}.buy", f"{slug.title()} Peter")
    charge = {
        "id": charge_id,
        "object": "charge",
        "payment_intent": f"pi_{slug}_paid",
        "amount": paid.total,
        "amount_refunded": paid.total,
        "refunded": True,
    }
    return Books(
        client, other, archived, portal, draft, open_, other_open, paid, manual, checkout, charge
    )


@pytest.fixture
def world(db: Session, request: pytest.FixtureRequest) -> World:
    a = build_tenant(db, "acme", "Acme")
    b = build_tenant(db, "globex", "Globex")
    b_admin = Actor.of(b.admin)
    b_session = start_session(db, b.admin)
    b_link = create_sign_in_link(db, b.admin)
    invitation = invite(db, b_admin, email="pending@globex.test", role="member")
    change_role(db, b_admin, user_id=b.member.id, role="admin")  # type: ignore[arg-type]
    change_role(db, b_admin, user_id=b.member.id, role="member")  # type: ignore[arg-type]
    # A has a bit of everything too, so "only A's rows" is not trivially "no rows"
    invite(db, Actor.of(a.admin), email="pending@acme.test", role="member")
    db.commit()
    token = invite_token_for(db, "pending@globex.test")
    a_books = build_books(db, a, "usd")
    b_books = build_books(db, b, "eur")
    quick_stripe_keys(db, b.id, "globex")
    # B's live mode is connected with Stripe Connect: an account id, no secret of B's.
    db.add(
        StripeKeys(
            workspace_id=b.id,
            mode="live",
            publishable_key="",
            secret_key_sealed="",
            secret_key_mask="Connected with Stripe",
            connected_account="acct_globex_connect",
            account_id="acct_globex_connect",
        )
    )
    db.add(WebhookDelivery(workspace_id=b.id, outcome="bad_signature", event_type=""))
    # B's reminder rules, a client with reminders off and a late fee: a leak would show them.
    db.add(ReminderSettings(workspace_id=b.id, enabled=True, days_before=9))
    db.add(ClientReminderSetting(workspace_id=b.id, client_id=b_books.other.id))
    db.add(LateFee(workspace_id=b.id, invoice_id=b_books.open.id, seq=1, amount=1, currency="eur"))
    db.commit()
    return World(a, b, b_session, b_link, token, invitation.id, a_books, b_books, request)  # type: ignore[arg-type]


def snapshot_of(workspace_id: int) -> dict[str, list[tuple]]:
    """Every row of every table that belongs to ``workspace_id``, read afresh."""
    rows: dict[str, list[tuple]] = {}
    with get_engine().connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            column = "id" if table.name == "workspace" else "workspace_id"
            if column not in table.c:
                continue
            order = ", ".join(c.name for c in table.primary_key.columns)
            result = conn.execute(
                text(f'SELECT * FROM "{table.name}" WHERE {column} = :ws ORDER BY {order}'),
                {"ws": workspace_id},
            )
            rows[table.name] = [tuple(r) for r in result]
        # invoice lines belong to the workspace through their invoice
        result = conn.execute(
            text(
                "SELECT l.* FROM invoice_line l JOIN invoice i ON i.id = l.invoice_id "
                "WHERE i.workspace_id = :ws ORDER BY l.id"
            ),
            {"ws": workspace_id},
        )
        rows["invoice_line"] = [tuple(r) for r in result]
    return rows


# ---- the attacks: each runs as A with B's real ids/tokens and checks the answer ----


def _list_team(db: Session, w: World) -> None:
    ids = {u.id for u in list_team(db, w.a_admin)}
    assert ids == {w.a.admin.id, w.a.member.id}


def _list_pending_invitations(db: Session, w: World) -> None:
    found = list_pending_invitations(db, w.a_admin)
    assert [i.email for i in found] == ["pending@acme.test"]
    assert w.b_invitation_id not in {i.id for i in found}


def _invite(db: Session, w: World) -> None:
    # inviting B's admin from A creates an invitation to A, not a way into B
    invitation = invite(db, w.a_admin, email=w.b.admin.email, role="admin")
    assert invitation.workspace_id == w.a.id


def _change_role(db: Session, w: World) -> None:
    for user_id in w.b_user_ids():
        for role in ("admin", "member"):
            with pytest.raises(NotFound):
                change_role(db, w.a_admin, user_id=user_id, role=role)


def _remove_member(db: Session, w: World) -> None:
    for user_id in w.b_user_ids():
        with pytest.raises(NotFound):
            remove_member(db, w.a_admin, user_id=user_id)


def _list_client_contacts(db: Session, w: World) -> None:
    ids = {u.id for u, _ in list_client_contacts(db, w.a_admin)}
    assert ids == {w.a_books.portal.id}


def _remove_client_contact(db: Session, w: World) -> None:
    for user_id in [*w.b_user_ids(), w.a.admin.id, w.a.member.id]:  # B's, and A's staff
        with pytest.raises(NotFound):
            remove_client_contact(db, w.a_admin, user_id=user_id)  # type: ignore[arg-type]


def _list_emails(db: Session, w: World) -> None:
    emails = list_emails(db, w.a_admin)
    assert emails and {e.workspace_id for e in emails} == {w.a.id}


def _list_audit(db: Session, w: World) -> None:
    entries = list_audit(db, w.a_admin)
    assert entries and {e.workspace_id for e in entries} == {w.a.id}


def _session_user(db: Session, w: World) -> None:
    assert session_user(db, w.a.id, w.b_session) is None


def _redeem_sign_in_link(db: Session, w: World) -> None:
    with pytest.raises(NotFound):
        redeem_sign_in_link(db, w.a.id, w.b_link)


def _grant_is_live(db: Session, w: World) -> None:
    # B's live link is no grant on A's host, and asking does not use it up on B
    assert grant_is_live(db, w.a.id, w.b_link) is False
    assert grant_is_live(db, w.b.id, w.b_link) is True


def _redeem_grant(db: Session, w: World) -> None:
    with pytest.raises(NotFound):
        redeem_grant(db, w.a.id, w.b_link)
    assert grant_is_live(db, w.b.id, w.b_link) is True  # still B's to use


def _invitation_for_token(db: Session, w: World) -> None:
    with pytest.raises(NotFound):
        invitation_for_token(db, w.a.id, w.b_invite)


def _accept_invitation(db: Session, w: World) -> None:
    with pytest.raises(NotFound):
        accept_invitation(
            db, workspace_id=w.a.id, token=w.b_invite, name="Mallory", password=PASSWORD
        )


def _sign_in(db: Session, w: World) -> None:
    with pytest.raises(ValidationError):
        sign_in(db, workspace_id=w.a.id, email=w.b.admin.email, password=PASSWORD)


# -- accounts --


def _create_user(db: Session, w: World) -> None:
    user = create_user(
        db,
        workspace_id=w.a.id,
        email=w.b.admin.email,
        name="Twin",
        role="member",
        password=PASSWORD,
    )
    assert user.workspace_id == w.a.id and user.id not in w.b_user_ids()


def _find_user(db: Session, w: World) -> None:
    for email in (w.b.admin.email, w.b.member.email, w.b_books.portal.email):
        assert find_user(db, w.a.id, email) is None


# -- clients --


def _get_client(db: Session, w: World) -> None:
    for actor in (w.a_admin, w.a_client_user):
        for client_id in w.b_books.client_ids():
            with pytest.raises(NotFound):
                get_client(db, actor, client_id)


def _list_clients(db: Session, w: World) -> None:
    for search in ("", "globex", "ap@globex"):
        found = list_clients(db, w.a_admin, search=search, include_archived=True)
        assert {c.workspace_id for c in found} <= {w.a.id}
    ids = {c.id for c in list_clients(db, w.a_admin, include_archived=True)}
    assert ids == set(w.a_books.client_ids())


def _create_client(db: Session, w: World) -> None:
    client = create_client(db, w.a_admin, name=w.b_books.client.name, billing_email="x@y.test")
    assert client.workspace_id == w.a.id and client.currency == "usd"  # A's default, not B's


def _update_client(db: Session, w: World) -> None:
    for client_id in w.b_books.client_ids():
        with pytest.raises(NotFound):
            update_client(
                db,
                w.a_admin,
                client_id,
                name="Mallory",
                billing_email="mallory@evil.test",
                contact_name="",
                currency="usd",
            )


def _archive_client(db: Session, w: World) -> None:
    for client_id in w.b_books.client_ids():
        with pytest.raises(NotFound):
            archive_client(db, w.a_admin, client_id)


def _restore_client(db: Session, w: World) -> None:
    for client_id in w.b_books.client_ids():
        with pytest.raises(NotFound):
            restore_client(db, w.a_admin, client_id)


def _invite_client_contact(db: Session, w: World) -> None:
    for client_id in w.b_books.client_ids():
        with pytest.raises(NotFound):
            invite_client_contact(db, w.a_admin, client_id, email="mallory@evil.test")


def _portal_client(db: Session, w: World) -> None:
    with pytest.raises(AccessDenied):
        portal_client(db, w.a_admin)
    assert portal_client(db, w.a_client_user).id == w.a_books.client.id


def _portal_client_id(db: Session, w: World) -> None:
    assert portal_client_id(db, w.a_admin) is None
    assert portal_client_id(db, w.a_client_user) == w.a_books.client.id


def _portal_home(db: Session, w: World) -> None:
    """The portal home: only the client's own invoices, whatever the filters ask for."""
    today = utcnow().date()
    a_own = {w.a_books.open.number, w.a_books.paid.number, w.a_books.manual.number}
    for status in ("", "open", "overdue", "paid", "void"):
        home = portal_home_svc.portal_home(db, w.a_client_user, today, status=status)
        shown = {r.id for r in home.open_rows + home.history}
        assert shown <= {w.a_books.open.id, w.a_books.paid.id, w.a_books.manual.id}
    home = portal_home_svc.portal_home(db, w.a_client_user, today)
    assert {r.number for r in home.open_rows + home.history} == a_own
    assert portal_home_svc.portal_home(db, w.a_admin, today).open_rows == []


def _payment_history(db: Session, w: World) -> None:
    rows = portal_home_svc.payment_history(db, w.a_client_user).rows
    assert {r.invoice_id for r in rows} <= {w.a_books.paid.id, w.a_books.manual.id}
    assert {r.invoice_id for r in rows} & {w.a_books.paid.id}
    assert portal_home_svc.payment_history(db, w.a_admin).rows == []


def _get_profile(db: Session, w: World) -> None:
    with pytest.raises(AccessDenied):
        profile_svc.get_profile(db, w.a_admin)
    assert profile_svc.get_profile(db, w.a_client_user).values.billing_name == w.a_books.client.name


def _save_profile(db: Session, w: World) -> None:
    """A client user of A saves their own client's details; B's client is untouched."""
    details = profile_svc.ProfileInput(
        "Mine", "1 Road", "", "Town", "", "12345", "US", "", "", False, False
    )
    with pytest.raises(AccessDenied):
        profile_svc.save_profile(db, w.a_admin, details)
    saved = profile_svc.save_profile(db, w.a_client_user, details)
    assert saved.values.billing_name == "Mine"
    rows = db.exec(select(ClientProfile)).all()
    assert [(r.workspace_id, r.client_id) for r in rows] == [(w.a.id, w.a_books.client.id)]


def _wants_receipts(db: Session, w: World) -> None:
    assert profile_svc.wants_receipts(db, w.a.id, w.b_books.client.id)  # type: ignore[arg-type]
    # A's Finance switch decides for A's clients only.
    get_finance(db, w.a.id).receipts_enabled = False  # type: ignore[arg-type]
    db.flush()
    assert profile_svc.receipt_is_emailed(db, w.b.id, w.b_books.client.id)  # type: ignore[arg-type]
    assert not profile_svc.receipt_is_emailed(db, w.a.id, w.a_books.client.id)  # type: ignore[arg-type]


def _branding(db: Session, w: World) -> None:
    """A's admin brands A; B keeps the product's brand, and A's client can't rebrand."""
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (4, 4)).save(out, format="PNG")
    png = out.getvalue()
    branding.set_logo(db, w.a_admin, png)
    branding.set_accent(db, w.a_admin, "#1f6feb")
    with pytest.raises(AccessDenied):
        branding.set_accent(db, w.a_client_user, "#000000")
    with pytest.raises(AccessDenied):
        branding.remove_logo(db, w.a_client_user)
    assert branding.get_branding(db, w.b.id) == branding.Branding("", False, "")
    assert branding.logo_png(db, w.b.id) is None
    # Emails of B keep the product's look; A's carry A's accent and a logo on A's own host.
    assert brand_context(db, w.b.id) == DEFAULT_BRAND
    mine = brand_context(db, w.a.id)
    assert (
        mine["brand_accent"] == "#1f6feb" and f"//{w.a.workspace.slug}." in mine["brand_logo_url"]
    )
    branding.remove_logo(db, w.a_admin)


# -- invoices --


def _create_invoice(db: Session, w: World) -> None:
    for client_id in w.b_books.client_ids():
        with pytest.raises(NotFound):
            create_invoice(db, w.a_admin, client_id=client_id, lines=LINES)


def _get_invoice(db: Session, w: World) -> None:
    for actor in (w.a_admin, w.a_client_user):
        for invoice_id in w.b_books.invoice_ids():
            with pytest.raises(NotFound):
                get_invoice(db, actor, invoice_id)


def _get_invoice_view(db: Session, w: World) -> None:
    for actor in (w.a_admin, w.a_client_user):
        for invoice_id in w.b_books.invoice_ids():
            with pytest.raises(NotFound):
                get_invoice_view(db, actor, invoice_id)
    view = get_invoice_view(db, w.a_admin, w.a_books.paid.id)  # type: ignore[arg-type]
    assert view.payments and {p.workspace_id for p in view.payments} == {w.a.id}
    assert {a.workspace_id for a in view.activity} == {w.a.id}


def _list_invoices(db: Session, w: World) -> None:
    a_ids = set(w.a_books.invoice_ids())
    assert {i.id for i in list_invoices(db, w.a_admin)} == a_ids
    for client_id in w.b_books.client_ids():
        assert list_invoices(db, w.a_admin, client_id=client_id) == []
    for search in ("globex", w.b_books.open.number):  # numbers repeat across workspaces
        found = list_invoices(db, w.a_admin, search=search)
        assert {i.id for i in found} <= a_ids
    for status in ("draft", "open", "paid"):
        assert {i.id for i in list_invoices(db, w.a_admin, status=status)} <= a_ids


def _update_draft(db: Session, w: World) -> None:
    today = utcnow().date()
    with pytest.raises(NotFound):
        update_draft(
            db,
            w.a_admin,
            w.b_books.draft.id,  # type: ignore[arg-type]
            lines=[LineInput("Nothing", "1", "0.01")],
            currency="usd",
            issue_date=today,
            due_date=today,
            notes="",
        )


def _send_invoice(db: Session, w: World) -> None:
    for invoice_id in w.b_books.invoice_ids():
        with pytest.raises(NotFound):
            send_invoice(db, w.a_admin, invoice_id)


def _void_invoice(db: Session, w: World) -> None:
    for invoice_id in w.b_books.invoice_ids():
        with pytest.raises(NotFound):
            void_invoice(db, w.a_admin, invoice_id, "mischief")


def _mark_paid_manually(db: Session, w: World) -> None:
    for invoice_id in w.b_books.invoice_ids():
        with pytest.raises(NotFound):
            mark_paid_manually(db, w.a_admin, invoice_id, "Cash")


def _next_invoice_number(db: Session, w: World) -> None:
    # A has five invoices; B's counter (five too) is left alone
    assert next_invoice_number(db, w.a.id) == "INV-0006"


def _dashboard_totals(db: Session, w: World) -> None:
    rows = dashboard_totals(db, w.a_admin, utcnow().date())
    assert [r["currency"] for r in rows] == ["usd"]  # B bills in EUR
    due = sum(i.amount_due for i in (w.a_books.open, w.a_books.other_open))
    assert rows[0]["outstanding"] == due
    assert rows[0]["paid_this_month"] == w.a_books.paid.total + w.a_books.manual.total


def _payments_by_day(db: Session, w: World) -> None:
    rows = payments_by_day(db, w.a_admin)
    assert rows and {r["currency"] for r in rows} == {"usd"}
    assert sum(r["amount"] for r in rows) == w.a_books.paid.total + w.a_books.manual.total


# -- finance --


def _get_finance(db: Session, w: World) -> None:
    settings = get_finance(db, w.a.id)
    assert settings.workspace_id == w.a.id and settings.default_currency == "usd"


def _read_finance(db: Session, w: World) -> None:
    settings = read_finance(db, w.a_admin)
    assert settings.workspace_id == w.a.id and settings.default_currency == "usd"


def _update_finance(db: Session, w: World) -> None:
    update = FinanceUpdate("gbp", ["card"], False, [2, 4], 0)
    settings, _warnings = update_finance(db, w.a_admin, update)
    assert settings.workspace_id == w.a.id and settings.default_currency == "gbp"


# -- Stripe connection: A has no keys, so nothing may fall back on B's --


def _active_mode(db: Session, w: World) -> None:
    assert active_mode(db, w.a.id) == "test"


def _active_secret_key(db: Session, w: World) -> None:
    with pytest.raises(StripeNotConnected):
        active_secret_key(db, w.a.id)


def _secret_key_for(db: Session, w: World) -> None:
    for mode in ("test", "live"):
        with pytest.raises(StripeNotConnected):
            secret_key_for(db, w.a.id, mode)


def _webhook_secrets(db: Session, w: World) -> None:
    assert webhook_secrets(db, w.a.id) == []


def _uses_test_keys(db: Session, w: World) -> None:
    assert uses_test_keys(db, w.a.id) is False
    assert uses_test_keys(db, w.b.id) is True


def _connection_status(db: Session, w: World) -> None:
    _mode, statuses = connection_status(db, w.a_admin)
    assert [s.connected for s in statuses] == [False, False]
    assert all(s.account_id == "" for s in statuses)


def _connect(db: Session, w: World) -> None:
    account = w.connect_a(db)
    _mode, statuses = connection_status(db, w.a_admin)
    assert statuses[0].connected and statuses[0].account_id == account["account_id"]
    assert webhook_secrets(db, w.a.id) == []  # not B's


def _register_webhook(db: Session, w: World) -> None:
    with pytest.raises(StripeNotConnected):
        register_webhook(db, w.a_admin, "test")
    w.connect_a(db)
    row = register_webhook(db, w.a_admin, "test")
    assert row.workspace_id == w.a.id and row.webhook_endpoint_id not in ("", "we_globex")


def _check_connection(db: Session, w: World) -> None:
    assert check_connection(db, w.a_admin) == [
        "Stripe is not connected in test mode: enter your test keys and click Save."
    ]
    w.connect_a(db)
    problems = check_connection(db, w.a_admin)
    assert any("No webhook signing secret" in p for p in problems)  # A's row, not B's


def _set_webhook_secret(db: Session, w: World) -> None:
    for mode in ("test", "live"):
        with pytest.raises(StripeNotConnected):
            set_webhook_secret(db, w.a_admin, mode, "whsec_mallory_000000")
    quick_stripe_keys(db, w.a.id, "acme")
    row = set_webhook_secret(db, w.a_admin, "test", "whsec_mallory_000000")
    assert row.workspace_id == w.a.id


def _set_mode(db: Session, w: World) -> None:
    with pytest.raises(StripeNotConnected):
        set_mode(db, w.a_admin, "test")
    quick_stripe_keys(db, w.a.id, "acme", mode="live")
    set_mode(db, w.a_admin, "live")
    assert active_mode(db, w.a.id) == "live" and active_mode(db, w.b.id) == "test"


def _disconnect(db: Session, w: World) -> None:
    for mode in ("test", "live"):
        with pytest.raises(StripeNotConnected):
            disconnect(db, w.a_admin, mode)
    quick_stripe_keys(db, w.a.id, "acme")
    disconnect(db, w.a_admin, "test")
    assert webhook_secrets(db, w.a.id) == [] and webhook_secrets(db, w.b.id)


# -- Stripe Connect --


@contextmanager
def _platform_configured() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NEXTORIA_STRIPE_CONNECT_CLIENT_ID", "ca_isolation")
        mp.setenv("NEXTORIA_STRIPE_PLATFORM_SECRET_KEY", "sk_test_platform_0000000000000000")
        get_settings.cache_clear()
        try:
            yield
        finally:
            get_settings.cache_clear()
    get_settings.cache_clear()


def _authorize_url(db: Session, w: World) -> None:
    with _platform_configured():
        with pytest.raises(ValidationError):  # B's session cannot carry A's attempt
            stripe_connect.authorize_url(db, w.a_admin, w.b_session)
        a_token = start_session(db, w.a.admin)
        url = stripe_connect.authorize_url(db, w.a_admin, a_token)
    assert "state=" in url
    states = db.exec(select(ConnectOAuthState)).all()
    assert [s.workspace_id for s in states] == [w.a.id]


def _disconnect_connected(db: Session, w: World) -> None:
    b_row = db.exec(
        select(StripeKeys).where(StripeKeys.workspace_id == w.b.id, StripeKeys.mode == "live")
    ).one()
    with _platform_configured(), pytest.raises(NotFound):
        stripe_connect.disconnect_connected(db, w.a_admin, b_row)


def _apply_deauthorization(db: Session, w: World) -> None:
    # A Connect event naming B's account, applied in A's workspace: nothing of B's moves.
    assert not stripe_connect.apply_deauthorization(db, w.a.id, "live", "acct_globex_connect")
    assert not stripe_connect.apply_deauthorization(db, w.a.id, "test", "")


@contextmanager
def _sandbox_platform(w: World) -> Iterator[None]:
    """A real platform in the sandbox (the onboarding cases create accounts through it)."""
    sandbox = w.request.getfixturevalue("stripe_sandbox")
    platform = sandbox.create_account("Isolation Platform", platform=True)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NEXTORIA_STRIPE_CONNECT_CLIENT_ID", platform["client_id"])
        mp.setenv("NEXTORIA_STRIPE_PLATFORM_SECRET_KEY", platform["test"]["secret_key"])
        get_settings.cache_clear()
        try:
            yield
        finally:
            get_settings.cache_clear()
    get_settings.cache_clear()


def _a_test_row(db: Session, w: World) -> StripeKeys | None:
    return db.exec(
        select(StripeKeys).where(StripeKeys.workspace_id == w.a.id, StripeKeys.mode == "test")
    ).first()


def _start_onboarding(db: Session, w: World) -> None:
    # A's new account lands on A's connection only; B's connections (one of them Connect)
    # are not continued, replaced or read.
    with _sandbox_platform(w):
        url = stripe_onboarding.start_onboarding(db, w.a_admin)
    row = _a_test_row(db, w)
    assert row is not None and row.connected_account and row.connected_account in url
    assert row.connected_account != "acct_globex_connect"


def _continue_onboarding(db: Session, w: World) -> None:
    with _sandbox_platform(w), pytest.raises(ValidationError):
        stripe_onboarding.continue_onboarding(db, w.a_admin)  # A has none; B's is not A's


def _store_connected_account(db: Session, w: World) -> None:
    stripe_connect.store_connected_account(db, w.a_admin, "test", "acct_acme_new", None)
    row = _a_test_row(db, w)
    assert row is not None and row.connected_account == "acct_acme_new"


# -- checkout --


def _start_checkout(db: Session, w: World) -> None:
    for actor in (w.a_admin, w.a_client_user):
        for invoice_id in w.b_books.invoice_ids():
            with pytest.raises(NotFound):
                start_checkout(db, actor, invoice_id, base_url="http://acme.localhost:3000")


def _start_chosen_checkout(db: Session, w: World) -> None:
    for actor in (w.a_admin, w.a_client_user):
        for invoice_id in w.b_books.invoice_ids():
            for choice in ("deposit", "balance", "other"):
                with pytest.raises(NotFound):
                    start_chosen_checkout(
                        db,
                        actor,
                        invoice_id,
                        base_url="http://acme.localhost:3000",
                        choice=choice,
                        typed="1.00",
                    )


def _set_payment_terms(db: Session, w: World) -> None:
    terms = TermsInput(True, minimum="1", deposit_kind="percent", deposit="90")
    for actor in (w.a_admin, w.a_client_user):
        for invoice_id in w.b_books.invoice_ids():
            with pytest.raises((NotFound, AccessDenied)):
                set_payment_terms(db, actor, invoice_id, terms)


def _checkout_return(db: Session, w: World) -> None:
    for actor in (w.a_admin, w.a_client_user):
        for invoice_id in w.b_books.invoice_ids():
            with pytest.raises(NotFound):
                checkout_return(db, actor, invoice_id, w.b_books.checkout)
        # B's session presented on A's own invoice is not found in A
        assert checkout_return(db, actor, w.a_books.open.id, w.b_books.checkout) == "canceled"  # type: ignore[arg-type]


# -- payment lists --


def _list_payments(db: Session, w: World) -> None:
    payments = list_payments(db, w.a_admin)
    assert len(payments) == 3 and {p.workspace_id for p in payments} == {w.a.id}
    for client_id in w.b_books.client_ids():
        assert list_payments(db, w.a_admin, client_id=client_id) == []


def _unmatched_events(db: Session, w: World) -> None:
    events = unmatched_events(db, w.a_admin)
    assert [e.event_id for e in events] == ["evt_acme_stray"]


def _change_address(db: Session, w: World) -> None:
    with pytest.raises(ValidationError, match="taken"):
        change_address(db, w.a_admin, w.b.workspace.slug)
    old, _new = change_address(db, w.a_admin, "acme-moved")
    assert moved_workspace(db, old).id == w.a.id  # type: ignore[union-attr]


def _move_webhooks(db: Session, w: World) -> None:
    assert move_webhooks(db, w.a_admin) == []  # A has no endpoint; B's is not A's to move


def _invoice_numbers(db: Session, w: World) -> None:
    b_payments = list(db.exec(select(Payment).where(Payment.workspace_id == w.b.id)))
    assert b_payments and invoice_numbers(db, w.a_admin, b_payments) == {}


def _method_warnings(db: Session, w: World) -> None:
    assert method_warnings(db, w.a.id) == {}  # A has no keys: B's readiness says nothing here


def _uses_live_keys(db: Session, w: World) -> None:
    assert not uses_live_keys(db, w.a.id)


def _apply_account_update(db: Session, w: World) -> None:
    b_keys = db.exec(
        select(StripeKeys).where(StripeKeys.workspace_id == w.b.id, StripeKeys.mode == "test")
    ).one()
    event = {"id": b_keys.account_id, "object": "account", "charges_enabled": False}
    assert apply_account_update(db, w.a.id, "test", event) is False


def _refresh_stale_readiness(db: Session, w: World) -> None:
    db.commit()
    assert refresh_stale_readiness(w.a.id) is False  # A has no keys; B's are not asked about


def _deliveries_refused(db: Session, w: World) -> None:
    assert deliveries_refused(db, w.a.id) is False


def _not_applied_events(db: Session, w: World) -> None:
    rows = not_applied_events(db, w.a.id)
    assert [r.event_id for r in rows] == ["evt_acme_stray"]


def _webhook_health(db: Session, w: World) -> None:
    health = webhook_health(db, w.a.id)
    assert health.last_type == "checkout.session.completed.acme"
    assert health.signature_failures == 0 and health.last_signature_failure == ""
    assert health.not_applied == 1


# -- settlement: the workspace is explicit; A's id with B's objects must change nothing --


def _pi(invoice: Invoice, suffix: str) -> dict[str, Any]:
    return {
        "id": f"pi_mallory_{suffix}_{invoice.id}",
        "amount": invoice.total,
        "amount_received": invoice.total,
        "currency": invoice.currency,
        "status": "succeeded",
        "last_payment_error": {"code": "card_declined", "message": "Declined."},
    }


def _settle_payment(db: Session, w: World) -> None:
    for invoice in w.b_books.invoices():
        for pi in (_pi(invoice, "paid"), {**_pi(invoice, "x"), "id": "pi_globex_paid"}):
            with pytest.raises(NotFound):
                settle_payment(
                    db,
                    workspace_id=w.a.id,
                    invoice_id=invoice.id,  # type: ignore[arg-type]
                    mode="test",
                    payment_intent=pi,
                    source="checkout",
                    checkout_session_id=w.b_books.checkout,
                )
    # A's own invoice with B's Checkout session: paid in A, B's session untouched
    assert settle_payment(
        db,
        workspace_id=w.a.id,
        invoice_id=w.a_books.open.id,  # type: ignore[arg-type]
        mode="test",
        payment_intent=_pi(w.a_books.open, "own"),
        source="checkout",
        checkout_session_id=w.b_books.checkout,
    )


def _record_failed_attempt(db: Session, w: World) -> None:
    for invoice in w.b_books.invoices():
        with pytest.raises(NotFound):
            record_failed_attempt(
                db,
                workspace_id=w.a.id,
                invoice_id=invoice.id,  # type: ignore[arg-type]
                mode="test",
                payment_intent=_pi(invoice, "failed"),
                source="checkout",
            )


def _record_refund(db: Session, w: World) -> None:
    assert record_refund(db, workspace_id=w.a.id, mode="test", charge=w.b_books.charge) is False
    by_charge_only = {**w.b_books.charge, "payment_intent": None}
    assert record_refund(db, workspace_id=w.a.id, mode="test", charge=by_charge_only) is False


def _payment_for_charge(db: Session, w: World) -> None:
    assert payment_for_charge(db, w.a.id, w.b_books.charge) is None
    assert payment_for_charge(db, w.a.id, {**w.b_books.charge, "payment_intent": None}) is None


def _record_processing(db: Session, w: World) -> None:
    for invoice in w.b_books.invoices():
        with pytest.raises(NotFound):
            record_processing(
                db,
                workspace_id=w.a.id,
                invoice_id=invoice.id,  # type: ignore[arg-type]
                mode="test",
                payment_intent={**_pi(invoice, "debit"), "status": "processing"},
                source="checkout",
                checkout_session_id=w.b_books.checkout,
            )


def _processing_payment(db: Session, w: World) -> None:
    for invoice in w.b_books.invoices():
        assert processing_payment(db, w.a.id, invoice.id) is None  # type: ignore[arg-type]


def _processing_ids(db: Session, w: World) -> None:
    assert not processing_ids(db, w.a.id) & set(w.b_books.invoice_ids())


def _record_refund_failure(db: Session, w: World) -> None:
    refund = {"id": "re_mallory", "amount": 100, "status": "failed", "charge": "x"}
    for charge in (w.b_books.charge, {**w.b_books.charge, "payment_intent": None}):
        assert not record_refund_failure(
            db, workspace_id=w.a.id, mode="test", refund=refund, charge=charge
        )


def _apply_dispute(db: Session, w: World) -> None:
    b_payment = db.exec(select(Payment).where(Payment.workspace_id == w.b.id)).first()
    assert b_payment is not None
    dispute = {"id": "dp_mallory", "amount": 100, "currency": "usd", "status": "lost"}
    with pytest.raises(NotFound):
        disputes.apply_dispute(
            db, workspace_id=w.a.id, mode="test", dispute=dispute, payment=b_payment
        )


def _disputes_at_risk(db: Session, w: World) -> None:
    assert all(d.workspace_id == w.a.id for d in disputes.disputes_at_risk(db, w.a.id))


# ---- billing documents and reports (billing/pdf.py, billing/exports.py) ----


def _invoice_pdf(db: Session, w: World) -> None:
    for invoice_id in w.b_books.invoice_ids():
        for receipt in (False, True):
            with pytest.raises(NotFound):
                pdf.invoice_pdf(db, w.a_admin, invoice_id, receipt=receipt)
    for invoice_id in w.b_books.invoice_ids():  # and A's client user neither
        with pytest.raises(NotFound):
            pdf.invoice_pdf(db, w.a_client_user, invoice_id)


def _invoice_by_number(db: Session, w: World) -> None:
    for number in {i.number for i in w.b_books.invoices()}:
        found = _found_or_none(lambda n=number: pdf.invoice_by_number(db, w.a.id, n))
        assert found is None or found.workspace_id == w.a.id


def _found_or_none(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except NotFound:
        return None


def _email_attachment(db: Session, w: World) -> None:
    import io
    import json

    from pypdf import PdfReader

    for number in {i.number for i in w.b_books.invoices()}:
        got = pdf.email_attachment(w.a.id, "invoice_sent", json.dumps({"number": number}))
        if got is not None:  # A's invoice of that number, never B's
            text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(got[1])).pages)
            assert w.b.workspace.name not in text and w.a.workspace.name in text
            assert not any(c.name in text for c in (w.b_books.client, w.b_books.other))
            assert pdf.invoice_by_number(db, w.a.id, number).workspace_id == w.a.id


def _invoice_rows(db: Session, w: World) -> None:
    rows = exports.invoice_rows(db, w.a_admin, utcnow().date())
    assert {r["number"] for r in rows} == {i.number for i in w.a_books.invoices()}
    names = {r["client"] for r in rows}
    assert w.b_books.client.name not in names and w.b_books.other.name not in names
    for client_id in w.b_books.client_ids():
        assert exports.invoice_rows(db, w.a_admin, utcnow().date(), client_id=client_id) == []


def _payment_rows(db: Session, w: World) -> None:
    rows = exports.payment_rows(db, w.a_admin)
    assert rows and {r["currency"] for r in rows} == {"USD"}  # B bills in EUR
    for client_id in w.b_books.client_ids():
        assert exports.payment_rows(db, w.a_admin, client_id=client_id) == []


def _aged_receivables(db: Session, w: World) -> None:
    rows = exports.aged_receivables(db, w.a_admin, utcnow().date())
    assert {r.currency for r in rows} == {"usd"}
    assert {r.client_id for r in rows} <= {None, *w.a_books.client_ids()}


def _reminder_settings(db: Session, w: World) -> None:
    for read in (
        reminders.get_reminder_settings(db, w.a.id),
        reminders.read_reminder_settings(db, w.a_admin),
    ):
        assert read.workspace_id == w.a.id and read.days_before != 9
    rules = reminders.ReminderUpdate(True, 1, True, 1, 1, 1)
    assert reminders.update_reminder_settings(db, w.a_admin, rules).workspace_id == w.a.id


def _get_reminder_settings(db: Session, w: World) -> None:
    _reminder_settings(db, w)


def _client_reminders(db: Session, w: World) -> None:
    for client_id in w.b_books.client_ids():
        with pytest.raises(NotFound):
            reminders.set_client_reminders(db, w.a_admin, client_id, False)
        with pytest.raises(NotFound):
            reminders.reminders_on_for_client(db, w.a_admin, client_id)


def _late_fees(db: Session, w: World) -> None:
    fee = db.exec(select(LateFee).where(LateFee.workspace_id == w.b.id)).one()
    for invoice_id in w.b_books.invoice_ids():
        with pytest.raises(NotFound):
            reminders.active_late_fees(db, w.a_admin, invoice_id)
        with pytest.raises(NotFound):
            reminders.waive_late_fee(db, w.a_admin, invoice_id, fee.id)
    with pytest.raises(NotFound):  # B's fee through A's own invoice
        reminders.waive_late_fee(db, w.a_admin, w.a_books.open.id, fee.id)


def _drafts(db: Session, w: World) -> None:
    for invoice_id in w.b_books.invoice_ids():
        for call in (drafts.draft_form, drafts.void_and_duplicate, drafts.related_invoices):
            with pytest.raises(NotFound):
                call(db, w.a_admin, invoice_id)  # type: ignore[operator]


def _set_workspace_locale(db: Session, w: World) -> None:
    assert locales.set_workspace_locale(db, w.a_admin, "de_DE") == "de_DE"
    db.flush()
    assert locales.workspace_locale(db, w.a.id) == "de_DE"
    assert locales.workspace_locale(db, w.b.id) == "en_US"


def _currencies_in_use(db: Session, w: World) -> None:
    assert "eur" not in reminders.currencies_in_use(db, w.a_admin)  # B bills in EUR


CASES: dict[str, Callable[[Session, World], None]] = {
    "draft_form": _drafts,
    "void_and_duplicate": _drafts,
    "related_invoices": _drafts,
    "set_workspace_locale": _set_workspace_locale,
    "currencies_in_use": _currencies_in_use,
    "list_team": _list_team,
    "portal_home": _portal_home,
    "set_accent": _branding,
    "remove_logo": _branding,
    "set_logo": _branding,
    "logo_png": _branding,
    "get_branding": _branding,
    "brand_context": _branding,
    "get_profile": _get_profile,
    "save_profile": _save_profile,
    "wants_receipts": _wants_receipts,
    "receipt_is_emailed": _wants_receipts,
    "payment_history": _payment_history,
    "list_pending_invitations": _list_pending_invitations,
    "invite": _invite,
    "change_role": _change_role,
    "remove_member": _remove_member,
    "list_client_contacts": _list_client_contacts,
    "remove_client_contact": _remove_client_contact,
    "list_emails": _list_emails,
    "list_audit": _list_audit,
    "session_user": _session_user,
    "redeem_sign_in_link": _redeem_sign_in_link,
    "grant_is_live": _grant_is_live,
    "redeem_grant": _redeem_grant,
    "invitation_for_token": _invitation_for_token,
    "accept_invitation": _accept_invitation,
    "sign_in": _sign_in,
    "create_user": _create_user,
    "find_user": _find_user,
    "get_client": _get_client,
    "list_clients": _list_clients,
    "create_client": _create_client,
    "update_client": _update_client,
    "archive_client": _archive_client,
    "restore_client": _restore_client,
    "invite_client_contact": _invite_client_contact,
    "portal_client": _portal_client,
    "portal_client_id": _portal_client_id,
    "create_invoice": _create_invoice,
    "get_invoice": _get_invoice,
    "get_invoice_view": _get_invoice_view,
    "list_invoices": _list_invoices,
    "update_draft": _update_draft,
    "send_invoice": _send_invoice,
    "void_invoice": _void_invoice,
    "mark_paid_manually": _mark_paid_manually,
    "next_invoice_number": _next_invoice_number,
    "dashboard_totals": _dashboard_totals,
    "payments_by_day": _payments_by_day,
    "get_finance": _get_finance,
    "read_finance": _read_finance,
    "update_finance": _update_finance,
    "active_mode": _active_mode,
    "active_secret_key": _active_secret_key,
    "secret_key_for": _secret_key_for,
    "webhook_secrets": _webhook_secrets,
    "uses_test_keys": _uses_test_keys,
    "connection_status": _connection_status,
    "connect": _connect,
    "register_webhook": _register_webhook,
    "check_connection": _check_connection,
    "set_webhook_secret": _set_webhook_secret,
    "set_mode": _set_mode,
    "disconnect": _disconnect,
    "authorize_url": _authorize_url,
    "disconnect_connected": _disconnect_connected,
    "apply_deauthorization": _apply_deauthorization,
    "start_onboarding": _start_onboarding,
    "continue_onboarding": _continue_onboarding,
    "store_connected_account": _store_connected_account,
    "start_checkout": _start_checkout,
    "start_chosen_checkout": _start_chosen_checkout,
    "set_payment_terms": _set_payment_terms,
    "checkout_return": _checkout_return,
    "list_payments": _list_payments,
    "unmatched_events": _unmatched_events,
    "webhook_health": _webhook_health,
    "change_address": _change_address,
    "move_webhooks": _move_webhooks,
    "invoice_numbers": _invoice_numbers,
    "method_warnings": _method_warnings,
    "uses_live_keys": _uses_live_keys,
    "apply_account_update": _apply_account_update,
    "refresh_stale_readiness": _refresh_stale_readiness,
    "deliveries_refused": _deliveries_refused,
    "not_applied_events": _not_applied_events,
    "settle_payment": _settle_payment,
    "record_failed_attempt": _record_failed_attempt,
    "record_refund": _record_refund,
    "payment_for_charge": _payment_for_charge,
    "record_processing": _record_processing,
    "processing_payment": _processing_payment,
    "processing_ids": _processing_ids,
    "record_refund_failure": _record_refund_failure,
    "apply_dispute": _apply_dispute,
    "disputes_at_risk": _disputes_at_risk,
    "invoice_pdf": _invoice_pdf,
    "invoice_by_number": _invoice_by_number,
    "email_attachment": _email_attachment,
    "invoice_rows": _invoice_rows,
    "payment_rows": _payment_rows,
    "aged_receivables": _aged_receivables,
    "get_reminder_settings": _get_reminder_settings,
    "read_reminder_settings": _reminder_settings,
    "update_reminder_settings": _reminder_settings,
    "set_client_reminders": _client_reminders,
    "reminders_on_for_client": _client_reminders,
    "active_late_fees": _late_fees,
    "waive_late_fee": _late_fees,
}

# Tenant-scoped functions that need no attack case, and why.
EXEMPT = {
    "workspace_locale": "reads one column of the workspace the calling service already "
    "resolved (its invoice's or the actor's); never chosen by a request",
    "enqueue_email": "a writer: the workspace comes from the calling service, not a request",
    "email_admins": "a writer like enqueue_email; tests/notifications/test_outbox.py shows it "
    "reaches only that workspace's active admins",
    "record_audit": "a writer: the workspace comes from the actor or the calling service",
    "failure_count": "an internal counter used by sign_in, which is covered",
    "invite_client": "called by billing.clients.invite_client_contact, which resolves the client "
    "in the actor's workspace first (tests/billing/test_clients.py covers the attack)",
}

MODULES = (
    payment_terms,
    team,
    sessions,
    signin,
    users,
    workspaces,
    passwords,
    tokens,
    outbox,
    audit,
    clients,
    invoices,
    finance,
    stripe_connection,
    stripe_connect,
    stripe_onboarding,
    checkout,
    queries,
    settlement,
    disputes,
    webhooks_health,
    pdf,
    exports,
    reminders,
    portal_home_svc,
    profile_svc,
    branding,
    drafts,
    locales,
)

B_TABLES = (
    "workspace",
    "user",
    "user_session",
    "invitation",
    "sign_in_link",
    "outbox_email",
    "audit_entry",
    "client",
    "invoice",
    "invoice_line",
    "invoice_activity",
    "invoice_counter",
    "payment",
    "checkout_session",
    "finance_settings",
    "stripe_keys",
    "stripe_event",
    "webhook_delivery",
)


def _b_still_works(db: Session, w: World) -> None:
    assert session_user(db, w.b.id, w.b_session).id == w.b.admin.id  # type: ignore[union-attr]
    assert invitation_for_token(db, w.b.id, w.b_invite).id == w.b_invitation_id
    b_admin = Actor.of(w.b.admin)
    assert {i.id for i in list_invoices(db, b_admin)} == set(w.b_books.invoice_ids())
    assert get_invoice(db, Actor.of(w.b_books.portal), w.b_books.open.id).status == "open"  # type: ignore[arg-type]
    assert dict(webhook_secrets(db, w.b.id))["test"] == "whsec_globex_000000000000"


@pytest.mark.parametrize("service", list(CASES))
def test_actor_of_a_cannot_touch_b(db: Session, world: World, service: str) -> None:
    before = snapshot_of(world.b.id)
    assert all(before[t] for t in B_TABLES), [t for t in B_TABLES if not before[t]]
    CASES[service](db, world)
    db.commit()  # whatever the attack did is now visible to any reader
    assert snapshot_of(world.b.id) == before
    _b_still_works(db, world)  # and B still works for B


def test_every_tenant_service_is_in_the_matrix() -> None:
    scoped = set()
    for module in MODULES:
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if fn.__module__ != module.__name__ or name.startswith("_"):
                continue
            params = inspect.signature(fn).parameters
            if "actor" in params or "workspace_id" in params:
                scoped.add(name)
    missing = scoped - set(CASES) - set(EXEMPT)
    assert not missing, f"add an isolation case for: {sorted(missing)}"
    assert not set(EXEMPT) - scoped, "an exemption names a function that no longer exists"
    assert all(reason.strip() for reason in EXEMPT.values())


# ---- the client role: a portal user of A sees their own client's invoices, nothing else ----


def test_client_user_sees_only_their_own_clients_invoices(db: Session, world: World) -> None:
    a, b, user = world.a_books, world.b_books, world.a_client_user
    before_a, before_b = snapshot_of(world.a.id), snapshot_of(world.b.id)
    own = {a.open.id, a.paid.id, a.manual.id}  # not the draft, not the other client's
    assert {i.id for i in list_invoices(db, user)} == own
    for client_id in a.client_ids() + b.client_ids():  # the filter can't widen it
        assert {i.id for i in list_invoices(db, user, client_id=client_id)} == own
    assert {i.id for i in list_invoices(db, user, search="INV")} == own
    assert {i.id for i in list_invoices(db, user, search=b.client.name)} == set()
    for invoice_id in own:
        assert get_invoice(db, user, invoice_id).id == invoice_id
    assert get_client(db, user, a.client.id).id == a.client.id  # type: ignore[arg-type]
    for client_id in (a.other.id, a.archived.id, *b.client_ids()):
        with pytest.raises(NotFound):
            get_client(db, user, client_id)  # type: ignore[arg-type]
    foreign = [a.draft.id, a.other_open.id, *b.invoice_ids()]
    for invoice_id in foreign:
        for read in (get_invoice, get_invoice_view):
            with pytest.raises(NotFound):
                read(db, user, invoice_id)  # type: ignore[arg-type]
        with pytest.raises(NotFound):
            start_checkout(db, user, invoice_id, base_url="http://acme.localhost:3000")  # type: ignore[arg-type]
        with pytest.raises(NotFound):
            checkout_return(db, user, invoice_id, b.checkout)  # type: ignore[arg-type]
    db.commit()
    assert snapshot_of(world.a.id) == before_a
    assert snapshot_of(world.b.id) == before_b


def _staff_only(w: World) -> dict[str, Callable[[Session, Actor], object]]:
    a = w.a_books
    today = utcnow().date()
    finance_update = FinanceUpdate("gbp", ["card"], False, [2], 0)
    return {
        "list_clients": lambda db, u: list_clients(db, u),
        "create_client": lambda db, u: create_client(db, u, name="X", billing_email="x@x.test"),
        "update_client": lambda db, u: update_client(
            db,
            u,
            a.client.id,
            name="Mine now",
            billing_email="peter@acme.buy",
            contact_name="",
            currency="usd",
        ),
        "archive_client": lambda db, u: archive_client(db, u, a.client.id),
        "restore_client": lambda db, u: restore_client(db, u, a.archived.id),
        "invite_client_contact": lambda db, u: invite_client_contact(
            db, u, a.client.id, email="friend@acme.buy"
        ),
        "create_invoice": lambda db, u: create_invoice(db, u, client_id=a.client.id, lines=LINES),
        "update_draft": lambda db, u: update_draft(
            db,
            u,
            a.draft.id,
            lines=LINES,
            currency="usd",
            issue_date=today,
            due_date=today,
            notes="",
        ),
        "send_invoice": lambda db, u: send_invoice(db, u, a.draft.id),
        "void_invoice": lambda db, u: void_invoice(db, u, a.open.id),
        "mark_paid_manually": lambda db, u: mark_paid_manually(db, u, a.open.id, "Cash"),
        "dashboard_totals": lambda db, u: dashboard_totals(db, u, today),
        "payments_by_day": lambda db, u: payments_by_day(db, u),
        "list_payments": lambda db, u: list_payments(db, u),
        "unmatched_events": lambda db, u: unmatched_events(db, u),
        "read_finance": lambda db, u: read_finance(db, u),
        "update_finance": lambda db, u: update_finance(db, u, finance_update),
        "connection_status": lambda db, u: connection_status(db, u),
        "check_connection": lambda db, u: check_connection(db, u),
        "connect": lambda db, u: connect(db, u, ConnectInput("pk_test_x" * 3, "sk_test_x" * 3)),
        "register_webhook": lambda db, u: register_webhook(db, u, "test"),
        "set_webhook_secret": lambda db, u: set_webhook_secret(db, u, "test", "whsec_x" * 3),
        "set_mode": lambda db, u: set_mode(db, u, "test"),
        "disconnect": lambda db, u: disconnect(db, u, "test"),
        "authorize_url": lambda db, u: stripe_connect.authorize_url(db, u, w.b_session),
        "start_onboarding": lambda db, u: stripe_onboarding.start_onboarding(db, u),
        "continue_onboarding": lambda db, u: stripe_onboarding.continue_onboarding(db, u),
        "list_audit": lambda db, u: list_audit(db, u),
        "list_emails": lambda db, u: list_emails(db, u),
        "list_team": lambda db, u: list_team(db, u),
        "list_pending_invitations": lambda db, u: list_pending_invitations(db, u),
        "invite": lambda db, u: invite(db, u, email="friend@acme.buy", role="admin"),
        "change_role": lambda db, u: change_role(db, u, user_id=w.a.member.id, role="admin"),
        "remove_member": lambda db, u: remove_member(db, u, user_id=w.a.member.id),
        "list_client_contacts": lambda db, u: list_client_contacts(db, u),
        "remove_client_contact": lambda db, u: remove_client_contact(
            db, u, user_id=w.a_books.portal.id
        ),
        "invoice_rows": lambda db, u: exports.invoice_rows(db, u, today),
        "payment_rows": lambda db, u: exports.payment_rows(db, u),
        "aged_receivables": lambda db, u: exports.aged_receivables(db, u, today),
        "read_reminder_settings": lambda db, u: reminders.read_reminder_settings(db, u),
        "update_reminder_settings": lambda db, u: reminders.update_reminder_settings(
            db, u, reminders.ReminderUpdate(False, 1, True, 1, 1, 1)
        ),
        "set_client_reminders": lambda db, u: reminders.set_client_reminders(
            db, u, a.client.id, False
        ),
        "reminders_on_for_client": lambda db, u: reminders.reminders_on_for_client(
            db, u, a.client.id
        ),
        "active_late_fees": lambda db, u: reminders.active_late_fees(db, u, a.open.id),
        "waive_late_fee": lambda db, u: reminders.waive_late_fee(db, u, a.open.id, 1),
        "currencies_in_use": lambda db, u: reminders.currencies_in_use(db, u),
        "draft_form": lambda db, u: drafts.draft_form(db, u, a.draft.id),
        "void_and_duplicate": lambda db, u: drafts.void_and_duplicate(db, u, a.open.id),
        "related_invoices": lambda db, u: drafts.related_invoices(db, u, a.open.id),
        "set_workspace_locale": lambda db, u: locales.set_workspace_locale(db, u, "fr_FR"),
    }


STAFF_ONLY = (
    "list_clients",
    "create_client",
    "update_client",
    "archive_client",
    "restore_client",
    "invite_client_contact",
    "create_invoice",
    "update_draft",
    "send_invoice",
    "void_invoice",
    "mark_paid_manually",
    "dashboard_totals",
    "payments_by_day",
    "list_payments",
    "unmatched_events",
    "read_finance",
    "update_finance",
    "connection_status",
    "check_connection",
    "connect",
    "register_webhook",
    "set_webhook_secret",
    "set_mode",
    "disconnect",
    "authorize_url",
    "start_onboarding",
    "continue_onboarding",
    "list_audit",
    "list_emails",
    "list_team",
    "list_pending_invitations",
    "invite",
    "change_role",
    "remove_member",
    "list_client_contacts",
    "remove_client_contact",
    "invoice_rows",
    "payment_rows",
    "aged_receivables",
    "read_reminder_settings",
    "update_reminder_settings",
    "set_client_reminders",
    "reminders_on_for_client",
    "active_late_fees",
    "waive_late_fee",
    "currencies_in_use",
    "draft_form",
    "void_and_duplicate",
    "related_invoices",
    "set_workspace_locale",
)


def test_client_user_cannot_call_staff_services(db: Session, world: World) -> None:
    calls = _staff_only(world)
    assert set(calls) == set(STAFF_ONLY)
    quick_stripe_keys(db, world.a.id, "acme")  # so the Stripe settings have something to hit
    before_a, before_b = snapshot_of(world.a.id), snapshot_of(world.b.id)
    allowed = []
    for service in STAFF_ONLY:  # one world for all: each must refuse before touching anything
        try:
            calls[service](db, world.a_client_user)
        except AccessDenied:
            pass
        else:
            allowed.append(service)
        db.commit()
    assert not allowed, f"a client user may call: {allowed}"
    assert snapshot_of(world.a.id) == before_a
    assert snapshot_of(world.b.id) == before_b
