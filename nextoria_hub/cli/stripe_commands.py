from __future__ import annotations

import typer

from nextoria_hub.accounts.workspaces import get_workspace_by_slug
from nextoria_hub.cli.common import print_json, unit_of_work
from nextoria_hub.models.ids import require_id
from nextoria_hub.payments.stripe_connection import ConnectInput, connect, connection_status
from nextoria_hub.tenancy import Actor
from nextoria_hub.webhooks_health import webhook_health

app = typer.Typer(help="A workspace's Stripe connection.", no_args_is_help=True)


def _operator(workspace_id: int) -> Actor:
    """The CLI acts as the workspace's operator, with admin rights, recorded as 'cli'."""
    return Actor.system(workspace_id, name="Command line", label="cli")


@app.command("connect")
def connect_command(
    workspace: str = typer.Option(..., help="Workspace slug."),
    publishable_key: str = typer.Option(..., help="pk_test_… or pk_live_…"),
    secret_key: str = typer.Option(..., help="sk_… or a restricted rk_… key."),
    webhook_secret: str = typer.Option("", help="whsec_… signing secret of the webhook endpoint."),
    mode: str = typer.Option(None, help="test or live; must match the keys."),
) -> None:
    """Validate keys with Stripe and store them, exactly as the settings page does."""
    with unit_of_work() as db:
        ws = get_workspace_by_slug(db, workspace)
        row = connect(
            db,
            _operator(require_id(ws)),
            ConnectInput(publishable_key, secret_key, webhook_secret, mode),
        )
        typer.echo(
            f"connected {ws.slug} in {row.mode} mode to {row.account_name} ({row.account_id}) with {row.secret_key_mask}"
        )


@app.command("status")
def status_command(
    workspace: str = typer.Option(..., help="Workspace slug."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Print the masked connection and webhook health."""
    with unit_of_work() as db:
        ws = get_workspace_by_slug(db, workspace)
        actor = _operator(require_id(ws))
        active, modes = connection_status(db, actor)
        health = webhook_health(db, require_id(ws))
    if as_json:
        print_json(
            {
                "workspace": ws.slug,
                "active_mode": active,
                "modes": [m.__dict__ for m in modes],
                "webhooks": health.__dict__,
            }
        )
        return
    typer.echo(f"workspace {ws.slug}: active mode {active}")
    for m in modes:
        if not m.connected:
            typer.echo(f"  {m.mode}: not connected")
            continue
        ready = "can take payments" if m.charges_enabled else "cannot take payments yet"
        typer.echo(
            f"  {m.mode}: {m.account_name} ({m.account_id}), secret {m.secret_key_mask}, "
            f"webhook secret {m.webhook_secret_mask or 'none'}, {ready}"
        )
    typer.echo(
        f"  webhooks: last received {health.last_received or 'never'}"
        f"{f' ({health.last_type})' if health.last_type else ''}; "
        f"last signature failure {health.last_signature_failure or 'never'}; "
        f"not applied {health.not_applied}"
    )
    typer.echo(
        f"  inbox: {health.inbox_depth} waiting"
        f"{f' (oldest {health.oldest_unapplied_seconds} s)' if health.inbox_depth else ''}, "
        f"{health.failed} failed, last applied {health.last_applied or 'never'}"
    )


@app.command("connect-platform")
def connect_platform_command(
    register_webhook: bool = typer.Option(
        False,
        "--register-webhook",
        help="Create (or update) the platform's Connect webhook endpoint at the apex.",
    ),
) -> None:
    """Check the Stripe Connect platform settings; optionally register its Connect webhook.

    A new endpoint's signing secret is printed once: set it as
    NEXTORIA_STRIPE_CONNECT_WEBHOOK_SECRET (it is not stored anywhere else).
    """
    from nextoria_hub import stripe_gateway as gateway
    from nextoria_hub.payments import stripe_connect
    from nextoria_hub.payments.stripe_connection import CONNECT_WEBHOOK_EVENTS
    from nextoria_hub.settings import get_settings

    settings = get_settings()
    if not stripe_connect.configured():
        typer.echo(
            "Set NEXTORIA_STRIPE_CONNECT_CLIENT_ID and NEXTORIA_STRIPE_PLATFORM_SECRET_KEY first.",
            err=True,
        )
        raise typer.Exit(1)
    out: dict[str, object] = {
        "client_id": settings.stripe_connect_client_id,
        "mode": stripe_connect.platform_mode(),
        "redirect_uri": stripe_connect.redirect_uri(),
        "webhook_url": settings.apex_url(stripe_connect.CONNECT_WEBHOOK_PATH),
        "webhook_secret_set": bool(settings.stripe_connect_webhook_secret),
    }
    if register_webhook:
        events = list(CONNECT_WEBHOOK_EVENTS)
        try:
            endpoint_id, secret = gateway.upsert_connect_webhook_endpoint(
                stripe_connect.platform_key(), url=str(out["webhook_url"]), events=events
            )
        except gateway.StripeGatewayError as err:
            typer.echo(err.message, err=True)
            raise typer.Exit(1) from None
        out["webhook_endpoint_id"] = endpoint_id
        if secret:
            out["webhook_secret"] = secret  # shown once, for NEXTORIA_STRIPE_CONNECT_WEBHOOK_SECRET
    print_json(out)
