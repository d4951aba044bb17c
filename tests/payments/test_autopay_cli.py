"""`nextoria autopay status|run-now` against the sandbox: the queue before and after a run."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date

import pytest
from typer.testing import CliRunner

from nextoria_hub.cli import app
from nextoria_hub.payments.autopay.work_items import enqueue_due_items
from stripe_sandbox.testing import SandboxServer
from tests.payments.conftest import Shop
from tests.payments.test_autopay import (
    INSUFFICIENT,
    attempts,
    autopay_invoice,
    enable,
    ledger,
    save_card,
)

runner = CliRunner()


@pytest.fixture(autouse=True)
def _no_webhook_in_flight(stripe_sandbox: SandboxServer) -> Iterator[None]:
    yield
    stripe_sandbox.wait_for_deliveries(20)


def status(shop: Shop) -> dict:
    result = runner.invoke(
        app, ["autopay", "status", "--workspace", shop.tenant.workspace.slug, "--json"]
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_status_then_run_now_charges_the_due_invoice(shop: Shop) -> None:
    enable(shop)
    save_card(shop)
    invoice = autopay_invoice(shop, date.today())
    before = status(shop)
    assert before["next_run"] is None  # no scheduler has stored the job in this test
    assert before["workspaces"] == [
        {
            "workspace": shop.tenant.workspace.slug,
            "mode": "test",
            "due": 1,
            "queued": 0,
            "claimed": 0,
            "in_flight": 0,
            "retrying": 0,
            "failed": 0,
        }
    ]
    text = runner.invoke(app, ["autopay", "status"])
    assert text.exit_code == 0, text.output
    assert (
        f"{shop.tenant.workspace.slug} (test): due 1, queued 0, claimed 0, in flight 0, "
        "retrying 0, failed 0" in text.output
    )

    run = runner.invoke(app, ["autopay", "run-now", "--workspace", shop.tenant.workspace.slug])
    assert run.exit_code == 0, run.output
    assert "charged 1, failed 0" in run.output
    assert [a.status for a in attempts(shop, invoice)] == ["succeeded"]
    assert len(ledger(shop)) == 1
    after = status(shop)["workspaces"][0]
    assert (after["due"], after["queued"], after["claimed"]) == (0, 0, 0)
    assert (after["in_flight"], after["failed"]) == (0, 0)

    again = runner.invoke(app, ["autopay", "run-now"])  # every workspace: nothing twice
    assert again.exit_code == 0, again.output
    assert "charged 0" in again.output
    assert len(ledger(shop)) == 1


def test_a_soft_decline_shows_as_retrying(shop: Shop) -> None:
    enable(shop)
    save_card(shop, INSUFFICIENT)
    autopay_invoice(shop, date.today())
    run = runner.invoke(app, ["autopay", "run-now", "--workspace", shop.tenant.workspace.slug])
    assert run.exit_code == 0, run.output
    assert "charged 0, failed 1" in run.output
    row = status(shop)["workspaces"][0]
    assert (row["due"], row["in_flight"], row["retrying"], row["failed"]) == (0, 0, 1, 0)


def test_an_unknown_workspace_is_a_one_line_error(shop: Shop) -> None:
    for command in (["status"], ["run-now"]):
        result = runner.invoke(app, ["autopay", *command, "--workspace", "nope"])
        assert result.exit_code == 1
        assert "error: No workspace called" in result.output


def test_status_counts_the_work_items_the_job_queued(shop: Shop) -> None:
    """The scheduler's job only queues; until a worker claims them the items show as queued."""
    enable(shop)
    save_card(shop)
    autopay_invoice(shop, date.today())
    queued = enqueue_due_items(workspace_ids=[shop.tenant.workspace.id])
    assert queued["queued"] == 1
    row = status(shop)["workspaces"][0]
    assert (row["due"], row["queued"], row["claimed"]) == (1, 1, 0)

    run = runner.invoke(app, ["autopay", "run-now", "--workspace", shop.tenant.workspace.slug])
    assert run.exit_code == 0, run.output
    assert "charged 1" in run.output
    row = status(shop)["workspaces"][0]
    assert (row["due"], row["queued"], row["claimed"]) == (0, 0, 0)
    assert len(ledger(shop)) == 1
