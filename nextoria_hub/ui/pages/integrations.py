"""Settings → Integrations → Stripe: the seed's set-up steps 1, 2 and 4 on one page."""

from __future__ import annotations

import reflex as rx

from nextoria_hub.ui.components.forms import field, form_error
from nextoria_hub.ui.components.layout import guarded, page_header
from nextoria_hub.ui.states.integrations import IntegrationsState as S
from nextoria_hub.ui.theme import CARD_STYLE


def _card(title: str, *children: rx.Component, **props) -> rx.Component:
    return rx.box(
        rx.vstack(rx.heading(title, size="4"), *children, spacing="3", width="100%"),
        style=CARD_STYLE,
        **props,
    )


def _row(label: str, value: rx.Var | str, **props) -> rx.Component:
    return rx.hstack(
        rx.text(label, size="2", color="var(--gray-11)", min_width="10rem"),
        rx.text(value, size="2", weight="medium", **props),
        width="100%",
        flex_wrap="wrap",
    )


def _mode_picker() -> rx.Component:
    return rx.segmented_control.root(
        rx.segmented_control.item("Test keys", value="test"),
        rx.segmented_control.item("Live keys", value="live"),
        value=S.form_mode,
        on_change=S.set_form_mode,
        id="mode-picker",
    )


def _connected_summary() -> rx.Component:
    status = S.form_mode_status
    return rx.cond(
        status["connected"] != "",
        rx.vstack(
            _row(
                "Account",
                status["account_name"] + " (" + status["account_id"] + ")",
                id="account-name",
            ),
            rx.cond(
                status["connected_account"] != "",
                _row("Connection", status["secret_key_mask"], id="secret-key-mask"),
                rx.vstack(
                    _row("Publishable key", status["publishable_key"]),
                    _row("Secret key", status["secret_key_mask"], id="secret-key-mask"),
                    _row(
                        "Webhook secret",
                        rx.cond(
                            status["webhook_secret_mask"] != "",
                            status["webhook_secret_mask"],
                            "Not set",
                        ),
                    ),
                    spacing="2",
                    width="100%",
                ),
            ),
            _row("Connected", status["connected_at"] + " by " + status["connected_by"]),
            spacing="2",
            width="100%",
        ),
        rx.callout(
            rx.cond(
                S.connect_available & (S.form_mode == S.connect_mode),
                "No " + S.form_mode + " keys yet. Connect your Stripe account or create a new "
                "one with the buttons below, or paste the keys from the Stripe Dashboard "
                "(Developers → API keys).",
                "No " + S.form_mode + " keys yet. In the Stripe Dashboard go to Developers → "
                "API keys, copy the publishable and secret keys, and paste them below.",
            ),
            icon="info",
            width="100%",
        ),
    )


def _connect_with_stripe() -> rx.Component:
    """The one-button paths (Connect OAuth, Connect Onboarding) when the platform is configured,
    on the tab of its key's mode (a test platform key links test-mode accounts only)."""
    return rx.cond(
        S.is_admin & S.connect_available & (S.form_mode != S.connect_mode),
        rx.text(
            "Connect with Stripe and new Stripe accounts are in " + S.connect_mode + " mode on "
            "this server (the mode of its platform key).",
            size="1",
            color="var(--gray-11)",
            id="connect-other-mode",
        ),
        _connect_buttons(),
    )


def _connect_buttons() -> rx.Component:
    return rx.cond(
        S.is_admin & S.connect_available,
        rx.vstack(
            rx.hstack(
                rx.button(
                    rx.cond(
                        S.form_mode_status["connected_account"] != "",
                        "Reconnect with Stripe",
                        "Connect with Stripe",
                    ),
                    on_click=S.connect_with_stripe,
                    id="connect-with-stripe",
                ),
                rx.cond(
                    S.form_mode_status["connected"] == "",
                    rx.button(
                        "Create a new Stripe account",
                        variant="soft",
                        on_click=S.create_stripe_account,
                        id="create-stripe-account",
                    ),
                    rx.cond(
                        (S.form_mode_status["connected_account"] != "")
                        & (S.form_mode_status["details_submitted"] == ""),
                        rx.button(
                            "Continue Stripe account set-up",
                            variant="soft",
                            on_click=S.create_stripe_account,
                            id="create-stripe-account",
                        ),
                    ),
                ),
                align="center",
                spacing="3",
                flex_wrap="wrap",
            ),
            rx.text(
                "Have a Stripe account? Connect it: sign in to Stripe and approve, no key to "
                "copy. New to Stripe? Create an account and give Stripe your business details. "
                "Or paste keys below.",
                size="1",
                color="var(--gray-11)",
            ),
            rx.divider(),
            spacing="3",
            width="100%",
        ),
    )


