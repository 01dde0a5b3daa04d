"""Settings from the environment (and flags). Secrets are read here and never printed."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    content_dir: Path
    locale_dir: Path

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        return cls(
            content_dir=Path(env.get("ORIENTA_CONTENT_DIR") or ROOT / "content"),
            locale_dir=Path(env.get("ORIENTA_LOCALE_DIR") or ROOT / "locale"),
        )
