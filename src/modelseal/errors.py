"""The exceptions users see, and the one boundary every untrusted string crosses on
its way to a terminal, CI log, job summary or Action output (`printable`)."""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

# Anything outside printable ASCII is looked at one character at a time.
_NOT_PLAIN = re.compile("[^\x20-\x7e]")
# Controls (C0, C1, DEL), format characters (bidi overrides and isolates, zero-width
# and tag characters), line and paragraph separators, and lone surrogates (a file
# name that is not UTF-8).
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})
# What a terminal, `str.splitlines` or a CI runner may take for the end of a line.
_LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
# A runner obeys a line that starts with "::" after blanks (GitHub workflow
# commands) and a "##[" or "##vso[" anywhere in a line (GitHub's older form,
# Azure Pipelines logging commands).
_COMMAND_START = re.compile(r"^(\s*)(?=::)")
_COMMAND_INSIDE = re.compile(r"##(?=\[|vso\[)", re.IGNORECASE)
_NEWLINE_MARK = "\u2424"  # SYMBOL FOR NEWLINE
_REPLACEMENT = "\ufffd"

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


class ModelsealError(Exception):
    """Base class: a problem the user can act on; ``exit_code`` is what the CLI returns.

    Its text is always `printable`: messages quote file names, config values and
    what servers said, and a traceback (``--debug``) or a caller that keeps only the
    first line must not be steered by them either.
    """

    exit_code = EXIT_USAGE

    def __str__(self) -> str:
        return printable(super().__str__())


class UsageError(ModelsealError):
    """Bad arguments or a combination of options that cannot work."""


class ConfigError(ModelsealError):
    """`.modelseal.yaml` is malformed; the message names the key and line."""


class ModelPathError(ModelsealError):
    """The model directory cannot be listed safely (symlink, special file, missing)."""


class HashingError(ModelsealError):
    """A file could not be hashed, or changed while it was being hashed."""


class ManifestFormatError(ModelsealError):
    """A manifest or statement is not a valid OMS statement."""


class LfsContentMissing(ModelsealError):
    """A file is a Git LFS pointer and its real content is needed."""


class CheckFailed(ModelsealError):
    """The thing checked is not OK (stale manifest, failed verification)."""

    exit_code = EXIT_FAILED


def printable(text: object) -> str:
    """``text`` as one inert line: THE escaping function for terminal and log text.

    File names, model paths, config values, bundle fields and the messages that
    quote them are chosen by whoever wrote the tree or the signature. Printed raw, a
    newline could start a line a CI runner obeys (``::add-mask::``, ``##[error]``),
    an escape sequence could rewrite a terminal, and a bidi control could make one
    name look like another. So: line breaks become a visible symbol, other controls
    and invisible formatting characters the replacement character, and a value that
    would start a workflow command (``::`` after blanks) or holds ``##[`` gets a
    replacement character that breaks the command. Ordinary text is unchanged, and
    escaping twice changes nothing.
    """
    shown = _NOT_PLAIN.sub(_safe_char, str(text))
    shown = _COMMAND_INSIDE.sub("##" + _REPLACEMENT, shown)
    return _COMMAND_START.sub("\\g<1>" + _REPLACEMENT, shown, count=1)


def _safe_char(match: re.Match[str]) -> str:
    char = match.group()
    if char in _LINE_BREAKS:
        return _NEWLINE_MARK
    return _REPLACEMENT if unicodedata.category(char) in _UNSAFE_CATEGORIES else char


def safe_json(data: Any, *, indent: int | None = 2, sort_keys: bool = True) -> str:
    """``data`` as JSON that decodes to exactly ``data`` but prints inert: the
    characters `printable` replaces are written as ``\\uXXXX`` escapes, and so is
    the second ``#`` of a ``##[``. Every line starts with a bracket or a quote."""
    text = json.dumps(data, indent=indent, sort_keys=sort_keys, ensure_ascii=False)
    text = _NOT_PLAIN.sub(_json_char, text)
    return _COMMAND_INSIDE.sub(lambda _: "#\\u0023", text)


def _json_char(match: re.Match[str]) -> str:
    char = match.group()
    if char == "\n":  # only between values: json.dumps escapes it inside strings
        return char
    if char not in _LINE_BREAKS and unicodedata.category(char) not in _UNSAFE_CATEGORIES:
        return char
    code = ord(char)
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def warn(message: str) -> None:
    """A one-line warning on stderr: something the user should know, not a failure."""
    import sys

    print(f"modelseal: warning: {printable(message)}", file=sys.stderr)

