"""Counted nouns for user-facing text: "1 file", "2 files", "1,024 models".

One helper, so every message, hook line and report template agrees; the report
templates use it as the ``plural`` filter.
"""

from __future__ import annotations


def plural(count: int, noun: str, many: str | None = None) -> str:
    """``count`` and ``noun`` in the right number; ``many`` for an irregular plural."""
    word = noun if count == 1 else (many if many is not None else _plural_of(noun))
    return f"{count:,} {word}"


def _plural_of(noun: str) -> str:
    # Only the endings our own nouns need ("file", "model", "change", "layer", "entry").
    if noun.endswith("y") and noun[-2:-1] not in tuple("aeiou"):
        return noun[:-1] + "ies"
    if noun.endswith(("s", "x", "sh", "ch")):
        return noun + "es"
    return noun + "s"


def one_or_many(count: int, one: str, many: str) -> str:
    """``one`` when ``count`` is 1, else ``many``: a verb or pronoun that agrees with a
    count ("1 file differs", "2 files differ"; "use it", "use them")."""
    return one if count == 1 else many
