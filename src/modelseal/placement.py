"""Where a directory model keeps its manifest: inside it, or beside it.

A model that another tool signed (a `model.sig` from `model_signing`, whose
`ignore_paths` do not name `model.manifest.json`) must stay verifiable by that tool,
which fails on any file its signature does not account for. Such a model keeps its
manifest beside the directory, as ``<dir>.manifest.json`` (the same form as a single
file's ``<file>.manifest.json``), so modelseal adds nothing inside it.

The choice is stable: a manifest already inside (or beside) stays where it is. The
signature is read only to choose a file name; nothing here trusts what it says.
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path

from modelseal.errors import ModelPathError
from modelseal.untrusted import UnsafeFile, loads_json, read_regular_file
from modelseal.walk import MANIFEST_NAME, SIGNATURE_NAME

MANIFEST_SUFFIX = ".manifest.json"
_MAX_SIGNATURE_BYTES = 16 * 1024 * 1024
_MAX_DEPTH = 64


def beside_path(directory: Path) -> Path:
    """``<parent>/<dir>.manifest.json`` for the model directory ``directory``."""
    if directory.name in ("", ".", ".."):
        directory = directory.resolve()
    return directory.with_name(f"{directory.name}{MANIFEST_SUFFIX}")


def directory_manifest_path(directory: Path) -> Path:
    """The manifest of a directory model: inside, unless a foreign signature forbids it."""
    inside = directory / MANIFEST_NAME
    if inside.is_file() or inside.is_symlink():
        return inside
    beside = beside_path(directory)
    if beside.is_file():
        return beside
    if not signature_leaves_out_manifest(directory / SIGNATURE_NAME):
        return inside
    if (directory / ".git").exists():
        raise ModelPathError(
            f"{directory} holds a model.sig from another tool that does not ignore "
            f"{MANIFEST_NAME}, and it is a repository root, so there is no place beside "
            "it for the manifest; track a subdirectory as the model, or re-sign it with "
            "`modelseal sign`")
    return beside


def signature_leaves_out_manifest(signature: Path) -> bool:
    """Whether ``signature`` is a readable OMS bundle whose statement would count a
    `model.manifest.json` inside the model as an extra file."""
    ignore_paths = _recorded_ignore_paths(signature)
    if ignore_paths is None:
        return False  # no signature, or not one we can read: nothing to protect
    return MANIFEST_NAME not in {p.strip("/") for p in ignore_paths}


def _recorded_ignore_paths(signature: Path) -> list[str] | None:
    try:
        data = read_regular_file(signature, _MAX_SIGNATURE_BYTES)
    except (OSError, UnsafeFile):
        return None
    try:
        payload = loads_json(data, max_depth=_MAX_DEPTH)["dsseEnvelope"]["payload"]
        statement = loads_json(base64.b64decode(payload, validate=True), max_depth=_MAX_DEPTH)
        ignore = statement["predicate"]["serialization"].get("ignore_paths", [])
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error):
        return None
    if not isinstance(ignore, list):
        return None
    return [p for p in ignore if isinstance(p, str)]
