"""Settings → Integrations → Stripe: connecting keys, the webhook, modes, health.

Keys are validated before anything is stored (shape, same mode, a live call to Stripe, and
for restricted keys every permission the product needs). Secrets are sealed at rest and only
masks ever leave this module, except through ``active_secret_key``/``webhook_secrets``,
which callers use at the moment of a Stripe call or a signature check.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, select

from nextoria_hub import stripe_gateway as gateway
from nextoria_hub.audit import record_audit
from nextoria_hub.billing.finance import get_finance
from nextoria_hub.billing.payment_methods import PAYMENT_METHODS
from nextoria_hub.clock import utcnow
from nextoria_hub.db import session_scope
from nextoria_hub.errors import StripeNotConnected, ValidationError
from nextoria_hub.models import StripeKeys, Workspace
from nextoria_hub.payments import stripe_connect
from nextoria_hub.secret_box import mask, seal, unseal
from nextoria_hub.settings import get_settings
from nextoria_hub.tenancy import Actor
from nextoria_hub.webhooks_health import deliveries_refused

MODES = ("test", "live")
SEED_EVENTS = (
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "invoice.paid",
    "customer.subscription.deleted",
)
PRODUCT_EVENTS = ("checkout.session.completed", "setup_intent.succeeded", "charge.refunded")
# Bank debits settle days later; disputes and failed refunds take money back.
ASYNC_EVENTS = (
    "payment_intent.processing",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
    "charge.dispute.created",
    "charge.dispute.closed",
    "charge.refund.updated",
)
# Stripe enabling or disabling charges on the account: readiness stays true without a click.
ACCOUNT_EVENTS = ("account.updated",)
WEBHOOK_EVENTS = SEED_EVENTS + PRODUCT_EVENTS + ASYNC_EVENTS + ACCOUNT_EVENTS
# Only the platform's Connect endpoint hears these (an agency removing the platform).
CONNECT_ONLY_EVENTS = ("account.application.deauthorized",)
CONNECT_WEBHOOK_EVENTS = WEBHOOK_EVENTS + CONNECT_ONLY_EVENTS
# Why each event is on the endpoint, one line each, shown next to the list on the page.
WEBHOOK_EVENT_REASONS: dict[str, str] = {
    "payment_intent.succeeded": "A card payment or Autopay charge went through: the invoice is paid.",
    "payment_intent.payment_failed": "A payment was declined: the invoice stays open and you are told.",
    "invoice.paid": "A retainer (subscription) period was paid.",
    "customer.subscription.deleted": "A retainer ended or was cancelled in Stripe.",
    "checkout.session.completed": "The client finished Checkout: links the payment to the invoice.",
    "setup_intent.succeeded": "The client saved a card or bank account for Autopay.",
    "charge.refunded": "A refund was made, here or in the Stripe Dashboard.",
    "payment_intent.processing": "A bank debit started; it settles days later.",
    "checkout.session.async_payment_succeeded": "A bank debit paid through Checkout settled.",
    "checkout.session.async_payment_failed": "A bank debit paid through Checkout failed.",
    "charge.dispute.created": "The client disputed a payment with their bank.",
    "charge.dispute.closed": "A dispute was decided.",
    "charge.refund.updated": "A refund failed after it was made: the money is back with you.",
    "account.updated": "Stripe enabled or disabled payments on your account: readiness updates.",
}
assert set(WEBHOOK_EVENT_REASONS) == set(WEBHOOK_EVENTS)
REFUSED_DELIVERIES = (
    "Stripe's deliveries are being refused: the webhook secret does not match the endpoint's. "
    "Click Register webhook automatically to replace the endpoint and store its new secret."
)


def key_mode(key: str) -> str | None:
    for mode in MODES:
        if f"_{mode}_" in key[:9]:
            return mode
    return None


# A right prefix on a key too short to be one: say so, instead of repeating the prefix rule.
_TRUNCATED = (
    "This {kind} is too short to be a whole Stripe key. Use the copy button next to it "
    "in Developers → API keys, so nothing is cut off."
)


def validate_key_shapes(publishable_key: str, secret_key: str, webhook_secret: str = "") -> str:
    """Prefix and mode checks that need no network; returns the mode of the pair."""
    pk, sk, wh = publishable_key.strip(), secret_key.strip(), webhook_secret.strip()
    if not pk.startswith(("pk_test_", "pk_live_")):
        raise ValidationError(
            "A publishable key starts with pk_test_ or pk_live_. Copy it from Developers → API keys.",
            "publishable_key",
        )
    if len(pk) < 16:
        raise ValidationError(_TRUNCATED.format(kind="publishable key"), "publishable_key")
    if not sk.startswith(("sk_test_", "sk_live_", "rk_test_", "rk_live_")):
        if sk.startswith("pk_"):
            message = (
                "This is a publishable key. Paste the secret key (sk_…) or a restricted key (rk_…)."
            )
        else:
            message = "A secret key starts with sk_test_ or sk_live_ (restricted keys: rk_test_ or rk_live_)."
        raise ValidationError(message, "secret_key")
    if len(sk) < 16:
        raise ValidationError(_TRUNCATED.format(kind="secret key"), "secret_key")
    if wh and (not wh.startswith("whsec_") or len(wh) < 12):
        raise ValidationError(
            "A webhook signing secret starts with whsec_. Copy it from Developers → Webhooks → your endpoint.",
            "webhook_secret",
        )
    pk_mode, sk_mode = key_mode(pk), key_mode(sk)
    if pk_mode != sk_mode:
        raise ValidationError(
            f"These keys are from different modes: the publishable key is a {pk_mode} key and the "
            f"secret key is a {sk_mode} key. Use both keys from the same mode.",
            "secret_key",
        )
    assert pk_mode is not None
    return pk_mode


def _keys(db: Session, workspace_id: int, mode: str) -> StripeKeys | None:
    return db.exec(
        select(StripeKeys).where(StripeKeys.workspace_id == workspace_id, StripeKeys.mode == mode)
    ).first()


@dataclass(frozen=True)
class ConnectInput:
    publishable_key: str
    secret_key: str
    webhook_secret: str = ""
    mode: str | None = None  # when given, must match the keys


def connect(db: Session, actor: Actor, data: ConnectInput) -> StripeKeys:
    """Validate the keys with Stripe and store them (sealed) for their mode."""
    actor.require_admin()
    mode = validate_key_shapes(data.publishable_key, data.secret_key, data.webhook_secret)
    if data.mode and data.mode != mode:
        raise ValidationError(
            f"You chose {data.mode} mode but these are {mode} keys.", "secret_key"
        )
    secret_key = data.secret_key.strip()
    try:
        account = gateway.retrieve_account(secret_key)
        missing = gateway.missing_permissions(secret_key)
    except (gateway.StripeKeyRejected, gateway.StripePermissionMissing) as err:
        raise ValidationError(err.message, "secret_key") from None
    except gateway.StripeGatewayError as err:
        raise ValidationError(err.message, "form") from None
    try:
        same_account = gateway.keys_of_one_account(data.publishable_key.strip(), secret_key)
    except gateway.StripeKeyRejected as err:
        raise ValidationError(err.message, "publishable_key") from None
    except gateway.StripeGatewayError as err:
        raise ValidationError(err.message, "form") from None
    if same_account is False:
        raise ValidationError(
            "These keys belong to two different Stripe accounts: the publishable key is not "
            f"from the account of this secret key ({account.name or account.id}). Copy both "
            "from the same account in Developers → API keys.",
            "publishable_key",
        )
    if missing:
        raise ValidationError(
            "This restricted key is missing permissions Nextoria Hub needs: "
            + ", ".join(missing)
            + ". Edit the key in the Stripe Dashboard and save again.",
            "secret_key",
        )
    row = _keys(db, actor.workspace_id, mode)
    before = _mask_row(row)
    if row is None:
        row = StripeKeys(
            workspace_id=actor.workspace_id,
            mode=mode,
            publishable_key="",
            secret_key_sealed="",
            secret_key_mask="",
        )
    row.publishable_key = data.publishable_key.strip()
    row.secret_key_sealed = seal(secret_key)
    row.secret_key_mask = mask(secret_key)
    if data.webhook_secret.strip():
        row.webhook_secret_sealed = seal(data.webhook_secret.strip())
        row.webhook_secret_mask = mask(data.webhook_secret.strip())
    _apply_account(row, account)
    row.connected_at = utcnow()
    row.connected_by_id = actor.user_id
    row.connected_by_label = actor.name or actor.email
    db.add(row)
    finance = get_finance(db, actor.workspace_id)
    other = _keys(db, actor.workspace_id, "live" if mode == "test" else "test")
    if other is None and finance.stripe_mode != mode:
        finance.stripe_mode = mode
        db.add(finance)
    db.flush()
    record_audit(db, actor, "stripe.connect", f"{mode}: {before} → {_mask_row(row)}")
    return row


def _apply_account(row: StripeKeys, account: gateway.AccountInfo) -> None:
    row.account_id = account.id
    row.account_name = account.name
    row.charges_enabled = account.charges_enabled
    row.details_submitted = account.details_submitted
    row.requirements_due = ",".join(account.requirements_due)
    row.checked_at = utcnow()


def _secret(row: StripeKeys) -> str:
    """What the gateway takes as ``secret_key``: the pasted key, or for a workspace connected
    with Stripe Connect the platform key carrying its ``Stripe-Account`` (``ConnectedKey``)."""
    if row.connected_account:
        return stripe_connect.credentials(row)
    return unseal(row.secret_key_sealed)


def _mask_row(row: StripeKeys | None) -> str:
    if row is not None and row.connected_account:
        return f"{stripe_connect.CONNECTED_MASK}, account {row.connected_account}"
    if row is None or not row.secret_key_sealed:
        return "not connected"
    webhook = row.webhook_secret_mask or "no webhook secret"
    return f"{row.secret_key_mask}, {webhook}, account {row.account_id}"


def set_webhook_secret(db: Session, actor: Actor, mode: str, webhook_secret: str) -> StripeKeys:
    actor.require_admin()
    row = _require_keys(db, actor.workspace_id, mode)
    wh = webhook_secret.strip()
    if not wh.startswith("whsec_") or len(wh) < 12:
        raise ValidationError("A webhook signing secret starts with whsec_.", "webhook_secret")
    before = row.webhook_secret_mask or "none"
    row.webhook_secret_sealed, row.webhook_secret_mask = seal(wh), mask(wh)
    db.add(row)
    record_audit(
        db, actor, "stripe.webhook_secret", f"{mode}: {before} → {row.webhook_secret_mask}"
    )
    return row


def webhook_url(workspace: Workspace) -> str:
    return get_settings().workspace_url(workspace.slug, "/api/webhooks/stripe")


def register_webhook(db: Session, actor: Actor, mode: str) -> StripeKeys:
    """Create (or update, never duplicate) our endpoint in Stripe and store its secret.

    When no secret is stored, or Stripe's deliveries are being refused (the stored secret is
    not the endpoint's), the endpoint is replaced: Stripe never reveals an existing endpoint's
    secret, so only a new endpoint's secret is known to be right.
    """
    actor.require_admin()
    row = _require_keys(db, actor.workspace_id, mode)
    if row.connected_account:
        raise ValidationError(
            "Connected with Stripe: events arrive at the platform's Connect webhook, so this "
            "workspace needs no endpoint of its own.",
            "webhook",
        )
    workspace = db.get(Workspace, actor.workspace_id)
    assert workspace is not None
    secret_key = unseal(row.secret_key_sealed)
    replace = bool(row.webhook_secret_sealed) and deliveries_refused(db, actor.workspace_id)
    endpoint_id: str
    secret: str | None
    try:
        if replace:
            endpoint_id, secret = gateway.replace_webhook_endpoint(
                secret_key,
                url=webhook_url(workspace),
                events=list(WEBHOOK_EVENTS),
                endpoint_id=row.webhook_endpoint_id,
            )
        else:
            endpoint_id, secret = gateway.upsert_webhook_endpoint(
                secret_key,
                url=webhook_url(workspace),
                events=list(WEBHOOK_EVENTS),
                endpoint_id=row.webhook_endpoint_id,
            )
            if not secret and not row.webhook_secret_sealed:
                replace = True
                endpoint_id, secret = gateway.replace_webhook_endpoint(
                    secret_key,
                    url=webhook_url(workspace),
                    events=list(WEBHOOK_EVENTS),
                    endpoint_id=endpoint_id,
                )
    except gateway.StripeGatewayError as err:
        raise ValidationError(err.message, "webhook") from None
    before = row.webhook_endpoint_id or "none"
    row.webhook_endpoint_id = endpoint_id
    if secret:
        row.webhook_secret_sealed, row.webhook_secret_mask = seal(secret), mask(secret)
    db.add(row)
    detail = f"{mode}: endpoint {endpoint_id}"
    if replace:
        detail = f"{mode}: endpoint {before} replaced by {endpoint_id}"
    record_audit(db, actor, "stripe.webhook_register", detail)
    return row


def set_mode(db: Session, actor: Actor, mode: str) -> list[str]:
    """Switch the mode in use; returns warnings about the new mode (none when all is set)."""
    actor.require_admin()
    if mode not in MODES:
        raise ValidationError("Mode must be test or live.", "mode")
    row = _require_keys(db, actor.workspace_id, mode)
    finance = get_finance(db, actor.workspace_id)
    if finance.stripe_mode != mode:
        from nextoria_hub.payments.payment_paths import close_mode_sessions

        record_audit(db, actor, "stripe.mode", f"{finance.stripe_mode} → {mode}")
        # Test and live do not share data: pages opened in the old mode stop taking money.
        close_mode_sessions(
            db, actor.workspace_id, finance.stripe_mode, f"switched to {mode} mode by {actor.name}"
        )
        finance.stripe_mode = mode
        db.add(finance)
    if not row.webhook_secret_sealed:
        return [NO_WEBHOOK_SECRET.format(mode=mode, Mode=mode.capitalize())]
    return []


NO_WEBHOOK_SECRET = (
    "{Mode} mode has no webhook secret: Stripe's {mode} events will be refused and payments "
    "will not be marked paid. Choose {mode} keys and click Register webhook automatically."
)


def uses_live_keys(db: Session, workspace_id: int) -> bool:
    """True while the mode in use is live and live keys are connected (the "Live mode" marker)."""
    return active_mode(db, workspace_id) == "live" and _keys(db, workspace_id, "live") is not None


def disconnect(db: Session, actor: Actor, mode: str) -> None:
    """Forget the keys and secrets of ``mode``; payments and events already recorded stay."""
    actor.require_admin()
    row = _require_keys(db, actor.workspace_id, mode)
    if row.connected_account:  # Stripe Connect: revoke the platform's access too
        stripe_connect.disconnect_connected(db, actor, row)
        return
    record_audit(db, actor, "stripe.disconnect", f"{mode}: {_mask_row(row)} → not connected")
    db.delete(row)


def _require_keys(db: Session, workspace_id: int, mode: str) -> StripeKeys:
    row = _keys(db, workspace_id, mode)
    if row is None:
        raise StripeNotConnected(
            f"Stripe is not connected in {mode} mode. Connect your {mode} keys in "
            "Settings → Integrations → Stripe first."
        )
    return row


def active_mode(db: Session, workspace_id: int) -> str:
    return get_finance(db, workspace_id).stripe_mode


def active_secret_key(db: Session, workspace_id: int) -> tuple[str, str]:
    """(mode, secret key) of the mode in use; raises StripeNotConnected. Use at once, never log."""
    mode = active_mode(db, workspace_id)
    row = _keys(db, workspace_id, mode)
    if row is None:
        raise StripeNotConnected(
            "Online payments are not available yet: this agency hasn't connected Stripe. "
            "Please contact them to pay this invoice."
        )
    return mode, _secret(row)


def webhook_secrets(db: Session, workspace_id: int) -> list[tuple[str, str]]:
    """(mode, signing secret) for every connected mode that has one."""
    rows = db.exec(select(StripeKeys).where(StripeKeys.workspace_id == workspace_id)).all()
    return [(r.mode, unseal(r.webhook_secret_sealed)) for r in rows if r.webhook_secret_sealed]


@dataclass
class ModeStatus:
    mode: str
    connected: bool
    publishable_key: str = ""
    secret_key_mask: str = ""
    webhook_secret_mask: str = ""
    webhook_endpoint_id: str = ""
    account_id: str = ""
    account_name: str = ""
    charges_enabled: bool = False
    details_submitted: bool = False
    requirements_due: list[str] = field(default_factory=list)
    connected_at: str = ""
    connected_by: str = ""
    connected_account: str = ""  # set when connected with Stripe Connect (no key stored)


def connection_status(db: Session, actor: Actor) -> tuple[str, list[ModeStatus]]:
    """Masked view of both modes; members see it too (clients never)."""
    actor.require_staff()
    statuses = []
    for mode in MODES:
        row = _keys(db, actor.workspace_id, mode)
        if row is None:
            statuses.append(ModeStatus(mode=mode, connected=False))
            continue
        statuses.append(
            ModeStatus(
                mode=mode,
                connected=True,
                publishable_key=row.publishable_key,
                secret_key_mask=row.secret_key_mask,
                webhook_secret_mask=row.webhook_secret_mask,
                webhook_endpoint_id=row.webhook_endpoint_id,
                account_id=row.account_id,
                account_name=row.account_name,
                charges_enabled=row.charges_enabled,
                details_submitted=row.details_submitted,
                requirements_due=[r for r in row.requirements_due.split(",") if r],
                connected_at=row.connected_at.strftime("%d %b %Y %H:%M UTC"),
                connected_by=row.connected_by_label,
                connected_account=row.connected_account,
            )
        )
    return active_mode(db, actor.workspace_id), statuses


def check_connection(db: Session, actor: Actor) -> list[str]:
    """Re-validate the keys and webhook of the active mode; problems in plain words with the fix."""
    actor.require_admin()
    mode = active_mode(db, actor.workspace_id)
    row = _keys(db, actor.workspace_id, mode)
    if row is None:
        return [f"Stripe is not connected in {mode} mode: enter your {mode} keys and click Save."]
    problems: list[str] = []
    secret_key = _secret(row)
    try:
        _apply_account(row, gateway.retrieve_account(secret_key))
        db.add(row)
        missing = gateway.missing_permissions(secret_key)
        if missing:
            problems.append(
                "The restricted key lacks: " + ", ".join(missing) + ". Edit it in Stripe."
            )
    except gateway.StripeGatewayError as err:
        return [err.message]
    if not row.charges_enabled:
        problems.append(
            "Stripe can't take payments on this account yet: finish identity verification in the "
            "Stripe Dashboard (Settings → Business details)."
        )
    if row.requirements_due:
        problems.append(
            f"Stripe needs more information: {row.requirements_due.replace(',', ', ')}."
        )
    if row.connected_account:
        return problems  # events come through the platform's Connect endpoint
    if not row.webhook_secret_sealed:
        problems.append(
            "No webhook signing secret: click Register webhook automatically, or add the endpoint in "
            "Stripe and paste its secret."
        )
    else:
        if deliveries_refused(db, actor.workspace_id):
            problems.append(REFUSED_DELIVERIES)
        if row.webhook_endpoint_id:
            problems += _webhook_problems(
                db, actor.workspace_id, secret_key, row.webhook_endpoint_id
            )
    return problems


def _webhook_problems(
    db: Session, workspace_id: int, secret_key: str, endpoint_id: str
) -> list[str]:
    problems: list[str] = []
    try:
        endpoint = gateway.retrieve_webhook_endpoint(secret_key, endpoint_id)
    except gateway.StripeGatewayError as err:
        return [err.message]
    workspace = db.get(Workspace, workspace_id)
    assert workspace is not None
    if endpoint is None:
        return ["The webhook endpoint was deleted in Stripe: click Register webhook automatically."]
    if endpoint["url"] != webhook_url(workspace):
        problems.append(f"The webhook points at {endpoint['url']}: register it again.")
    lacking = sorted(set(WEBHOOK_EVENTS) - set(endpoint["enabled_events"]))
    if lacking and "*" not in endpoint["enabled_events"]:
        problems.append("The webhook is not subscribed to: " + ", ".join(lacking) + ".")
    if endpoint["status"] == "disabled":
        problems.append("The webhook endpoint is disabled in Stripe: enable it or register again.")
    return problems


def uses_test_keys(db: Session, workspace_id: int) -> bool:
    """True while the mode in use is test and test keys are connected (the "Test mode" badge)."""
    return active_mode(db, workspace_id) == "test" and _keys(db, workspace_id, "test") is not None


def secret_key_for(db: Session, workspace_id: int, mode: str) -> str:
    """The secret key of ``mode`` (not necessarily the active one), for following up on
    payments made in that mode; raises StripeNotConnected. Use at once, never log."""
    return _secret(_require_keys(db, workspace_id, mode))


READINESS_MAX_AGE = timedelta(minutes=5)


def refresh_stale_readiness(workspace_id: int, max_age: timedelta = READINESS_MAX_AGE) -> bool:
    """Ask Stripe again about every connected mode last checked more than ``max_age`` ago.

    Blocking (a Stripe call per stale mode): run it off the event loop. Returns whether
    anything was refreshed. A failing call leaves the row as it was (Check connection says why).
    """
    cutoff = utcnow() - max_age
    with session_scope() as db:
        rows = db.exec(select(StripeKeys).where(StripeKeys.workspace_id == workspace_id)).all()
        stale = [
            (r.mode, _secret(r))
            for r in rows
            if (r.secret_key_sealed or r.connected_account) and _aware(r.checked_at) < cutoff
        ]
    fresh: dict[str, gateway.AccountInfo] = {}
    for mode, secret_key in stale:
        try:
            fresh[mode] = gateway.retrieve_account(secret_key)
        except gateway.StripeGatewayError:
            continue
    if not fresh:
        return False
    with session_scope() as db:
        for mode, account in fresh.items():
            row = _keys(db, workspace_id, mode)
            if row is not None and row.account_id == account.id:
                _apply_account(row, account)
                db.add(row)
    return True


def apply_account_update(db: Session, workspace_id: int, mode: str, account: dict) -> bool:
    """An ``account.updated`` event: the readiness of that mode's account, as Stripe says."""
    row = _keys(db, workspace_id, mode)
    if row is None or row.account_id != account.get("id"):
        return False
    _apply_account(row, gateway.account_info(account, mode))
    db.add(row)
    return True


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


