"""Text helpers every channel needs when a platform limits message length."""

from __future__ import annotations


def split(text: str, limit: int) -> list[str]:
    """Pieces of at most `limit` characters, cut at the cleanest boundary available."""
    text = text.strip() or "…"
    pieces: list[str] = []
    while len(text) > limit:
        window = text[:limit]
        cut = (
            max(window.rfind("\n\n"), 0) or max(window.rfind("\n"), 0) or max(window.rfind(" "), 0)
        )
        if cut < limit // 2:  # no good boundary: cut hard rather than send tiny pieces
            cut = limit
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    pieces.append(text)
    return [p for p in pieces if p]