def _keys_form() -> rx.Component:
    return rx.form(
        rx.vstack(
            field(
                "Publishable key",
                "publishable_key",
                error=S.errors.get("publishable_key", ""),
                placeholder="pk_" + S.form_mode + "_…",
            ),
            field(
                "Secret key",
                "secret_key",
                type_="password",
                error=S.errors.get("secret_key", ""),
                placeholder="sk_" + S.form_mode + "_… or rk_" + S.form_mode + "_…",
                auto_complete="off",
            ),
            rx.accordion.root(
                rx.accordion.item(
                    header="Using a restricted key? It needs these permissions",
                    content=rx.vstack(
                        rx.foreach(S.required_permissions, lambda p: rx.text("• ", p, size="2")),
                        spacing="1",
                    ),
                    value="perms",
                ),
                collapsible=True,
                type="single",
                variant="ghost",
                width="100%",
            ),
            form_error(S.errors.get("form", "")),
            rx.hstack(
                rx.button(
                    rx.cond(S.form_mode_status["connected"] != "", "Save new keys", "Connect"),
                    type="submit",
                    loading=S.saving,
                ),
                rx.text(
                    "Keys are checked with Stripe before anything is saved.",
                    size="1",
                    color="var(--gray-11)",
                ),
                align="center",
                spacing="3",
                flex_wrap="wrap",
            ),
            spacing="3",
            width="100%",
        ),
        on_submit=S.save_keys,
        reset_on_submit=True,
        width="100%",
    )


def _readiness() -> rx.Component:
    status = S.form_mode_status
    return _card(
        "Account readiness",
        rx.cond(
            status["connected"] != "",
            rx.vstack(
                rx.hstack(
                    rx.badge(
                        rx.cond(
                            status["charges_enabled"] != "",
                            "Can take payments",
                            "Cannot take payments yet",
                        ),
                        color_scheme=rx.cond(status["charges_enabled"] != "", "green", "amber"),
                        size="2",
                        id="charges-badge",
                    ),
                    rx.badge(
                        rx.cond(
                            status["details_submitted"] != "",
                            "Details submitted",
                            "Details not submitted",
                        ),
                        color_scheme=rx.cond(status["details_submitted"] != "", "green", "amber"),
                        size="2",
                    ),
                    flex_wrap="wrap",
                ),
                rx.cond(
                    status["charges_enabled"] == "",
                    rx.callout(
                        rx.cond(
                            (status["connected_account"] != "")
                            & (status["details_submitted"] == ""),
                            "Stripe does not have your business details yet, so this account "
                            "can't take payments. Click Continue Stripe account set-up above.",
                            "Stripe's identity verification is unfinished, so this account "
                            "can't take payments yet. Finish it in the Stripe Dashboard under "
                            "Settings → Business details.",
                        ),
                        icon="triangle_alert",
                        color_scheme="amber",
                        width="100%",
                    ),
                ),
                rx.cond(
                    status["requirements_due"] != "",
                    _row("Requirements due", status["requirements_due"]),
                ),
                rx.text(
                    "ACH Direct Debit additionally needs Stripe's business verification.",
                    size="1",
                    color="var(--gray-11)",
                ),
                spacing="3",
                width="100%",
            ),
            rx.text(
                "Connect keys to see whether the account can take payments.",
                size="2",
                color="var(--gray-11)",
            ),
        ),
    )


def _webhook() -> rx.Component:
    return _card(
        "Webhook",
        rx.cond(
            S.form_mode_status["connected_account"] != "",
            rx.text(
                "This account is connected with Stripe Connect: Stripe sends its events to the "
                "platform's one Connect webhook, which Nextoria Hub runs for every connected "
                "workspace. Nothing to register or paste here.",
                size="2",
                id="connect-webhook-note",
            ),
            _own_webhook(),
        ),
    )


