"""Settings → Integrations → Stripe. Only masks ever reach these vars, never a secret."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import reflex as rx

from nextoria_hub.errors import (
    AccessDenied,
    NotSignedIn,
    ValidationError,
)
from nextoria_hub.models import Workspace
from nextoria_hub.payments import stripe_connect, stripe_onboarding
from nextoria_hub.payments import stripe_connection as conn
from nextoria_hub.stripe_gateway import RESTRICTED_KEY_PERMISSIONS
from nextoria_hub.ui.states.session import AppState
from nextoria_hub.webhooks_health import not_applied_events, webhook_health

PERMISSION_LINES = [
    f"{resource}: {access}" for resource, access, _m, _p in RESTRICTED_KEY_PERMISSIONS
]


def _shorten(key: str) -> str:
    """Publishable keys are not secret, but 100+ characters don't fit a page."""
    return key if len(key) <= 24 else f"{key[:14]}…{key[-6:]}"


# Errors shown next to a field on this page; any other error is a toast (never both).
_INLINE_FIELDS = (
    "publishable_key",
    "secret_key",
    "signing_secret",
    "webhook_secret",
    "form",
    "webhook",
)


class IntegrationsState(AppState):
    active_mode: str = "test"
    form_mode: str = "test"
    modes: list[dict[str, str]] = []
    errors: dict[str, str] = {}
    webhook_endpoint_url: str = ""
    webhook_events: list[dict[str, str]] = [
        {"event": e, "reason": conn.WEBHOOK_EVENT_REASONS[e]} for e in conn.WEBHOOK_EVENTS
    ]
    not_applied: list[dict[str, str]] = []
    show_not_applied: bool = False
    mode_warning: str = ""
    _readiness_workspace: int = 0
    required_permissions: list[str] = PERMISSION_LINES
    health: dict[str, str] = {}
    problems: list[str] = []
    checked: bool = False
    saving: bool = False
    connect_available: bool = False  # "Connect with Stripe" is offered (platform configured)
    connect_mode: str = ""  # the mode of the platform's key: Connect links accounts in it

    @rx.var
    def form_mode_status(self) -> dict[str, str]:
        for mode in self.modes:
            if mode["mode"] == self.form_mode:
                return mode
        return {"mode": self.form_mode, "connected": ""}

    @rx.var
    def any_connected(self) -> bool:
        return any(m["connected"] for m in self.modes)

    def _refresh(self, db, actor) -> None:  # type: ignore[no-untyped-def]
        active, statuses = conn.connection_status(db, actor)
        self.active_mode = active
        self.modes = [
            {
                "mode": s.mode,
                "connected": "yes" if s.connected else "",
                "publishable_key": _shorten(s.publishable_key),
                "secret_key_mask": s.secret_key_mask,
                "webhook_secret_mask": s.webhook_secret_mask,
                "webhook_endpoint_id": s.webhook_endpoint_id,
                "account_id": s.account_id,
                "account_name": s.account_name,
                "charges_enabled": "yes" if s.charges_enabled else "",
                "details_submitted": "yes" if s.details_submitted else "",
                "requirements_due": ", ".join(s.requirements_due),
                "connected_at": s.connected_at,
                "connected_by": s.connected_by,
                "connected_account": s.connected_account,
            }
            for s in statuses
        ]
        self.connect_available = stripe_connect.configured()
        self.connect_mode = stripe_connect.platform_mode() if self.connect_available else ""
        workspace = db.get(Workspace, actor.workspace_id)
        self.webhook_endpoint_url = conn.webhook_url(workspace)
        health = webhook_health(db, actor.workspace_id)
        self.health = {
            "last_received": health.last_received or "Never",
            "last_type": health.last_type,
            "last_signature_failure": health.last_signature_failure or "Never",
            "not_applied": str(health.not_applied),
            "inbox_depth": str(health.inbox_depth),
            "oldest_unapplied": f"{health.oldest_unapplied_seconds} s ago"
            if health.inbox_depth
            else "—",
            "failed": str(health.failed),
            "last_failure": health.last_failure or "—",
            "last_applied": health.last_applied or "Never",
            "unknown_to_stripe": str(health.unknown_to_stripe),
            "last_success": health.last_success or "Never",
            "refused": "yes" if health.refused else "",
        }
        if self.show_not_applied:
            self._load_not_applied(db, actor)
        self.test_mode = conn.uses_test_keys(db, actor.workspace_id)
        self.live_mode = conn.uses_live_keys(db, actor.workspace_id)
        live = next(m for m in self.modes if m["mode"] == "live")
        self.mode_warning = (
            conn.NO_WEBHOOK_SECRET.format(mode="live", Mode="Live")
            if self.live_mode and not live["webhook_secret_mask"]
            else ""
        )

    @rx.event
    def load(self):
        self.errors, self.problems, self.checked = {}, [], False
        try:
            with self._unit() as (db, actor):
                self._refresh(db, actor)
                self._readiness_workspace = actor.workspace_id
        except (NotSignedIn, AccessDenied) as err:
            return self._denied(err)
        self.form_mode = self.active_mode
        outcome = self.router.url.query_parameters.get("stripe_connect", "")
        if outcome == "connected":
            return [IntegrationsState.refresh_readiness, rx.toast.success("Stripe is connected.")]
        if outcome == "failed":
            message = self.router.url.query_parameters.get("message", "") or "Not connected."
            return [IntegrationsState.refresh_readiness, rx.toast.error(message[:200])]
        onboarding = self.router.url.query_parameters.get("stripe_onboarding", "")
        if onboarding == "return":  # back from Stripe's onboarding: ask Stripe now
            return IntegrationsState.refresh_readiness_now
        if onboarding == "failed":
            message = self.router.url.query_parameters.get("message", "") or "Not set up."
            return [IntegrationsState.refresh_readiness, rx.toast.error(message[:200])]
        return IntegrationsState.refresh_readiness

    @rx.event(background=True)
    async def refresh_readiness(self):
        """Readiness older than a few minutes is asked of Stripe again, off the event loop."""
        await self._refresh_readiness(conn.READINESS_MAX_AGE)

    @rx.event(background=True)
    async def refresh_readiness_now(self):
        """Back from Stripe's onboarding: readiness as Stripe has it now, whatever its age."""
        await self._refresh_readiness(timedelta(0))

    async def _refresh_readiness(self, max_age: timedelta) -> None:
        async with self:
            workspace_id = self._readiness_workspace
        if not workspace_id:
            return
        changed = await asyncio.to_thread(conn.refresh_stale_readiness, workspace_id, max_age)
        if not changed:
            return
        async with self:
            try:
                with self._unit() as (db, actor):
                    if actor.workspace_id == workspace_id:
                        self._refresh(db, actor)
            except (NotSignedIn, AccessDenied):
                return

    def _load_not_applied(self, db, actor) -> None:  # type: ignore[no-untyped-def]
        self.not_applied = [
            {
                "event_id": e.event_id,
                "type": e.type,
                "outcome": e.outcome,
                "detail": e.detail,
                "received": e.received,
            }
            for e in not_applied_events(db, actor.workspace_id)
        ]

    @rx.event
    def toggle_not_applied(self):
        self.show_not_applied = not self.show_not_applied
        if not self.show_not_applied:
            return None
        try:
            with self._unit() as (db, actor):
                actor.require_staff()
                self._load_not_applied(db, actor)
        except (NotSignedIn, AccessDenied) as err:
            return self._denied(err)
        return None

    @rx.event
    def set_form_mode(self, mode: str | list[str]) -> None:
        self.form_mode = mode if isinstance(mode, str) else mode[0]
        self.errors = {}

    async def _act(self, action, success: str, *, field_for: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
        """Run ``action(db, actor)`` off the event loop (it calls Stripe); show field errors
        (renamed by ``field_for``) or a toast."""
        self.errors = {}
        done = await self._off_loop(lambda db, actor: (action(db, actor), self._refresh(db, actor)))
        if done.denied:
            return self._denied(done.error)  # type: ignore[arg-type]
        if isinstance(done.error, ValidationError):
            name = done.field or "form"
            name = (field_for or {}).get(name, name)
            if name not in _INLINE_FIELDS:
                return rx.toast.error(done.message)
            self.errors = {name: done.message}
            return None  # shown once, inline next to its field
        if not done.ok:
            return rx.toast.error(done.message)
        return rx.toast.success(success)

    @rx.event
    async def save_keys(self, form: dict):
        self.saving = True
        yield
        data = conn.ConnectInput(
            (form.get("publishable_key") or ""),
            (form.get("secret_key") or ""),
            "",  # the webhook secret has one field: the Webhook card's
            self.form_mode,
        )
        result = await self._act(
            lambda db, actor: conn.connect(db, actor, data), f"Stripe {self.form_mode} keys saved."
        )
        self.saving = False
        yield result

    @rx.event
    async def save_webhook_secret(self, form: dict):
        secret = form.get("signing_secret") or ""
        mode = self.form_mode
        return await self._act(
            lambda db, actor: conn.set_webhook_secret(db, actor, mode, secret),
            "Webhook secret saved.",
            field_for={"webhook_secret": "signing_secret"},
        )

    @rx.event
    async def register_webhook(self):
        mode = self.form_mode
        return await self._act(
            lambda db, actor: conn.register_webhook(db, actor, mode),
            f"Webhook registered in Stripe ({mode} mode).",
        )

    @rx.event
    async def use_mode(self, mode: str):
        self.problems, self.checked = [], False  # a check of the other mode says nothing now
        warnings: list[str] = []
        result = await self._act(
            lambda db, actor: warnings.extend(conn.set_mode(db, actor, mode)),
            f"Now using {mode} mode.",
        )
        if warnings:
            return rx.toast.warning(warnings[0])
        return result

    @rx.event
    async def connect_with_stripe(self):
        """Off to Stripe's consent page with a single-use state bound to this session."""
        token = self._session_token()
        done = await self._off_loop(
            lambda db, actor: stripe_connect.authorize_url(db, actor, token)  # type: ignore[arg-type]
        )
        if done.denied:
            return self._denied(done.error)  # type: ignore[arg-type]
        if not done.ok:
            return rx.toast.error(done.message)
        return rx.redirect(str(done.value), is_external=False)

    @rx.event
    async def create_stripe_account(self):
        """Connect Onboarding: a new Stripe account for the agency, then Stripe's set-up page."""
        done = await self._off_loop(stripe_onboarding.start_onboarding)  # type: ignore[arg-type]
        if done.denied:
            return self._denied(done.error)  # type: ignore[arg-type]
        if not done.ok:
            return rx.toast.error(done.message)
        return rx.redirect(str(done.value), is_external=False)

    @rx.event
    async def disconnect(self):
        mode = self.form_mode
        return await self._act(
            lambda db, actor: conn.disconnect(db, actor, mode),
            f"Stripe {mode} keys removed. Payments history stays.",
        )

    @rx.event
    async def check(self):
        self.problems, self.checked = [], False

        def work(db, actor) -> None:  # type: ignore[no-untyped-def]
            self.problems = conn.check_connection(db, actor)  # asks Stripe: off the loop
            self._refresh(db, actor)

        done = await self._off_loop(work)
        if done.denied:
            return self._denied(done.error)  # type: ignore[arg-type]
        if not done.ok:
            return rx.toast.error(done.message)
        self.checked = True
        return None
