"""The only module that talks to Stripe.

Every call builds a ``StripeClient`` from the tenant's key (decrypted by the caller at the
moment of use), with a pinned API version, network retries and an idempotency key derived
from our own ids. Nothing here sets the global ``stripe.api_key``. Stripe's errors become
our own, with messages people can act on and without any key in them.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from functools import cache, partial
from typing import Any
from urllib.parse import quote

import stripe

from nextoria_hub.errors import NextoriaError
from nextoria_hub.settings import get_settings

log = logging.getLogger(__name__)

_SECRET = re.compile(r"\b((?:sk|rk)_(?:test|live)_|whsec_)[A-Za-z0-9+/=_-]*([A-Za-z0-9]{4})\b")


class _RedactSecrets(logging.Filter):
    """Mask keys in the stripe library's own log lines.

    At DEBUG it logs whole response bodies, and creating a webhook endpoint answers with
    its signing secret: without this, debug logging would write every whsec_ to the log.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _SECRET.sub(r"\1…\2", message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


logging.getLogger("stripe").addFilter(_RedactSecrets())

API_VERSION = "2026-10-28.endive"  # the version stripe==16.1.0 is generated for
NETWORK_RETRIES = 2


def timeout_seconds() -> float:
    """Seconds one try may take (``NEXTORIA_STRIPE_TIMEOUT_SECONDS``, default 20).

    stripe-python waits 80 s per try by default: with the retries a hung Stripe would hold
    the Pay Now button (or a job) for over four minutes. Every POST carries an idempotency
    key, so the retry of a request that did land never acts twice.
    """
    return get_settings().stripe_timeout_seconds


class StripeGatewayError(NextoriaError):
    """Stripe refused or could not be reached; ``message`` is safe to show."""

    def __init__(
        self, message: str, *, code: str = "", decline_code: str = "", http_status: int = 0
    ):
        super().__init__(message)
        self.code = code
        self.decline_code = decline_code
        self.http_status = http_status


class StripeKeyRejected(StripeGatewayError):
    """401: the key is wrong, revoked or expired."""


class StripePermissionMissing(StripeGatewayError):
    """403: a restricted key lacks a permission."""


class StripeUnavailable(StripeGatewayError):
    """Network failure, timeout, 5xx or 429 after retries: try again later."""


class StripeCardError(StripeGatewayError):
    """402: the card was declined or needs authentication."""

    def __init__(self, message: str, *, payment_intent_id: str = "", **kwargs: Any):
        super().__init__(message, **kwargs)
        self.payment_intent_id = payment_intent_id


class StripeRequestFailed(StripeGatewayError):
    """Any other refusal (400, 404, idempotency conflicts)."""


@cache
def _http_client(timeout: float) -> stripe.HTTPClient:
    """One HTTP client under every ``StripeClient`` of the process (it holds no key).

    A ``StripeClient`` left to make its own builds two, loading the CA bundle each time
    (about 10 ms of CPU) and opening a new connection for every call. This one keeps a
    ``requests`` session per thread, so connections to Stripe are reused.
    """
    return stripe.RequestsClient(timeout=timeout)


class ConnectedKey(str):
    """The platform's secret key acting for one connected account (``Stripe-Account``).

    A ``str`` (the platform key) so that every function here, and every caller that passes
    ``secret_key`` along, works unchanged for a workspace connected through Stripe Connect;
    ``client_for`` adds the header. Idempotency keys stay per account: Stripe scopes them
    to the account in ``Stripe-Account``. Its repr names the account, never the key.
    """

    stripe_account: str

    def __new__(cls, platform_key: str, account: str) -> ConnectedKey:
        obj = super().__new__(cls, platform_key)
        obj.stripe_account = account
        return obj

    def __repr__(self) -> str:
        return f"ConnectedKey(stripe_account={self.stripe_account!r})"


def client_for(secret_key: str) -> stripe.StripeClient:
    settings = get_settings()
    return stripe.StripeClient(
        str(secret_key),
        stripe_version=API_VERSION,
        stripe_account=getattr(secret_key, "stripe_account", None),
        client_id=settings.stripe_connect_client_id or None,
        base_addresses={
            "api": settings.stripe_api_base,
            "connect": settings.effective_connect_base,
        },
        max_network_retries=NETWORK_RETRIES,
        http_client=_http_client(timeout_seconds()),
    )


# --- Connect (OAuth for Standard accounts) ----------------------------------------------------


@dataclass(frozen=True)
class ConnectGrant:
    """What the hub keeps of ``/oauth/token``'s answer: never the access token."""

    account: str
    livemode: bool
    scope: str


def oauth_token(platform_key: str, code: str) -> ConnectGrant:
    """Exchange an authorization code; the connected account's tokens are dropped at once."""
    with translated_errors("connect your Stripe account"):
        token = (
            client_for(platform_key)
            .oauth.token({"grant_type": "authorization_code", "code": code})
            .to_dict()
        )
    return ConnectGrant(
        account=str(token["stripe_user_id"]),
        livemode=bool(token["livemode"]),
        scope=str(token.get("scope") or ""),
    )


def oauth_deauthorize(platform_key: str, account: str) -> bool:
    """Disconnect ``account`` from the platform; False when it was no longer connected."""
    client = client_for(platform_key)
    with translated_errors("disconnect your Stripe account"):
        try:
            client.oauth.deauthorize({"stripe_user_id": account})
        except stripe.oauth_error.InvalidClientError:
            return False
    return True


def _event_names(events: list[str]) -> list[Any]:
    """Our event list as the library's params take it (a Literal of every Stripe event name):
    which names we ask for is decided by ``WEBHOOK_EVENTS``, not restated as a type here."""
    return list(events)


# Controller properties of a Standard account: the agency has the full Stripe Dashboard, pays
# its own fees, and Stripe collects its details and covers losses (Accounts v1, this version).
STANDARD_CONTROLLER: stripe.params.AccountCreateParamsController = {
    "fees": {"payer": "account"},
    "losses": {"payments": "stripe"},
    "requirement_collection": "stripe",
    "stripe_dashboard": {"type": "full"},
}


def create_connected_account(
    platform_key: str, *, name: str, email: str, idempotency: str
) -> AccountInfo:
    """A new Standard-like account for an agency, connected to the platform (Connect
    Onboarding). ``idempotency``: a retry after a lost answer gets the same account back."""
    with translated_errors("create your Stripe account"):
        account = (
            client_for(platform_key)
            .v1.accounts.create(
                {
                    "controller": STANDARD_CONTROLLER,
                    "business_profile": {"name": name},
                    "email": email,
                },
                {"idempotency_key": idempotency},
            )
            .to_dict()
        )
    return account_info(account, "live" if "_live_" in platform_key else "test")


def create_account_link(
    platform_key: str, account: str, *, refresh_url: str, return_url: str
) -> str:
    """A single-use URL of Stripe's hosted onboarding for ``account`` (expires in minutes:
    use at once, never store or log it)."""
    with translated_errors("open Stripe's account set-up"):
        link = client_for(platform_key).v1.account_links.create(
            {
                "account": account,
                "type": "account_onboarding",
                "refresh_url": refresh_url,
                "return_url": return_url,
            }
        )
    return str(link.url)


def upsert_connect_webhook_endpoint(
    platform_key: str, *, url: str, events: list[str]
) -> tuple[str, str | None]:
    """The platform's Connect endpoint (``connect=true``) for ``url``; (id, secret if new)."""
    client = client_for(platform_key)
    with translated_errors("register the Connect webhook"):
        for candidate in client.v1.webhook_endpoints.list({"limit": 100}).auto_paging_iter():
            if candidate.url == url:
                client.v1.webhook_endpoints.update(
                    candidate.id,
                    {"enabled_events": _event_names(events), "disabled": False},
                )
                return candidate.id, None
        created = client.v1.webhook_endpoints.create(
            {
                "url": url,
                "enabled_events": _event_names(events),
                "connect": True,
                "description": "Nextoria Hub (Connect)",
            }
        )
        return created.id, created.secret


@contextmanager
def translated_errors(action: str) -> Iterator[None]:
    """Turn stripe-python's exceptions into ours; ``action`` says what we were doing."""
    try:
        yield
    except stripe.AuthenticationError as err:
        raise StripeKeyRejected(
            "Stripe rejected this key: it is mistyped, revoked or expired. Copy it again from "
            "the Stripe Dashboard (Developers → API keys).",
            http_status=err.http_status or 401,
        ) from None
    except stripe.PermissionError as err:
        raise StripePermissionMissing(
            f"This restricted key is missing a permission needed to {action}. "
            f"Stripe said: {_scrub(err.user_message or '')}",
            http_status=err.http_status or 403,
        ) from None
    except stripe.CardError as err:
        error = err.error
        raise StripeCardError(
            _scrub(err.user_message or "The card was declined."),
            code=err.code or "",
            decline_code=(getattr(error, "decline_code", None) or "") if error else "",
            http_status=err.http_status or 402,
            payment_intent_id=_payment_intent_id(error),
        ) from None
    except (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError) as err:
        # A timeout may hide a request that did land, so promise no "nothing changed": the
        # idempotency key of the retry is what makes trying again safe.
        log.warning("Stripe unavailable while trying to %s: %s", action, type(err).__name__)
        raise StripeUnavailable(
            f"Stripe could not be reached to {action}. Please try again in a minute.",
            http_status=err.http_status or 0,
        ) from None
    except stripe.IdempotencyError as err:
        # 400: our key was used before with other parameters. Stripe's text names the key;
        # say what it means instead. (A 409, the same request still running, is an APIError.)
        log.warning("Stripe idempotency conflict while trying to %s", action)
        raise StripeRequestFailed(
            f"Stripe refused to {action}: it differs from an earlier attempt. Please reload "
            "the page and try again.",
            code=err.code or "",
            http_status=err.http_status or 0,
        ) from None
    except stripe.StripeError as err:
        raise StripeRequestFailed(
            # str(err) would carry "Request req_…:"; Stripe's message alone is what people read.
            f"Stripe refused to {action}: {_scrub(err.user_message or 'it gave no reason')}",
            code=err.code or "",
            http_status=err.http_status or 0,
        ) from None


def idempotency_key(prefix: str, params: dict[str, Any]) -> str:
    """``prefix`` plus a digest of ``params``: a retry of the same request replays Stripe's
    answer, and a changed request (an edited invoice, a new return address) is new to Stripe
    instead of being refused for reusing the key with other parameters."""
    import hashlib
    import json

    digest = hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode())
    return f"{prefix}-{digest.hexdigest()[:16]}"


