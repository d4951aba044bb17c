"""The Emails page: what the outbox holds for this workspace."""

from __future__ import annotations

import reflex as rx

from nextoria_hub.errors import AccessDenied, NotSignedIn
from nextoria_hub.notifications.links import mask_links
from nextoria_hub.notifications.outbox import (
    delivery_note,
    list_emails,
    render_row,
    status_label,
)
from nextoria_hub.ui.states.session import AppState


class EmailsState(AppState):
    emails: list[dict[str, str]] = []
    delivery_note: str = ""

    @rx.event
    def load(self):
        try:
            with self._unit() as (db, actor):
                self.delivery_note = delivery_note()
                self.emails = [
                    {
                        "id": str(e.id),
                        "to": e.to_address,
                        "subject": subject,
                        "status": status_label(e.status),
                        "kind": e.kind,
                        "created": e.created_at.strftime("%d %b %Y %H:%M"),
                        "body": mask_links(text),  # links work for the reader only
                    }
                    for e in list_emails(db, actor)
                    # one not delivered yet is shown as delivery will render it
                    for subject, text, _html in [render_row(db, e)]
                ]
        except (NotSignedIn, AccessDenied) as err:
            return self._denied(err)
        return None
