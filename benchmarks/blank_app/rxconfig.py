"""The blank Reflex app the Client Portal benchmark compares against (same Reflex, same flags)."""

import reflex as rx
from reflex.plugins import SitemapPlugin

config = rx.Config(
    app_name="blank_app",
    telemetry_enabled=False,
    show_built_with_reflex=False,
    plugins=[rx.plugins.RadixThemesPlugin()],  # as the app: the same stylesheet
    disable_plugins=[SitemapPlugin],
)