def _payment_intent_id(error: Any) -> str:
    pi = getattr(error, "payment_intent", None) if error is not None else None
    if isinstance(pi, dict):
        return str(pi.get("id", ""))
    return str(getattr(pi, "id", "") or "")


def _scrub(text: str) -> str:
    """Stripe echoes keys in some messages ('The provided key 'rk_test_…'): mask them."""
    import re

    return re.sub(r"\b((?:sk|rk|pk)_(?:test|live)_|whsec_)[A-Za-z0-9]+", r"\1…", text)


@dataclass(frozen=True)
class AccountInfo:
    id: str
    name: str
    charges_enabled: bool
    details_submitted: bool
    requirements_due: tuple[str, ...]
    livemode_hint: str  # "test"/"live", from the key used


def retrieve_account(secret_key: str) -> AccountInfo:
    with translated_errors("read your Stripe account"):
        account = client_for(secret_key).v1.accounts.retrieve_current().to_dict()
    return account_info(account, "live" if "_live_" in secret_key else "test")


def account_info(account: dict[str, Any], mode: str) -> AccountInfo:
    """An Account object (from the API or an ``account.updated`` event) as the hub keeps it."""
    settings_obj = account.get("settings") or {}
    dashboard = (settings_obj.get("dashboard") or {}) if settings_obj else {}
    profile = account.get("business_profile") or {}
    requirements = account.get("requirements") or {}
    name = (
        dashboard.get("display_name")
        or profile.get("name")
        or account.get("email")
        or account["id"]
    )
    return AccountInfo(
        id=account["id"],
        name=str(name),
        charges_enabled=bool(account.get("charges_enabled")),
        details_submitted=bool(account.get("details_submitted")),
        requirements_due=tuple(requirements.get("currently_due") or ()),
        livemode_hint=mode,
    )


