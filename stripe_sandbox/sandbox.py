"""The sandbox's state holder: store, keys and authentication, idempotency and chaos settings."""

from __future__ import annotations

import base64
import json
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from .delivery import Deliverer, DeliveryConfig
from .errors import StripeError
from .ids import new_id, token
from .settlement import Settler
from .store import Scope, Store

IDEMPOTENCY_TTL = 24 * 3600

# Permission group (as used in routes and in restricted-key grants) -> Stripe's rak_ name.
RAK_NAMES: dict[str, str] = {
    "customers": "customer",
    "payment_methods": "payment_method",
    "setup_intents": "setup_intent",
    "payment_intents": "payment_intent",
    "charges": "charge",
    "refunds": "refund",
    "checkout_sessions": "checkout_session",
    "events": "event",
    "webhook_endpoints": "webhook",
    "products": "product",
    "prices": "plan",
    "subscriptions": "subscription",
    "invoices": "invoice",
    "balance": "balance",
    "account": "account",
    "tokens": "token",
}


@dataclass
class Chaos:
    """Injected trouble for API calls (``/v1`` only)."""

    latency_ms: int = 0
    failure_rate: float = 0.0
    failure_mode: str = "500"
    hang_seconds: float = 30.0
    rate_limit_per_second: float = 0.0  # per account and mode; 0 = no limit
    rng: random.Random = field(default_factory=random.Random)

    def public(self) -> dict[str, Any]:
        return {
            "latency_ms": self.latency_ms,
            "failure_rate": self.failure_rate,
            "failure_mode": self.failure_mode,
            "hang_seconds": self.hang_seconds,
            "rate_limit_per_second": self.rate_limit_per_second,
        }


class RateLimiter:
    """Stripe's per-account request limit, as a token bucket per account and mode.

    Like Stripe's limiter, a bucket holds ``rate`` tokens and refills at ``rate`` per second:
    a burst of ``rate`` requests passes at once, then ``rate`` per second. It also counts the
    requests each account and mode made (admitted and refused), for benchmarks and tests.
    """

    def __init__(self, clock: Any = time.monotonic) -> None:
        self.clock = clock
        self.lock = threading.Lock()
        self.buckets: dict[Scope, tuple[float, float]] = {}  # scope -> (tokens, updated)
        self.admitted: dict[Scope, int] = {}
        self.refused: dict[Scope, int] = {}

    def admit(self, scope: Scope, rate: float) -> bool:
        """Take one token of ``scope``'s bucket; False (refuse with 429) when it is empty."""
        with self.lock:
            ok = True
            if rate > 0:
                now = self.clock()
                tokens, updated = self.buckets.get(scope, (rate, now))
                tokens = min(rate, tokens + (now - updated) * rate)
                ok = tokens >= 1
                self.buckets[scope] = (tokens - 1 if ok else tokens, now)
            counts = self.admitted if ok else self.refused
            counts[scope] = counts.get(scope, 0) + 1
            return ok

    def reset_buckets(self) -> None:
        with self.lock:
            self.buckets.clear()

    def counts(self) -> list[dict[str, Any]]:
        with self.lock:
            scopes = sorted(
                set(self.admitted) | set(self.refused), key=lambda s: (s.account, s.livemode)
            )
            return [
                {
                    "account": s.account,
                    "livemode": s.livemode,
                    "requests": self.admitted.get(s, 0),
                    "rate_limited": self.refused.get(s, 0),
                }
                for s in scopes
            ]


@dataclass
class IdemEntry:
    fingerprint: str
    created: float
    request_id: str
    done: bool = False
    status: int = 0
    body: bytes = b""


def redact(key: str) -> str:
    head = key[:8]
    return head + "*" * max(0, len(key) - len(head) - 4) + key[-4:]


def auth_error(message: str, code: str | None = None) -> StripeError:
    return StripeError(401, "invalid_request_error", message, code=code)


