"""Validate every ``/v1`` request against stripe-python's typed params, as strictly as Stripe.

stripe-python's ``stripe.params`` TypedDicts are generated from Stripe's OpenAPI spec for the
pinned API version, so they are the definition of what a request may contain. Every route
the sandbox serves names its params type in ``SPECS`` (a test checks that each one resolves),
and the decoded form body is walked recursively against it:

* a key the type does not declare, at any depth, is Stripe's 400 ``parameter_unknown`` whose
  ``param`` is the full bracket path (``line_items[0][price_data][bogus]``);
* a string outside a ``Literal`` enum is Stripe's 400 "Invalid mode: must be one of payment,
  setup, or subscription" (Stripe sends no ``code`` for it, only ``param``). stripe-python
  writes most enums as ``Literal[...] | str`` so that new server values do not break old
  clients; the server still refuses values outside the enum, and so does the sandbox;
* ``payment_method_types`` on PaymentIntents and SetupIntents is the 400
  ``payment_method_types_no_longer_supported`` that API version 2026-09-30.endive introduced
  (on Checkout Sessions it is simply unknown).

``metadata`` and any other ``Dict[str, ...]`` parameter are free-form, as in Stripe. There is
no list of tolerated exceptions: what the types do not declare is refused.
"""

from __future__ import annotations

import importlib
import types
import typing
from decimal import Decimal
from functools import cache
from typing import Any, Literal, Union, get_args, get_origin

import typing_extensions

from .errors import StripeError, invalid

# (method, route path) -> stripe.params module stem ("checkout." prefix for that package).
# Control routes (/_sandbox/...) and the hosted pages (/c/...) are not Stripe's API and have
# no params type; they are not routed through here at all.
SPECS: dict[tuple[str, str], str] = {
    ("GET", "/v1/account"): "account_retrieve_current",
    ("GET", "/v1/accounts/{id}"): "account_retrieve",
    ("POST", "/v1/accounts"): "account_create",
    ("POST", "/v1/account_links"): "account_link_create",
    ("GET", "/v1/balance"): "balance_retrieve",
    ("GET", "/v1/charges"): "charge_list",
    ("GET", "/v1/charges/{id}"): "charge_retrieve",
    ("GET", "/v1/checkout/sessions"): "checkout.session_list",
    ("GET", "/v1/checkout/sessions/{id}"): "checkout.session_retrieve",
    ("GET", "/v1/checkout/sessions/{id}/line_items"): "checkout.session_list_line_items",
    ("POST", "/v1/checkout/sessions"): "checkout.session_create",
    ("POST", "/v1/checkout/sessions/{id}/expire"): "checkout.session_expire",
    ("GET", "/v1/customers"): "customer_list",
    ("GET", "/v1/customers/{id}"): "customer_retrieve",
    ("GET", "/v1/customers/{id}/payment_methods"): "customer_list_payment_methods",
    ("POST", "/v1/customers"): "customer_create",
    ("POST", "/v1/customers/{id}"): "customer_update",
    ("DELETE", "/v1/customers/{id}"): "customer_delete",
    ("POST", "/v1/customers/{id}/tax_ids"): "customer_tax_id_create",
    ("GET", "/v1/customers/{id}/tax_ids"): "customer_tax_id_list",
    ("GET", "/v1/customers/{id}/tax_ids/{tax_id}"): "customer_tax_id_retrieve",
    ("DELETE", "/v1/customers/{id}/tax_ids/{tax_id}"): "customer_tax_id_delete",
    ("GET", "/v1/disputes"): "dispute_list",
    ("GET", "/v1/disputes/{id}"): "dispute_retrieve",
    ("POST", "/v1/disputes/{id}"): "dispute_update",
    ("POST", "/v1/disputes/{id}/close"): "dispute_close",
    ("GET", "/v1/mandates/{id}"): "mandate_retrieve",
    ("GET", "/v1/events"): "event_list",
    ("GET", "/v1/events/{id}"): "event_retrieve",
    ("GET", "/v1/invoices"): "invoice_list",
    ("GET", "/v1/invoices/{id}"): "invoice_retrieve",
    ("GET", "/v1/payment_intents"): "payment_intent_list",
    ("GET", "/v1/payment_intents/{id}"): "payment_intent_retrieve",
    ("POST", "/v1/payment_intents"): "payment_intent_create",
    ("POST", "/v1/payment_intents/{id}"): "payment_intent_update",
    ("POST", "/v1/payment_intents/{id}/cancel"): "payment_intent_cancel",
    ("POST", "/v1/payment_intents/{id}/confirm"): "payment_intent_confirm",
    ("GET", "/v1/payment_methods"): "payment_method_list",
    ("GET", "/v1/payment_methods/{id}"): "payment_method_retrieve",
    ("POST", "/v1/payment_methods"): "payment_method_create",
    ("POST", "/v1/payment_methods/{id}"): "payment_method_update",
    ("POST", "/v1/payment_methods/{id}/attach"): "payment_method_attach",
    ("POST", "/v1/payment_methods/{id}/detach"): "payment_method_detach",
    ("GET", "/v1/prices"): "price_list",
    ("GET", "/v1/prices/{id}"): "price_retrieve",
    ("POST", "/v1/prices"): "price_create",
    ("GET", "/v1/products"): "product_list",
    ("GET", "/v1/products/{id}"): "product_retrieve",
    ("POST", "/v1/products"): "product_create",
    ("POST", "/v1/products/{id}"): "product_update",
    ("GET", "/v1/refunds"): "refund_list",
    ("GET", "/v1/refunds/{id}"): "refund_retrieve",
    ("POST", "/v1/refunds"): "refund_create",
    # The legacy "create a refund on a charge" endpoint: stripe-python 16 has no method for
    # it, so no type of its own; Stripe's spec gives it the body of POST /v1/refunds.
    ("POST", "/v1/charges/{id}/refunds"): "refund_create",
    ("GET", "/v1/setup_intents"): "setup_intent_list",
    ("GET", "/v1/setup_intents/{id}"): "setup_intent_retrieve",
    ("POST", "/v1/setup_intents"): "setup_intent_create",
    ("POST", "/v1/setup_intents/{id}"): "setup_intent_update",
    ("POST", "/v1/setup_intents/{id}/cancel"): "setup_intent_cancel",
    ("POST", "/v1/setup_intents/{id}/confirm"): "setup_intent_confirm",
    ("GET", "/v1/subscriptions"): "subscription_list",
    ("GET", "/v1/subscriptions/{id}"): "subscription_retrieve",
    ("POST", "/v1/subscriptions"): "subscription_create",
    ("POST", "/v1/subscriptions/{id}"): "subscription_update",
    ("DELETE", "/v1/subscriptions/{id}"): "subscription_cancel",
    ("GET", "/v1/webhook_endpoints"): "webhook_endpoint_list",
    ("GET", "/v1/webhook_endpoints/{id}"): "webhook_endpoint_retrieve",
    ("POST", "/v1/webhook_endpoints"): "webhook_endpoint_create",
    ("POST", "/v1/webhook_endpoints/{id}"): "webhook_endpoint_update",
    ("DELETE", "/v1/webhook_endpoints/{id}"): "webhook_endpoint_delete",
    ("POST", "/v1/tokens"): "token_create",
    ("GET", "/v1/tokens/{id}"): "token_retrieve",
}

