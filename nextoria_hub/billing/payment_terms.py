"""Payment terms: paying an invoice in parts, and a deposit due on issue.

Every rule about how much a client may pay now lives here: ``pay_options`` says what Pay
Now offers (the deposit first, then the balance) and ``check_part`` accepts or refuses an
amount. Checkout, the portal and the CLI call them; settlement counts whatever arrives
against the balance, and anything beyond it is an overpayment (see payments/settlement.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from sqlmodel import Session

from nextoria_hub.audit import record_audit
from nextoria_hub.billing.finance import get_finance
from nextoria_hub.billing.money import decimals, format_money, to_minor
from nextoria_hub.errors import NotFound, ValidationError
from nextoria_hub.models import Invoice, InvoiceStatus
from nextoria_hub.tenancy import Actor

DEPOSIT_KINDS = ("", "percent", "fixed")
# Stripe's minimum charge amounts (minor units) for the currencies agencies use most; a part
# below it would be refused by Stripe, so it is refused here first. Others: 1 minor unit.
STRIPE_MINIMUM = {
    "usd": 50,
    "eur": 50,
    "gbp": 30,
    "cad": 50,
    "aud": 50,
    "nzd": 50,
    "chf": 50,
    "sgd": 50,
    "jpy": 50,
    "dkk": 250,
    "nok": 300,
    "sek": 300,
    "pln": 200,
    "mxn": 1000,
    "hkd": 400,
}


def stripe_minimum(currency: str) -> int:
    return STRIPE_MINIMUM.get(currency.lower(), 1)


@dataclass(frozen=True)
class TermsInput:
    """Payment terms as typed on the invoice page (amounts in major units)."""

    allow_partial: bool
    minimum: str = ""  # e.g. "100.00"; empty: Stripe's own minimum
    deposit_kind: str = ""  # "" (none) | percent | fixed
    deposit: str = ""  # "30" (percent) or "500.00" (fixed)


@dataclass(frozen=True)
class PayOptions:
    """What the client may pay now, in minor units of the invoice's currency."""

    balance: int  # everything still owed
    deposit_due: int  # the unpaid part of the deposit (0: none asked, or paid)
    minimum: int  # the least one part may be (== balance when parts are not allowed)
    suggested: int  # what Pay Now offers first: the deposit, else the balance
    parts: bool  # the client may type an amount between minimum and balance


def deposit_for(invoice: Invoice) -> int:
    """The deposit the terms ask for (minor units), from the invoice's current total."""
    if invoice.deposit_kind == "percent":
        value = Decimal(invoice.total) * invoice.deposit_value / 10_000
        return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    if invoice.deposit_kind == "fixed":
        return invoice.deposit_value
    return 0


def deposit_due(invoice: Invoice) -> int:
    """What of the deposit is still unpaid (the deposit is the first money received)."""
    if not invoice.deposit_amount or invoice.status != InvoiceStatus.open:
        return 0
    return min(max(invoice.deposit_amount - invoice.amount_paid, 0), invoice.amount_due)


def pay_options(invoice: Invoice) -> PayOptions:
    balance = invoice.amount_due
    deposit = deposit_due(invoice)
    minimum = balance
    if invoice.allow_partial:
        floor = max(invoice.partial_minimum, stripe_minimum(invoice.currency))
        minimum = min(floor, balance)
    if deposit:
        minimum = min(minimum, deposit)
    return PayOptions(
        balance=balance,
        deposit_due=deposit,
        minimum=minimum,
        suggested=deposit or balance,
        parts=invoice.allow_partial and minimum < balance,
    )


