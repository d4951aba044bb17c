"""Command line: ``serve`` runs the sandbox; the other commands call a running one's controls."""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from typing import Any

DEFAULT_PORT = 12111


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from .app import create_app
    from .delivery import DeliveryConfig

    config = DeliveryConfig(args.retry_initial_delay, args.retry_max_delay, args.max_attempts)
    app = create_app(args.db, config, args.bank_settle_seconds)
    print(f"stripe sandbox listening on http://127.0.0.1:{args.port}", flush=True)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level=args.log_level, access_log=False)
    return 0


def _base(args: argparse.Namespace) -> str:
    return (args.api_base or f"http://127.0.0.1:{args.port}").rstrip("/")


def _call(args: argparse.Namespace, method: str, path: str, body: dict | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(
        f"{_base(args)}/_sandbox/{path}",
        data=data,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(req, timeout=30) as resp:
            return json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        raise SystemExit(f"sandbox error {exc.code}: {exc.read().decode()}") from None
    except urllib.error.URLError as exc:
        raise SystemExit(f"cannot reach the sandbox at {_base(args)}: {exc.reason}") from None


def _print(args: argparse.Namespace, data: Any) -> None:
    print(json.dumps(data, indent=None if getattr(args, "json", False) else 2))


def _account_create(args: argparse.Namespace) -> int:
    body = {"name": args.name, **({"url": args.url} if args.url else {})}
    if getattr(args, "platform", False):
        body["platform"] = True
    data = _call(args, "POST", "accounts", body)
    if args.json:
        print(json.dumps(data))
        return 0
    print(f"account:              {data['account_id']}")
    if data.get("client_id"):
        print(f"client_id:            {data['client_id']}")
    for mode in ("test", "live"):
        print(f"{mode} publishable key: {data[mode]['publishable_key']}")
        print(f"{mode} secret key:      {data[mode]['secret_key']}")
    return 0


def _simple(method: str, path: str, body_of: Any = None) -> Any:
    def run(args: argparse.Namespace) -> int:
        body = body_of(args) if body_of else None
        _print(args, _call(args, method, path.format(**vars(args)), body))
        return 0

    return run


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m stripe_sandbox",
        description="A local Stripe API sandbox: serve it, or drive a running one.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the sandbox on 127.0.0.1")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT)
    serve.add_argument("--db", help="SQLite file to keep state in (default: memory)")
    serve.add_argument("--retry-initial-delay", type=float, default=0.5)
    serve.add_argument("--retry-max-delay", type=float, default=30.0)
    serve.add_argument("--max-attempts", type=int, default=8)
    serve.add_argument(
        "--bank-settle-seconds",
        type=float,
        default=5.0,
        help="seconds until an ACH/SEPA debit settles (0: at once)",
    )
    serve.add_argument("--log-level", default="warning")
    serve.set_defaults(func=_serve)

    def client(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--port", type=int, default=DEFAULT_PORT)
        p.add_argument("--api-base", help="sandbox address, e.g. http://127.0.0.1:12111")
        p.add_argument("--json", action="store_true", help="print compact JSON")
        return p

    account = sub.add_parser("account", help="accounts").add_subparsers(
        dest="action", required=True
    )
    create = client(account.add_parser("create", help="create an account and print its keys"))
    create.add_argument("--name", default="Sandbox account")
    create.add_argument("--url")
    create.add_argument(
        "--platform", action="store_true", help="a Connect platform (prints its client_id)"
    )
    create.set_defaults(func=_account_create)
    ready = client(account.add_parser("readiness", help="set charges_enabled etc."))
    ready.add_argument("account")
    ready.add_argument("--charges-enabled", choices=["true", "false"])
    ready.add_argument("--details-submitted", choices=["true", "false"])
    ready.add_argument("--currently-due", nargs="*")

    def readiness_body(a: argparse.Namespace) -> dict:
        body: dict[str, Any] = {}
        if a.charges_enabled:
            body["charges_enabled"] = a.charges_enabled == "true"
        if a.details_submitted:
            body["details_submitted"] = a.details_submitted == "true"
        if a.currently_due is not None:
            body["currently_due"] = a.currently_due
        return body

    ready.set_defaults(func=_simple("POST", "accounts/{account}/readiness", readiness_body))
    ledger = client(account.add_parser("ledger", help="list an account's charges"))
    ledger.add_argument("account")
    ledger.add_argument("--mode", choices=["test", "live"], default="test")
    ledger.set_defaults(func=_simple("GET", "accounts/{account}/ledger?mode={mode}"))

    key = sub.add_parser("key", help="API keys").add_subparsers(dest="action", required=True)
    rk = client(key.add_parser("restricted", help="issue an rk_ key"))
    rk.add_argument("account")
    rk.add_argument("--mode", choices=["test", "live"], default="test")
    rk.add_argument("--permissions", required=True, help='JSON, e.g. {"customers": "write"}')
    rk.set_defaults(
        func=_simple(
            "POST",
            "accounts/{account}/restricted_keys",
            lambda a: {"mode": a.mode, "permissions": json.loads(a.permissions)},
        )
    )
    revoke = client(key.add_parser("revoke", help="revoke a key"))
    revoke.add_argument("key")
    revoke.set_defaults(func=_simple("POST", "keys/revoke", lambda a: {"key": a.key}))

    event = sub.add_parser("event", help="webhook events").add_subparsers(
        dest="action", required=True
    )
    redeliver = client(event.add_parser("redeliver", help="send an event again"))
    redeliver.add_argument("event")
    redeliver.add_argument("--endpoint")
    redeliver.set_defaults(
        func=_simple("POST", "events/{event}/redeliver", lambda a: {"endpoint": a.endpoint})
    )
    deliver = client(event.add_parser("deliver", help="deliver events in this order"))
    deliver.add_argument("events", nargs="+")
    deliver.add_argument("--twice", action="store_true")
    deliver.set_defaults(
        func=_simple("POST", "events/deliver", lambda a: {"events": a.events, "twice": a.twice})
    )

    hooks = sub.add_parser("webhooks", help="hold or release deliveries")
    hooks_sub = hooks.add_subparsers(dest="action", required=True)
    client(hooks_sub.add_parser("pause")).set_defaults(
        func=_simple("POST", "webhooks/pause", lambda a: {})
    )
    client(hooks_sub.add_parser("release")).set_defaults(
        func=_simple("POST", "webhooks/release", lambda a: {})
    )

    chaos = client(sub.add_parser("chaos", help="latency and failures for API calls"))
    chaos.add_argument("--latency-ms", type=int, default=0)
    chaos.add_argument("--failure-rate", type=float, default=0.0)
    chaos.add_argument("--failure-mode", choices=["500", "429", "hang"], default="500")
    chaos.add_argument(
        "--rate-limit", type=float, default=0.0, help="requests/s per account and mode (0: off)"
    )
    chaos.set_defaults(
        func=_simple(
            "POST",
            "chaos",
            lambda a: {
                "latency_ms": a.latency_ms,
                "failure_rate": a.failure_rate,
                "failure_mode": a.failure_mode,
                "rate_limit_per_second": a.rate_limit,
            },
        )
    )

    subs = sub.add_parser("subscription", help="billing controls").add_subparsers(
        dest="action", required=True
    )
    adv = client(subs.add_parser("advance", help="bill the next period"))
    adv.add_argument("sub")
    adv.set_defaults(func=_simple("POST", "subscriptions/{sub}/advance", lambda a: {}))
    cancel = client(subs.add_parser("cancel", help="cancel as if from the Dashboard"))
    cancel.add_argument("sub")
    cancel.set_defaults(func=_simple("POST", "subscriptions/{sub}/cancel", lambda a: {}))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