class Sandbox:
    """Everything one running server knows; shared by the API, the controls and the pages."""

    def __init__(
        self,
        db_path: str | None = None,
        delivery: DeliveryConfig | None = None,
        bank_settle_seconds: float = 5.0,
    ) -> None:
        self.store = Store(db_path)
        self.settler = Settler(self, bank_settle_seconds)
        self.chaos = Chaos()
        self.limiter = RateLimiter()
        self.deliverer = Deliverer(self, delivery or DeliveryConfig())
        self.idempotency: dict[tuple[str, bool, str], IdemEntry] = {}
        self.idem_lock = threading.Lock()

    def start(self) -> None:
        self.deliverer.start()
        self.settler.start()

    def stop(self) -> None:
        self.settler.stop()
        self.deliverer.stop()
        self.store.close()

    # accounts and keys
    def create_account(
        self, name: str, url: str | None = None, platform: bool = False
    ) -> dict[str, Any]:
        acct_id = new_id("acct", 16)
        acct = {
            "id": acct_id,
            "name": name,
            "url": url,
            "created": int(time.time()),
            "charges_enabled": True,
            "details_submitted": True,
            "payouts_enabled": True,
            "currently_due": [],
            # Connect: a platform has a client_id; a connected account names its platforms.
            "client_id": f"ca_{token(32)}" if platform else None,
            "applications": {},
        }
        self.store.save_account(acct)
        out: dict[str, Any] = {"account_id": acct_id}
        if platform:
            out["client_id"] = acct["client_id"]
        for mode, live in (("test", False), ("live", True)):
            keys = {}
            for kind, prefix in (("publishable", "pk"), ("secret", "sk")):
                key = f"{prefix}_{mode}_51{token(96)}"
                self.store.save_key(self._key_record(key, acct_id, live, kind))
                keys[f"{kind}_key"] = key
            out[mode] = keys
        return out

    def _key_record(
        self, key: str, acct: str, live: bool, kind: str, perms: dict[str, str] | None = None
    ) -> dict[str, Any]:
        return {
            "key": key,
            "account": acct,
            "livemode": live,
            "kind": kind,
            "permissions": perms,
            "revoked": False,
            "created": int(time.time()),
        }

    def account_keys(self, acct_id: str) -> dict[str, Any]:
        out: dict[str, Any] = {"account_id": acct_id, "test": {}, "live": {}}
        for k in self.store.keys.values():
            if k["account"] == acct_id and k["kind"] != "restricted" and not k["revoked"]:
                out["live" if k["livemode"] else "test"][f"{k['kind']}_key"] = k["key"]
        return out

    def create_restricted_key(
        self, acct_id: str, livemode: bool, permissions: dict[str, str]
    ) -> dict[str, Any]:
        for group, level in permissions.items():
            if group not in RAK_NAMES or level not in {"read", "write", "none"}:
                raise ValueError(f"unknown permission {group}={level}")
        key = f"rk_{'live' if livemode else 'test'}_51{token(96)}"
        record = self._key_record(key, acct_id, livemode, "restricted", dict(permissions))
        self.store.save_key(record)
        return record

    def revoke_key(self, key: str) -> bool:
        with self.store.lock:
            record = self.store.keys.get(key)
            if record is None:
                return False
            record["revoked"] = True
            self.store.save_key(record)
            return True

    def authenticate(self, authorization: str | None) -> dict[str, Any]:
        """The key record for an ``Authorization`` header, or Stripe's 401."""
        if not authorization:
            raise auth_error(
                "You did not provide an API key. You need to provide your API key in the "
                "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
                "YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, "
                "or we can help at https://support.stripe.com/."
            )
        scheme, _, value = authorization.partition(" ")
        key = value.strip()
        if scheme.lower() == "basic":
            try:
                key = base64.b64decode(key).decode().split(":", 1)[0]
            except (ValueError, UnicodeDecodeError):
                key = ""
        elif scheme.lower() != "bearer":
            key = ""
        record = self.store.keys.get(key)
        if record is None:
            raise auth_error(f"Invalid API Key provided: {redact(key)}")
        if record["revoked"]:
            raise auth_error(
                f"Expired API Key provided: {redact(key)}. Application access may have been "
                "revoked.",
                code="api_key_expired",
            )
        return record

    def authorize(self, record: dict[str, Any], permission: str, write: bool) -> None:
        """Enforce publishable and restricted keys' limits with Stripe's 403."""
        if record["kind"] == "publishable":
            # Stripe.js creates payment methods and tokens with the publishable key.
            if permission in ("payment_methods", "tokens") and write:
                return
            raise StripeError(
                403,
                "invalid_request_error",
                "This API call cannot be made with a publishable API key. Please use a secret "
                "API key. You can find a list of your API keys at "
                "https://dashboard.stripe.com/account/apikeys.",
                code="secret_key_required",
            )
        if record["kind"] != "restricted":
            return
        granted = (record.get("permissions") or {}).get(permission, "none")
        if granted == "write" or (granted == "read" and not write):
            return
        level = "write" if write else "read"
        raise StripeError(
            403,
            "invalid_request_error",
            f"The provided key '{redact(record['key'])}' does not have the required permissions "
            f"for this endpoint on account '{record['account']}'. Having the "
            f"'rak_{RAK_NAMES[permission]}_{level}' permission would allow this request to "
            "continue.",
        )

    def is_connected(self, platform: str, account: str) -> bool:
        acct = self.store.accounts.get(account)
        return acct is not None and platform in (acct.get("applications") or {})

    def check_account_header(self, record: dict[str, Any], header: str | None) -> Scope:
        """The scope a request acts in: the key's own account, or a connected one.

        ``Stripe-Account`` may name the key's own account, or an account connected to the
        key's platform (secret or restricted key); anything else is Stripe's 403.
        """
        if not header or header == record["account"]:
            return self.scope_of(record)
        if record["kind"] != "publishable" and self.is_connected(record["account"], header):
            return Scope(header, bool(record["livemode"]))
        raise StripeError(
            403,
            "invalid_request_error",
            f"The provided key '{redact(record['key'])}' does not have access to account "
            f"'{header}' (or that account does not exist). Application access may have "
            "been revoked.",
            code="account_invalid",
        )

    def scope_of(self, record: dict[str, Any]) -> Scope:
        return Scope(record["account"], bool(record["livemode"]))

    # idempotency
    def idem_claim(
        self, scope: Scope, key: str, fingerprint: str, request_id: str
    ) -> IdemEntry | None:
        """Claim ``key``: None means go ahead; an entry is a replay; raises on conflicts."""
        now = time.time()
        with self.idem_lock:
            slot = (scope.account, scope.livemode, key)
            entry = self.idempotency.get(slot)
            if entry is not None and now - entry.created > IDEMPOTENCY_TTL:
                entry = None
            if entry is None:
                if len(self.idempotency) >= 10_000:
                    self._prune_idempotency(now)
                self.idempotency[slot] = IdemEntry(fingerprint, now, request_id)
                return None
            if not entry.done:
                raise StripeError(
                    409,
                    "idempotency_error",
                    "There is currently another in-progress request using this Idempotent Key "
                    "(that probably means you submitted twice, and the other request is still "
                    "going through): " + key + ". Please try again later.",
                    code="idempotency_key_in_use",
                )
            if entry.fingerprint != fingerprint:
                raise StripeError(
                    400,
                    "idempotency_error",
                    "Keys for idempotent requests can only be used with the same parameters they "
                    f"were first used with. Try using a key other than '{key}' if you meant to "
                    "execute a different request.",
                )
            return entry

    def _prune_idempotency(self, now: float) -> None:
        expired = [k for k, e in self.idempotency.items() if now - e.created > IDEMPOTENCY_TTL]
        for slot in expired:
            del self.idempotency[slot]

    def idem_finish(self, scope: Scope, key: str, status: int, body: bytes, keep: bool) -> None:
        with self.idem_lock:
            slot = (scope.account, scope.livemode, key)
            if not keep:
                self.idempotency.pop(slot, None)
                return
            entry = self.idempotency.get(slot)
            if entry is not None:
                entry.done, entry.status, entry.body = True, status, body

    def account_object(self, acct_id: str) -> dict[str, Any]:
        from .resources.account import account_object

        return account_object(self.store.accounts[acct_id])

    def dump(self, obj: Any) -> bytes:
        return json.dumps(obj, indent=2).encode()
