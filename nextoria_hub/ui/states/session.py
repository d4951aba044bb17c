"""The base state of every page: which workspace the host names, and who is signed in.

Each event handler that reads or changes tenant data resolves the actor again: the
session token is checked against the database on every event, never cached as trust.
The token is the HttpOnly cookie of the websocket's handshake (``_session_token``); it is
never a state var, so it is never pickled, sent to the page or resumed by a client token.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import json
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import reflex as rx
from sqlmodel import Session

from nextoria_hub.accounts.branding import Branding, get_branding, logo_url
from nextoria_hub.accounts.sessions import end_session
from nextoria_hub.api import session_cookie
from nextoria_hub.api.session_routes import safe_path
from nextoria_hub.billing.locales import use_locale
from nextoria_hub.db import session_scope
from nextoria_hub.errors import AccessDenied, NextoriaError, NotSignedIn
from nextoria_hub.models import Role
from nextoria_hub.payments.stripe_connection import uses_live_keys, uses_test_keys
from nextoria_hub.tenancy import Actor, is_apex, resolve_actor

SESSION_COOKIE = session_cookie.SESSION_COOKIE
T = TypeVar("T")


@dataclass
class Done(Generic[T]):
    """What a service call run off the event loop gave: its value, or why not."""

    value: T | None = None
    error: NextoriaError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def message(self) -> str:
        return self.error.message if self.error else ""

    @property
    def field(self) -> str:
        return str(getattr(self.error, "field", "") or "")

    @property
    def denied(self) -> bool:
        """The actor is signed out or lost the right: the handler returns ``_denied``."""
        return isinstance(self.error, NotSignedIn | AccessDenied)


def post_form(path: str, fields: dict[str, str]) -> rx.event.EventSpec:
    """Make the page submit a form to one of our routes on its backend (a full navigation).

    Used to trade a sign-in grant for the HttpOnly cookie (``/api/session``) and to sign
    out (``/api/session/end``); the new page load opens a socket with the new cookie.
    """
    script = (
        "(() => { const u = new URL(getBackendURL()); u.pathname = PATH; u.search = '';"
        " const f = document.createElement('form'); f.method = 'post'; f.action = u.toString();"
        " for (const [k, v] of Object.entries(FIELDS)) { const i = document.createElement('input');"
        " i.type = 'hidden'; i.name = k; i.value = v; f.appendChild(i); }"
        " document.body.appendChild(f); f.submit(); })()"
    )
    script = script.replace("PATH", json.dumps(path)).replace("FIELDS", json.dumps(fields))
    return rx.call_script(script)


# Handlers that only change what a signed-in page shows (form fields, filters, dialogs).
SETTER_PREFIXES = ("set_", "add_", "remove_", "toggle_", "open_", "close_")
# States whose pages a visitor without a session uses: their setters stay open.
PUBLIC_STATES = frozenset({"AppState", "HomeState", "LoginState", "WelcomeState", "InviteState"})


def _signed_in_only(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Refuse a setter event from a tab with no signed-in user: an anonymous visitor cannot
    grow the per-tab state of pages they cannot see (the event changes nothing)."""

    @functools.wraps(fn)
    def guarded(self: AppState, *args: Any, **kwargs: Any) -> Any:
        if not (self.user_role and self._session_token()):
            return None
        return fn(self, *args, **kwargs)

    return guarded


# Worker threads for everything handlers do off the event loop (bigger than asyncio's
# default of CPUs + 4, so a few slow Stripe calls cannot take every thread).
_POOL = ThreadPoolExecutor(max_workers=32, thread_name_prefix="nx-offloop")


