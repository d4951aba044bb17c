"""SQLModel tables, one module per noun. Importing this package registers every table."""

from nextoria_hub.models.audit import AuditEntry
from nextoria_hub.models.auth import Invitation, LoginFailure, SignInLink, UserSession
from nextoria_hub.models.autopay import (
    AutopayAttempt,
    AutopayItem,
    AutopayNotice,
    ClientAutopay,
    Retainer,
    RetainerPeriod,
    SavedPaymentMethod,
)
from nextoria_hub.models.client import Client, StripeCustomer
from nextoria_hub.models.client_profile import ClientProfile, WorkspaceBranding
from nextoria_hub.models.dispute import Dispute, DisputeOutcome
from nextoria_hub.models.email import OutboxEmail
from nextoria_hub.models.finance import FinanceSettings
from nextoria_hub.models.inbox import InboxEvent, WorkerHeartbeat
from nextoria_hub.models.invoice import (
    Invoice,
    InvoiceActivity,
    InvoiceCounter,
    InvoiceLine,
    InvoiceStatus,
)
from nextoria_hub.models.overpayment import Overpayment, ReconciliationFlag
from nextoria_hub.models.payment import CheckoutSession, Payment
from nextoria_hub.models.reminders import (
    ClientReminderSetting,
    InvoiceReminder,
    LateFee,
    ReminderSettings,
)
from nextoria_hub.models.stripe_connect import ConnectOAuthState, ConnectOnboarding
from nextoria_hub.models.stripe_keys import StripeKeys
from nextoria_hub.models.user import Role, User
from nextoria_hub.models.webhook import StripeEvent, WebhookDelivery
from nextoria_hub.models.workspace import Workspace
from nextoria_hub.models.workspace_alias import WorkspaceAlias

__all__ = [
    "AuditEntry",
    "AutopayAttempt",
    "AutopayItem",
    "AutopayNotice",
    "CheckoutSession",
    "Client",
    "ClientAutopay",
    "ClientProfile",
    "ClientReminderSetting",
    "ConnectOAuthState",
    "ConnectOnboarding",
    "Dispute",
    "DisputeOutcome",
    "FinanceSettings",
    "InboxEvent",
    "Invitation",
    "Invoice",
    "InvoiceActivity",
    "InvoiceCounter",
    "InvoiceLine",
    "InvoiceReminder",
    "InvoiceStatus",
    "LateFee",
    "LoginFailure",
    "OutboxEmail",
    "Overpayment",
    "Payment",
    "ReconciliationFlag",
    "ReminderSettings",
    "Retainer",
    "RetainerPeriod",
    "Role",
    "SavedPaymentMethod",
    "SignInLink",
    "StripeCustomer",
    "StripeEvent",
    "StripeKeys",
    "User",
    "UserSession",
    "WebhookDelivery",
    "WorkerHeartbeat",
    "Workspace",
    "WorkspaceAlias",
    "WorkspaceBranding",
]