def upsert_webhook_endpoint(
    secret_key: str, *, url: str, events: list[str], endpoint_id: str = ""
) -> tuple[str, str | None]:
    """Create or update our endpoint; returns (id, signing secret if newly created).

    An endpoint already registered for ``url`` is updated rather than duplicated.
    """
    client = client_for(secret_key)
    with translated_errors("register the webhook"):
        existing = None
        if endpoint_id:
            try:
                existing = client.v1.webhook_endpoints.retrieve(endpoint_id)
            except stripe.InvalidRequestError:
                existing = None
        if existing is None:
            for candidate in client.v1.webhook_endpoints.list({"limit": 100}).auto_paging_iter():
                if candidate.url == url:
                    existing = candidate
                    break
        if existing is not None:
            client.v1.webhook_endpoints.update(
                existing.id,
                {"url": url, "enabled_events": _event_names(events), "disabled": False},
            )
            return existing.id, None
        created = client.v1.webhook_endpoints.create(
            {"url": url, "enabled_events": _event_names(events), "description": "Nextoria Hub"}
        )
        return created.id, created.secret


def replace_webhook_endpoint(
    secret_key: str, *, url: str, events: list[str], endpoint_id: str = "", connect: bool = False
) -> tuple[str, str]:
    """Create a fresh endpoint for ``url`` and delete the old one(s); returns (id, secret).

    Stripe never shows an existing endpoint's signing secret again, so when the stored secret
    is not the endpoint's the only way to make deliveries verify is a new endpoint.
    ``connect``: a platform's endpoint for its connected accounts' events.
    """
    client = client_for(secret_key)
    with translated_errors("register the webhook"):
        old_ids = {
            candidate.id
            for candidate in client.v1.webhook_endpoints.list({"limit": 100}).auto_paging_iter()
            if candidate.url == url or candidate.id == endpoint_id
        }
        description = "Nextoria Hub (Connect)" if connect else "Nextoria Hub"
        created = client.v1.webhook_endpoints.create(
            {
                "url": url,
                "enabled_events": _event_names(events),
                "connect": connect,
                "description": description,
            }
        )
        for old_id in sorted(old_ids):
            with suppress(stripe.InvalidRequestError):  # already gone
                client.v1.webhook_endpoints.delete(old_id)
    assert created.secret
    return created.id, created.secret