def _own_webhook() -> rx.Component:
    return rx.vstack(
        rx.text("Stripe tells Nextoria Hub about payments through this endpoint:", size="2"),
        rx.hstack(
            rx.code(
                S.webhook_endpoint_url,
                id="webhook-url",
                size="3",
                style={"word_break": "break-all"},
            ),
            rx.icon_button(
                rx.icon("copy", size=14),
                variant="soft",
                size="1",
                aria_label="Copy endpoint URL",
                on_click=[
                    rx.set_clipboard(S.webhook_endpoint_url),
                    rx.toast.info("Endpoint URL copied."),
                ],
            ),
            align="center",
            flex_wrap="wrap",
        ),
        rx.text(
            "Select these events (the product page's four, and those Nextoria Hub needs for "
            "Checkout, Autopay, refunds, bank debits and disputes):",
            size="2",
        ),
        rx.vstack(
            rx.foreach(
                S.webhook_events,
                lambda e: rx.flex(
                    rx.badge(e["event"], variant="surface", style={"flex_shrink": "0"}),
                    rx.text(e["reason"], size="1", color="var(--gray-11)"),
                    gap="2",
                    align="center",
                    wrap="wrap",
                ),
            ),
            spacing="1",
            width="100%",
            id="webhook-events",
        ),
        rx.cond(
            S.is_admin,
            rx.vstack(
                rx.hstack(
                    rx.button(
                        rx.icon("zap", size=14),
                        "Register webhook automatically",
                        on_click=S.register_webhook,
                        disabled=S.form_mode_status["connected"] == "",
                    ),
                    rx.text(
                        "Creates the endpoint in Stripe with these events and stores its secret. Again: updates "
                        "it, or replaces it when Stripe's deliveries are refused.",
                        size="1",
                        color="var(--gray-11)",
                    ),
                    align="center",
                    spacing="3",
                    flex_wrap="wrap",
                ),
                form_error(S.errors.get("webhook", "")),
                rx.form(
                    rx.hstack(
                        rx.box(
                            field(
                                "Webhook secret",
                                "signing_secret",
                                type_="password",
                                placeholder="whsec_…",
                                error=S.errors.get("signing_secret", ""),
                                auto_complete="off",
                            ),
                            flex="1",
                        ),
                        rx.button(
                            "Save secret",
                            type="submit",
                            variant="soft",
                            disabled=S.form_mode_status["connected"] == "",
                        ),
                        align="end",
                        width="100%",
                    ),
                    on_submit=S.save_webhook_secret,
                    reset_on_submit=True,
                    width="100%",
                ),
                width="100%",
            ),
        ),
        spacing="3",
        width="100%",
    )


def _not_applied_list() -> rx.Component:
    return rx.vstack(
        rx.foreach(
            S.not_applied,
            lambda e: rx.box(
                rx.flex(
                    rx.badge(e["outcome"], color_scheme="amber"),
                    rx.code(e["type"], size="1"),
                    rx.text(e["received"], size="1", color="var(--gray-11)"),
                    gap="2",
                    wrap="wrap",
                    align="center",
                ),
                rx.text(e["event_id"], size="1", style={"word_break": "break-all"}),
                rx.text(e["detail"], size="1", color="var(--gray-11)"),
                width="100%",
                padding_y="0.4rem",
                border_top="1px solid var(--gray-4)",
            ),
        ),
        spacing="0",
        width="100%",
        id="not-applied",
    )


def _health() -> rx.Component:
    return _card(
        "Connection health",
        _row("Last webhook received", S.health.get("last_received", "Never")),
        _row("Last event type", S.health.get("last_type", "")),
        _row("Last verified delivery", S.health.get("last_success", "Never")),
        _row("Last signature failure", S.health.get("last_signature_failure", "Never")),
        rx.cond(
            (S.health.get("refused", "") != "") & ~S.checked,  # once checked, Problems says it
            rx.callout(
                "Stripe's deliveries are being refused: the webhook secret does not match the "
                "endpoint's. Click Register webhook automatically.",
                icon="octagon_x",
                color_scheme="red",
                width="100%",
                id="deliveries-refused",
            ),
        ),
        rx.hstack(
            rx.text(
                "Events received but not applied",
                size="2",
                color="var(--gray-11)",
                min_width="10rem",
            ),
            rx.text(S.health.get("not_applied", "0"), size="2", weight="medium"),
            rx.cond(
                S.health.get("not_applied", "0") != "0",
                rx.link(
                    rx.cond(S.show_not_applied, "Hide", "See which"),
                    on_click=S.toggle_not_applied,
                    size="2",
                    id="see-not-applied",
                    href="#not-applied",
                ),
            ),
            width="100%",
            flex_wrap="wrap",
        ),
        rx.cond(S.show_not_applied, _not_applied_list()),
        _row("Waiting to be applied", S.health.get("inbox_depth", "0")),
        _row("Oldest waiting", S.health.get("oldest_unapplied", "—")),
        _row("Failed after every retry", S.health.get("failed", "0")),
        _row("Last failure", S.health.get("last_failure", "—")),
        _row("Last event applied", S.health.get("last_applied", "Never")),
        _row(
            "Signed events about payments Stripe doesn't know",
            S.health.get("unknown_to_stripe", "0"),
        ),
        rx.cond(
            S.is_admin,
            rx.button(
                rx.icon("refresh-cw", size=14), "Check connection", variant="soft", on_click=S.check
            ),
        ),
        rx.cond(
            S.checked,
            rx.cond(
                S.problems.length() > 0,
                rx.vstack(
                    rx.foreach(
                        S.problems,
                        lambda p: rx.callout(p, icon="octagon_x", color_scheme="red", width="100%"),
                    ),
                    width="100%",
                    id="problems",
                ),
                rx.callout(
                    "Everything checks out: keys valid, account ready, webhook registered.",
                    icon="circle_check",
                    color_scheme="green",
                    width="100%",
                    id="problems",
                ),
            ),
        ),
    )


