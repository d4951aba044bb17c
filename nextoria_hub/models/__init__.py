"""SQLModel tables, one module per noun. Importing this package registers every table."""

from nextoria_hub.models.audit import AuditEntry
from nextoria_hub.models.auth import Invitation, LoginFailure, SignInLink, UserSession
from nextoria_hub.models.email import OutboxEmail
from nextoria_hub.models.finance import FinanceSettings
from nextoria_hub.models.stripe_keys import StripeKeys
from nextoria_hub.models.user import Role, User
from nextoria_hub.models.webhook import StripeEvent, WebhookDelivery
from nextoria_hub.models.workspace import Workspace

__all__ = [
    "AuditEntry",
    "FinanceSettings",
    "Invitation",
    "LoginFailure",
    "OutboxEmail",
    "Role",
    "SignInLink",
    "StripeEvent",
    "StripeKeys",
    "User",
    "UserSession",
    "WebhookDelivery",
    "Workspace",
]
