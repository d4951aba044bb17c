"""Settings → Branding: a checked, size-limited logo stored as a PNG, and a readable accent."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from sqlmodel import Session

from nextoria_hub.accounts import branding
from nextoria_hub.errors import AccessDenied, ValidationError
from nextoria_hub.tenancy import Actor
from tests.factories import build_tenant


def _image(fmt: str, size: tuple[int, int] = (800, 300)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 60)).save(out, format=fmt)
    return out.getvalue()


def test_logo_is_checked_shrunk_and_stored_as_png(db: Session) -> None:
    acme = build_tenant(db, "acme", "Acme")
    admin = Actor.of(acme.admin)
    shown = branding.set_logo(db, admin, _image("JPEG"))
    assert shown.has_logo and shown.version
    stored = branding.logo_png(db, acme.id)
    assert stored is not None
    with Image.open(io.BytesIO(stored)) as logo:
        assert (logo.format, logo.size) == ("PNG", (512, 192))

    for bad, why in (
        (b"", "Choose an image"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "not an image"),
        (b"GIF89a" + b"\0" * 100, "not an image"),
        (_image("PNG", (2100, 10)), "2048"),
        (b"\x89PNG" + b"\0" * (600 * 1024), "512 KB"),
    ):
        with pytest.raises(ValidationError, match=why):
            branding.set_logo(db, admin, bad)
    with pytest.raises(AccessDenied):
        branding.set_logo(db, Actor.of(acme.member), _image("PNG"))
    assert branding.remove_logo(db, admin).has_logo is False


def test_accent_must_keep_white_text_readable(db: Session) -> None:
    acme = build_tenant(db, "acme", "Acme")
    admin = Actor.of(acme.admin)
    assert branding.set_accent(db, admin, " #1F6FEB ").accent == "#1f6feb"
    for bad in ("blue", "#fff", "#ffd400"):
        with pytest.raises(ValidationError):
            branding.set_accent(db, admin, bad)
    assert branding.set_accent(db, admin, "").accent == ""
    other = build_tenant(db, "globex", "Globex")
    assert branding.get_branding(db, other.id).accent == ""  # one workspace's brand only