async def in_thread(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` in a worker thread, with this task's context variables."""
    context = contextvars.copy_context()
    return await asyncio.get_running_loop().run_in_executor(
        _POOL, functools.partial(context.run, fn, *args)
    )


_END = object()


def _off_the_loop(fn: Callable[..., Any]) -> Callable[..., Any]:
    """A plain ``def`` handler run in a worker thread (a generator one step at a time).

    Safe for foreground handlers: the tab's state is locked to this event until it
    returns, so nothing else touches it while the thread sets its vars.
    """
    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        async def stepped(self: AppState, *args: Any, **kwargs: Any) -> Any:
            steps = fn(self, *args, **kwargs)
            while (item := await in_thread(next, steps, _END)) is not _END:
                yield item

        return stepped

    @functools.wraps(fn)
    async def threaded(self: AppState, *args: Any, **kwargs: Any) -> Any:
        return await in_thread(functools.partial(fn, self, *args, **kwargs))

    return threaded


class AppState(rx.State):
    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Before Reflex registers a subclass's handlers: guard the setters of signed-in
        pages, and move every plain ``def`` handler off the event loop (each may query the
        database, which can wait on a lock)."""
        guarded = cls.__name__ not in PUBLIC_STATES and not cls.__name__.startswith("Signup")
        for name, fn in list(cls.__dict__.items()):
            if (
                name.startswith("_")
                or not inspect.isfunction(fn)
                or inspect.iscoroutinefunction(fn)
                or inspect.isasyncgenfunction(fn)
            ):
                continue
            if guarded and name.startswith(SETTER_PREFIXES):
                fn = _signed_in_only(fn)
            setattr(cls, name, _off_the_loop(fn))
        super().__init_subclass__(**kwargs)

    # What the page knows about where it is and who is looking; set by ``guard``.
    host_kind: str = "loading"  # loading | apex | workspace | unknown
    access: str = "loading"  # loading | ok | signin | forbidden
    workspace_name: str = ""
    workspace_slug: str = ""
    user_name: str = ""
    user_email: str = ""
    user_role: str = ""
    apex_url: str = "/"
    # True while the workspace uses Stripe test keys: every page shows a "Test mode" badge.
    test_mode: bool = False
    live_mode: bool = False  # the "Live mode" marker: real money moves
    # The agency's brand (Settings → Branding) on the pages its clients and visitors see
    # (sign-in, join, the Client Portal): its logo's URL and accent, or "" for the product's.
    brand_logo: str = ""
    brand_accent: str = ""

    @rx.var
    def is_staff(self) -> bool:
        return self.user_role in (Role.admin, Role.member)

    @rx.var
    def is_admin(self) -> bool:
        return self.user_role == Role.admin

    @rx.var
    def user_initials(self) -> str:
        parts = [p for p in self.user_name.split() if p]
        return "".join(p[0] for p in parts[:2]).upper() or "?"

    def _host(self) -> str:
        return self.router.url.hostname or ""

    def _session_token(self) -> str:
        """The session cookie this tab's socket was opened with ("" when signed out)."""
        return session_cookie.token_of(self.router.session.session_id)

    def _workspace_url(self, slug: str, path: str = "/") -> str:
        """A URL on ``slug``'s subdomain, same scheme and port as the page the browser is on."""
        url = self.router.url
        base = url.hostname or ""
        if not is_apex(base):
            base = base.split(".", 1)[1] if "." in base else base
        port = f":{url.port}" if url.port else ""
        return f"{url.scheme or 'http'}://{slug}.{base}{port}{path}"

    @contextmanager
    def _unit(self) -> Iterator[tuple[Session, Actor]]:
        """A DB unit of work with the signed-in actor of this host's workspace."""
        with session_scope() as db:
            ws, actor = resolve_actor(db, self._host(), self._session_token())
            if actor is None:
                raise NotSignedIn()
            with use_locale(ws.locale if ws is not None else ""):
                yield db, actor

    async def _off_loop(
        self, work: Callable[[Session, Actor | None], T], *, signed_in: bool = True
    ) -> Done[T]:
        """Run one service call in a worker thread, never on the event loop.

        Whatever may block (Stripe, argon2, mail, a database lock wait) goes through here:
        the unit of work and the call both happen in the thread, with the actor of this
        tab's cookie (``signed_in=False``: ``None`` when nobody is, for sign-in and the
        like). A ``NextoriaError`` comes back as ``Done.error`` for the handler to show;
        anything else propagates. Reads of ``self`` happen before the thread starts, so a
        background event may call it outside ``async with self`` (and its ``work`` must not
        touch state). A plain async handler holds its tab's state while it awaits, so its
        ``work`` may set vars: nothing else runs on that state until the handler resumes.
        """
        host, token = self._host(), self._session_token()

        def call() -> T:
            with session_scope() as db:
                ws, actor = resolve_actor(db, host, token)
                if actor is None and signed_in:
                    raise NotSignedIn()
                with use_locale(ws.locale if ws is not None else ""):
                    return work(db, actor)

        try:
            return Done(value=await in_thread(call))
        except NextoriaError as err:
            return Done(error=err)

    def _set_identity(self, actor: Actor | None, workspace_name: str, slug: str) -> None:
        self.workspace_name = workspace_name
        self.workspace_slug = slug
        self.user_name = actor.name if actor else ""
        self.user_email = actor.email if actor else ""
        self.user_role = actor.role.value if actor else ""

    def _show_brand(self, brand: Branding | None) -> None:
        self.brand_logo = logo_url(brand) if brand is not None else ""
        self.brand_accent = brand.accent if brand is not None else ""

    def _resolve(self, db: Session | None = None) -> Actor | None:
        """Set where the page is and who is looking; ``db``: a unit of work already open."""
        if db is None:
            with session_scope() as own:
                return self._resolve(own)
        host = self._host()
        url = self.router.url
        base = host if is_apex(host) else host.split(".", 1)[-1]
        self.apex_url = f"{url.scheme or 'http'}://{base}{f':{url.port}' if url.port else ''}/"
        if is_apex(host):
            self.host_kind = "apex"
            self._set_identity(None, "", "")
            self._show_brand(None)
            return None
        workspace, actor = resolve_actor(db, host, self._session_token())
        if workspace is None:
            self.host_kind = "unknown"
            self._set_identity(None, "", "")
            self._show_brand(None)
            return None
        self.host_kind = "workspace"
        self._set_identity(actor, workspace.name, workspace.slug)
        staff = actor is not None and actor.is_staff
        # Staff pages keep the product's look (one query fewer); clients and visitors see the agency's.
        self._show_brand(None if staff else get_branding(db, workspace.id))  # type: ignore[arg-type]
        self.test_mode = actor is not None and uses_test_keys(db, workspace.id)  # type: ignore[arg-type]
        self.live_mode = actor is not None and uses_live_keys(db, workspace.id)  # type: ignore[arg-type]
        return actor

    async def _resolve_off_loop(self) -> Actor | None:
        """``_resolve`` in a worker thread (its session lookup may write and wait on a lock)."""
        done = await self._off_loop(lambda db, _actor: self._resolve(db), signed_in=False)
        return done.value if done.ok else None

    @rx.event
    async def guard(self, need: str = "any"):
        """Page loader: check who may see this page. ``need``: any, public, staff, admin, client."""
        return self._admit(await self._resolve_off_loop(), need)

    def _admit(self, actor: Actor | None, need: str):  # type: ignore[no-untyped-def]
        """Set ``access`` from what ``_resolve`` found; the sign-in redirect when nobody is.

        Shared by ``guard`` and by page loaders that check access themselves in the same
        unit of work as their first screen (one event and one delta instead of two)."""
        if self.host_kind != "workspace":
            self.access = "ok" if need == "public" else "forbidden"
            return None
        if need == "public":
            self.access = "ok"
            return None
        if actor is None:
            self.access = "signin"
            return rx.redirect(f"/login?next={self.router.url.path}")
        allowed = {
            "any": True,
            "staff": actor.is_staff,
            "admin": actor.is_admin,
            "client": actor.role == Role.client,
        }.get(need, False)
        self.access = "ok" if allowed else "forbidden"
        return None

    @rx.event
    async def sign_out(self):
        """Forget everything this tab's state knew of the user; the route ends the session
        and clears the cookie."""
        token = self._session_token()
        if token:
            await self._off_loop(lambda db, _actor: end_session(db, token), signed_in=False)
        root = self.parent_state or self
        root.reset()  # every loaded substate too: nothing per-user stays in this tab's state
        self.access = "signin"
        return post_form("/api/session/end", {})

    def _denied(self, err: NotSignedIn | AccessDenied | NextoriaError):
        """What a handler returns when the actor lost the right to act mid-page."""
        if isinstance(err, NotSignedIn):
            self.access = "signin"
            return rx.redirect("/login")
        self.access = "forbidden"
        return rx.toast.error(err.message)


class HomeState(AppState):
    @rx.event
    async def go_home(self):
        """``/``: the apex shows sign-up; a workspace sends people to their home page."""
        actor = await self._resolve_off_loop()
        if self.host_kind != "workspace":
            return None
        if actor is None:
            return rx.redirect("/login")
        # Just signed in (``/api/session`` lands here): on to where the user was going.
        wanted = safe_path(self.router.url.query_parameters.get("next", ""))
        return rx.redirect(wanted or ("/portal" if actor.role == Role.client else "/dashboard"))
