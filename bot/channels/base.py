"""The `Channel` contract and the registry `orienta run` starts channels from."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from starlette.routing import BaseRoute

from bot.config import Settings

if TYPE_CHECKING:
    from bot.runtime import Runtime


@runtime_checkable
class Channel(Protocol):
    """One platform, running inside `orienta run`.

    The lifecycle is `start()`, then messages (polled by the channel itself, or arriving through
    its `routes()` on the shared web server), then `stop(deadline)`.
    """

    name: str

    async def start(self) -> None:
        """Connect (open clients, register webhooks, start polling). Raise to abort the start."""
        ...

    async def stop(self, deadline: float | None = None) -> None:
        """Stop taking new messages, answer those already taken until `deadline` (event-loop
        time; None: no limit), log how many were left, and release everything."""
        ...

    def routes(self) -> Sequence[BaseRoute]:
        """HTTP routes to mount on the web server (webhooks); empty for a polling channel."""
        ...


@dataclass(frozen=True)
class ChannelType:
    """How `orienta run` finds, checks and builds one kind of channel.

    Args:
        name: the channel's public name, used in usage counts (`telegram`, `whatsapp`).
        enabled: whether the settings turn this channel on.
        missing: the environment variables still needed once it is turned on (empty: ready).
        create: builds the channel; called only when enabled and nothing is missing.
        needs_web: whether the channel needs the web server (it receives webhooks).
    """

    name: str
    enabled: Callable[[Settings], bool]
    create: Callable[[Runtime, Settings], Channel]
    missing: Callable[[Settings], list[str]] = lambda settings: []
    needs_web: Callable[[Settings], bool] = lambda settings: False


# The channels that ship with Orienta: "module:attribute" of their ChannelType, imported when
# the registry is first read (not when this module is). A channel outside this list calls
# `register()` when its module is imported.
BUILT_IN = ("bot.handlers.telegram:CHANNEL_TYPE", "bot.handlers.whatsapp:CHANNEL_TYPE")

_registry: dict[str, ChannelType] = {}


def register(channel_type: ChannelType) -> ChannelType:
    """Add a channel type (a later one with the same name replaces the earlier)."""
    _registry[channel_type.name] = channel_type
    return channel_type


def registered() -> list[ChannelType]:
    """Every known channel type: the built-in ones, then those registered by other modules."""
    built_in = []
    for spec in BUILT_IN:
        module, _, attribute = spec.partition(":")
        channel_type = getattr(importlib.import_module(module), attribute)
        _registry.setdefault(channel_type.name, channel_type)  # a registered one may replace it
        built_in.append(channel_type.name)
    others = [name for name in _registry if name not in built_in]
    return [_registry[name] for name in built_in + others]


def configured(settings: Settings) -> list[ChannelType]:
    """The channel types these settings turn on."""
    return [t for t in registered() if t.enabled(settings)]
