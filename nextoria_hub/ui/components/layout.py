"""Page frames: the admin shell, the Client Portal shell, and messages shown instead of a page."""

from __future__ import annotations

import reflex as rx

from nextoria_hub.ui.states.session import AppState
from nextoria_hub.ui.theme import CARD_STYLE, PAGE_BG

# (label, path, icon, admin only)
STAFF_NAV = [
    ("Dashboard", "/dashboard", "layout-dashboard", False),
    ("Clients", "/clients", "users", False),
    ("Invoices", "/invoices", "file-text", False),
    ("Payments", "/payments", "credit-card", False),
    ("Emails", "/emails", "mail", True),
]
SETTINGS_NAV = [
    ("Integrations", "/settings/integrations", "plug", False),
    ("Finance", "/settings/finance", "landmark", True),
    ("Team", "/settings/team", "user-cog", False),
    ("Workspace", "/settings/workspace", "globe", True),
    ("Branding", "/settings/branding", "palette", True),
    ("Audit log", "/settings/audit", "history", True),
]
PORTAL_NAV = [
    ("Invoices", "/portal", "file-text"),
    ("Payment methods", "/portal/payment-methods", "credit-card"),
    ("Profile", "/portal/profile", "user-round"),
]


def brand() -> rx.Component:
    return rx.hstack(
        rx.box(
            rx.icon("hexagon", size=18, color="white"),
            background="var(--accent-9)",
            border_radius="8px",
            padding="5px",
            display="flex",
        ),
        rx.text("Nextoria Hub", weight="bold", size="4"),
        align="center",
        spacing="2",
    )


def workspace_mark() -> rx.Component:
    """The agency's logo where it set one (sign-in, join, Client Portal), else the product's."""
    return rx.cond(
        AppState.brand_logo != "",
        rx.image(
            src=AppState.brand_logo,
            alt=AppState.workspace_name + " logo",
            max_height="44px",
            max_width="min(220px, 100%)",
            object_fit="contain",
            class_name="agency-logo",
        ),
        brand(),
    )


def brand_accent() -> rx.Var:
    """The agency's accent for its buttons (checked dark enough for white text), else the theme's."""
    return rx.cond(AppState.brand_accent != "", AppState.brand_accent, "var(--accent-9)")


def test_mode_badge() -> rx.Component:
    return rx.cond(
        AppState.test_mode,
        rx.tooltip(
            rx.badge(
                rx.icon("flask-conical", size=12),
                "Test mode",
                color_scheme="amber",
                variant="solid",
                class_name="test-mode-badge",
            ),
            content="Stripe test keys are in use: no real money moves.",
        ),
        rx.cond(
            AppState.live_mode & AppState.is_staff,
            rx.tooltip(
                rx.badge(
                    rx.icon("zap", size=12),
                    "Live mode",
                    color_scheme="green",
                    variant="soft",
                    class_name="live-mode-badge",
                ),
                content="Stripe live keys are in use: payments move real money.",
            ),
        ),
    )


def _nav_link(label: str, href: str, icon: str) -> rx.Component:
    active = AppState.router.page.path == href
    return rx.link(
        rx.hstack(rx.icon(icon, size=16), rx.text(label, size="2"), align="center", spacing="2"),
        href=href,
        underline="none",
        padding="6px 10px",
        border_radius="var(--radius-2)",
        width="100%",
        color=rx.cond(active, "var(--accent-11)", "var(--gray-12)"),
        background=rx.cond(active, "var(--accent-a3)", "transparent"),
        _hover={"background": "var(--gray-a3)"},
    )


def _staff_link(label: str, href: str, icon: str, admin_only: bool) -> rx.Component:
    link = _nav_link(label, href, icon)
    return rx.cond(AppState.is_admin, link) if admin_only else link


def user_menu() -> rx.Component:
    return rx.hstack(
        rx.avatar(fallback=AppState.user_initials, size="2", radius="full"),
        rx.vstack(
            rx.text(AppState.user_name, size="2", weight="medium", id="signed-in-user"),
            rx.text(AppState.user_role, size="1", color="var(--gray-11)"),
            spacing="0",
        ),
        rx.spacer(),
        rx.button(
            rx.icon("log-out", size=14),
            "Sign out",
            variant="ghost",
            size="1",
            on_click=AppState.sign_out,
        ),
        align="center",
        width="100%",
    )


def sidebar(portal: bool) -> rx.Component:
    if portal:
        links = [_nav_link(label, href, icon) for label, href, icon in PORTAL_NAV]
    else:
        links = [_staff_link(*item) for item in STAFF_NAV]
        links.append(
            rx.text("Settings", size="1", weight="bold", color="var(--gray-11)", padding_top="12px")
        )
        links += [_staff_link(*item) for item in SETTINGS_NAV]
    return rx.vstack(
        workspace_mark() if portal else brand(),
        rx.text(AppState.workspace_name, size="2", color="var(--gray-11)", id="workspace-name"),
        rx.hstack(
            rx.badge("Client Portal", variant="soft") if portal else rx.fragment(),
            test_mode_badge(),
            spacing="2",
        ),
        rx.divider(),
        *links,
        rx.spacer(),
        user_menu(),
        spacing="1",
        height="100%",
        width="100%",
        align="stretch",
    )


