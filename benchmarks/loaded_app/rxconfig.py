"""Context for the Client Portal benchmark: a Reflex page whose one text comes from on_load."""

import reflex as rx
from reflex.plugins import SitemapPlugin

config = rx.Config(
    app_name="loaded_app",
    telemetry_enabled=False,
    show_built_with_reflex=False,
    plugins=[rx.plugins.RadixThemesPlugin()],  # as the blank app and the product
    disable_plugins=[SitemapPlugin],
)
