"""Reflex configuration; everything product-specific comes from nextoria_hub.settings."""

import reflex as rx
from reflex.plugins import SitemapPlugin

from nextoria_hub.settings import get_settings
from nextoria_hub.ui.theme import THEME

_settings = get_settings()

config = rx.Config(
    app_name="nextoria_hub",
    # The app module is nextoria_hub/app.py, not Reflex's default nextoria_hub/nextoria_hub.py
    # (a module named like its package confuses every tool that reads imports as text).
    app_module_import="nextoria_hub.app",
    db_url=_settings.effective_database_url,
    # HTTP CORS: the apex only; websocket origins (every workspace subdomain) are checked
    # by nextoria_hub.tenancy.origin_allowed, installed in nextoria_hub.app.
    cors_allowed_origins=[_settings.apex_url().rstrip("/")],
    telemetry_enabled=False,
    show_built_with_reflex=False,
    plugins=[rx.plugins.RadixThemesPlugin(theme=THEME)],
    disable_plugins=[SitemapPlugin],
)
