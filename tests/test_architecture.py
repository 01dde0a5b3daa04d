"""The layers of `bot/`: a module may import from its own layer and those below, never above.
Checked on the source (every import statement, including those inside functions)."""

from __future__ import annotations

import ast
from pathlib import Path

from bot.config import ROOT

# Lowest first. A module belongs to the first prefix that matches its dotted name.
LAYERS: list[tuple[str, ...]] = [
    ("bot.limits", "bot.config", "bot.i18n", "bot.memory"),
    ("bot.content",),
    ("bot.matching",),
    ("bot.engine",),
    ("bot.stats",),
    ("bot.runtime",),
    ("bot.channels",),
    ("bot.handlers",),
    ("bot.web",),
    ("bot.app", "bot.cli", "bot.__main__"),
]


def layer(module: str) -> int:
    for number, prefixes in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return number
    raise AssertionError(f"{module} is in no layer: add it to LAYERS")


def imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            # "from bot import limits" imports bot.limits; "from bot.x import Y" imports bot.x.
            module = next((n for n in reversed(names) if _is_module(n)), node.module)
            found.append((node.lineno, module))
        elif isinstance(node, ast.Import):
            found.extend((node.lineno, a.name) for a in node.names)
    return [(line, m) for line, m in found if m.startswith("bot.") or m == "bot"]


def _is_module(name: str) -> bool:
    relative = Path(*name.split("."))
    return (ROOT / f"{relative}.py").exists() or (ROOT / relative / "__init__.py").exists()


def test_no_module_imports_from_a_layer_above_it() -> None:
    wrong = []
    for path in sorted((ROOT / "bot").rglob("*.py")):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        if module == "bot":
            continue
        own = layer(module)
        for line, imported in imports(path):
            if imported == "bot":
                continue
            if layer(imported) > own:
                wrong.append(f"{path.relative_to(ROOT)}:{line}: {module} imports {imported}")
    assert not wrong, "\n".join(wrong)


def test_the_check_can_fail() -> None:
    assert layer("bot.web.admin") > layer("bot.engine.engine") > layer("bot.content.rules")


def test_the_telegram_limits_content_is_checked_against_are_the_librarys() -> None:
    from telegram.constants import InlineKeyboardButtonLimit, MessageLimit

    from bot import limits

    assert limits.TELEGRAM_MESSAGE == MessageLimit.MAX_TEXT_LENGTH
    assert limits.TELEGRAM_CALLBACK_DATA == InlineKeyboardButtonLimit.MAX_CALLBACK_DATA
