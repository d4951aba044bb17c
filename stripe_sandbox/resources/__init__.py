"""API handlers, one module per family of Stripe resources; importing registers their routes."""

from . import (  # noqa: F401
    account,
    billing,
    checkout,
    customers,
    disputes,
    mandates,
    payment_intents,
    payment_methods,
    refunds,
    setup_intents,
    tokens,
    webhook_endpoints,
)
