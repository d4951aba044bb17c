"""Clients the agency bills, their portal contacts, and the client a portal user belongs to."""

from __future__ import annotations

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from nextoria_hub.accounts.team import end_client_access, invite_client
from nextoria_hub.accounts.users import normalise_email
from nextoria_hub.audit import record_audit
from nextoria_hub.billing.finance import get_finance
from nextoria_hub.billing.money import validate_currency
from nextoria_hub.clock import utcnow
from nextoria_hub.errors import AccessDenied, NotFound, ValidationError
from nextoria_hub.models import Client, Invitation, Role, User
from nextoria_hub.ownership import get_owned
from nextoria_hub.tenancy import Actor

NAME_MAX = 160
CONTACT_MAX = 120


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError("Enter the client's name.", "name")
    if len(name) > NAME_MAX:
        raise ValidationError(f"Use at most {NAME_MAX} characters.", "name")
    return name


def _clean_contact(contact_name: str) -> str:
    contact = (contact_name or "").strip()
    if len(contact) > CONTACT_MAX:
        raise ValidationError(f"Use at most {CONTACT_MAX} characters.", "contact_name")
    return contact


def create_client(
    db: Session,
    actor: Actor,
    *,
    name: str,
    billing_email: str,
    contact_name: str = "",
    currency: str | None = None,
) -> Client:
    """A new client; its currency defaults to Settings → Finance's default currency."""
    actor.require_staff()
    clean_name = _clean_name(name)
    email = normalise_email(billing_email, field="billing_email")
    contact = _clean_contact(contact_name)
    if currency is None or not currency.strip():
        code = get_finance(db, actor.workspace_id).default_currency
    else:
        code = validate_currency(currency)
    client = Client(
        workspace_id=actor.workspace_id,
        name=clean_name,
        billing_email=email,
        contact_name=contact,
        currency=code,
    )
    db.add(client)
    db.flush()
    record_audit(db, actor, "client.create", f"{clean_name} <{email}> ({code.upper()})")
    return client


def get_client(db: Session, actor: Actor, client_id: int) -> Client:
    """A client of the actor's workspace; a client user may only read their own."""
    client = get_owned(db, Client, client_id, actor)
    if client is None:
        raise NotFound("This client does not exist.")
    if not actor.is_staff and _portal_client_id(db, actor) != client.id:
        raise NotFound("This client does not exist.")
    return client


def update_client(
    db: Session,
    actor: Actor,
    client_id: int,
    *,
    name: str,
    billing_email: str,
    contact_name: str,
    currency: str,
) -> Client:
    actor.require_staff()
    client = get_client(db, actor, client_id)
    client.name = _clean_name(name)
    client.billing_email = normalise_email(billing_email, field="billing_email")
    client.contact_name = _clean_contact(contact_name)
    client.currency = validate_currency(currency)
    db.add(client)
    db.flush()
    record_audit(db, actor, "client.update", f"#{client.id} {client.name}")
    return client


def archive_client(db: Session, actor: Actor, client_id: int) -> Client:
    actor.require_staff()
    client = get_client(db, actor, client_id)
    if client.archived_at is None:
        client.archived_at = utcnow()
        db.add(client)
        # Its contacts lose access at once: sessions end, sign-in is refused while archived.
        end_client_access(db, client)
        record_audit(db, actor, "client.archive", f"#{client.id} {client.name}")
    return client


def restore_client(db: Session, actor: Actor, client_id: int) -> Client:
    actor.require_staff()
    client = get_client(db, actor, client_id)
    if client.archived_at is not None:
        client.archived_at = None
        db.add(client)
        record_audit(db, actor, "client.restore", f"#{client.id} {client.name}")
    return client


def list_clients(
    db: Session, actor: Actor, *, search: str = "", include_archived: bool = False
) -> list[Client]:
    actor.require_staff()
    query = select(Client).where(Client.workspace_id == actor.workspace_id)
    if not include_archived:
        query = query.where(col(Client.archived_at).is_(None))
    needle = search.strip().lower()
    if needle:
        pattern = f"%{needle}%"
        query = query.where(
            or_(
                func.lower(Client.name).like(pattern),
                func.lower(Client.billing_email).like(pattern),
                func.lower(Client.contact_name).like(pattern),
            )
        )
    return list(db.exec(query.order_by(func.lower(Client.name), col(Client.id))))


def invite_client_contact(
    db: Session, actor: Actor, client_id: int, *, email: str, name: str = ""
) -> Invitation:
    """Invite a contact of the client to the Client Portal (role client, bound to the client)."""
    actor.require_staff()
    client = get_client(db, actor, client_id)
    if client.archived_at is not None:
        raise ValidationError("Restore this client before inviting its contacts.", "email")
    return invite_client(db, actor, client=client, email=email, name=name)


def _portal_client_id(db: Session, actor: Actor) -> int | None:
    if actor.user_id is None:
        return None
    user = get_owned(db, User, actor.user_id, actor)
    if user is None or not user.active:
        return None
    if user.role != Role.client:
        return None
    return user.client_id


def portal_client_id(db: Session, actor: Actor) -> int | None:
    """The id of the client a portal user belongs to, if any (None for staff)."""
    client_id = _portal_client_id(db, actor)
    if client_id is None:
        return None
    client = get_owned(db, Client, client_id, actor)
    return client.id if client is not None else None


def portal_client(db: Session, actor: Actor) -> Client:
    """The client whose portal a signed-in client user sees."""
    client_id = _portal_client_id(db, actor)
    if client_id is None:
        raise AccessDenied("The Client Portal is for your clients' contacts.")
    client = get_owned(db, Client, client_id, actor)
    if client is None:
        raise AccessDenied("The Client Portal is for your clients' contacts.")
    return client
