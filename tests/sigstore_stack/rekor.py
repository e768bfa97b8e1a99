"""Rekor v1 transparency log: entry validation, canonical bodies, proofs, SETs.

Entries live in memory only; a restarted ``serve`` starts an empty log.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from . import merkle
from .encoding import b64, canonical_json, key_id

CHECKPOINT_NAME = "modelseal-test-rekor"
_HASHES: dict[str, hashes.HashAlgorithm] = {
    "sha256": hashes.SHA256(),
    "sha384": hashes.SHA384(),
    "sha512": hashes.SHA512(),
}


class RekorError(Exception):
    """A refused request; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _b64decode(value: object, what: str) -> bytes:
    try:
        return base64.b64decode(str(value), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise RekorError(400, f"{what} is not valid base64") from exc


def load_verifier(encoded: object) -> ec.EllipticCurvePublicKey:
    """Load a base64 PEM certificate or PEM public key (Rekor's ``publicKey.content``)."""
    pem = _b64decode(encoded, "verifier")
    key: object
    try:
        key = x509.load_pem_x509_certificate(pem).public_key()
    except ValueError:
        try:
            key = serialization.load_pem_public_key(pem)
        except ValueError as exc:
            raise RekorError(400, "verifier is neither a PEM certificate nor key") from exc
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise RekorError(400, "only ECDSA verifiers are supported by the test stack")
    return key


def _hashedrekord_body(spec: dict[str, Any]) -> dict[str, Any]:
    """Validate a hashedrekord 0.0.1 spec and return its canonical entry spec."""
    try:
        algorithm = str(spec["data"]["hash"]["algorithm"])
        digest_hex = str(spec["data"]["hash"]["value"]).lower()
        sig_b64 = spec["signature"]["content"]
        key_b64 = spec["signature"]["publicKey"]["content"]
    except (KeyError, TypeError) as exc:
        raise RekorError(400, f"hashedrekord spec is missing {exc}") from exc
    if algorithm not in _HASHES:
        raise RekorError(400, f"unsupported hash algorithm {algorithm!r}")
    try:
        digest = bytes.fromhex(digest_hex)
    except ValueError as exc:
        raise RekorError(400, "hash value is not hex") from exc
    signature = _b64decode(sig_b64, "signature")
    key = load_verifier(key_b64)
    try:
        key.verify(signature, digest, ec.ECDSA(Prehashed(_HASHES[algorithm])))
    except (InvalidSignature, ValueError) as exc:
        raise RekorError(400, "signature does not verify over the artifact digest") from exc
    return {
        "data": {"hash": {"algorithm": algorithm, "value": digest_hex}},
        "signature": {"content": b64(signature), "publicKey": {"content": str(key_b64)}},
    }


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE pre-authentication encoding."""
    return b"DSSEv1 %d %s %d %s" % (
        len(payload_type.encode()),
        payload_type.encode(),
        len(payload),
        payload,
    )


def _dsse_body(spec: dict[str, Any]) -> dict[str, Any]:
    """Validate a dsse 0.0.1 proposed entry and return its canonical entry spec."""
    try:
        envelope_text = str(spec["proposedContent"]["envelope"])
        verifiers = list(spec["proposedContent"]["verifiers"])
        envelope = json.loads(envelope_text)
        payload = _b64decode(envelope["payload"], "payload")
        message = pae(str(envelope["payloadType"]), payload)
        sigs = [_b64decode(s["sig"], "signature") for s in envelope["signatures"]]
    except (KeyError, TypeError, ValueError) as exc:
        raise RekorError(400, f"malformed dsse proposed entry: {exc}") from exc
    if not sigs or not verifiers:
        raise RekorError(400, "dsse entry needs signatures and verifiers")
    keys = [(v, load_verifier(v)) for v in verifiers]
    signatures = [{"signature": b64(sig), "verifier": _match(sig, message, keys)} for sig in sigs]
    return {
        "envelopeHash": {"algorithm": "sha256", "value": _sha256_hex(envelope_text.encode())},
        "payloadHash": {"algorithm": "sha256", "value": _sha256_hex(payload)},
        "signatures": sorted(signatures, key=lambda s: s["signature"]),
    }


def _sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _match(sig: bytes, message: bytes, keys: list[tuple[str, ec.EllipticCurvePublicKey]]) -> str:
    """Return the verifier (as submitted) whose key verifies ``sig`` over ``message``."""
    for encoded, key in keys:
        try:
            key.verify(sig, message, ec.ECDSA(hashes.SHA256()))
            return str(encoded)
        except InvalidSignature:
            continue
    raise RekorError(400, "a DSSE signature does not verify with any supplied verifier")


def canonical_body(proposed: dict[str, Any]) -> bytes:
    """Validate a proposed entry and return the canonicalised body Rekor would log."""
    kind, version = proposed.get("kind"), proposed.get("apiVersion")
    spec = proposed.get("spec")
    if version != "0.0.1" or not isinstance(spec, dict):
        raise RekorError(400, f"unsupported entry {kind}/{version} (need 0.0.1 with a spec)")
    if kind == "hashedrekord":
        body = _hashedrekord_body(spec)
    elif kind == "dsse":
        body = _dsse_body(spec)
    else:
        raise RekorError(400, f"unsupported entry kind {kind!r} (hashedrekord, dsse only)")
    return canonical_json({"apiVersion": "0.0.1", "kind": kind, "spec": body})


@dataclass
class _Entry:
    body: bytes
    integrated_time: int


@dataclass
class RekorLog:
    """An in-memory Rekor v1 log signed with ``key``."""

    key: ec.EllipticCurvePrivateKey
    tree_id: int
    entries: list[_Entry] = field(default_factory=list)
    leaves: list[bytes] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def log_id(self) -> bytes:
        """Rekor log ID: SHA-256 of the log's DER public key."""
        return key_id(self.key.public_key())

    def _sign(self, data: bytes) -> bytes:
        return self.key.sign(data, ec.ECDSA(hashes.SHA256()))

    def uuid(self, index: int) -> str:
        """Sharded-style entry UUID: 16 hex digits of tree ID + leaf hash."""
        return f"{self.tree_id:016x}{self.leaves[index].hex()}"

    def checkpoint(self, size: int) -> str:
        """Signed note over the tree head of the first ``size`` entries."""
        head = merkle.root(self.leaves[:size])
        note = (
            f"{CHECKPOINT_NAME} - {self.tree_id}\n{size}\n{b64(head)}\n"
            f"Timestamp: {time.time_ns()}\n"
        )
        sig = self.log_id[:4] + self._sign(note.encode())
        return f"{note}\n\u2014 {CHECKPOINT_NAME} {b64(sig)}\n"

    def add(self, proposed: dict[str, Any]) -> dict[str, Any]:
        """Integrate a proposed entry; return Rekor's ``{uuid: entry}`` response."""
        body = canonical_body(proposed)
        leaf = merkle.leaf_hash(body)
        with self.lock:
            if leaf in self.leaves:
                index = self.leaves.index(leaf)
                raise RekorError(409, f"an equivalent entry already exists: {self.uuid(index)}")
            self.entries.append(_Entry(body, int(time.time())))
            self.leaves.append(leaf)
            index = len(self.leaves) - 1
            return {self.uuid(index): self.entry_json(index)}

    def entry_json(self, index: int, tree_size: int | None = None) -> dict[str, Any]:
        """One entry as Rekor v1 serves it, with proof against ``tree_size``."""
        size = len(self.leaves) if tree_size is None else tree_size
        entry = self.entries[index]
        body_b64 = b64(entry.body)
        promise = {
            "body": body_b64,
            "integratedTime": entry.integrated_time,
            "logID": self.log_id.hex(),
            "logIndex": index,
        }
        proof = {
            "checkpoint": self.checkpoint(size),
            "hashes": [h.hex() for h in merkle.inclusion_proof(index, self.leaves[:size])],
            "logIndex": index,
            "rootHash": merkle.root(self.leaves[:size]).hex(),
            "treeSize": size,
        }
        set_sig = b64(self._sign(canonical_json(promise)))
        return {
            **promise,
            "verification": {"inclusionProof": proof, "signedEntryTimestamp": set_sig},
        }

    def find_uuid(self, uuid: str) -> int:
        """Index of the entry with ``uuid`` (full or leaf-hash-only form)."""
        leaf_hex = uuid[-64:].lower()
        with self.lock:
            for index, leaf in enumerate(self.leaves):
                if leaf.hex() == leaf_hex:
                    return index
        raise RekorError(404, f"no entry with UUID {uuid}")

    def get(self, index: int) -> dict[str, Any]:
        """``{uuid: entry}`` for ``index`` with a proof against the current tree."""
        with self.lock:
            if not 0 <= index < len(self.entries):
                raise RekorError(404, f"no entry at index {index}")
            return {self.uuid(index): self.entry_json(index)}

    def retrieve(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        """``POST /entries/retrieve``: search by UUIDs, log indexes or proposed entries."""
        indexes: list[int] = []
        for uuid in query.get("entryUUIDs") or []:
            indexes.append(self.find_uuid(str(uuid)))
        indexes.extend(int(i) for i in query.get("logIndexes") or [])
        for proposed in query.get("entries") or []:
            leaf = merkle.leaf_hash(canonical_body(proposed))
            with self.lock:
                indexes.extend(i for i, known in enumerate(self.leaves) if known == leaf)
        found = []
        for index in indexes:
            try:
                found.append(self.get(index))
            except RekorError:
                continue
        return found

    def info(self) -> dict[str, Any]:
        """``GET /api/v1/log``: current tree head."""
        with self.lock:
            size = len(self.leaves)
            return {
                "rootHash": merkle.root(self.leaves).hex(),
                "treeSize": size,
                "signedTreeHead": self.checkpoint(size),
                "treeID": str(self.tree_id),
                "inactiveShards": [],
            }

    def public_key_pem(self) -> str:
        """``GET /api/v1/log/publicKey``."""
        return (
            self.key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )
