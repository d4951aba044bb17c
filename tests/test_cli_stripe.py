"""`nextoria stripe connect|status` and `nextoria secrets rotate`, against the sandbox."""

from __future__ import annotations

import shlex

from cryptography.fernet import Fernet
from sqlmodel import select
from typer.testing import CliRunner

from nextoria_hub.cli import app
from nextoria_hub.models import StripeKeys
from nextoria_hub.secret_box import is_current, unseal
from nextoria_hub.settings import get_settings
from tests.factories import make_workspace

runner = CliRunner()


def test_connect_then_status_shows_only_masks(db, stripe_account) -> None:
    make_workspace(db, "acme", "Acme")
    keys = stripe_account["test"]
    result = runner.invoke(
        app,
        [
            "stripe",
            "connect",
            "--workspace",
            "acme",
            "--publishable-key",
            keys["publishable_key"],
            "--secret-key",
            keys["secret_key"],
            "--webhook-secret",
            "whsec_abcdefghijkl1234",
            "--mode",
            "test",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "connected acme in test mode" in result.output
    assert keys["secret_key"] not in result.output

    status = runner.invoke(app, ["stripe", "status", "--workspace", "acme"])
    assert status.exit_code == 0, status.output
    assert f"sk_test_…{keys['secret_key'][-4:]}" in status.output
    assert "whsec_…1234" in status.output
    assert keys["secret_key"] not in status.output and "whsec_abcdefghijkl1234" not in status.output


def test_connect_failure_exits_non_zero_with_the_same_message(db, stripe_account) -> None:
    make_workspace(db, "acme", "Acme")
    keys = stripe_account["test"]
    result = runner.invoke(
        app,
        [
            "stripe",
            "connect",
            "--workspace",
            "acme",
            "--publishable-key",
            keys["publishable_key"],
            "--secret-key",
            stripe_account["live"]["secret_key"],
        ],
    )
    assert result.exit_code == 1
    assert result.output.strip().startswith("error: These keys are from different modes")
    unknown = runner.invoke(
        app,
        [
            "stripe",
            "connect",
            "--workspace",
            "nope",
            "--publishable-key",
            "pk_test_x",
            "--secret-key",
            "sk_test_y",
        ],
    )
    assert unknown.exit_code == 1 and "No workspace called" in unknown.output


def test_rotate_reseals_under_the_newest_key_and_can_run_again(
    db, stripe_account, monkeypatch
) -> None:
    make_workspace(db, "acme", "Acme")
    keys = stripe_account["test"]
    runner.invoke(
        app,
        [
            "stripe",
            "connect",
            "--workspace",
            "acme",
            "--publishable-key",
            keys["publishable_key"],
            "--secret-key",
            keys["secret_key"],
            "--webhook-secret",
            "whsec_abcdefghijkl1234",
        ],
    )
    old_key = get_settings().master_keys()[0]
    new_key = Fernet.generate_key().decode()
    monkeypatch.setenv("NEXTORIA_SECRET_KEYS", f"{new_key},{old_key}")
    get_settings.cache_clear()
    try:
        first = runner.invoke(app, ["secrets", "rotate"])
        assert first.exit_code == 0, first.output
        assert "re-encrypted 2 secrets; 0 were already" in first.output
        again = runner.invoke(app, ["secrets", "rotate"])
        assert "re-encrypted 0 secrets; 2 were already" in again.output
        # The old key can now be dropped.
        monkeypatch.setenv("NEXTORIA_SECRET_KEYS", new_key)
        get_settings.cache_clear()
        db.expire_all()
        row = db.exec(select(StripeKeys)).one()
        assert is_current(row.secret_key_sealed)
        assert unseal(row.secret_key_sealed) == keys["secret_key"]
        assert unseal(row.webhook_secret_sealed) == "whsec_abcdefghijkl1234"
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()


def test_demo_platform_env_reuses_one_platform_with_a_fresh_connect_endpoint(
    stripe_sandbox, monkeypatch
) -> None:
    """`make run` evaluates these lines: the same platform each start, one working endpoint."""

    def exported() -> dict[str, str]:
        result = runner.invoke(
            app, ["demo", "platform-env", "--stripe-sandbox", stripe_sandbox.base_url]
        )
        assert result.exit_code == 0, result.output
        pairs = [
            shlex.split(line.removeprefix("export "))[0]
            for line in result.output.split("\n")
            if line
        ]
        return dict(pair.split("=", 1) for pair in pairs)

    first, second = exported(), exported()
    assert first["NEXTORIA_STRIPE_CONNECT_CLIENT_ID"].startswith("ca_")
    assert second["NEXTORIA_STRIPE_CONNECT_CLIENT_ID"] == first["NEXTORIA_STRIPE_CONNECT_CLIENT_ID"]
    assert second["NEXTORIA_STRIPE_PLATFORM_SECRET_KEY"].startswith("sk_test_")
    assert second["NEXTORIA_STRIPE_CONNECT_BASE"] == stripe_sandbox.base_url
    secret = second["NEXTORIA_STRIPE_CONNECT_WEBHOOK_SECRET"]
    assert secret.startswith("whsec_")
    assert secret != first["NEXTORIA_STRIPE_CONNECT_WEBHOOK_SECRET"]

    platform = stripe_sandbox.client(second["NEXTORIA_STRIPE_PLATFORM_SECRET_KEY"])
    url = get_settings().apex_url("/api/webhooks/stripe/connect")
    endpoints = [e for e in platform.v1.webhook_endpoints.list().data if e.url == url]
    assert len(endpoints) == 1  # the first start's endpoint was replaced, not left failing
    assert endpoints[0].description == "Nextoria Hub (Connect)"

    for name, value in second.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        assert get_settings().connect_configured
    finally:
        get_settings.cache_clear()