def keys_of_one_account(publishable_key: str, secret_key: str) -> bool | None:
    """Whether both keys belong to one Stripe account (and mode).

    The publishable key makes a PII token (as Stripe.js does) and the secret key retrieves it:
    a token is visible only to its own account, so "No such token" means two accounts.
    None when it cannot be told (a restricted key without the Tokens permission).
    A rejected publishable key raises StripeKeyRejected.
    """
    try:
        token = client_for(publishable_key).v1.tokens.create({"pii": {"id_number": "000000000"}})
    except stripe.AuthenticationError:
        raise StripeKeyRejected(
            "Stripe rejected this publishable key: it is mistyped or was rolled. Copy it again "
            "from the Stripe Dashboard (Developers → API keys).",
            http_status=401,
        ) from None
    except stripe.StripeError:
        return None
    with translated_errors("check the keys"):
        try:
            client_for(secret_key).v1.tokens.retrieve(token.id)
        except stripe.InvalidRequestError as err:
            if err.code == "resource_missing":
                return False
            raise
        except stripe.PermissionError:
            return None
    return True


def retrieve_webhook_endpoint(secret_key: str, endpoint_id: str) -> dict[str, Any] | None:
    with translated_errors("check the webhook"):
        try:
            endpoint = client_for(secret_key).v1.webhook_endpoints.retrieve(endpoint_id)
        except stripe.InvalidRequestError:
            return None
    return {
        "id": endpoint.id,
        "url": endpoint.url,
        "status": endpoint.status,
        "enabled_events": list(endpoint.enabled_events or []),
    }