def _mode_in_use() -> rx.Component:
    return _card(
        "Mode in use",
        rx.text(
            "Payments and autopay use the ",
            rx.text.strong(S.active_mode),
            " keys. Test and live data are kept apart: "
            "switching never shows or uses the other mode's customers, cards or payments.",
            size="2",
        ),
        rx.cond(
            S.mode_warning != "",
            rx.callout(
                S.mode_warning,
                icon="triangle_alert",
                color_scheme="red",
                width="100%",
                id="mode-warning",
            ),
        ),
        rx.cond(
            S.is_admin,
            rx.hstack(
                rx.button(
                    "Use test mode",
                    variant=rx.cond(S.active_mode == "test", "solid", "soft"),
                    on_click=S.use_mode("test"),
                ),
                rx.button(
                    "Use live mode",
                    variant=rx.cond(S.active_mode == "live", "solid", "soft"),
                    on_click=S.use_mode("live"),
                ),
            ),
        ),
    )


def _disconnect() -> rx.Component:
    return rx.cond(
        S.is_admin & (S.form_mode_status["connected"] != ""),
        rx.alert_dialog.root(
            rx.alert_dialog.trigger(
                rx.button(
                    rx.cond(
                        S.form_mode_status["connected_account"] != "",
                        "Disconnect " + S.form_mode + " Stripe account",
                        "Disconnect " + S.form_mode + " keys",
                    ),
                    color_scheme="red",
                    variant="soft",
                )
            ),
            rx.alert_dialog.content(
                rx.alert_dialog.title("Disconnect Stripe (" + S.form_mode + ")?"),
                rx.alert_dialog.description(
                    "The keys and webhook secret are deleted. Pay Now and autopay stop until you connect again. "
                    "Invoices and payment history stay."
                ),
                rx.hstack(
                    rx.alert_dialog.cancel(
                        rx.button("Cancel", variant="soft", color_scheme="gray")
                    ),
                    rx.alert_dialog.action(
                        rx.button("Disconnect", color_scheme="red", on_click=S.disconnect)
                    ),
                    justify="end",
                    spacing="3",
                    margin_top="1rem",
                ),
            ),
        ),
    )


def integrations_page() -> rx.Component:
    return guarded(
        rx.vstack(
            page_header(
                "Stripe",
                "Settings → Integrations: collect payments with your own Stripe account",
                rx.badge(
                    rx.cond(S.any_connected, "Connected", "Not connected"),
                    color_scheme=rx.cond(S.any_connected, "green", "gray"),
                    size="2",
                ),
            ),
            _card(
                "API keys",
                _mode_picker(),
                _connected_summary(),
                _connect_with_stripe(),
                rx.cond(
                    S.is_admin,
                    _keys_form(),
                    rx.text(
                        "Only admins can change the connection.", size="2", color="var(--gray-11)"
                    ),
                ),
                _disconnect(),
            ),
            rx.grid(
                _mode_in_use(),
                _readiness(),
                columns=rx.breakpoints(initial="1", md="2"),
                spacing="4",
                width="100%",
            ),
            _webhook(),
            _health(),
            spacing="4",
            width="100%",
        )
    )