# Methods that need Stripe to have verified the business before it lets the account use them.
_VERIFIED_BUSINESS_METHODS = ("us_bank_account", "sepa_debit")


def method_warnings(db: Session, workspace_id: int) -> dict[str, str]:
    """Payment method key → why the account in use cannot take it yet (from stored readiness)."""
    mode = active_mode(db, workspace_id)
    row = _keys(db, workspace_id, mode)
    if row is None:
        return {}
    if not row.charges_enabled:
        reason = "Not usable yet: Stripe can't take payments on this account yet."
        return {m.key: reason for m in PAYMENT_METHODS if not m.retired}
    if row.details_submitted and not row.requirements_due:
        return {}
    reason = (
        "Not usable yet: this needs a verified business in Stripe"
        + (
            f" (Stripe asks for: {row.requirements_due.replace(',', ', ')})"
            if row.requirements_due
            else ""
        )
        + ". Finish it in the Stripe Dashboard (Settings → Business details)."
    )
    return {key: reason for key in _VERIFIED_BUSINESS_METHODS}


def move_webhooks(db: Session, actor: Actor) -> list[str]:
    """After an address change: point every registered endpoint at the new webhook URL.

    The endpoint keeps its id and signing secret. Returns problems (in plain words) for modes
    whose endpoint could not be updated; the old URL keeps working for 30 days meanwhile.
    """
    actor.require_admin()
    workspace = db.get(Workspace, actor.workspace_id)
    assert workspace is not None
    problems: list[str] = []
    rows = db.exec(select(StripeKeys).where(StripeKeys.workspace_id == actor.workspace_id)).all()
    for row in rows:
        if not row.webhook_endpoint_id:
            continue
        try:
            endpoint_id, _secret = gateway.upsert_webhook_endpoint(
                unseal(row.secret_key_sealed),
                url=webhook_url(workspace),
                events=list(WEBHOOK_EVENTS),
                endpoint_id=row.webhook_endpoint_id,
            )
        except gateway.StripeGatewayError as err:
            problems.append(
                f"The {row.mode} webhook still points at the old address: {err.message}"
            )
            continue
        record_audit(
            db,
            actor,
            "stripe.webhook_moved",
            f"{row.mode}: endpoint {endpoint_id} → {webhook_url(workspace)}",
        )
    return problems
