"""HTTP routes outside Reflex's websocket: health and (later) Stripe webhooks."""