# What a restricted key needs, as the Dashboard names the permissions, with a probe each:
# a request Stripe authorises before it validates, aimed at an id that does not exist, so a
# permitted key gets 404 (or an empty list) and a key without the permission gets 403.
RESTRICTED_KEY_PERMISSIONS: tuple[tuple[str, str, str, str], ...] = (
    ("Customers", "Write", "post", "/v1/customers/cus_nextoria_probe"),
    ("Checkout Sessions", "Write", "post", "/v1/checkout/sessions/cs_nextoria_probe/expire"),
    ("PaymentIntents", "Write", "post", "/v1/payment_intents/pi_nextoria_probe"),
    ("SetupIntents", "Write", "post", "/v1/setup_intents/seti_nextoria_probe"),
    ("PaymentMethods", "Write", "post", "/v1/payment_methods/pm_nextoria_probe"),
    ("Products", "Write", "post", "/v1/products/prod_nextoria_probe"),
    ("Prices", "Write", "post", "/v1/prices/price_nextoria_probe"),
    ("Subscriptions", "Write", "post", "/v1/subscriptions/sub_nextoria_probe"),
    ("Invoices", "Read", "get", "/v1/invoices?limit=1"),
    ("Charges and Refunds", "Read", "get", "/v1/charges?limit=1"),
    ("Events", "Read", "get", "/v1/events?limit=1"),
    ("Webhook Endpoints", "Write", "post", "/v1/webhook_endpoints/we_nextoria_probe"),
)


def missing_permissions(secret_key: str) -> list[str]:
    """The permissions (``"Customers: Write"``) a restricted key lacks; [] for a full key."""
    if not secret_key.startswith("rk_"):
        return []
    client = client_for(secret_key)
    missing = []
    for resource, access, method, path in RESTRICTED_KEY_PERMISSIONS:
        try:
            # A 404 for the probe id means the key may make this request.
            with (
                translated_errors("check the key's permissions"),
                suppress(stripe.InvalidRequestError),
            ):
                client.raw_request(method, path)
        except StripePermissionMissing:
            missing.append(f"{resource}: {access}")
    return missing


WEBHOOK_TOLERANCE_SECONDS = 300  # Stripe's default


def verify_webhook(
    payload: bytes, signature_header: str, secrets: list[tuple[str, str]]
) -> str | None:
    """The mode whose signing secret signed ``payload`` (any matching v1, 300 s tolerance), or None."""
    for mode, secret in secrets:
        try:
            stripe.WebhookSignature.verify_header(
                payload.decode("utf-8"), signature_header, secret, WEBHOOK_TOLERANCE_SECONDS
            )
        except (stripe.SignatureVerificationError, UnicodeDecodeError, ValueError):
            continue
        return mode
    return None


# --- Payments -------------------------------------------------------------------------------


def create_customer(
    secret_key: str, *, name: str, email: str, metadata: dict[str, str], idempotency_key: str
) -> str:
    """A Stripe customer for one of our clients; the key makes a retry return the same one."""
    with translated_errors("create the customer"):
        customer = client_for(secret_key).v1.customers.create(
            {"name": name, "email": email, "metadata": metadata},
            {"idempotency_key": idempotency_key},
        )
    return str(customer.id)


def create_checkout_session(
    secret_key: str, params: dict[str, Any], *, idempotency_key: str
) -> dict[str, Any]:
    with translated_errors("start the payment"):
        session = client_for(secret_key).v1.checkout.sessions.create(
            params,  # type: ignore[arg-type]
            {"idempotency_key": idempotency_key},
        )
    return session.to_dict()


def retrieve_checkout_session(
    secret_key: str, session_id: str, *, expand_payment_intent: bool = True
) -> dict[str, Any] | None:
    """The session (its PaymentIntent and charge expanded), or None if Stripe doesn't know it."""
    params: dict[str, Any] = {}
    if expand_payment_intent:
        params["expand"] = ["payment_intent", "payment_intent.latest_charge"]
    with translated_errors("check the payment"):
        try:
            session = client_for(secret_key).v1.checkout.sessions.retrieve(session_id, params)  # type: ignore[arg-type]
        except stripe.InvalidRequestError as err:
            if err.http_status == 404:
                return None
            raise
    return session.to_dict()


