"""`nextoria client create`, `nextoria invoice create|show`: output, --json keys, errors."""

from __future__ import annotations

import json

from sqlmodel import select
from typer.testing import CliRunner

from nextoria_hub.cli import app
from nextoria_hub.models import Client, Invoice, InvoiceLine, OutboxEmail
from tests.factories import quick_workspace

runner = CliRunner()


def _run(*args: str):
    return runner.invoke(app, list(args))


def test_client_create_plain_and_json(db) -> None:
    quick_workspace(db, "acme", "Acme")
    result = _run(
        "client", "create", "--workspace", "acme", "--name", "Initech", "--email", "AP@initech.test"
    )
    assert result.exit_code == 0, result.output
    client = db.exec(select(Client)).one()
    assert result.output.strip() == str(client.id)
    assert (client.currency, client.billing_email) == ("usd", "ap@initech.test")
    result = _run(
        "client",
        "create",
        "--workspace",
        "acme",
        "--name",
        "Hooli",
        "--email",
        "ap@hooli.test",
        "--currency",
        "EUR",
        "--json",
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) == {"id", "name", "email", "currency"}
    assert (data["name"], data["email"], data["currency"]) == ("Hooli", "ap@hooli.test", "eur")


def test_client_create_errors_are_one_line(db) -> None:
    quick_workspace(db, "acme", "Acme")
    for args, needle in (
        (["--workspace", "nope", "--name", "X", "--email", "x@x.test"], "No workspace"),
        (["--workspace", "acme", "--name", "X", "--email", "bad"], "valid email"),
        (
            ["--workspace", "acme", "--name", "X", "--email", "x@x.test", "--currency", "zzz"],
            "currency",
        ),
    ):
        result = _run("client", "create", *args)
        assert result.exit_code == 1
        assert result.output.startswith("error: ") and needle in result.output
        assert result.output.count("\n") == 1
    assert db.exec(select(Client)).all() == []


def test_invoice_create_send_and_show(db) -> None:
    quick_workspace(db, "acme", "Acme")
    assert (
        _run(
            "client",
            "create",
            "--workspace",
            "acme",
            "--name",
            "Initech",
            "--email",
            "ap@initech.test",
        ).exit_code
        == 0
    )
    result = _run(
        "invoice",
        "create",
        "--workspace",
        "acme",
        "--client-email",
        "ap@initech.test",
        "--line",
        "Design: phase 1:2:1250.00",
        "--line",
        "Hosting:1:30",
        "--due",
        "2030-01-31",
    )
    assert result.exit_code == 0, result.output
    invoice = db.exec(select(Invoice)).one()
    assert result.output.strip() == f"{invoice.id} INV-0001"
    lines = db.exec(select(InvoiceLine).order_by(InvoiceLine.position)).all()
    assert [(li.description, li.quantity, li.unit_amount) for li in lines] == [
        ("Design: phase 1", "2", 125000),
        ("Hosting", "1", 3000),
    ]
    assert invoice.status == "draft" and str(invoice.due_date) == "2030-01-31"

    result = _run(
        "invoice",
        "create",
        "--workspace",
        "acme",
        "--client-email",
        "ap@initech.test",
        "--line",
        "Audit:1:5000",
        "--currency",
        "jpy",
        "--send",
        "--json",
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) == {"id", "number", "status", "amount_due", "currency"}
    assert (data["number"], data["status"], data["amount_due"], data["currency"]) == (
        "INV-0002",
        "open",
        5000,
        "jpy",
    )
    assert (
        db.exec(select(OutboxEmail).where(OutboxEmail.kind == "invoice_sent")).one().to_address
        == "ap@initech.test"
    )

    result = _run("invoice", "show", "--workspace", "acme", "--number", "inv-0002", "--json")
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert {"id", "number", "status", "amount_due", "currency", "payments"} <= set(shown)
    assert shown["payments"] == [] and shown["id"] == data["id"]
    result = _run("invoice", "show", "--workspace", "acme", "--number", "INV-0001")
    assert result.exit_code == 0 and "INV-0001 (Initech): draft" in result.output


def test_invoice_errors_are_one_line(db) -> None:
    quick_workspace(db, "acme", "Acme")
    _run(
        "client", "create", "--workspace", "acme", "--name", "Initech", "--email", "ap@initech.test"
    )
    base = ["invoice", "create", "--workspace", "acme"]
    for args, needle in (
        (["--client-email", "who@nowhere.test", "--line", "A:1:1"], "No client"),
        (
            ["--client-email", "ap@initech.test", "--line", "no colons"],
            "DESCRIPTION:QTY:UNIT_PRICE",
        ),
        (["--client-email", "ap@initech.test", "--line", "A:0:10"], "quantity"),
        (["--client-email", "ap@initech.test", "--line", "A:1:1.234"], "decimals"),
        (
            ["--client-email", "ap@initech.test", "--line", "A:1:10", "--due", "31/01/2030"],
            "YYYY-MM-DD",
        ),
        (["--client-email", "ap@initech.test", "--line", "A:1:0", "--send"], "totals zero"),
    ):
        result = _run(*base, *args)
        assert result.exit_code == 1, (args, result.output)
        assert result.output.startswith("error: ") and needle in result.output, result.output
        assert result.output.count("\n") == 1
    assert db.exec(select(Invoice)).all() == []
    result = _run("invoice", "show", "--workspace", "acme", "--number", "INV-0404")
    assert result.exit_code == 1 and result.output.startswith("error: No invoice INV-0404")


def test_invoice_create_with_parts_and_a_deposit(db) -> None:
    quick_workspace(db, "acme", "Acme")
    _run(
        "client", "create", "--workspace", "acme", "--name", "Initech", "--email", "ap@initech.test"
    )
    base = ["invoice", "create", "--workspace", "acme", "--client-email", "ap@initech.test"]
    result = _run(
        *base, "--line", "Site:1:2000", "--partial", "--minimum", "250", "--deposit", "25%",
        "--send", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    invoice = db.exec(select(Invoice)).one()
    assert (invoice.allow_partial, invoice.partial_minimum) == (True, 25000)
    assert (invoice.deposit_kind, invoice.deposit_value, invoice.deposit_amount) == (
        "percent",
        2500,
        50000,
    )
    shown = json.loads(_run("invoice", "show", "--workspace", "acme", "--number", "INV-0001",
                            "--json").output)  # fmt: skip
    assert (shown["deposit_amount"], shown["amount_paid"]) == (50000, 0)
    # The deposit must leave something to pay: the same rule as the pages.
    result = _run(*base, "--line", "Logo:1:100", "--deposit", "100", "--send")
    assert result.exit_code == 1 and "must be less than the total" in result.output
