"""Sending an email through Resend, and ``deliver_pending``: one delivery pass by hand.

Claims, retries and the worker's part live in ``delivery_items`` (the ``nextoria worker``
processes deliver the outbox); this module holds what one send is. Statuses: ``pending``
(waiting for its ``next_attempt_at``), ``sending`` (claimed by one worker; ``next_attempt_at``
is then the lease expiry), ``sent``, ``failed`` (gave up after ``MAX_ATTEMPTS``) and
``logged`` (no Resend key configured: kept in the outbox, shown in the app, never sent).
Resend gets an idempotency key derived from the email's id, so a crash between sending and
recording ``sent`` does not send it twice.
"""

from __future__ import annotations

import base64
import logging
import re
import threading

from nextoria_hub.clock import utcnow
from nextoria_hub.db import get_engine
from nextoria_hub.models import OutboxEmail
from nextoria_hub.notifications import delivery_items
from nextoria_hub.notifications.delivery_items import (  # noqa: F401  (the names callers use)
    BACKOFF,
    MAX_ATTEMPTS,
    DeliveryCounts,
    backoff,
    release_expired,
)
from nextoria_hub.notifications.links import LinkKeyRetired, fill_links
from nextoria_hub.settings import Settings

log = logging.getLogger(__name__)

ERROR_MAX = 500
DEFAULT_RESEND_URL = "https://api.resend.com"


class SendError(Exception):
    """Resend refused or could not be reached; the message carries no secrets."""


# --- sending ------------------------------------------------------------------------------

_resend_lock = threading.Lock()


def idempotency_key(email: OutboxEmail) -> str:
    return f"nextoria-email-{email.id}"


def _attachment(email: OutboxEmail) -> tuple[str, bytes] | None:
    """The invoice or receipt PDF this email carries (billing.pdf), read at delivery."""
    from nextoria_hub.billing.pdf import email_attachment

    try:
        return email_attachment(email.workspace_id, email.kind, email.context)
    except Exception as err:  # a PDF that cannot be made must not hold the email back
        log.warning("email %s: no PDF attached (%s)", email.id, type(err).__name__)
        return None


def send_via_resend(email: OutboxEmail, settings: Settings) -> str:
    """Send one email; returns Resend's id. Raises SendError."""
    import resend

    try:  # secret links are filled in only now, never stored (notifications.links)
        text, html = fill_links(email.text_body), fill_links(email.html_body)
    except LinkKeyRetired as err:
        raise SendError(str(err)) from None
    params: dict = {
        "from": settings.email_from,
        "to": [email.to_address],
        "subject": email.subject,
        "text": text,
    }
    if html:
        params["html"] = html
    attachment = _attachment(email)
    if attachment is not None:
        params["attachments"] = [
            {"filename": attachment[0], "content": base64.b64encode(attachment[1]).decode()}
        ]
    key = settings.resend_api_key.strip()
    try:
        # The resend package reads its key and base URL from module globals at request time.
        with _resend_lock:
            resend.api_key = key
            resend.api_url = (settings.resend_api_url or DEFAULT_RESEND_URL).rstrip("/")
        response = resend.Emails.send(
            params,  # type: ignore[arg-type]
            {"idempotency_key": idempotency_key(email)},
        )
    except Exception as err:  # every failure is a retry, recorded by the caller
        raise SendError(_describe(err, key)) from None
    return str(response.get("id", "")) if isinstance(response, dict) else ""


def _describe(err: Exception, key: str) -> str:
    code = getattr(err, "code", None)
    message = getattr(err, "message", None) or str(err)
    text = f"{type(err).__name__}{f' {code}' if code else ''}: {message}"
    if key:
        text = text.replace(key, "***")
    text = re.sub(r"\bre_[A-Za-z0-9_]{6,}", "re_***", text)  # anything shaped like a Resend key
    return text[:ERROR_MAX]


# --- a pass by hand ------------------------------------------------------------------------


def deliver_pending(limit: int = 50) -> DeliveryCounts:
    """One delivery pass over due emails (``nextoria email deliver``, tests): expired claims
    released, then up to ``limit`` due emails delivered as a worker would."""
    engine = get_engine()
    total = DeliveryCounts(released=release_expired(engine, utcnow()))
    while total.claimed < limit:
        counts = delivery_items.run_once(min(delivery_items.BATCH, limit - total.claimed))
        for name, value in counts.as_dict().items():
            setattr(total, name, getattr(total, name) + value)
        if not counts.claimed:
            break
    return total
