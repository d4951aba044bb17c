"""Apex sign-up, workspace sign-in, the sign-in link landing, and invitation acceptance."""

from __future__ import annotations

import reflex as rx

from nextoria_hub.ui.components.forms import field, form_error, submit_button
from nextoria_hub.ui.components.layout import (
    brand,
    brand_accent,
    loading_page,
    message_page,
    no_workspace_page,
    workspace_mark,
)
from nextoria_hub.ui.states.login import InviteState, LoginState, WelcomeState
from nextoria_hub.ui.states.session import AppState
from nextoria_hub.ui.states.signup import SignupState
from nextoria_hub.ui.theme import CARD_STYLE, PAGE_BG


def _card_page(
    *children: rx.Component, width: str = "26rem", header: rx.Component | None = None
) -> rx.Component:
    return rx.center(
        rx.vstack(
            header if header is not None else brand(),
            rx.box(rx.vstack(*children, spacing="4", width="100%"), style=CARD_STYLE),
            align="center",
            spacing="5",
            width="100%",
            max_width=width,
        ),
        min_height="100vh",
        padding="1rem",
        background=PAGE_BG,
    )


def _err(state: type[SignupState] | type[InviteState], name: str) -> rx.Var:
    return state.errors.get(name, "")


def signup_form() -> rx.Component:
    return _card_page(
        rx.heading("Create your workspace", size="6"),
        rx.text(
            "Get paid by your clients through Stripe, on your own Client Portal.",
            color="var(--gray-11)",
            size="2",
        ),
        rx.form(
            rx.vstack(
                field(
                    "Agency name",
                    "name",
                    error=_err(SignupState, "name"),
                    value=SignupState.agency_name,
                    on_change=SignupState.set_agency_name,
                    placeholder="Acme Creative",
                ),
                field(
                    "Workspace address",
                    "slug",
                    error=_err(SignupState, "slug"),
                    # Uncontrolled: what is typed stays; the suggestion is only the placeholder.
                    on_change=SignupState.set_slug,
                    placeholder=rx.cond(
                        SignupState.suggested_slug != "", SignupState.suggested_slug, "acme"
                    ),
                    hint=rx.text(
                        "Your workspace will live at ",
                        rx.code(SignupState.address_preview, id="slug-preview"),
                    ),
                ),
                field("Your name", "admin_name", error=_err(SignupState, "admin_name")),
                field("Email", "email", type_="email", error=_err(SignupState, "email")),
                field(
                    "Password",
                    "password",
                    type_="password",
                    error=_err(SignupState, "password"),
                    hint="At least 12 characters; avoid common words and sequences.",
                ),
                form_error(_err(SignupState, "form")),
                submit_button("Create workspace"),
                spacing="4",
                width="100%",
            ),
            on_submit=SignupState.submit,
            width="100%",
        ),
        width="30rem",
    )


def index() -> rx.Component:
    """``/``: the sign-up page on the apex; on a workspace, home by role."""
    return rx.match(
        AppState.host_kind,
        ("apex", signup_form()),
        ("unknown", no_workspace_page()),
        loading_page(),
    )


def login() -> rx.Component:
    form = _card_page(
        rx.heading("Sign in", size="6"),
        rx.text("to ", rx.text.strong(AppState.workspace_name), color="var(--gray-11)", size="2"),
        rx.form(
            rx.vstack(
                field("Email", "email", type_="email", auto_complete="username"),
                field("Password", "password", type_="password", auto_complete="current-password"),
                form_error(LoginState.error),
                rx.cond(
                    LoginState.throttle_note != "",
                    rx.callout(
                        LoginState.throttle_note,
                        icon="clock",
                        color_scheme="amber",
                        role="alert",
                        id="login-throttle-note",
                        width="100%",
                    ),
                ),
                submit_button("Sign in", background=brand_accent()),
                spacing="4",
                width="100%",
            ),
            on_submit=LoginState.submit,
            reset_on_submit=False,
            width="100%",
        ),
        header=workspace_mark(),
    )
    return rx.match(
        AppState.host_kind,
        ("workspace", form),
        ("apex", no_workspace_page()),
        ("unknown", no_workspace_page()),
        loading_page(),
    )


def welcome() -> rx.Component:
    return rx.match(
        AppState.host_kind,
        ("unknown", no_workspace_page()),
        rx.cond(
            WelcomeState.problem != "",
            message_page("Sign-in link expired", WelcomeState.problem, link=("Sign in", "/login")),
            loading_page(),
        ),
    )


def invite() -> rx.Component:
    form = _card_page(
        rx.heading("Join ", AppState.workspace_name, size="6"),
        rx.text(
            "You were invited as ",
            rx.text.strong(InviteState.invite_role),
            " with ",
            rx.text.strong(InviteState.invite_email),
            ". Choose your password to finish.",
            size="2",
            color="var(--gray-11)",
        ),
        rx.form(
            rx.vstack(
                field(
                    "Your name",
                    "name",
                    error=_err(InviteState, "name"),
                    default_value=InviteState.invite_name,
                    key=InviteState.invite_name,  # filled in once the invitation has loaded
                ),
                field(
                    "Password",
                    "password",
                    type_="password",
                    error=_err(InviteState, "password"),
                    hint="At least 12 characters.",
                    auto_complete="new-password",
                ),
                form_error(_err(InviteState, "form")),
                submit_button("Join workspace", background=brand_accent()),
                spacing="4",
                width="100%",
            ),
            on_submit=InviteState.accept,
            width="100%",
        ),
        header=workspace_mark(),
    )
    return rx.match(
        AppState.host_kind,
        ("unknown", no_workspace_page()),
        ("apex", no_workspace_page()),
        ("loading", loading_page()),
        rx.cond(
            InviteState.problem != "",
            message_page("Invitation not valid", InviteState.problem, link=("Sign in", "/login")),
            form,
        ),
    )
