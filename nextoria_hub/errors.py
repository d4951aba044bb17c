"""The errors the product raises; the UI and the CLI turn them into messages people can act on."""

from __future__ import annotations


class NextoriaError(Exception):
    """Base of every expected, user-facing error. ``str(err)`` is safe to show."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ValidationError(NextoriaError):
    """Input that cannot be accepted; ``field`` names the form field it belongs to."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class NotFound(NextoriaError):
    """Not in the caller's workspace (never says whether it exists in another)."""


class AccessDenied(NextoriaError):
    """The signed-in user may not do this."""

    def __init__(self, message: str = "You don't have access to this page.") -> None:
        super().__init__(message)


class NotSignedIn(NextoriaError):
    def __init__(self, message: str = "Please sign in to continue.") -> None:
        super().__init__(message)


class Throttled(NextoriaError):
    """Too many attempts; ``retry_after_seconds`` says when to try again."""

    def __init__(self, message: str, retry_after_seconds: int) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class StripeNotConnected(NextoriaError):
    pass
