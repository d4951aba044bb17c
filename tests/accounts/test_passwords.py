"""Password hashing and the strength rules a new password must meet."""

from __future__ import annotations

import pytest

from nextoria_hub.accounts.passwords import (
    MIN_LENGTH,
    check_password_strength,
    hash_password,
    verify_password,
)
from nextoria_hub.errors import ValidationError
from tests.factories import PASSWORD, quick_hash


@pytest.fixture(scope="module")
def real_hash() -> str:
    return hash_password(PASSWORD)


def test_hash_is_argon2id_and_salted(real_hash: str) -> None:
    assert real_hash.startswith("$argon2id$")
    assert PASSWORD not in real_hash
    assert hash_password(PASSWORD) != real_hash  # a fresh salt every time


def test_verify_accepts_the_right_password(real_hash: str) -> None:
    assert verify_password(real_hash, PASSWORD) is True


@pytest.mark.parametrize(
    "attempt", ["", "a-strong-passphrase-43", PASSWORD.upper(), PASSWORD + " "]
)
def test_verify_refuses_a_wrong_password(attempt: str) -> None:
    assert verify_password(quick_hash(), attempt) is False


@pytest.mark.parametrize(
    "stored", ["", "garbage", "$argon2id$v=19$m=65536,t=3,p=4$broken", "$2b$12$notargon"]
)
def test_verify_of_a_garbage_hash_is_false_not_an_error(stored: str) -> None:
    assert verify_password(stored, PASSWORD) is False


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short-pw-1!", f"at least {MIN_LENGTH} characters"),
        ("", f"at least {MIN_LENGTH} characters"),
        ("passwordpassword", "too common"),
        ("Password12345678", "too common"),
        ("qwertyuiop123", "too common"),
        ("123456789012", "too common"),
        ("abcdefghijklmnop", "simple sequence"),
        ("ponmlkjihgfedcba", "simple sequence"),
        ("qwertyuiopasdf", "simple sequence"),
        ("aaaaaaaaaaaaaaaa", "too easy"),
        ("abababababababab", "too easy"),
        ("121212121212", "too easy"),
    ],
)
def test_weak_passwords_are_refused(password: str, message: str) -> None:
    with pytest.raises(ValidationError) as err:
        check_password_strength(password)
    assert message in err.value.message
    assert err.value.field == "password"


def test_password_based_on_the_email_is_refused() -> None:
    with pytest.raises(ValidationError) as err:
        check_password_strength("Jonathan2024!", email="jonathan@agency.com")
    assert "email" in err.value.message
    # … but a long passphrase that happens to contain it is fine
    check_password_strength("jonathan-likes-green-tea", email="jonathan@agency.com")


def test_field_name_is_passed_through() -> None:
    with pytest.raises(ValidationError) as err:
        check_password_strength("short", field="new_password")
    assert err.value.field == "new_password"


@pytest.mark.parametrize(
    "password",
    [PASSWORD, "correct horse battery staple", "Tr0ub4dor&3-Zebra", "x7#Lm9!qR2$vT5"],
)
def test_strong_passwords_are_accepted(password: str) -> None:
    check_password_strength(password, email="someone@agency.com")
