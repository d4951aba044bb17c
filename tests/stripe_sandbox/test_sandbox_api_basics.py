"""Auth, error shapes and status codes, headers, lists, expansion, isolation and modes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import stripe

from stripe_sandbox.testing import SandboxServer


def test_missing_and_bad_keys_are_401(sandbox: SandboxServer, client_for: Any) -> None:
    resp = httpx.get(f"{sandbox.base_url}/v1/customers", trust_env=False)
    assert resp.status_code == 401
    assert resp.json()["error"]["type"] == "invalid_request_error"
    assert "did not provide an API key" in resp.json()["error"]["message"]
    with pytest.raises(stripe.AuthenticationError) as exc:
        client_for("sk_test_nope").v1.customers.list()
    assert exc.value.http_status == 401
    assert "Invalid API Key provided" in str(exc.value.user_message)


def test_basic_auth_works(sandbox: SandboxServer, account: dict[str, Any]) -> None:
    resp = httpx.get(
        f"{sandbox.base_url}/v1/account",
        auth=(account["test"]["secret_key"], ""),
        trust_env=False,
    )
    assert resp.status_code == 200
    assert resp.json()["id"] == account["account_id"]


def test_headers_request_id_and_version_echo(sandbox: SandboxServer, account: dict) -> None:
    headers = {
        "Authorization": f"Bearer {account['test']['secret_key']}",
        "Stripe-Version": "2024-06-20",
    }
    resp = httpx.get(f"{sandbox.base_url}/v1/balance", headers=headers, trust_env=False)
    assert resp.status_code == 200
    assert resp.headers["Request-Id"].startswith("req_")
    assert resp.headers["Stripe-Version"] == "2024-06-20"


def test_unknown_url_and_missing_object_are_404(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.customers.retrieve("cus_doesnotexist")
    err = exc.value
    assert err.http_status == 404
    assert err.code == "resource_missing"
    assert err.json_body["error"]["message"] == "No such customer: 'cus_doesnotexist'"
    assert err.param == "id"


def test_missing_param_is_400(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payment_intents.create(params={"currency": "usd"})  # type: ignore[typeddict-item]
    assert exc.value.http_status == 400
    assert exc.value.code == "parameter_missing"
    assert exc.value.param == "amount"


def test_customer_crud_and_metadata(client: stripe.StripeClient) -> None:
    cus = client.v1.customers.create(
        params={"email": "ada@example.com", "name": "Ada", "metadata": {"tenant": "t1"}}
    )
    assert cus.id.startswith("cus_") and cus.object == "customer" and cus.livemode is False
    got = client.v1.customers.retrieve(cus.id)
    assert got.email == "ada@example.com" and got.metadata["tenant"] == "t1"
    upd = client.v1.customers.update(cus.id, params={"name": "Ada L", "metadata": {"tenant": ""}})
    assert upd.name == "Ada L" and "tenant" not in upd.metadata
    deleted = client.v1.customers.delete(cus.id)
    assert deleted.deleted is True
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.customers.update(cus.id, params={"name": "x"})


def test_list_pagination(client: stripe.StripeClient) -> None:
    ids = [client.v1.customers.create(params={"name": f"c{i}"}).id for i in range(5)]
    newest_first = list(reversed(ids))
    page = client.v1.customers.list(params={"limit": 2})
    assert page.object == "list" and page.url == "/v1/customers"
    assert [c.id for c in page.data] == newest_first[:2] and page.has_more
    page2 = client.v1.customers.list(params={"limit": 2, "starting_after": page.data[-1].id})
    assert [c.id for c in page2.data] == newest_first[2:4] and page2.has_more
    page3 = client.v1.customers.list(params={"limit": 2, "starting_after": page2.data[-1].id})
    assert [c.id for c in page3.data] == newest_first[4:] and not page3.has_more
    back = client.v1.customers.list(params={"limit": 2, "ending_before": page3.data[0].id})
    assert [c.id for c in back.data] == newest_first[2:4]
    assert [c.id for c in page.auto_paging_iter()] == newest_first


def test_expand_nested_and_list(client: stripe.StripeClient) -> None:
    cus = client.v1.customers.create(params={"name": "E"})
    pi = client.v1.payment_intents.create(
        params={
            "amount": 1500,
            "currency": "usd",
            "customer": cus.id,
            "payment_method": "pm_card_visa",
            "confirm": True,
            "expand": ["customer", "payment_method", "latest_charge"],
        }
    )
    assert pi.customer.id == cus.id and pi.customer.name == "E"
    assert pi.payment_method.card.brand == "visa"
    assert pi.latest_charge.payment_method_details.type == "card"
    listed = client.v1.payment_intents.list(
        params={"customer": cus.id, "expand": ["data.latest_charge"]}
    )
    assert listed.data[0].latest_charge.amount == 1500


def test_accounts_are_isolated(
    sandbox: SandboxServer, client: stripe.StripeClient, client_for: Any
) -> None:
    other = sandbox.create_account("Other Co")
    other_client = client_for(other["test"]["secret_key"])
    cus = client.v1.customers.create(params={"name": "mine"})
    with pytest.raises(stripe.InvalidRequestError) as exc:
        other_client.v1.customers.retrieve(cus.id)
    assert exc.value.http_status == 404
    assert cus.id not in [c.id for c in other_client.v1.customers.list().data]
    assert other_client.v1.accounts.retrieve_current().id == other["account_id"]


def test_live_mode_is_apart_from_test(
    client: stripe.StripeClient, live_client: stripe.StripeClient
) -> None:
    cus = client.v1.customers.create(params={"name": "test one"})
    live = live_client.v1.customers.create(params={"name": "live one"})
    assert live.livemode is True and cus.livemode is False
    assert [c.id for c in live_client.v1.customers.list().data] == [live.id]
    with pytest.raises(stripe.InvalidRequestError):
        live_client.v1.customers.retrieve(cus.id)
    assert live.id not in [e.data.object.id for e in client.v1.events.list().data]


def test_account_and_balance(client: stripe.StripeClient, account: dict[str, Any]) -> None:
    acct = client.v1.accounts.retrieve_current()
    assert acct.id == account["account_id"]
    assert acct.charges_enabled is True and acct.details_submitted is True
    assert acct.settings.dashboard.display_name == "Acme Studio"
    assert acct.business_profile.name == "Acme Studio"
    assert acct.business_profile.url == "https://acme.example"
    assert acct.requirements.currently_due == []
    client.v1.payment_intents.create(
        params={
            "amount": 2500,
            "currency": "usd",
            "payment_method": "pm_card_visa",
            "confirm": True,
        }
    )
    balance = client.v1.balance.retrieve()
    assert balance.object == "balance"
    assert {"amount": 2500, "currency": "usd"}.items() <= balance.available[0].to_dict().items()


def test_publishable_key_cannot_list(account: dict[str, Any], client_for: Any) -> None:
    pk_client = client_for(account["test"]["publishable_key"])
    with pytest.raises(stripe.PermissionError):
        pk_client.v1.customers.list()
    pm = pk_client.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2040, "cvc": "123"},
        }
    )
    assert pm.card.last4 == "4242"


def test_unknown_url_is_404(sandbox: SandboxServer, account: dict[str, Any]) -> None:
    headers = {"Authorization": f"Bearer {account['test']['secret_key']}"}
    resp = httpx.get(f"{sandbox.base_url}/v1/nonsense", headers=headers, trust_env=False)
    assert resp.status_code == 404
    assert resp.json()["error"]["message"].startswith(
        "Unrecognized request URL (GET: /v1/nonsense)"
    )


def test_bad_expand_and_bad_limit_are_400(client: stripe.StripeClient) -> None:
    cus = client.v1.customers.create(params={"name": "x"})
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.customers.retrieve(cus.id, params={"expand": ["nope"]})
    assert exc.value.http_status == 400 and exc.value.param == "expand"
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.customers.list(params={"limit": 1000})
    assert exc.value.param == "limit"


def test_raw_form_with_bracket_appends(sandbox: SandboxServer, account: dict[str, Any]) -> None:
    headers = {"Authorization": f"Bearer {account['test']['secret_key']}"}
    body = (
        "mode=payment&success_url=https%3A%2F%2Fx.example%2Fok&allowed_payment_method_types[]=card"
        "&line_items[0][price_data][currency]=usd&line_items[0][price_data][unit_amount]=700"
        "&line_items[0][price_data][product_data][name]=Audit&line_items[0][quantity]=3"
        "&metadata[k]=v&expand[]=line_items"
    )
    resp = httpx.post(
        f"{sandbox.base_url}/v1/checkout/sessions",
        content=body,
        headers={**headers, "Content-Type": "application/x-www-form-urlencoded"},
        trust_env=False,
    )
    data = resp.json()
    assert resp.status_code == 200 and data["amount_total"] == 2100
    assert data["payment_method_types"] == ["card"] and data["metadata"] == {"k": "v"}
    assert data["line_items"]["data"][0]["quantity"] == 3


def test_stripe_account_header_must_be_own_account(
    sandbox: SandboxServer, account: dict[str, Any]
) -> None:
    other = sandbox.create_account("Other")
    key = account["test"]["secret_key"]
    mine = sandbox.client(key, stripe_account=account["account_id"])
    assert mine.v1.customers.list().object == "list"
    theirs = sandbox.client(key, stripe_account=other["account_id"])
    with pytest.raises(stripe.PermissionError) as exc:
        theirs.v1.customers.list()
    assert exc.value.http_status == 403 and other["account_id"] in str(exc.value.user_message)


def test_unknown_parameters_are_400(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.customers.create(params={"name": "x", "emial": "typo@example.com"})  # type: ignore[typeddict-unknown-key]
    assert exc.value.http_status == 400 and exc.value.code == "parameter_unknown"
    assert exc.value.param == "emial"
    assert "Received unknown parameter: emial" in str(exc.value.user_message)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.customers.list(params={"colour": "red"})  # type: ignore[typeddict-unknown-key]
    assert exc.value.param == "colour"
    accepted = client.v1.payment_intents.create(
        params={
            "amount": 1000,
            "currency": "usd",
            "automatic_payment_methods": {"enabled": True},
            "statement_descriptor_suffix": "SANDBOX",
        }
    )
    assert accepted.status == "requires_payment_method"
    aliased = client.v1.payment_intents.create(
        params={"amount": 1000, "currency": "usd", "allowed_payment_method_types": ["card"]}
    )
    assert aliased.payment_method_types == ["card"]
