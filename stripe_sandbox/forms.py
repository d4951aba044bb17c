"""Decode Stripe's bracket-notation form bodies (``a[b][0][c]=v``) into nested values."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

_TOKEN = re.compile(r"\[([^\]]*)\]")


def _split(key: str) -> list[str]:
    head, _, rest = key.partition("[")
    parts = [head]
    if rest:
        parts.extend(_TOKEN.findall("[" + rest))
    return parts


def _listify(node: Any) -> Any:
    """Turn dicts keyed only by indexes (or appends) into lists, recursively."""
    if isinstance(node, dict):
        node = {k: _listify(v) for k, v in node.items()}
        if node and all(isinstance(k, int) for k in node):
            return [node[k] for k in sorted(node)]
        return node
    return node


def parse_params(raw: str) -> dict[str, Any]:
    """Parse a form-encoded string; ``[]`` appends, digits index, other brackets nest."""
    root: dict[Any, Any] = {}
    counters: dict[int, int] = {}
    for key, value in parse_qsl(raw, keep_blank_values=True):
        parts = _split(key)
        node: dict[Any, Any] = root
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            name: Any = part
            if part == "":
                name = counters.get(id(node), 0)
                counters[id(node)] = name + 1
            elif part.isdigit() and i > 0:
                name = int(part)
                counters[id(node)] = max(counters.get(id(node), 0), name + 1)
            if last:
                node[name] = value
            else:
                child = node.get(name)
                if not isinstance(child, dict):
                    child = {}
                    node[name] = child
                node = child
    return _listify(root)
