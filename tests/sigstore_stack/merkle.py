"""RFC 6962 Merkle tree hashing and inclusion proofs."""

from __future__ import annotations

import hashlib


def leaf_hash(data: bytes) -> bytes:
    """Hash of a leaf: SHA-256(0x00 || data)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Hash of an interior node: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """Largest power of two strictly smaller than ``n`` (n >= 2)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def root(leaves: list[bytes]) -> bytes:
    """Merkle tree hash (MTH) over already leaf-hashed entries."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = _split(len(leaves))
    return node_hash(root(leaves[:k]), root(leaves[k:]))


def inclusion_proof(index: int, leaves: list[bytes]) -> list[bytes]:
    """Audit path for leaf ``index`` (RFC 6962 PATH), ordered from the leaf upwards."""
    if not 0 <= index < len(leaves):
        raise IndexError(f"leaf {index} outside tree of size {len(leaves)}")
    if len(leaves) == 1:
        return []
    k = _split(len(leaves))
    if index < k:
        return [*inclusion_proof(index, leaves[:k]), root(leaves[k:])]
    return [*inclusion_proof(index - k, leaves[k:]), root(leaves[:k])]


def root_from_proof(index: int, size: int, leaf: bytes, proof: list[bytes]) -> bytes:
    """Recompute the root from an audit path (used by the self-tests)."""
    if size == 1:
        if proof:
            raise ValueError("proof too long")
        return leaf
    if not proof:
        raise ValueError("proof too short")
    k = _split(size)
    *rest, sibling = proof
    if index < k:
        return node_hash(root_from_proof(index, k, leaf, rest), sibling)
    return node_hash(sibling, root_from_proof(index - k, size - k, leaf, rest))