def check_part(invoice: Invoice, amount: int | None) -> int:
    """The amount to charge now: ``amount`` if the terms allow it (None: what Pay Now
    offers first). Raises ``ValidationError`` with what the client may pay instead."""
    options = pay_options(invoice)
    if amount is None:
        return options.suggested
    if amount == options.balance or (options.deposit_due and amount == options.deposit_due):
        return amount
    money = invoice.currency
    if not invoice.allow_partial:
        allowed = f"the full balance of {format_money(options.balance, money)}"
        if options.deposit_due:
            allowed = f"the deposit of {format_money(options.deposit_due, money)} or " + allowed
        raise ValidationError(f"This invoice can be paid only in full: pay {allowed}.", "amount")
    if amount > options.balance:
        raise ValidationError(
            f"That is more than the balance: pay at most {format_money(options.balance, money)}.",
            "amount",
        )
    if amount < options.minimum:
        raise ValidationError(
            f"Pay at least {format_money(options.minimum, money)} "
            f"(up to the balance of {format_money(options.balance, money)}).",
            "amount",
        )
    return amount


def parse_part(invoice: Invoice, typed: str) -> int:
    """An amount the client typed (major units) → minor units, checked by ``check_part``."""
    text = (typed or "").strip().replace(",", "")
    try:
        valid = Decimal(text).is_finite() and len(text) <= 20
    except InvalidOperation:
        valid = False
    if not valid:
        raise ValidationError("Enter an amount like 250.00.", "amount")
    return check_part(invoice, to_minor(text, invoice.currency, field="amount"))


def apply_finance_defaults(db: Session, invoice: Invoice) -> None:
    """A new invoice's terms from Settings → Finance (parts allowed, their minimum)."""
    finance = get_finance(db, invoice.workspace_id)
    invoice.allow_partial = finance.partial_payments
    invoice.partial_minimum = (
        _major(finance.partial_minimum, invoice.currency, "partial_minimum")
        if finance.partial_payments
        else 0
    )


def _major(typed: str, currency: str, field: str) -> int:
    text = (typed or "").strip().replace(",", "") or "0"
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or value < 0 or len(text) > 20:
        raise ValidationError("Enter an amount like 100.00.", field)
    places_value = value.quantize(Decimal(1) / 10 ** decimals(currency), rounding=ROUND_HALF_UP)
    return to_minor(places_value, currency, field=field)


def set_payment_terms(db: Session, actor: Actor, invoice_id: int, terms: TermsInput) -> Invoice:
    """Save a draft's payment terms (a sent invoice keeps the terms it was sent with)."""
    actor.require_staff()
    invoice = db.get(Invoice, invoice_id)
    if invoice is None or invoice.workspace_id != actor.workspace_id:
        raise NotFound("This invoice does not exist.")
    if invoice.status != InvoiceStatus.draft:
        raise ValidationError(
            "Payment terms can be changed only on drafts; this invoice was already sent.",
            "status",
        )
    minimum = _major(terms.minimum, invoice.currency, "minimum") if terms.allow_partial else 0
    kind = (terms.deposit_kind or "").strip()
    if kind not in DEPOSIT_KINDS:
        raise ValidationError("Choose no deposit, a percentage or a fixed amount.", "deposit_kind")
    value = 0
    if kind == "percent":
        try:
            percent = Decimal((terms.deposit or "").strip().rstrip("%").strip())
        except InvalidOperation:
            percent = Decimal("NaN")
        if not percent.is_finite() or not 0 < percent < 100 or percent * 100 % 1:
            raise ValidationError("Enter a deposit between 0.01 and 99.99 percent.", "deposit")
        value = int(percent * 100)
    elif kind == "fixed":
        value = _major(terms.deposit, invoice.currency, "deposit")
        if value <= 0:
            raise ValidationError("Enter the deposit's amount, like 500.00.", "deposit")
    invoice.allow_partial = bool(terms.allow_partial)
    invoice.partial_minimum = minimum
    invoice.deposit_kind, invoice.deposit_value = kind, value
    invoice.deposit_amount = deposit_for(invoice)
    db.add(invoice)
    from nextoria_hub.billing.invoices import add_activity

    add_activity(db, invoice, "terms", f"Payment terms set by {actor.name}: {describe(invoice)}")
    record_audit(db, actor, "invoice.terms", f"{invoice.number}: {describe(invoice)}")
    db.flush()
    return invoice


