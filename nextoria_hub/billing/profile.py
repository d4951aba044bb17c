"""The client's own billing details and email preferences, kept from the portal.

Saved here first, then copied to the client's Stripe customers (one per mode) with no
database transaction open while Stripe answers: the save commits, Stripe is called, and
a second short unit records how that went. A Stripe failure never loses the save.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlmodel import Session, select

from nextoria_hub import stripe_gateway as gateway
from nextoria_hub.audit import record_audit
from nextoria_hub.billing.clients import portal_client
from nextoria_hub.billing.finance import get_finance
from nextoria_hub.clock import utcnow
from nextoria_hub.errors import NextoriaError, ValidationError
from nextoria_hub.models.client import Client, StripeCustomer
from nextoria_hub.models.client_profile import ClientProfile
from nextoria_hub.models.reminders import ClientReminderSetting
from nextoria_hub.payments.stripe_connection import secret_key_for
from nextoria_hub.tenancy import Actor

# The tax ID types the form offers (Stripe's names), with the shape Stripe expects.
TAX_ID_TYPES: dict[str, tuple[str, str]] = {
    "eu_vat": ("EU VAT number", r"[A-Z]{2}[0-9A-Z+*.]{8,12}"),
    "gb_vat": ("UK VAT number", r"GB[0-9]{9}([0-9]{3})?"),
    "us_ein": ("US EIN", r"[0-9]{2}-?[0-9]{7}"),
    "ca_bn": ("Canadian BN", r"[0-9]{9}"),
    "au_abn": ("Australian ABN", r"[0-9]{11}"),
    "ch_vat": ("Swiss VAT number", r"CHE-?[0-9]{3}\.?[0-9]{3}\.?[0-9]{3} ?(MWST|TVA|IVA)"),
    "no_vat": ("Norwegian VAT number", r"[0-9]{9}MVA"),
    "in_gst": ("Indian GSTIN", r"[0-9]{2}[A-Z]{5}[0-9]{4}[A-Z][0-9A-Z]Z[0-9A-Z]"),
}
LIMITS = {
    "billing_name": 160,
    "line1": 200,
    "line2": 200,
    "city": 100,
    "state": 100,
    "postal_code": 20,
}


@dataclass(frozen=True)
class ProfileInput:
    billing_name: str
    line1: str
    line2: str
    city: str
    state: str
    postal_code: str
    country: str
    tax_id_type: str
    tax_id: str
    email_receipts: bool
    email_reminders: bool


@dataclass(frozen=True)
class Profile:
    values: ProfileInput
    stripe_synced: str  # when Stripe last took the details ("" never)
    stripe_error: str  # why it did not, last time ("" none)


def _row(db: Session, client: Client) -> ClientProfile | None:
    return db.exec(
        select(ClientProfile).where(
            ClientProfile.workspace_id == client.workspace_id,
            ClientProfile.client_id == client.id,
        )
    ).first()


def _reminders_row(db: Session, client: Client) -> ClientReminderSetting | None:
    return db.exec(
        select(ClientReminderSetting).where(
            ClientReminderSetting.workspace_id == client.workspace_id,
            ClientReminderSetting.client_id == client.id,
        )
    ).first()


def get_profile(db: Session, actor: Actor) -> Profile:
    """The signed-in client's details (AccessDenied for staff: they edit clients elsewhere)."""
    client = portal_client(db, actor)
    row = _row(db, client) or ClientProfile(workspace_id=client.workspace_id, client_id=0)
    reminders = _reminders_row(db, client)
    return Profile(
        ProfileInput(
            billing_name=row.billing_name or client.name,
            line1=row.line1,
            line2=row.line2,
            city=row.city,
            state=row.state,
            postal_code=row.postal_code,
            country=row.country,
            tax_id_type=row.tax_id_type,
            tax_id=row.tax_id,
            email_receipts=row.email_receipts,
            email_reminders=not (reminders and reminders.reminders_off),
        ),
        row.stripe_synced_at.strftime("%d %b %Y %H:%M UTC") if row.stripe_synced_at else "",
        row.stripe_error,
    )


