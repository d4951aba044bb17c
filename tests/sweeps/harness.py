"""Drive Reflex State event handlers in-process, as the backend would for one browser event.

A fresh root ``State`` per event gets the router data the websocket handshake would give
(the page's origin and path, route params as query) and the session cookie; the handler
runs, chained handlers it returns run too, and what would reach the browser is collected:
the state delta and the returned events (toasts, redirects), both as text to search.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import json
import pkgutil
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import MethodType
from typing import Any

from reflex.event import EventHandler, EventSpec
from reflex.istate.data import RouterData
from reflex.state import BaseState, State

import nextoria_hub.app  # noqa: F401  (builds the app, so every state is registered)
import nextoria_hub.ui.states as states_pkg
from nextoria_hub.api import session_cookie
from nextoria_hub.ui.states.session import AppState

# What the browser may legitimately learn about the host it is on, whoever asks.
PUBLIC_VARS = re.compile(r"^(rx_router_\w+|workspace_name|workspace_slug|apex_url|address_preview)")


def state_classes() -> list[type[BaseState]]:
    """Every State class defined in nextoria_hub/ui/states/."""
    found: list[type[BaseState]] = []
    for info in pkgutil.iter_modules(states_pkg.__path__):
        module = importlib.import_module(f"{states_pkg.__name__}.{info.name}")
        for value in vars(module).values():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseState)
                and value.__module__ == module.__name__
            ):
                found.append(value)
    return found


def all_handlers() -> dict[str, EventHandler]:
    """``"ClientsState.load"`` → handler, for each handler a State class defines itself."""
    return {
        f"{cls.__name__}.{name}": handler
        for cls in state_classes()
        for name, handler in cls.event_handlers.items()
    }


@dataclass
class Outcome:
    """What one event sent back to the browser, and the state it left behind."""

    delta: dict[str, Any] = field(default_factory=dict)
    events: list[str] = field(default_factory=list)
    error: str = ""
    exception: Exception | None = None
    role: str = ""  # the role AppState resolved from the cookie on this host ("" if none)
    pickled: bytes = b""  # every state of the tree as the state manager would store it

    def visible_text(self) -> str:
        """The delta (minus what the host itself makes public) and the events, as text."""
        private = {
            state: {k: v for k, v in values.items() if not PUBLIC_VARS.match(k)}
            for state, values in self.delta.items()
        }
        return json.dumps(private, default=repr, ensure_ascii=False) + "\n".join(self.events)


def router_data(host: str, route: str, path: str, params: dict[str, str]) -> dict[str, Any]:
    return {
        "headers": {"origin": f"http://{host}", "host": host},
        "pathname": route,
        "asPath": path,
        "query": dict(params),
        "sid": SWEEP_SID,
    }


SWEEP_SID = "sweep-socket"


def with_cookie(token: str) -> None:
    """Make the sweep's socket look opened with session cookie ``token`` (as the handshake
    middleware records it; never a state var)."""
    scope = {"asgi.scope": {session_cookie.SCOPE_KEY: token}}
    session_cookie.bind(lambda sid: scope if sid == SWEEP_SID else None)


def _state_of(root: State, cls: type[BaseState]) -> BaseState:
    return root.get_substate(cls.get_full_name().split("."))


def _event_text(item: Any) -> str:
    if isinstance(item, EventSpec):
        args = ", ".join(
            f"{name._js_expr}={getattr(value, '_var_value', value)!r}" for name, value in item.args
        )
        return f"{item.handler.fn.__qualname__}({args})"
    return repr(item)


def _serialized(state: BaseState) -> Iterator[bytes]:
    yield state._serialize()
    for sub in state.substates.values():
        yield from _serialized(sub)


class _Inline:
    """Reflex's background-task ``StateProxy`` in-process: ``async with self`` holds no lock
    here (one event at a time), reads and writes go to the state itself."""

    def __init__(self, state: BaseState) -> None:
        object.__setattr__(self, "_state", state)

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._state, name)
        if isinstance(value, MethodType) and value.__self__ is self._state:
            return MethodType(value.__func__, self)
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._state, name, value)

    async def __aenter__(self) -> _Inline:
        return self

    async def __aexit__(self, *_exc: object) -> bool:
        return False


def _settle(result: Any) -> Any:
    """Run an async handler to its end (coroutine or async generator), as the backend would."""
    if inspect.iscoroutine(result):
        return asyncio.run(result)
    if inspect.isasyncgen(result):

        async def collect() -> list[Any]:
            return [item async for item in result]

        return asyncio.run(collect())
    return result


def _drain(result: Any) -> Iterator[Any]:
    result = _settle(result)
    if result is None:
        return
    if inspect.isgenerator(result) or isinstance(result, list | tuple):
        for item in result:
            yield from _drain(item)
    else:
        yield result


def fire(
    handler_key: str,
    *,
    host: str,
    route: str,
    path: str,
    params: dict[str, str],
    token: str,
    args: tuple = (),
    prep: dict[str, Any] | None = None,
) -> Outcome:
    """Run one handler as the browser on ``host`` with cookie ``token`` would make it run."""
    cls_name, name = handler_key.split(".")
    cls = next(c for c in state_classes() if c.__name__ == cls_name)
    root = State(_reflex_internal_init=True)
    root.router = RouterData.from_router_data(router_data(host, route, path, params))
    target = _state_of(root, cls)
    with_cookie(token)
    for var, value in (prep or {}).items():  # what the browser could have set with setvar
        setattr(target, var, value)
    root._clean()
    outcome = Outcome()
    pending: list[tuple[BaseState, EventHandler, tuple]] = [
        (target, cls.event_handlers[name], args)
    ]
    try:
        while pending:
            state, handler, call_args = pending.pop(0)
            runs_on = _Inline(state) if handler.is_background else state
            for item in _drain(handler.fn(runs_on, *call_args)):
                if isinstance(item, EventHandler) and item.state is not None and item.is_background:
                    # A long-lived background task a loader starts (following an open page):
                    # noted, not run here; the sweep tries such handlers on their own.
                    outcome.events.append(f"started in the background: {item.fn.__qualname__}")
                elif isinstance(item, EventHandler) and item.state is not None:
                    # A chained handler of our app (``return ClientsState.load``): runs next.
                    pending.append((_state_of(root, item.state), item, ()))
                else:
                    outcome.events.append(_event_text(item))
    except Exception as err:  # the real backend turns it into a generic toast; record it
        outcome.error, outcome.exception = f"{type(err).__name__}: {err}", err
    outcome.delta = root.get_delta()
    outcome.role = _state_of(root, AppState).user_role
    outcome.pickled = b"".join(_serialized(root))
    return outcome
