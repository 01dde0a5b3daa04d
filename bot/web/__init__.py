"""The HTTP side: one ASGI app for health, webhooks and the admin page."""
