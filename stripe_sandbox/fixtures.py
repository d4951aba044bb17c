"""Object templates from Stripe's fixtures, scrubbed of their example values.

Objects are built by deep-copying a template and overwriting fields, so every key of
Stripe's example object is present. The fixture file is found through
``STRIPE_SANDBOX_FIXTURES`` or a ``shared/stripe/fixtures3.json`` beside a parent folder;
without it, objects carry only the fields the sandbox sets.
"""

from __future__ import annotations

import copy
import json
import os
import re
from functools import cache
from pathlib import Path
from typing import Any

_ENUM = re.compile(r"^[a-z][a-z_]*$")

# Top-level fields whose example values describe states the sandbox never starts in.
_NULLED: dict[str, set[str]] = {
    "payment_intent": {
        "last_payment_error",
        "next_action",
        "processing",
        "transfer_data",
        "canceled_at",
        "amount_details",
        "payment_method_configuration_details",
        "managed_payments",
        "shipping",
        "automatic_payment_methods",
    },
    "setup_intent": {"last_setup_error", "next_action", "payment_method_configuration_details"},
    "customer": {"discount", "shipping", "address"},
    "checkout.session": {
        "after_expiration",
        "custom_text",
        "shipping_cost",
        "shipping_address_collection",
        "total_details",
        "consent",
        "consent_collection",
        "collected_information",
        "payment_method_configuration_details",
        "invoice_creation",
        "adaptive_pricing",
        "customer_details",
    },
    "charge": {"shipping", "transfer_data", "fraud_details", "level3"},
    "invoice": {
        "last_finalization_error",
        "from_invoice",
        "status_transitions",
        "customer_shipping",
    },
    "subscription": {"pause_collection", "billing_cycle_anchor_config", "cancel_at", "canceled_at"},
}


def fixture_path() -> Path | None:
    env = os.environ.get("STRIPE_SANDBOX_FIXTURES")
    if env:
        return Path(env) if Path(env).is_file() else None
    starts = [Path.cwd(), Path(__file__).resolve().parent]
    for start in starts:
        for folder in [start, *start.parents]:
            candidate = folder / "shared" / "stripe" / "fixtures3.json"
            if candidate.is_file():
                return candidate
    return None


@cache
def raw_fixtures() -> dict[str, Any]:
    path = fixture_path()
    if path is None:
        return {}
    return dict(json.loads(path.read_text())["resources"])


def _scrub(key: str, value: Any, depth: int) -> Any:
    if isinstance(value, dict):
        if depth > 0 and "object" in value and value.get("object") != "list":
            return None
        return {k: _scrub(k, v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return []
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        return value if abs(value) < 100000 else None
    if isinstance(value, str):
        if _ENUM.match(value) and value != key and value not in {"type", "action", "invoice"}:
            return value
        return None
    return value


@cache
def _template(resource: str) -> dict[str, Any]:
    example = raw_fixtures().get(resource)
    if not isinstance(example, dict):
        return {}
    scrubbed = _scrub("", example, 0)
    for field in _NULLED.get(resource, set()):
        if field in scrubbed:
            scrubbed[field] = None
    scrubbed["metadata"] = {} if "metadata" in scrubbed else scrubbed.get("metadata")
    if scrubbed.get("metadata") is None:
        scrubbed.pop("metadata", None)
    return scrubbed


def merge(template: Any, value: Any) -> Any:
    """``value`` with keys missing from it filled in from ``template``, recursively."""
    if isinstance(template, dict) and isinstance(value, dict):
        out = {k: copy.deepcopy(v) for k, v in template.items() if k not in value}
        for k, v in value.items():
            out[k] = merge(template[k], v) if k in template else v
        return {k: out[k] for k in [*template, *value] if k in out}
    return value


def build(resource: str, **fields: Any) -> dict[str, Any]:
    """A fresh object of ``resource`` with the template's keys and the given fields set."""
    return dict(merge(_template(resource), fields))


def fill(obj: dict[str, Any], template: Any = None) -> dict[str, Any]:
    """Add, in place, the template keys ``obj`` lacks (after handlers replaced nested dicts)."""
    if template is None:
        template = _template(str(obj.get("object", "")))
    if isinstance(template, dict):
        for key, value in template.items():
            if key not in obj:
                obj[key] = copy.deepcopy(value)
            elif isinstance(value, dict) and isinstance(obj[key], dict) and key != "metadata":
                fill(obj[key], value)
    return obj
