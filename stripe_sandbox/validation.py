"""Reject unknown top-level parameters as Stripe does (``parameter_unknown``).

The allowed names come from stripe-python's request parameter types (``stripe.params``), so
a misspelt parameter in product code fails in the sandbox as it would against Stripe. Where
that package or a type is missing, nothing is checked.
"""

from __future__ import annotations

import importlib
from functools import cache

from .errors import StripeError

# (method, path template) -> stripe.params module stem ("checkout." prefix for that package).
SPECS: dict[tuple[str, str], str] = {
    ("GET", "/v1/account"): "account_retrieve",
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
    ("POST", "/v1/charges/{id}/refunds"): "refund_create",
    ("GET", "/v1/setup_intents"): "setup_intent_list",
    ("GET", "/v1/setup_intents/{id}"): "setup_intent_retrieve",
    ("POST", "/v1/setup_intents"): "setup_intent_create",
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
}

# Accepted although stripe-python 16's types only know ``allowed_payment_method_types``:
# older API versions (and the issue this sandbox serves) use ``payment_method_types``.
EXTRA: dict[str, frozenset[str]] = {
    spec: frozenset({"payment_method_types"})
    for spec in (
        "checkout.session_create",
        "payment_intent_create",
        "payment_intent_update",
        "payment_intent_confirm",
        "setup_intent_create",
    )
}

_OPTIONS = {
    "api_key",
    "stripe_version",
    "stripe_account",
    "stripe_context",
    "max_network_retries",
    "idempotency_key",
    "content_type",
    "headers",
}


@cache
def allowed(spec: str) -> frozenset[str] | None:
    """The parameter names stripe-python knows for ``spec``, or None if unknown."""
    package, _, stem = spec.rpartition(".")
    module_name = f"stripe.params.{package + '.' if package else ''}_{stem}_params"
    class_name = "".join(part.title() for part in stem.split("_")) + "Params"
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError):
        return None
    keys = set(getattr(cls, "__required_keys__", ())) | set(getattr(cls, "__optional_keys__", ()))
    return frozenset((keys - _OPTIONS) | EXTRA.get(spec, frozenset())) if keys else None


def check(method: str, template: str, names: set[str]) -> None:
    """Raise Stripe's 400 for parameters this endpoint does not take."""
    spec = SPECS.get((method, template))
    known = allowed(spec) if spec else None
    if known is None:
        return
    unknown = sorted(names - known)
    if len(unknown) == 1:
        raise StripeError(
            400,
            "invalid_request_error",
            f"Received unknown parameter: {unknown[0]}",
            code="parameter_unknown",
            param=unknown[0],
        )
    if unknown:
        raise StripeError(
            400,
            "invalid_request_error",
            f"Received unknown parameters: {', '.join(unknown)}",
            code="parameter_unknown",
            param=unknown[0],
        )