def _read(secret_key: str, path: str, **params: Any) -> dict[str, Any]:
    """GET ``path`` as plain JSON: the same request, errors and retries as the typed services,
    without building a ``StripeObject`` tree that the caller would turn back into a dict (a
    Checkout Session with its PaymentIntent and charge expanded costs milliseconds of CPU)."""
    response = client_for(secret_key).raw_request("get", path, **params)
    return dict(response.data)


def retrieve_payment_intent(secret_key: str, payment_intent_id: str) -> dict[str, Any] | None:
    """The PaymentIntent with its latest charge expanded, or None if Stripe doesn't know it."""
    with translated_errors("check the payment"):
        try:
            return _read(
                secret_key,
                f"/v1/payment_intents/{quote(payment_intent_id, safe='')}",
                expand=["latest_charge"],
            )
        except stripe.InvalidRequestError as err:
            if err.http_status == 404:
                return None
            raise


def checkout_payment(secret_key: str, payment_intent_id: str) -> tuple[str, dict[str, Any] | None]:
    """(id of the Checkout Session that created this PaymentIntent, the PaymentIntent with its
    latest charge expanded), in one call; ``("", None)`` if no session created it."""
    with translated_errors("check the payment"):
        found = _read(
            secret_key,
            "/v1/checkout/sessions",
            payment_intent=payment_intent_id,
            limit=1,
            expand=["data.payment_intent.latest_charge"],
        )
    if not found.get("data"):
        return "", None
    session = found["data"][0]
    pi = session.get("payment_intent")
    return str(session["id"]), pi if isinstance(pi, dict) else None


# --- Autopay --------------------------------------------------------------------------------

RATE_LIMIT_RETRIES = 4
RATE_LIMIT_BASE_DELAY = 0.25  # seconds; doubled after each 429


def _rate_limited(call: Any, action: str) -> Any:
    """Run ``call()`` with our error translation, retrying a 429 with bounded backoff.

    stripe-python does not retry 429 by itself. Every autopay call sends an idempotency key,
    so a retried POST can never act twice.
    """
    import time

    delay = RATE_LIMIT_BASE_DELAY
    for attempt in range(RATE_LIMIT_RETRIES + 1):
        try:
            with translated_errors(action):
                try:
                    return call()
                except stripe.RateLimitError:
                    if attempt == RATE_LIMIT_RETRIES:
                        raise
        except StripeUnavailable:
            raise
        log.info("Stripe rate limit while trying to %s; retrying in %.2fs", action, delay)
        time.sleep(delay)
        delay *= 2
    raise AssertionError("unreachable")


def retrieve_setup_session(secret_key: str, session_id: str) -> dict[str, Any] | None:
    """A setup-mode Checkout Session with its SetupIntent and payment method expanded."""

    def call() -> dict[str, Any] | None:
        try:
            session = client_for(secret_key).v1.checkout.sessions.retrieve(
                session_id,
                {"expand": ["setup_intent", "setup_intent.payment_method"]},
            )
        except stripe.InvalidRequestError as err:
            if err.http_status == 404:
                return None
            raise
        return session.to_dict()

    return _rate_limited(call, "check the saved card")


def retrieve_setup_intent(secret_key: str, setup_intent_id: str) -> dict[str, Any] | None:
    def call() -> dict[str, Any] | None:
        try:
            si = client_for(secret_key).v1.setup_intents.retrieve(
                setup_intent_id,
                {"expand": ["payment_method"]},
            )
        except stripe.InvalidRequestError as err:
            if err.http_status == 404:
                return None
            raise
        return si.to_dict()

    return _rate_limited(call, "check the saved card")


def retrieve_payment_method(secret_key: str, payment_method_id: str) -> dict[str, Any]:
    return _rate_limited(
        lambda: client_for(secret_key).v1.payment_methods.retrieve(payment_method_id).to_dict(),
        "read the saved card",
    )


def set_default_payment_method(
    secret_key: str, customer_id: str, payment_method_id: str, *, idempotency_key: str
) -> None:
    _rate_limited(
        lambda: client_for(secret_key).v1.customers.update(
            customer_id,
            {"invoice_settings": {"default_payment_method": payment_method_id}},
            {"idempotency_key": idempotency_key},
        ),
        "make the card the default",
    )


