"""Escaping for the report's markup formats: markdown (comments and job summaries),
HTML inside markdown, and XML.

A pull request author chooses file names, and a signer's identity comes from a
certificate: none of it may break a table, open an HTML tag, fake the report's
marker or ping people. Every function here starts from `errors.printable`, the one
escaping function for terminal and log text, and adds its format's own escaping; this
module is the only way a value reaches markdown.
"""

from __future__ import annotations

import html
import re
import shlex

from modelseal.errors import printable

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]()|~#!{}<>&@])")
_MARKDOWN_ENTITIES = {"<": "&lt;", ">": "&gt;", "&": "&amp;"}
_SAFE_URL = re.compile(r"https://[A-Za-z0-9.-]+(?::[0-9]+)?(?:/[A-Za-z0-9._~%/+=:,@!$;-]*)?"
                       r"(?:\?[A-Za-z0-9._~%/+=:,@!$;&-]*)?(?:#[A-Za-z0-9._~%/+=:,@!$;&-]*)?")
# Follows "@" so that GitHub and GitLab do not read a name as a mention.
WORD_JOINER = "\u2060"
_REPLACEMENT = "\ufffd"



def markdown_text(text: object) -> str:
    """Inline markdown that renders as exactly ``text``: no markup, HTML or mentions."""

    def escape(match: re.Match[str]) -> str:
        char = match.group()
        if char in _MARKDOWN_ENTITIES:
            return _MARKDOWN_ENTITIES[char]
        if char == "@":
            return "@" + WORD_JOINER
        return "\\" + char

    return _MARKDOWN_SPECIAL.sub(escape, printable(text))


def code_span(text: object, *, in_table: bool = True) -> str:
    """``text`` as an inline code span, safe inside a table cell when ``in_table``."""
    value = printable(text)
    if not value:
        return "(empty)"
    longest = max((len(run) for run in re.findall(r"`+", value)), default=0)
    fence = "`" * (longest + 1)
    if value.startswith(("`", " ")) or value.endswith(("`", " ")):
        value = f" {value} "
    if in_table:
        value = value.replace("|", "\\|")
    return f"{fence}{value}{fence}"


def html_text(text: object) -> str:
    """Text for an HTML context (a ``<summary>``): entities, no line breaks or mentions."""
    return html.escape(printable(text), quote=True).replace("@", "@" + WORD_JOINER)


def code_block(text: object, info: str = "") -> str:
    """A fenced code block holding ``text`` (one line per line, controls made visible)."""
    lines = [printable(line) for line in str(text).splitlines()] or [""]
    body = "\n".join(lines)
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{body}\n{fence}"


def markdown_link(text: object, url: str | None) -> str:
    """``[text](url)`` for a plain https URL; any other URL is shown as code, not linked."""
    if not url:
        return markdown_text(text)
    if _SAFE_URL.fullmatch(url) and len(url) <= 2048:
        return f"[{markdown_text(text)}]({url})"
    return code_span(url)


_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_text(text: object) -> str:
    """Printable text an XML 1.0 document may hold (markup is escaped by the template
    engine); a JUnit file is also printed to logs."""
    return _XML_INVALID.sub(_REPLACEMENT, printable(text))


class Placeholder(str):
    """A word the reader replaces, such as ``<PUBLIC_KEY_PEM>``: shown unquoted. Only
    modelseal's own constants are placeholders, never a value from the tree or a flag."""


def shell_command(words: list[str]) -> str:
    """A command line a person can paste into a POSIX shell (after filling in any
    `Placeholder`)."""
    return " ".join(word if isinstance(word, Placeholder) else shlex.quote(word)
                    for word in words)
