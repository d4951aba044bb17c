"""Routing table, request context, parameter coercion, list pagination and expansion."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import StripeError, invalid, missing_param, no_such
from .fixtures import fill
from .store import Scope, public

if TYPE_CHECKING:
    from .sandbox import Sandbox


@dataclass
class Ctx:
    """What a handler knows about the request it serves."""

    sb: Sandbox
    scope: Scope
    base_url: str
    request_id: str
    idempotency_key: str | None = None
    key: dict[str, Any] = field(default_factory=dict)

    @property
    def livemode(self) -> bool:
        return self.scope.livemode

    @property
    def now(self) -> int:
        return int(time.time())

    def get(self, obj_id: str, kind: str, prefix: str | tuple[str, ...], param: str = "id") -> dict:
        """An object of this scope by id, or Stripe's 404."""
        obj = self.sb.store.get(self.scope, obj_id) if isinstance(obj_id, str) else None
        if obj is None or not obj["id"].startswith(prefix) or obj.get("deleted"):
            raise no_such(kind, str(obj_id), param)
        return obj

    def save(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Store ``obj`` (completing it with its fixture's keys first)."""
        return self.sb.store.put(self.scope, fill(obj))

    def emit(self, type_: str, obj: dict[str, Any], previous: dict | None = None) -> dict:
        from .events import emit

        return emit(
            self.sb, self.scope, type_, obj, self.request_id, self.idempotency_key, previous
        )


class Params:
    """Typed access to decoded form parameters, raising Stripe's 400s."""

    def __init__(self, data: dict[str, Any], prefix: str = "") -> None:
        self.data = data
        self.prefix = prefix

    def _name(self, key: str) -> str:
        return f"{self.prefix}[{key}]" if self.prefix else key

    def has(self, key: str) -> bool:
        return key in self.data

    def str(self, key: str, required: bool = False, default: str | None = None) -> str | None:
        value = self.data.get(key)
        if value is None or value == "":
            if required:
                raise missing_param(self._name(key))
            return default
        if not isinstance(value, str):
            raise invalid(f"Invalid string: {value!r}", param=self._name(key))
        return value

    def int(self, key: str, required: bool = False, default: int | None = None) -> int | None:
        value = self.data.get(key)
        if value is None or value == "":
            if required:
                raise missing_param(self._name(key))
            return default
        try:
            return int(str(value))
        except ValueError:
            raise invalid(f"Invalid integer: {value}", param=self._name(key)) from None

    def bool(self, key: str, default: bool = False) -> bool:
        value = self.data.get(key)
        if value is None or value == "":
            return default
        if str(value).lower() in {"true", "1"}:
            return True
        if str(value).lower() in {"false", "0"}:
            return False
        raise invalid(f"Invalid boolean: {value}", param=self._name(key))

    def sub(self, key: str) -> Params:
        value = self.data.get(key) or {}
        if not isinstance(value, dict):
            raise invalid(f"Invalid object: {key}", param=self._name(key))
        return Params(value, self._name(key))

    def list(self, key: str) -> list[Any]:
        value = self.data.get(key)
        if value is None or value == "":
            return []
        if isinstance(value, dict):
            return list(value.values())
        return value if isinstance(value, list) else [value]

    def metadata(self, key: str = "metadata", current: dict | None = None) -> dict[str, str]:
        """Merge ``metadata[k]=v`` into ``current``; an empty value removes the key."""
        merged = dict(current or {})
        value = self.data.get(key)
        if value == "":
            return {}
        if value is None:
            return merged
        if not isinstance(value, dict):
            raise invalid("Invalid metadata: must be an object", param=self._name(key))
        for k, v in value.items():
            if v == "":
                merged.pop(k, None)
            else:
                merged[k] = str(v)
        return merged


Handler = Callable[..., Any]


@dataclass
class Route:
    method: str
    path: str
    pattern: re.Pattern[str]
    handler: Handler
    permission: str


ROUTES: list[Route] = []


def route(method: str, path: str, permission: str) -> Callable[[Handler], Handler]:
    """Register a handler; ``{name}`` segments become keyword arguments."""
    regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path)

    def deco(fn: Handler) -> Handler:
        ROUTES.append(Route(method, path, re.compile(f"^{regex}$"), fn, permission))
        return fn

    return deco


def match(method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    for r in ROUTES:
        m = r.pattern.match(path)
        if m and r.method == method:
            return r, m.groupdict()
    return None


def path_exists(path: str) -> bool:
    return any(r.pattern.match(path) for r in ROUTES)


def paginate(
    objs: list[dict[str, Any]], p: Params, url: str, ctx: Ctx | None = None
) -> dict[str, Any]:
    """Stripe's list object with ``limit``/``starting_after``/``ending_before`` (newest first)."""
    limit = p.int("limit", default=10) or 10
    if not 1 <= limit <= 100:
        raise invalid("Invalid limit: must be between 1 and 100", param="limit")
    ids = [o["id"] for o in objs]
    after, before = p.str("starting_after"), p.str("ending_before")
    if after:
        if after not in ids:
            raise invalid(f"Invalid starting_after: no such object {after}", "starting_after")
        start = ids.index(after) + 1
        page, has_more = objs[start : start + limit], len(objs) > start + limit
    elif before:
        if before not in ids:
            raise invalid(f"Invalid ending_before: no such object {before}", "ending_before")
        end = ids.index(before)
        page, has_more = objs[max(0, end - limit) : end], end - limit > 0
    else:
        page, has_more = objs[:limit], len(objs) > limit
    return {"object": "list", "data": [public(o) for o in page], "has_more": has_more, "url": url}


def created_filter(objs: list[dict[str, Any]], p: Params) -> list[dict[str, Any]]:
    """Apply ``created`` (exact) or ``created[gt|gte|lt|lte]``."""
    value = p.data.get("created")
    if value is None:
        return objs
    if not isinstance(value, dict):
        exact = p.int("created")
        return [o for o in objs if o.get("created") == exact]
    bounds = p.sub("created")
    ops: dict[str, Callable[[int, int], bool]] = {
        "gt": lambda a, b: a > b,
        "gte": lambda a, b: a >= b,
        "lt": lambda a, b: a < b,
        "lte": lambda a, b: a <= b,
    }
    for op, fn in ops.items():
        bound = bounds.int(op)
        if bound is not None:
            objs = [o for o in objs if fn(int(o.get("created") or 0), bound)]
    return objs


def expand(ctx: Ctx, obj: Any, paths: list[str]) -> Any:
    """Replace id strings at dotted ``paths`` by the objects they name (``data.x`` for lists)."""
    for path in paths:
        _expand_path(ctx, obj, path.split("."), path)
    return obj


def _expand_path(ctx: Ctx, node: Any, parts: list[str], full: str) -> None:
    if not parts or not isinstance(node, dict):
        return
    head, rest = parts[0], parts[1:]
    if head == "line_items" and node.get("object") == "checkout.session":
        stored = ctx.sb.store.get(ctx.scope, str(node.get("id")))
        items = (stored or {}).get("_sb", {}).get("line_items", [])
        url = f"/v1/checkout/sessions/{node.get('id')}/line_items"
        node[head] = {"object": "list", "data": items, "has_more": False, "url": url}
    if head not in node:
        raise invalid(f"This property cannot be expanded ({full}).", param="expand")
    value = node[head]
    if isinstance(value, str) and "_" in value:
        found = ctx.sb.store.get(ctx.scope, value)
        if found is not None:
            value = public(found)
            node[head] = value
    if not rest:
        return
    if isinstance(value, list):
        for item in value:
            _expand_path(ctx, item, rest, full)
    else:
        _expand_path(ctx, value, rest, full)


__all__ = ["ROUTES", "Ctx", "Params", "StripeError", "expand", "match", "paginate", "route"]
