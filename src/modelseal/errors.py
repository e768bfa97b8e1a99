"""The exceptions users see. Each carries a message fit for one line on stderr."""

from __future__ import annotations

import re

# C0/C1 controls (newline and tab included), DEL, and Unicode bidirectional and
# invisible formatting characters that can make a name look like another one.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff]")
_NEWLINE_MARK = "\u2424"  # SYMBOL FOR NEWLINE
_REPLACEMENT = "\ufffd"

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


class ModelsealError(Exception):
    """Base class: a problem the user can act on; ``exit_code`` is what the CLI returns."""

    exit_code = EXIT_USAGE


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
    """``text`` as one safe line: line breaks shown as a symbol, other controls replaced.

    File names are attacker-chosen in a pull request; printed raw, a newline could
    start a line a CI runner obeys (``::add-mask::``) and escapes could rewrite a
    terminal.
    """
    return _UNPRINTABLE.sub(
        lambda m: _NEWLINE_MARK if m.group() in "\r\n" else _REPLACEMENT, str(text))


def warn(message: str) -> None:
    """A one-line warning on stderr: something the user should know, not a failure."""
    import sys

    print(f"modelseal: warning: {printable(message)}", file=sys.stderr)