def _mobile_nav(portal: bool) -> rx.Component:
    return rx.box(
        rx.hstack(
            workspace_mark() if portal else brand(),
            test_mode_badge(),
            rx.spacer(),
            rx.drawer.root(
                rx.drawer.trigger(
                    rx.icon_button(rx.icon("menu"), variant="soft", aria_label="Menu")
                ),
                rx.drawer.overlay(z_index="5"),
                rx.drawer.portal(
                    rx.drawer.content(
                        rx.box(sidebar(portal), padding="1rem", height="100%"),
                        background="var(--color-panel-solid)",
                        width="17rem",
                        height="100%",
                        top="0",
                        left="0",
                    )
                ),
                direction="left",
            ),
            align="center",
            width="100%",
        ),
        display=["flex", "flex", "none"],
        padding="0.75rem 1rem",
        border_bottom="1px solid var(--gray-a5)",
        background="var(--color-panel-solid)",
        width="100%",
    )


def message_page(
    title: str, body: str, *, link: tuple[str, str | rx.Var] | None = None, icon: str = "info"
) -> rx.Component:
    """A centred card that stands in for a page (no access, no workspace, not found)."""
    return rx.center(
        rx.vstack(
            brand(),
            rx.box(
                rx.vstack(
                    rx.icon(icon, size=28, color="var(--accent-9)"),
                    rx.heading(title, size="5"),
                    rx.text(body, color="var(--gray-11)", text_align="center"),
                    rx.link(link[0], href=link[1]) if link else rx.fragment(),
                    align="center",
                    spacing="3",
                ),
                style=CARD_STYLE,
                max_width="28rem",
            ),
            align="center",
            spacing="5",
            padding="1rem",
            width="100%",
        ),
        min_height="100vh",
        background=PAGE_BG,
    )


def no_workspace_page() -> rx.Component:
    return message_page(
        "No workspace at this address",
        "Check the address, or create a new workspace for your agency.",
        link=("Go to Nextoria Hub", AppState.apex_url),
        icon="search-x",
    )


def no_access_page() -> rx.Component:
    return message_page(
        "You don't have access",
        "This page is for other people in this workspace. "
        "Ask an admin if you think you should see it.",
        link=("Go to your home page", "/"),
        icon="lock",
    )


def loading_page() -> rx.Component:
    return rx.center(rx.spinner(size="3"), min_height="100vh", background=PAGE_BG)


def _frame(content: rx.Component, portal: bool) -> rx.Component:
    return rx.box(
        _mobile_nav(portal),
        rx.hstack(
            rx.box(
                sidebar(portal),
                display=["none", "none", "block"],
                width="15rem",
                min_width="15rem",
                height="100vh",
                position="sticky",
                top="0",
                padding="1rem",
                border_right="1px solid var(--gray-a5)",
                background="var(--color-panel-solid)",
            ),
            rx.box(
                content,
                flex="1",
                min_width="0",
                padding=["1rem", "1.5rem", "2rem"],
                max_width="72rem",
            ),
            align="start",
            spacing="0",
            width="100%",
        ),
        background=PAGE_BG,
        min_height="100vh",
        width="100%",
    )


def guarded(content: rx.Component, *, portal: bool = False) -> rx.Component:
    """Render ``content`` inside the right shell only once the guard said yes."""
    return rx.match(
        AppState.host_kind,
        ("unknown", no_workspace_page()),
        ("apex", no_workspace_page()),
        ("loading", loading_page()),
        rx.match(
            AppState.access,
            ("ok", _frame(content, portal)),
            ("forbidden", no_access_page()),
            loading_page(),
        ),
    )


def page_header(
    title: str | rx.Var, subtitle: str | rx.Var = "", *actions: rx.Component
) -> rx.Component:
    return rx.hstack(
        rx.vstack(
            rx.heading(title, size="6"),
            rx.text(subtitle, color="var(--gray-11)", size="2")
            if isinstance(subtitle, rx.Var) or subtitle
            else rx.fragment(),
            spacing="1",
        ),
        rx.spacer(),
        *actions,
        align="center",
        width="100%",
        margin_bottom="1.5rem",
        flex_wrap="wrap",
        gap="0.75rem",
    )


def empty_state(icon: str, title: str, body: str) -> rx.Component:
    return rx.center(
        rx.vstack(
            rx.icon(icon, size=32, color="var(--gray-9)"),
            rx.text(title, weight="medium", size="4"),
            rx.text(body, color="var(--gray-11)", size="2", text_align="center", max_width="26rem"),
            align="center",
            spacing="2",
        ),
        style=CARD_STYLE,
        padding="3rem 1.5rem",
    )
