"""Text from outside (an MQTT message, a phone's press) made safe to store, log and show on a phone."""

from __future__ import annotations

import unicodedata

# Bidirectional overrides can make a name read as another one; they are dropped with the control characters.
_BIDI = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))}


def clean(value: str, limit: int) -> str:
    """A text from outside made safe to store and show: no control characters or lone surrogates, at most ``limit``."""
    kept = "".join(
        " " if unicodedata.category(c) == "Cc" else c
        for c in value
        if unicodedata.category(c) != "Cs" and c not in _BIDI
    )
    kept = " ".join(kept.split())
    return kept if len(kept) <= limit else kept[: limit - 1].rstrip() + "…"


def not_utf8_at(data: bytes, start: int) -> tuple[int, int]:
    """The line and column (in characters, as an editor counts) of the byte at ``start``: where UTF-8 fails."""
    line_start = data.rfind(b"\n", 0, start) + 1
    return data.count(b"\n", 0, start) + 1, len(data[line_start:start].decode("utf-8", "replace")) + 1
