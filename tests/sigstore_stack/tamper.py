"""Helpers for negative tests: damage bundles' transparency log entries and tokens.

Bundle helpers take and return Sigstore bundle JSON text (as written by
``Bundle.to_json()`` or ``model_signing``), so they also work on files
produced by a CLI under test.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

from .encoding import b64url, b64url_decode


def _flip(data: bytes, index: int = 0) -> bytes:
    """Flip the low bit of byte ``index``."""
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1 :]


def _flip_b64(text: str) -> str:
    return base64.b64encode(_flip(base64.b64decode(text))).decode()


def edit_tlog_entry(bundle_json: str, edit: Callable[[dict[str, Any]], None]) -> str:
    """Apply ``edit`` to the bundle's (first) ``tlogEntries`` item and re-serialise."""
    bundle = json.loads(bundle_json)
    edit(bundle["verificationMaterial"]["tlogEntries"][0])
    return json.dumps(bundle)


def shift_integrated_time(bundle_json: str, seconds: int = 1) -> str:
    """Move ``integratedTime``; breaks the signed entry timestamp (SET)."""

    def edit(entry: dict[str, Any]) -> None:
        entry["integratedTime"] = str(int(entry["integratedTime"]) + seconds)

    return edit_tlog_entry(bundle_json, edit)


def corrupt_inclusion_proof(bundle_json: str) -> str:
    """Flip a bit in the first audit-path hash (or the root hash for a one-leaf tree)."""

    def edit(entry: dict[str, Any]) -> None:
        proof = entry["inclusionProof"]
        if proof.get("hashes"):
            proof["hashes"][0] = _flip_b64(proof["hashes"][0])
        else:
            proof["rootHash"] = _flip_b64(proof["rootHash"])

    return edit_tlog_entry(bundle_json, edit)


def corrupt_checkpoint(bundle_json: str) -> str:
    """Change the tree size written in the signed checkpoint note (signature breaks)."""

    def edit(entry: dict[str, Any]) -> None:
        checkpoint = entry["inclusionProof"]["checkpoint"]
        origin, size, rest = checkpoint["envelope"].split("\n", 2)
        checkpoint["envelope"] = f"{origin}\n{int(size) + 1}\n{rest}"

    return edit_tlog_entry(bundle_json, edit)


def corrupt_entry_body(bundle_json: str) -> str:
    """Flip a bit in ``canonicalizedBody`` (inclusion proof and SET no longer match)."""

    def edit(entry: dict[str, Any]) -> None:
        body = base64.b64decode(entry["canonicalizedBody"])
        text = body.replace(b'"apiVersion":"0.0.1"', b'"apiVersion":"0.0.1" ')
        entry["canonicalizedBody"] = base64.b64encode(text).decode()

    return edit_tlog_entry(bundle_json, edit)


def corrupt_jwt_signature(token: str) -> str:
    """Keep header and claims but damage the JWS signature bytes."""
    head, payload, sig = token.split(".")
    return f"{head}.{payload}.{b64url(_flip(b64url_decode(sig), 5))}"
