"""Autopay attempt badges on the client's Billing tab: failures are told apart from successes."""

from __future__ import annotations

from datetime import UTC, datetime

from nextoria_hub.payments.autopay import AttemptView, AutopayStatus
from nextoria_hub.ui.states.client_detail import attempts_view


def _status(*statuses: str) -> AutopayStatus:
    at = datetime(2026, 12, 1, tzinfo=UTC)
    attempts = [AttemptView(at, "INV-0001", 32100, "usd", s, "") for s in statuses]
    return AutopayStatus(True, False, "", None, None, attempts)


def test_failed_attempts_are_red_and_succeeded_ones_green() -> None:
    rows = attempts_view(_status("succeeded", "failed", "unknown", "claimed"))
    colors = {row["status"]: row["color"] for row in rows}
    assert colors["succeeded"] == "green"
    assert colors["failed"] == "red"
    assert len({colors["succeeded"], colors["failed"], colors["unknown"]}) == 3
    assert all(row["amount"] == "$321.00" for row in rows)
