"""The seam between Orienta and the platforms people write on.

A channel (Telegram, WhatsApp, a web widget, SMS...) is one module that

- defines a class following the `Channel` protocol (`start`, `stop`, `routes`), built from the
  runtime and the settings, and
- registers a `ChannelType`: its name, when it is configured, what configuration is missing,
  and how to build it.

`orienta run` starts every configured channel from the registry and mounts their HTTP routes on
its one web server; neither `bot/app.py` nor `bot/web/app.py` names a channel. The per-message
work every channel shares (flood guard, remembered language, engine call, usage counting) is
`bot.channels.pipeline.Pipeline`. Models: errbot's `Backend` (one contract per platform) and
aiogram's middleware chain (one pipeline for every update).
"""

from bot.channels.base import (
    BUILT_IN,
    Channel,
    ChannelType,
    configured,
    register,
    registered,
)

__all__ = ["BUILT_IN", "Channel", "ChannelType", "configured", "register", "registered"]
