"""The ``nextoria`` command line: thin callers of the same services as the app."""

from nextoria_hub.cli.main import app

__all__ = ["app"]