def clean(data: ProfileInput) -> ProfileInput:
    """Trimmed and checked: the first problem is a ValidationError naming its field."""
    fields = {k: " ".join(str(getattr(data, k)).split()) for k in LIMITS}
    for name, limit in LIMITS.items():
        if len(fields[name]) > limit:
            raise ValidationError(f"At most {limit} characters.", name)
    if not fields["billing_name"]:
        raise ValidationError("Enter the name to put on your invoices.", "billing_name")
    country = data.country.strip().upper()
    if country and not re.fullmatch(r"[A-Z]{2}", country):
        raise ValidationError("Choose a country (two letters, such as US or DE).", "country")
    if any(fields[k] for k in ("line2", "city", "state", "postal_code")) and not fields["line1"]:
        raise ValidationError("Enter the first line of the address.", "line1")
    if fields["line1"] and not country:
        raise ValidationError("Choose the address's country.", "country")
    tax_type = data.tax_id_type.strip()
    tax_id = re.sub(r"\s+", "", data.tax_id).upper()
    if tax_id or tax_type:
        if tax_type not in TAX_ID_TYPES:
            raise ValidationError("Choose the kind of tax ID.", "tax_id_type")
        label, shape = TAX_ID_TYPES[tax_type]
        if not re.fullmatch(shape, tax_id):
            raise ValidationError(f"This doesn't look like a valid {label}.", "tax_id")
    return ProfileInput(
        **fields,
        country=country,
        tax_id_type=tax_type if tax_id else "",
        tax_id=tax_id,
        email_receipts=bool(data.email_receipts),
        email_reminders=bool(data.email_reminders),
    )


@dataclass(frozen=True)
class _Push:
    mode: str
    secret_key: str
    customer_id: str
    old_tax_id: str


def _tax_ids(raw: str) -> dict[str, str]:
    return dict(part.split(":", 1) for part in raw.split(",") if ":" in part)


def save_profile(db: Session, actor: Actor, data: ProfileInput) -> Profile:
    """Save, commit, copy to Stripe with no transaction open, then record how that went."""
    values = clean(data)
    client = portal_client(db, actor)
    row = _row(db, client)
    if row is None:
        row = ClientProfile(workspace_id=client.workspace_id, client_id=client.id)  # type: ignore[arg-type]
    tax_changed = (row.tax_id_type, row.tax_id) != (values.tax_id_type, values.tax_id)
    for name in (*LIMITS, "country", "tax_id_type", "tax_id", "email_receipts"):
        setattr(row, name, getattr(values, name))
    row.updated_at = utcnow()
    reminders = _reminders_row(db, client)
    if values.email_reminders and reminders is not None:
        db.delete(reminders)
    elif not values.email_reminders and reminders is None:
        db.add(ClientReminderSetting(workspace_id=client.workspace_id, client_id=client.id))  # type: ignore[arg-type]
    db.add(row)
    record_audit(db, actor, "client.profile", f"{client.name}: billing details updated")
    customers = db.exec(
        select(StripeCustomer).where(
            StripeCustomer.workspace_id == client.workspace_id,
            StripeCustomer.client_id == client.id,
        )
    ).all()
    old_ids = _tax_ids(row.stripe_tax_ids)
    pushes: list[_Push] = []
    problems: list[str] = []
    for customer in customers:
        try:
            key = secret_key_for(db, client.workspace_id, customer.mode)
        except NextoriaError as err:
            problems.append(err.message)
            continue
        pushes.append(
            _Push(customer.mode, key, customer.customer_id, old_ids.get(customer.mode, ""))
        )
    ids = (client.workspace_id, client.id)
    db.commit()  # nothing of ours is held while Stripe answers

    new_ids = dict(old_ids)
    synced = 0
    address = {
        k: getattr(values, k) for k in ("line1", "line2", "city", "state", "postal_code", "country")
    }
    for push in pushes:
        try:
            gateway.update_customer_billing(
                push.secret_key,
                push.customer_id,
                name=values.billing_name,
                address={k: v for k, v in address.items() if v},
            )
            if tax_changed or (values.tax_id and not push.old_tax_id):
                new_ids[push.mode] = gateway.replace_customer_tax_id(
                    push.secret_key,
                    push.customer_id,
                    old_id=push.old_tax_id,
                    tax_type=values.tax_id_type,
                    value=values.tax_id,
                )
            synced += 1
        except gateway.StripeGatewayError as err:
            problems.append(err.message)

    row = db.exec(
        select(ClientProfile).where(
            ClientProfile.workspace_id == ids[0], ClientProfile.client_id == ids[1]
        )
    ).one()
    row.stripe_tax_ids = ",".join(f"{m}:{t}" for m, t in sorted(new_ids.items()) if t)
    row.stripe_error = problems[0][:300] if problems else ""
    if synced and not problems:
        row.stripe_synced_at = utcnow()
    db.add(row)
    db.commit()
    return get_profile(db, actor)


def wants_receipts(db: Session, workspace_id: int, client_id: int) -> bool:
    """Whether the client still wants payment receipts by email (no profile: yes)."""
    row = db.exec(
        select(ClientProfile.email_receipts).where(
            ClientProfile.workspace_id == workspace_id, ClientProfile.client_id == client_id
        )
    ).first()
    return row is None or bool(row)


def receipt_is_emailed(db: Session, workspace_id: int, client_id: int) -> bool:
    """The one rule for "a receipt goes out by email": Finance's switch and the client's wish
    (settlement sends by it; the thank-you page promises by it)."""
    return get_finance(db, workspace_id).receipts_enabled and wants_receipts(
        db, workspace_id, client_id
    )
