"""Password hashing (argon2id) and the rules a new password must meet."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from nextoria_hub.errors import ValidationError

MIN_LENGTH = 12
_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters

# Refused outright: the usual first guesses, checked after lowercasing and dropping digits/symbols.
_COMMON = {
    "password",
    "passwordpassword",
    "qwerty",
    "qwertyuiop",
    "letmein",
    "welcome",
    "admin",
    "administrator",
    "iloveyou",
    "monkey",
    "dragon",
    "football",
    "baseball",
    "sunshine",
    "princess",
    "trustno",
    "abc",
    "abcdef",
    "abcdefgh",
    "changeme",
    "secret",
    "login",
    "master",
    "starwars",
    "whatever",
    "nextoria",
    "nextoriahub",
    "asdfghjkl",
    "zxcvbnm",
}


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return bool(password_hash) and _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# A hash to verify against when the email is unknown, so both paths take the same time.
DUMMY_HASH = _hasher.hash("not-a-real-password-but-same-cost")


def check_password_strength(password: str, *, email: str = "", field: str = "password") -> None:
    """Raise ValidationError unless the password is long and not an obvious guess."""
    if len(password) < MIN_LENGTH:
        raise ValidationError(f"Use at least {MIN_LENGTH} characters.", field)
    lowered = password.lower()
    letters = "".join(ch for ch in lowered if ch.isalpha())
    if len(set(lowered)) <= 3:
        raise ValidationError(
            "This password is too easy to guess: use more varied characters.", field
        )
    if lowered.isdigit() or letters in _COMMON or lowered in _COMMON:
        raise ValidationError(
            "This password is too common: choose something less guessable.", field
        )
    if _is_sequence(lowered):
        raise ValidationError(
            "This password is a simple sequence: choose something less guessable.", field
        )
    local = email.split("@", 1)[0].lower()
    if local and len(local) >= 4 and local in lowered and len(lowered) - len(local) < 6:
        raise ValidationError("Don't base your password on your email address.", field)


def _is_sequence(text: str) -> bool:
    rows = (
        "abcdefghijklmnopqrstuvwxyz",
        "0123456789012345678901234567890",
        "qwertyuiopasdfghjklzxcvbnm",
    )
    return any(text in row * 2 or text[::-1] in row * 2 for row in rows)