def detach_payment_method(secret_key: str, payment_method_id: str) -> None:
    def call() -> None:
        try:
            client_for(secret_key).v1.payment_methods.detach(payment_method_id)
        except stripe.InvalidRequestError as err:
            if err.http_status not in (400, 404):  # already detached or unknown
                raise

    _rate_limited(call, "remove the card")


def charge_off_session(
    secret_key: str, params: dict[str, Any], *, idempotency_key: str
) -> dict[str, Any]:
    """Create and confirm an off-session PaymentIntent; the PI (latest charge expanded).

    A decline raises ``StripeCardError`` carrying the PaymentIntent id. Calling again with the
    same key and params replays Stripe's stored answer: the same PI, never a second charge.
    """
    body = {**params, "confirm": True, "off_session": True, "expand": ["latest_charge"]}
    # The raw answer, parsed once: Autopay reads a few fields of it, so building StripeObjects
    # and converting them back (``.create().to_dict()``) is CPU spent on every charge for
    # nothing. Errors are raised as by ``create``.
    return _rate_limited(
        lambda: dict(
            client_for(secret_key)
            .raw_request("post", "/v1/payment_intents", **body, idempotency_key=idempotency_key)
            .data
        ),
        "charge the saved card",
    )


def retrieve_payment_intent_raw(secret_key: str, payment_intent_id: str) -> dict[str, Any] | None:
    """The PaymentIntent (charge and payment method expanded), retrying 429."""

    def call() -> dict[str, Any] | None:
        try:
            return (
                client_for(secret_key)
                .v1.payment_intents.retrieve(
                    payment_intent_id,
                    {"expand": ["latest_charge"]},
                )
                .to_dict()
            )
        except stripe.InvalidRequestError as err:
            if err.http_status == 404:
                return None
            raise

    return _rate_limited(call, "check the payment")


def create_subscription(
    secret_key: str, params: dict[str, Any], *, idempotency_key: str
) -> dict[str, Any]:
    return _rate_limited(
        lambda: (
            client_for(secret_key)
            .v1.subscriptions.create(params, {"idempotency_key": idempotency_key})  # type: ignore[arg-type]
            .to_dict()
        ),
        "start the subscription",
    )


def create_product_price(
    secret_key: str,
    *,
    name: str,
    currency: str,
    unit_amount: int,
    interval: str,
    interval_count: int,
    idempotency_key: str,
) -> str:
    """A product with one recurring price; returns the price id."""
    client = client_for(secret_key)
    product = _rate_limited(
        lambda: client.v1.products.create(
            {"name": name}, {"idempotency_key": f"{idempotency_key}-product"}
        ),
        "create the product",
    )
    price = _rate_limited(
        lambda: client.v1.prices.create(
            {
                "product": product.id,
                "currency": currency,
                "unit_amount": unit_amount,
                "recurring": {"interval": interval, "interval_count": interval_count},
            },
            {"idempotency_key": f"{idempotency_key}-price"},
        ),
        "create the price",
    )
    return str(price.id)


def cancel_subscription(secret_key: str, subscription_id: str) -> None:
    def call() -> None:
        try:
            client_for(secret_key).v1.subscriptions.cancel(subscription_id)
        except stripe.InvalidRequestError as err:
            if err.http_status != 404:
                raise

    _rate_limited(call, "cancel the subscription")


# --- Disputes and refunds -------------------------------------------------------------------


def retrieve_charge(secret_key: str, charge_id: str) -> dict[str, Any] | None:
    """The charge as Stripe has it now (refunded amount, disputed), or None if unknown."""
    with translated_errors("check the payment"):
        try:
            return client_for(secret_key).v1.charges.retrieve(charge_id).to_dict()
        except stripe.InvalidRequestError as err:
            if err.http_status == 404:
                return None
            raise


