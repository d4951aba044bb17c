"""A workspace's brand in its Client Portal: logo and accent colour (Settings → Branding).

The logo is untrusted input shown to other people, so it is opened with Pillow, limited in
bytes and pixels, and stored re-encoded as a PNG (no metadata, no polyglot survives). The
accent must keep white button text readable (WCAG AA, 4.5:1).
"""

from __future__ import annotations

import io
import re
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError
from sqlmodel import Session, col, select

from nextoria_hub.audit import record_audit
from nextoria_hub.clock import utcnow
from nextoria_hub.errors import ValidationError
from nextoria_hub.models.client_profile import WorkspaceBranding
from nextoria_hub.tenancy import Actor

MAX_LOGO_BYTES = 512 * 1024
MAX_LOGO_PIXELS = 2048
LOGO_BOX = 512  # stored at most this wide and high
FORMATS = {"PNG", "JPEG", "WEBP", "GIF"}
HEX = re.compile(r"#[0-9a-fA-F]{6}")
LOGO_PATH = "/api/branding/logo.png"  # served on the workspace's own host (api/branding.py)


@dataclass(frozen=True)
class Branding:
    accent: str  # "#rrggbb" or ""
    has_logo: bool
    version: str  # changes with the logo, for cache-busting its URL


def _row(db: Session, workspace_id: int) -> WorkspaceBranding | None:
    return db.exec(
        select(WorkspaceBranding).where(WorkspaceBranding.workspace_id == workspace_id)
    ).first()


def get_branding(db: Session, workspace_id: int) -> Branding:
    """What the portal of this workspace shows (anyone on its host may see its brand).

    Every portal and sign-in page asks, so the logo's bytes are not read, only whether it is set.
    """
    row = db.exec(
        select(
            WorkspaceBranding.accent,
            col(WorkspaceBranding.logo_png).is_not(None),
            WorkspaceBranding.updated_at,
        ).where(WorkspaceBranding.workspace_id == workspace_id)
    ).first()
    if row is None:
        return Branding("", False, "")
    accent, has_logo, updated_at = row
    return Branding(accent, bool(has_logo), str(int(updated_at.timestamp())))


def logo_url(brand: Branding) -> str:
    """The logo's path on the workspace's host, versioned so a new logo is not cached, or ''."""
    return f"{LOGO_PATH}?v={brand.version}" if brand.has_logo else ""


def logo_png(db: Session, workspace_id: int) -> bytes | None:
    row = _row(db, workspace_id)
    return row.logo_png if row is not None else None


def _luminance(hex_colour: str) -> float:
    def channel(c: int) -> float:
        v = c / 255
        return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4

    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast_with_white(hex_colour: str) -> float:
    return 1.05 / (_luminance(hex_colour) + 0.05)


def clean_logo(data: bytes) -> bytes:
    """The image as a PNG no larger than LOGO_BOX, or a ValidationError saying why not."""
    if not data:
        raise ValidationError("Choose an image file.", "logo")
    if len(data) > MAX_LOGO_BYTES:
        raise ValidationError("The logo must be at most 512 KB.", "logo")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                kind, (width, height) = probe.format, probe.size
                probe.verify()
            if kind not in FORMATS:
                raise ValidationError("Use a PNG, JPEG, WebP or GIF image.", "logo")
            if width > MAX_LOGO_PIXELS or height > MAX_LOGO_PIXELS:
                raise ValidationError("The logo must be at most 2048 × 2048 pixels.", "logo")
            with Image.open(io.BytesIO(data)) as image:
                image.seek(0)
                image = image.convert("RGBA")
                image.thumbnail((LOGO_BOX, LOGO_BOX))
                out = io.BytesIO()
                image.save(out, format="PNG", optimize=True)
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ):
        raise ValidationError("This file is not an image we can read.", "logo") from None
    return out.getvalue()


def _own_row(db: Session, actor: Actor) -> WorkspaceBranding:
    actor.require_admin()
    row = _row(db, actor.workspace_id)
    return row or WorkspaceBranding(workspace_id=actor.workspace_id)


def set_logo(db: Session, actor: Actor, data: bytes) -> Branding:
    png = clean_logo(data)
    row = _own_row(db, actor)
    row.logo_png, row.updated_at = png, utcnow()
    db.add(row)
    record_audit(db, actor, "workspace.branding", f"logo set ({len(png)} bytes)")
    db.flush()
    return get_branding(db, actor.workspace_id)


def remove_logo(db: Session, actor: Actor) -> Branding:
    row = _own_row(db, actor)
    row.logo_png, row.updated_at = None, utcnow()
    db.add(row)
    record_audit(db, actor, "workspace.branding", "logo removed")
    db.flush()
    return get_branding(db, actor.workspace_id)


def set_accent(db: Session, actor: Actor, accent: str) -> Branding:
    """``#rrggbb`` (or '' for the product's own) dark enough for white text on it."""
    accent = accent.strip().lower()
    if accent and not HEX.fullmatch(accent):
        raise ValidationError("Use a colour like #1f6feb.", "accent")
    if accent and contrast_with_white(accent) < 4.5:
        raise ValidationError(
            "Too light: white button text on it would be hard to read. Pick a darker shade.",
            "accent",
        )
    row = _own_row(db, actor)
    row.accent, row.updated_at = accent, utcnow()
    db.add(row)
    record_audit(db, actor, "workspace.branding", f"accent {accent or 'default'}")
    db.flush()
    return get_branding(db, actor.workspace_id)
