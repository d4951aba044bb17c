"""Autopay: a client's saved card is charged off-session on each open invoice's due date.

- Saving a card (``enrolment``): a setup-mode Checkout Session on the client's Stripe
  customer; the card is recorded from the ``checkout.session.completed`` /
  ``setup_intent.succeeded`` webhooks or, if they are late, from the return page
  (``complete_setup``). Both are idempotent.
- Charging (``work_items``, ``engine``): the ``autopay_charge`` job queues one item per due
  invoice; any worker claims items under a lease and charges them. An attempt row is claimed
  by inserting ``(invoice_id, attempt_no)`` (unique) and committed with its idempotency key BEFORE Stripe is
  called, so two workers can never both charge one attempt, and a crash after the call is
  settled on the next run by replaying the same request (Stripe returns the stored answer).
- Failures (``declines``, ``policy``, ``outcomes``): soft declines are retried on the
  workspace's schedule (days after the first failure); ``authentication_required`` asks the
  client to pay in the portal; hard declines ask for a new card. After the last retry the
  invoice shows "Payment failed".
- Notices (``notices``): the client is told before each charge.

This module re-exports the names other modules and tests use as ``autopay.X``.
"""

from __future__ import annotations

from typing import Any

from nextoria_hub.payments.autopay.declines import (
    AUTH_CODES,
    BANK_HARD_CODES,
    HARD_CODES,
    classify_failure,
)
from nextoria_hub.payments.autopay.engine import (
    CALL_WORKERS,
    WORKSPACE_WORKERS,
    ChargeCounts,
)
from nextoria_hub.payments.autopay.enrolment import (
    PAUSED_METHOD_REMOVED,
    PURPOSE,
    SAVABLE_METHODS,
    complete_setup,
    disable_autopay,
    enable_autopay,
    list_payment_methods,
    offers_bank_accounts,
    remove_payment_method,
    save_method_from_setup_intent,
    setup_method_params,
    start_setup_checkout,
)
from nextoria_hub.payments.autopay.notices import send_autopay_notices
from nextoria_hub.payments.autopay.outcomes import (
    apply_failure,
    apply_success,
    attempt_for_pi,
    mark_processing,
)
from nextoria_hub.payments.autopay.policy import NextStep, Past, next_step
from nextoria_hub.payments.autopay.ratelimit import RATE_PER_SECOND, TokenBucket, _bucket
from nextoria_hub.payments.autopay.records import active_method
from nextoria_hub.payments.autopay.status import (
    AttemptView,
    AutopayStatus,
    NextCharge,
    SavedMethodView,
    autopay_status,
    portal_autopay,
)
from nextoria_hub.payments.autopay.work_items import charge_due_invoices, enqueue_due_items

# Test hook: called after Stripe answered and before the outcome is committed (crash tests).
after_stripe_call: Any = None

__all__ = [
    "AUTH_CODES",
    "BANK_HARD_CODES",
    "CALL_WORKERS",
    "HARD_CODES",
    "PAUSED_METHOD_REMOVED",
    "PURPOSE",
    "RATE_PER_SECOND",
    "SAVABLE_METHODS",
    "WORKSPACE_WORKERS",
    "AttemptView",
    "AutopayStatus",
    "ChargeCounts",
    "NextCharge",
    "NextStep",
    "Past",
    "SavedMethodView",
    "TokenBucket",
    "_bucket",
    "active_method",
    "after_stripe_call",
    "apply_failure",
    "apply_success",
    "attempt_for_pi",
    "autopay_status",
    "charge_due_invoices",
    "classify_failure",
    "complete_setup",
    "disable_autopay",
    "enable_autopay",
    "enqueue_due_items",
    "list_payment_methods",
    "mark_processing",
    "next_step",
    "offers_bank_accounts",
    "portal_autopay",
    "remove_payment_method",
    "save_method_from_setup_intent",
    "send_autopay_notices",
    "setup_method_params",
    "start_setup_checkout",
]
