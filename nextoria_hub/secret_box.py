"""Sealing tenant secrets (Stripe keys, webhook secrets) with MultiFernet.

Master keys come from ``NEXTORIA_SECRET_KEYS`` (newest first). Sealing always uses the
newest key; opening tries each, so an old key can be dropped after ``rotate``.
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from nextoria_hub.errors import NextoriaError
from nextoria_hub.settings import get_settings


class SecretUnreadable(NextoriaError):
    """A sealed value no configured master key can open."""


def _box() -> MultiFernet:
    return _box_of(tuple(get_settings().master_keys()))


@lru_cache(maxsize=4)
def _box_of(keys: tuple[str, ...]) -> MultiFernet:
    """Built once per set of master keys (a rotation is a new set): every webhook and every
    Stripe call unseals a secret, and building the ciphers each time cost more than opening."""
    return MultiFernet([Fernet(key.encode()) for key in keys])


def seal(plaintext: str) -> str:
    return _box().encrypt(plaintext.encode()).decode()


def unseal(sealed: str) -> str:
    """The plaintext; call only at the moment of use and never log the result."""
    try:
        return _box().decrypt(sealed.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable(
            "A stored secret can't be decrypted with the configured master keys. "
            "Restore the old key in NEXTORIA_SECRET_KEYS, or reconnect Stripe."
        ) from None


def is_current(sealed: str) -> bool:
    """Whether ``sealed`` is already under the newest master key."""
    try:
        Fernet(get_settings().master_keys()[0].encode()).decrypt(sealed.encode())
    except InvalidToken:
        return False
    return True


def reseal(sealed: str) -> str:
    """The same secret sealed under the newest master key."""
    try:
        return _box().rotate(sealed.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable(
            "A stored secret can't be decrypted with the configured master keys."
        ) from None


def mask(secret: str) -> str:
    """``sk_test_…4242``: the prefix up to the mode and the last four characters."""
    if not secret:
        return ""
    parts = secret.split("_")
    keep = 2 if len(parts) > 2 and parts[1] in ("test", "live") else 1
    prefix = "_".join(parts[:keep]) + "_" if len(parts) > keep else ""
    return f"{prefix}…{secret[-4:]}"