# Changelog 2026-09-30.endive: "Removes the payment method types parameter from Payment
# Intents and Setup Intents" (create, update and confirm; create and update), answered with
# this code. This is a refusal with Stripe's own code, not a tolerance.
NO_LONGER_SUPPORTED = frozenset(
    {
        "payment_intent_create",
        "payment_intent_update",
        "payment_intent_confirm",
        "setup_intent_create",
        "setup_intent_update",
    }
)

# stripe-python's per-request options (``RequestOptions``): sent as headers, never as params.
_OPTIONS = frozenset(
    {
        "api_key",
        "stripe_version",
        "stripe_account",
        "stripe_context",
        "max_network_retries",
        "idempotency_key",
        "content_type",
        "headers",
    }
)


class _Holder:
    """Carries one annotation so typing can resolve its forward references."""


@cache
def params_type(spec: str) -> type | None:
    """stripe-python's TypedDict for ``spec`` (e.g. ``checkout.session_create``), or None."""
    package, _, stem = spec.rpartition(".")
    module_name = f"stripe.params.{package + '.' if package else ''}_{stem}_params"
    class_name = "".join(part.title() for part in stem.split("_")) + "Params"
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError):
        return None
    return cls if typing_extensions.is_typeddict(cls) else None


@cache
def fields(cls: type) -> dict[str, Any]:
    """The declared keys of a params TypedDict and their resolved types (request options out).

    Resolved one key at a time: ``RequestOptions`` names a type only imported for type
    checkers, so resolving the whole class at once fails.
    """
    module = importlib.import_module(cls.__module__)
    out: dict[str, Any] = {}
    for name, annotation in cls.__annotations__.items():
        if name in _OPTIONS:
            continue
        holder = _Holder()
        holder.__annotations__ = {name: annotation}
        out[name] = typing_extensions.get_type_hints(holder, globalns=dict(vars(module)))[name]
    return out


def _unknown_error(paths: list[str]) -> StripeError:
    if len(paths) == 1:
        message = f"Received unknown parameter: {paths[0]}"
    else:
        message = f"Received unknown parameters: {', '.join(paths)}"
    return StripeError(
        400, "invalid_request_error", message, code="parameter_unknown", param=paths[0]
    )


def _one_of(values: list[str]) -> str:
    if len(values) == 1:
        return values[0]
    if len(values) == 2:
        return f"{values[0]} or {values[1]}"
    return f"{', '.join(values[:-1])}, or {values[-1]}"


