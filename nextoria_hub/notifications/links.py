"""Secret links in emails, kept out of the database.

An email that carries a secret link (an invitation) is stored with a placeholder where the
token goes. The token is derived from the placeholder's random salt and a master key
(HMAC-SHA256), so the outbox row and the token table (a SHA-256 hash) together are not
enough to rebuild it: a copy of the database opens nothing. The deliverer fills the
placeholder just before sending, the same way on every retry (Resend's idempotency key
keeps matching the same body). The Emails page shows the link masked.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

from nextoria_hub.settings import get_settings

_PLACEHOLDER = re.compile(r"__NXLINK_([0-9a-f]{8})_([0-9a-f]{32})__")
# Any token in a query string, placeholder or not (rows written before placeholders too).
_TOKEN_PARAM = re.compile(r"(token=)[\w.-]+")
MASK = "••••••••"


class LinkKeyRetired(Exception):
    """The master key that derived this link's token is no longer configured."""


def _key_id(key: str) -> str:
    return hashlib.sha256(b"nextoria-link-key:" + key.encode()).hexdigest()[:8]


def _derive(key: str, salt: str) -> str:
    digest = hmac.new(key.encode(), b"nextoria-link-token:" + salt.encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()


def issue_link_token() -> tuple[str, str]:
    """A new (token, placeholder): store the token's hash, write the placeholder in the email."""
    key = get_settings().master_keys()[0]
    salt = secrets.token_hex(16)
    return _derive(key, salt), f"__NXLINK_{_key_id(key)}_{salt}__"


def fill_links(text: str) -> str:
    """The text as it is sent: every placeholder replaced by its token."""
    keys = {_key_id(k): k for k in get_settings().master_keys()}

    def token(match: re.Match[str]) -> str:
        key = keys.get(match[1])
        if key is None:
            raise LinkKeyRetired("the master key of this link was retired; send a new one")
        return _derive(key, match[2])

    return _PLACEHOLDER.sub(token, text)


def mask_links(text: str) -> str:
    """The text for display: placeholders and any token parameter masked."""
    return _TOKEN_PARAM.sub(rf"\g<1>{MASK}", _PLACEHOLDER.sub(MASK, text))