def copy_payment_terms(source: Invoice, draft: Invoice) -> None:
    """A revised draft ("Void and duplicate") asks for what the original asked for."""
    draft.allow_partial, draft.partial_minimum = source.allow_partial, source.partial_minimum
    draft.deposit_kind, draft.deposit_value = source.deposit_kind, source.deposit_value
    draft.deposit_amount = deposit_for(draft)


def fix_deposit_on_send(invoice: Invoice) -> None:
    """Sending fixes the deposit to the sent total; a deposit must leave something to pay."""
    invoice.deposit_amount = deposit_for(invoice)
    floor = stripe_minimum(invoice.currency)
    if invoice.deposit_amount and invoice.deposit_amount < floor:
        raise ValidationError(
            f"The deposit ({format_money(invoice.deposit_amount, invoice.currency)}) is below "
            f"Stripe's minimum charge of {format_money(floor, invoice.currency)}: raise it or "
            "remove it.",
            "deposit",
        )
    if invoice.deposit_amount and invoice.deposit_amount >= invoice.total:
        raise ValidationError(
            f"The deposit ({format_money(invoice.deposit_amount, invoice.currency)}) must be "
            f"less than the total ({format_money(invoice.total, invoice.currency)}): "
            "lower it or remove it.",
            "deposit",
        )


def describe(invoice: Invoice) -> str:
    """The terms in a sentence, for the timeline and the pages."""
    parts = []
    if invoice.deposit_kind:
        amount = format_money(deposit_for(invoice), invoice.currency)
        if invoice.deposit_kind == "percent":
            amount = f"{invoice.deposit_value / 100:g}% ({amount})"
        parts.append(f"deposit of {amount} due on issue")
    if invoice.allow_partial:
        floor = max(invoice.partial_minimum, stripe_minimum(invoice.currency))
        parts.append(f"partial payments of at least {format_money(floor, invoice.currency)}")
    return "; ".join(parts) if parts else "paid in full"


PAY_CHOICES = ("deposit", "balance", "other")


def chosen_amount(invoice: Invoice, choice: str, typed: str = "") -> int | None:
    """The amount a client picked on the invoice page: the deposit, the balance, or an
    amount they typed (checked); None lets Pay Now offer its first choice."""
    options = pay_options(invoice)
    if choice == "deposit" and options.deposit_due:
        return options.deposit_due
    if choice == "balance":
        return options.balance
    if choice == "other":
        return parse_part(invoice, typed)
    return None


def terms_view(invoice: Invoice) -> dict[str, str]:
    """The terms as the invoice pages show them: formatted strings, '' when not relevant."""
    options = pay_options(invoice)
    cur = invoice.currency
    payable = invoice.status == InvoiceStatus.open and options.balance > 0
    summary = describe(invoice)
    return {
        "describe": summary[:1].upper() + summary[1:],
        "paid": format_money(invoice.amount_paid, cur) if invoice.amount_paid else "",
        "balance": format_money(options.balance, cur),
        "deposit": format_money(
            deposit_for(invoice)
            if invoice.status == InvoiceStatus.draft
            else invoice.deposit_amount,
            cur,
        )
        if invoice.deposit_kind
        else "",
        "deposit_due": format_money(options.deposit_due, cur) if options.deposit_due else "",
        "deposit_paid": "yes"
        if invoice.deposit_amount and invoice.amount_paid >= invoice.deposit_amount
        else "",
        "rest": format_money(options.balance - options.deposit_due, cur)
        if options.deposit_due
        else "",
        "minimum": format_money(options.minimum, cur) if payable and options.parts else "",
        "parts": "yes" if payable and options.parts else "",
        "choice": "deposit" if options.deposit_due else "balance",
        "issue": invoice.issue_date.strftime("%d %b %Y"),
        "due": invoice.due_date.strftime("%d %b %Y"),
    }
