"""Settings → Branding: logo and accent colour for the workspace's Client Portal."""

from __future__ import annotations

import reflex as rx

from nextoria_hub.ui.components.forms import field
from nextoria_hub.ui.components.layout import guarded, page_header
from nextoria_hub.ui.states.branding import BrandingState as B
from nextoria_hub.ui.theme import CARD_STYLE

UPLOAD_ID = "logo-upload"
SR_ONLY = {
    "position": "absolute",
    "width": "1px",
    "height": "1px",
    "overflow": "hidden",
    "clip": "rect(0 0 0 0)",
    "white_space": "nowrap",
}


def branding_page() -> rx.Component:
    return guarded(
        rx.vstack(
            page_header("Branding", "Settings → Branding: what your clients see in their portal"),
            rx.box(
                rx.vstack(
                    rx.heading("Logo", size="4", as_="h2"),
                    rx.cond(
                        B.logo_url != "",
                        rx.image(
                            src=B.logo_url, alt="Your logo", max_height="64px", id="brand-logo"
                        ),
                        rx.text("No logo yet: the portal shows your workspace's name.", size="2"),
                    ),
                    # The label names the dropzone's file input (its first labelable child).
                    rx.el.label(
                        rx.el.span("Logo image", class_name="sr-only", style=SR_ONLY),
                        rx.upload.root(
                            rx.button("Choose image", variant="soft", type="button"),
                            id=UPLOAD_ID,
                            accept={
                                "image/png": [".png"],
                                "image/jpeg": [".jpg", ".jpeg"],
                                "image/webp": [".webp"],
                                "image/gif": [".gif"],
                            },
                            max_files=1,
                            on_drop=B.upload_logo(rx.upload_files(upload_id=UPLOAD_ID)),
                        ),
                    ),
                    rx.text(
                        "PNG, JPEG, WebP or GIF, at most 512 KB and 2048 × 2048 pixels.",
                        size="1",
                        color="var(--gray-11)",
                    ),
                    rx.cond(
                        B.errors.get("logo", "") != "",
                        rx.text(
                            B.errors.get("logo", ""),
                            color="var(--red-11)",
                            size="2",
                            role="alert",
                            id="logo-error",
                        ),
                    ),
                    rx.cond(
                        B.logo_url != "",
                        rx.button(
                            "Remove logo",
                            variant="soft",
                            color_scheme="red",
                            on_click=B.remove_logo,
                        ),
                    ),
                    spacing="3",
                    width="100%",
                ),
                style={**CARD_STYLE, "max_width": "40rem"},
            ),
            rx.box(
                rx.form(
                    rx.vstack(
                        rx.heading("Accent colour", size="4", as_="h2"),
                        field(
                            "Accent colour",
                            "accent",
                            error=B.errors.get("accent", ""),
                            default_value=B.accent,
                            placeholder="#1f6feb",
                            max_length=7,
                        ),
                        rx.text(
                            "Used for Pay Now in your portal; dark enough for white text.",
                            size="1",
                            color="var(--gray-11)",
                        ),
                        rx.button("Save colour", type="submit", loading=B.saving),
                        spacing="3",
                        width="100%",
                    ),
                    on_submit=B.save_accent,
                ),
                style={**CARD_STYLE, "max_width": "40rem"},
            ),
            spacing="5",
            width="100%",
        )
    )
