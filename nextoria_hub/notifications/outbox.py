"""Writing emails to the outbox and reading them back for the Emails page."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy import update
from sqlmodel import Session, col, select

from nextoria_hub.accounts.branding import get_branding, logo_url
from nextoria_hub.models import OutboxEmail, Role, User, Workspace
from nextoria_hub.settings import get_settings
from nextoria_hub.tenancy import Actor

log = logging.getLogger(__name__)
_TEMPLATES = Path(__file__).parent / "templates"
SUBJECT_MAX = 250  # the width of OutboxEmail.subject


@lru_cache
def _env() -> Environment:
    return Environment(
        loader=FileSystemLoader(_TEMPLATES),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


# The product's look, for emails of a workspace without a brand and rows queued before brands.
DEFAULT_BRAND = {"brand_accent": "#5b5bd6", "brand_logo_url": ""}


def brand_context(db: Session, workspace_id: int | None) -> dict[str, str]:
    """The workspace's accent and an absolute logo URL (mail clients load it from its host)."""
    if workspace_id is None:
        return dict(DEFAULT_BRAND)
    workspace = db.get(Workspace, workspace_id)
    brand = get_branding(db, workspace_id)
    logo = ""
    if brand.has_logo and workspace is not None:
        logo = get_settings().workspace_url(workspace.slug, logo_url(brand))
    return {"brand_accent": brand.accent or DEFAULT_BRAND["brand_accent"], "brand_logo_url": logo}


def render(kind: str, context: dict[str, Any]) -> tuple[str, str, str]:
    """(subject, text, html) of the template ``kind``; the subject is the text's first line."""
    context = {**DEFAULT_BRAND, **context}
    text = _env().get_template(f"{kind}.txt").render(**context)
    subject, _, body = text.partition("\n")
    html = _env().get_template(f"{kind}.html").render(**context)
    subject = subject.removeprefix("Subject:").strip()
    if len(subject) > SUBJECT_MAX:  # long names must not make the INSERT fail
        subject = subject[: SUBJECT_MAX - 1].rstrip() + "…"
    return subject, body.strip() + "\n", html


# Inside ``rendering_deferred()``: the emails queued as template + context only.
_deferred: ContextVar[list[OutboxEmail] | None] = ContextVar("outbox_deferred", default=None)


@contextmanager
def rendering_deferred() -> Iterator[list[OutboxEmail]]:
    """Emails queued inside are stored unrendered (delivery renders them), so a transaction
    that settles a payment spends no time on templates nor on a flush per email."""
    queued: list[OutboxEmail] = []
    token = _deferred.set(queued)
    try:
        yield queued
    finally:
        _deferred.reset(token)


def enqueue_email(
    db: Session, *, workspace_id: int | None, to: str, kind: str, context: dict[str, Any]
) -> OutboxEmail:
    """Write an email in the caller's transaction; it is sent only if that commits.

    The template's name and context are always kept; the rendered text is written now, or
    after the transaction inside ``rendering_deferred()``.
    """
    deferred = _deferred.get()
    subject, text, html = "", "", ""
    if deferred is None:  # deferred: the brand is looked up when it is rendered (render_stored)
        context = {**context, **brand_context(db, workspace_id)}
        subject, text, html = render(kind, context)
    email = OutboxEmail(
        workspace_id=workspace_id,
        to_address=to,
        subject=subject,
        text_body=text,
        html_body=html,
        kind=kind,
        context=json.dumps(context, default=str),
    )
    db.add(email)
    if deferred is None:
        db.flush()
    else:  # inserted with the rest of the transaction; its id is known after the flush
        deferred.append(email)
    log.info("email queued: %s to %s", kind, to)
    return email


def render_row(db: Session, email: OutboxEmail) -> tuple[str, str, str]:
    """(subject, text, html) of a stored email: as rendered, or now from template + context
    (with the workspace's brand as it is now, unless the context carries it)."""
    if email.text_body or not email.context:
        return email.subject, email.text_body, email.html_body
    context = json.loads(email.context)
    if "brand_accent" not in context:
        context = {**brand_context(db, email.workspace_id), **context}
    return render(email.kind, context)


def render_stored(ids: list[int]) -> int:
    """Render the emails queued unrendered (templates first, then one short write)."""
    from nextoria_hub.db import get_engine, session_scope

    if not ids:
        return 0
    with Session(get_engine()) as db:
        todo = [
            (email.id, render_row(db, email))
            for email in db.exec(
                select(OutboxEmail).where(
                    col(OutboxEmail.id).in_(ids),
                    OutboxEmail.text_body == "",
                    OutboxEmail.context != "",
                )
            )
        ]
    if not todo:
        return 0
    with session_scope() as db:
        for email_id, (subject, text, html) in todo:
            db.execute(
                update(OutboxEmail)
                .where(col(OutboxEmail.id) == email_id, OutboxEmail.text_body == "")
                .values(subject=subject, text_body=text, html_body=html)
            )
    return len(todo)


def email_admins(db: Session, workspace_id: int, *, kind: str, context: dict[str, Any]) -> int:
    """The same email to every active admin of the workspace; returns how many were queued."""
    admins = db.exec(
        select(User).where(
            User.workspace_id == workspace_id,
            User.role == Role.admin,
            User.removed_at.is_(None),  # type: ignore[union-attr]
        )
    ).all()
    for admin in admins:
        enqueue_email(db, workspace_id=workspace_id, to=admin.email, kind=kind, context=context)
    return len(admins)


def list_emails(db: Session, actor: Actor, limit: int = 200) -> list[OutboxEmail]:
    """The workspace's emails, newest first, for its admins."""
    actor.require_admin()
    return list(
        db.exec(
            select(OutboxEmail)
            .where(OutboxEmail.workspace_id == actor.workspace_id)
            .order_by(col(OutboxEmail.id).desc())
            .limit(limit)
        )
    )


# What each outbox status means to the reader of the Emails page, in plain words.
_STATUS_LABELS = {
    "pending": "Waiting to send",
    "sending": "Sending",
    "sent": "Sent",
    "failed": "Not sent (failed)",
    "logged": "Kept here, not sent",
}


def status_label(status: str) -> str:
    """``logged`` means no email left the machine (no RESEND_API_KEY): say so plainly."""
    return _STATUS_LABELS.get(status, status)


def delivery_note() -> str:
    """A sentence for the Emails page when emails are only kept here; empty when they are sent."""
    if get_settings().email_mode == "resend":
        return ""
    return (
        "No email leaves this machine: RESEND_API_KEY is not set, so every email is kept here, "
        "not sent. Set it to send them for real."
    )
