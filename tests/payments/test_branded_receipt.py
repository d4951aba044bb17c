"""Emails queued by the webhook worker (rendered after its transaction) carry the brand too."""

from __future__ import annotations

import io
import re

from PIL import Image
from sqlmodel import select

from nextoria_hub.accounts import branding
from nextoria_hub.models import OutboxEmail
from nextoria_hub.payments.checkout import start_checkout
from tests.payments.conftest import Shop


def test_the_receipt_applied_from_a_webhook_wears_the_workspaces_brand(shop: Shop) -> None:
    logo = io.BytesIO()
    Image.new("RGB", (120, 40), (20, 99, 60)).save(logo, format="PNG")
    branding.set_logo(shop.db, shop.admin, logo.getvalue())
    branding.set_accent(shop.db, shop.admin, "#14633c")
    invoice = shop.invoice()
    url = start_checkout(shop.db, shop.portal, invoice.id, base_url=shop.base_url)  # type: ignore[arg-type]
    shop.db.commit()
    shop.pay(url)
    shop.settle_webhooks()
    shop.db.expire_all()
    receipt = shop.db.exec(select(OutboxEmail).where(OutboxEmail.kind == "payment_receipt")).one()
    assert receipt.html_body, "the worker renders what it queued once its transaction is done"
    assert "background:#14633c" in receipt.html_body
    logo_url = re.search(r'<img src="([^"]+)"', receipt.html_body)
    assert logo_url and logo_url.group(1).startswith(shop.base_url + "/api/branding/logo.png?v=")