def retrieve_dispute(secret_key: str, dispute_id: str) -> dict[str, Any] | None:
    """The dispute as Stripe has it now (its status decides won or lost), or None if unknown."""
    with translated_errors("check the dispute"):
        try:
            return client_for(secret_key).v1.disputes.retrieve(dispute_id).to_dict()
        except stripe.InvalidRequestError as err:
            if err.http_status == 404:
                return None
            raise


def list_events(secret_key: str, *, since: int, types: list[str]) -> Iterator[dict[str, Any]]:
    """The account's events of ``types`` created at or after ``since`` (Unix seconds), newest
    first, page by page; Stripe keeps them for 30 days."""

    def page(after: str) -> Any:
        params: dict[str, Any] = {"created": {"gte": since}, "limit": 100, "types": types[:20]}
        if after:
            params["starting_after"] = after
        return client_for(secret_key).v1.events.list(params)  # type: ignore[arg-type]

    after = ""
    while True:
        result = _rate_limited(partial(page, after), "list recent events")
        for event in result.data:
            yield event.to_dict()
        if not result.has_more or not result.data:
            return
        after = result.data[-1].id


# --- One live way to pay ----------------------------------------------------------------------


def expire_checkout_session(secret_key: str, session_id: str) -> str:
    """Close an open Checkout Session so it can no longer take money.

    Returns the session's status afterwards: ``expired``, or ``complete`` when it was paid
    first (Stripe refuses to expire it; the payment then arrives as an overpayment), or
    ``missing`` when Stripe doesn't know it.
    """

    def call() -> str:
        client = client_for(secret_key)
        try:
            return str(client.v1.checkout.sessions.expire(session_id).status)
        except stripe.InvalidRequestError as err:
            if err.http_status == 404:
                return "missing"
            # Only an open session can be expired: say what it is instead.
            try:
                return str(client.v1.checkout.sessions.retrieve(session_id).status)
            except stripe.InvalidRequestError:
                raise err from None

    return _rate_limited(call, "close the payment page")


def create_refund(
    secret_key: str,
    *,
    payment_intent_id: str,
    amount: int,
    metadata: dict[str, str],
    idempotency_key: str,
) -> dict[str, Any]:
    """Refund ``amount`` of a PaymentIntent's charge; the key makes a retry the same refund."""
    with translated_errors("refund the payment"):
        refund = client_for(secret_key).v1.refunds.create(
            {
                "payment_intent": payment_intent_id,
                "amount": amount,
                "metadata": metadata,
            },
            {"idempotency_key": idempotency_key},
        )
    return refund.to_dict()


def list_recent_charges(secret_key: str, since: int, limit: int = 1000) -> list[dict[str, Any]]:
    """Charges created at or after ``since`` (a Unix time), newest first, up to ``limit``."""
    out: list[dict[str, Any]] = []
    with translated_errors("list the charges"):
        page = client_for(secret_key).v1.charges.list({"created": {"gte": since}, "limit": 100})
        for charge in page.auto_paging_iter():
            out.append(charge.to_dict())
            if len(out) >= limit:
                break
    return out


def update_customer_billing(
    secret_key: str, customer_id: str, *, name: str, address: dict[str, str]
) -> None:
    """The client's billing name and address on its Stripe customer (portal → Profile).

    An empty address clears it (Stripe's ``address=""``). Updating to the same values is
    harmless, so a retry needs no idempotency key.
    """
    params: dict[str, Any] = {"name": name, "address": address or ""}
    _rate_limited(
        lambda: client_for(secret_key).v1.customers.update(customer_id, params),  # type: ignore[arg-type]
        "update your billing details",
    )


def replace_customer_tax_id(
    secret_key: str, customer_id: str, *, old_id: str, tax_type: str, value: str
) -> str:
    """Swap the customer's tax ID (Stripe's TaxIds can't be edited): the new one's id, or ''."""

    def call() -> str:
        tax_ids = client_for(secret_key).v1.customers.tax_ids
        if old_id:
            try:
                tax_ids.delete(customer_id, old_id)
            except stripe.InvalidRequestError as err:
                if err.http_status != 404:  # already gone
                    raise
        if not value:
            return ""
        return str(tax_ids.create(customer_id, {"type": tax_type, "value": value}).id)

    return _rate_limited(call, "update your tax ID")