def _alternatives(tp: Any) -> list[Any]:
    if get_origin(tp) in (Union, types.UnionType):
        out: list[Any] = []
        for arg in get_args(tp):
            out.extend(_alternatives(arg))
        return out
    return [tp]


class _Walker:
    """Collects unknown keys (all of them) and the first invalid value of one request."""

    def __init__(self) -> None:
        self.unknown: list[str] = []
        self.problem: StripeError | None = None

    def bad(self, error: StripeError) -> None:
        if self.problem is None:
            self.problem = error

    def typed_dict(self, cls: type, value: dict[str, Any], path: str) -> None:
        known = fields(cls)
        for key, item in value.items():
            where = f"{path}[{key}]" if path else str(key)
            if key not in known:
                self.unknown.append(where)
            else:
                self.walk(known[key], item, where)

    def walk(self, tp: Any, value: Any, path: str) -> None:
        alts = _alternatives(tp)
        literals = [v for a in alts if get_origin(a) is Literal for v in get_args(a)]
        others = [a for a in alts if get_origin(a) is not Literal and a is not type(None)]
        if isinstance(value, dict):
            self._dict(others, value, path)
        elif isinstance(value, list):
            lists = [a for a in others if _is_list(a)]
            if not lists:
                self.bad(invalid(f"Invalid {path}: an array is not accepted here", param=path))
                return
            (item_type,) = get_args(lists[0]) or (Any,)
            for i, item in enumerate(value):
                self.walk(item_type, item, f"{path}[{i}]")
        else:
            self._scalar(others, literals, str(value), path)

    def _dict(self, others: list[Any], value: dict[str, Any], path: str) -> None:
        if any(_free_form(a) for a in others):
            return
        dicts = [a for a in others if typing_extensions.is_typeddict(a)]
        if len(dicts) == 1:
            self.typed_dict(dicts[0], value, path)
            return
        if dicts:  # several object shapes: judge by the one that knows the most keys
            best = max(dicts, key=lambda d: len(set(value) & set(fields(d))))
            self.typed_dict(best, value, path)
            return
        if any(_is_list(a) for a in others):
            self.bad(invalid("Invalid array", param=path))
            return
        for key in value:  # a hash where Stripe expects a scalar: its keys are unknown
            self.unknown.append(f"{path}[{key}]")

    def _scalar(self, others: list[Any], literals: list[Any], text: str, path: str) -> None:
        if text == "" and "" in literals:
            return  # '' unsets the field
        enum = [str(v) for v in literals if v != ""]
        if bool in others:
            if text.lower() in {"true", "false"}:
                return
            if not enum and str not in others:
                self.bad(invalid(f"Invalid boolean: {text}", param=path))
                return
        if int in others and not enum:
            if _is_int(text) or str in others or float in others or Decimal in others:
                return
            self.bad(
                invalid(f"Invalid integer: {text}", param=path, code="parameter_invalid_integer")
            )
            return
        if enum:
            if text in enum or (int in others and _is_int(text)):
                return
            self.bad(invalid(f"Invalid {path}: must be one of {_one_of(enum)}", param=path))
            return
        if not others and literals:
            self.bad(invalid(f"Invalid {path}: must be one of {_one_of(enum)}", param=path))
            return
        if others and all(typing_extensions.is_typeddict(a) or _free_form(a) for a in others):
            self.bad(invalid("Invalid hash", param=path))
        elif others and all(_is_list(a) for a in others):
            self.bad(invalid("Invalid array", param=path))


def _is_list(tp: Any) -> bool:
    return get_origin(tp) in (list, typing.List)  # noqa: UP006


def _is_int(text: str) -> bool:
    return text.lstrip("-").isdigit()


def _free_form(tp: Any) -> bool:
    """``Dict[str, ...]`` (metadata and the like) and stripe's UntypedStripeObject."""
    origin = get_origin(tp) or tp
    return origin in (dict, typing.Dict) or getattr(origin, "__name__", "") == (  # noqa: UP006
        "UntypedStripeObject"
    )


def check(method: str, template: str, params: dict[str, Any]) -> None:
    """Raise Stripe's 400 for anything the endpoint's params type does not allow."""
    spec = SPECS.get((method, template))
    cls = params_type(spec) if spec else None
    if cls is None:  # a route must name its type; tests/stripe_sandbox checks all of them
        raise StripeError(
            500, "api_error", f"Sandbox route {method} {template} has no Stripe params type."
        )
    if spec in NO_LONGER_SUPPORTED and "payment_method_types" in params:
        raise StripeError(
            400,
            "invalid_request_error",
            "The `payment_method_types` parameter is no longer supported on this API version. "
            "Use `allowed_payment_method_types` to limit the payment methods, or manage them "
            "in the Dashboard with dynamic payment methods.",
            code="payment_method_types_no_longer_supported",
            param="payment_method_types",
        )
    walker = _Walker()
    walker.typed_dict(cls, params, "")
    if walker.unknown:
        raise _unknown_error(walker.unknown)
    if walker.problem is not None:
        raise walker.problem
