"""A stateful local emulation of the Stripe API, spoken to over HTTP by the official client."""

__all__ = ["__version__"]

__version__ = "0.1.0"
