"""Minimal OIDC issuer pieces: ES256 JWT minting/verification, JWKS and discovery."""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from .encoding import b64url, b64url_decode, canonical_json

Claims = dict[str, Any]
_P256_BYTES = 32


class TokenError(Exception):
    """A token was refused; the message says why (surfaced in Fulcio's HTTP error)."""


def _coordinates(key: ec.EllipticCurvePublicKey) -> tuple[str, str]:
    numbers = key.public_numbers()
    return (
        b64url(numbers.x.to_bytes(_P256_BYTES, "big")),
        b64url(numbers.y.to_bytes(_P256_BYTES, "big")),
    )


def jwk_thumbprint(key: ec.EllipticCurvePublicKey) -> str:
    """RFC 7638 thumbprint of an EC key, used as the JWT ``kid``."""
    x, y = _coordinates(key)
    members = {"crv": "P-256", "kty": "EC", "x": x, "y": y}
    return b64url(hashlib.sha256(canonical_json(members)).digest())


def jwks(keys: list[ec.EllipticCurvePublicKey]) -> dict[str, Any]:
    """The JSON Web Key Set document served at the issuer's ``jwks_uri``."""
    out = []
    for key in keys:
        x, y = _coordinates(key)
        kid = jwk_thumbprint(key)
        out.append(
            {"kty": "EC", "crv": "P-256", "x": x, "y": y, "kid": kid, "alg": "ES256", "use": "sig"}
        )
    return {"keys": out}


def discovery_document(issuer: str) -> dict[str, Any]:
    """OpenID Provider metadata (the fields sigstore-python and verifiers read)."""
    return {
        "issuer": issuer,
        "jwks_uri": f"{issuer}/jwks",
        "authorization_endpoint": f"{issuer}/authorize",
        "token_endpoint": f"{issuer}/token",
        "response_types_supported": ["id_token"],
        "subject_types_supported": ["public", "pairwise"],
        "id_token_signing_alg_values_supported": ["ES256"],
        "claims_supported": ["sub", "aud", "exp", "iat", "iss", "nbf", "email"],
    }


def mint(key: ec.EllipticCurvePrivateKey, claims: Claims) -> str:
    """Sign ``claims`` as a compact ES256 JWS."""
    header = {"alg": "ES256", "typ": "JWT", "kid": jwk_thumbprint(key.public_key())}
    signing_input = f"{b64url(canonical_json(header))}.{b64url(canonical_json(claims))}"
    r, s = decode_dss_signature(key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    raw = r.to_bytes(_P256_BYTES, "big") + s.to_bytes(_P256_BYTES, "big")
    return f"{signing_input}.{b64url(raw)}"


def unverified_claims(token: str) -> Claims:
    """Decode a JWT payload without checking anything (for tests and diagnostics)."""
    parts = token.split(".")
    if len(parts) != 3:
        raise TokenError("token is not a compact JWS")
    claims = json.loads(b64url_decode(parts[1]))
    if not isinstance(claims, dict):
        raise TokenError("token payload is not a JSON object")
    return claims


def _check_signature(token: str, keys: dict[str, ec.EllipticCurvePublicKey]) -> None:
    try:
        head_b64, _, sig_b64 = token.split(".")
        header = json.loads(b64url_decode(head_b64))
        raw = b64url_decode(sig_b64)
    except ValueError as exc:
        raise TokenError(f"malformed token: {exc}") from exc
    if not isinstance(header, dict) or header.get("alg") != "ES256":
        raise TokenError("unsupported token algorithm (only ES256 is accepted)")
    key = keys.get(str(header.get("kid")))
    if key is None:
        raise TokenError("token was signed by an unknown key")
    if len(raw) != 2 * _P256_BYTES:
        raise TokenError("token signature has the wrong length")
    der = encode_dss_signature(
        int.from_bytes(raw[:_P256_BYTES], "big"), int.from_bytes(raw[_P256_BYTES:], "big")
    )
    signing_input = token.rsplit(".", 1)[0].encode()
    try:
        key.verify(der, signing_input, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature as exc:
        raise TokenError("token signature is invalid") from exc


def _check_times(claims: Claims, now: float, leeway: int) -> None:
    for name in ("exp", "iat"):
        if not isinstance(claims.get(name), int):
            raise TokenError(f"token is missing the {name!r} claim")
    if claims["exp"] + leeway <= now:
        raise TokenError(f"token expired at {claims['exp']} (now {int(now)})")
    nbf = claims.get("nbf", claims["iat"])
    if isinstance(nbf, int) and nbf - leeway > now:
        raise TokenError("token is not yet valid (nbf in the future)")


def verify(
    token: str,
    keys: dict[str, ec.EllipticCurvePublicKey],
    *,
    issuer: str,
    audience: str,
    now: float | None = None,
    leeway: int = 5,
) -> Claims:
    """Verify signature, issuer, audience and validity period; return the claims."""
    _check_signature(token, keys)
    claims = unverified_claims(token)
    if claims.get("iss") != issuer:
        raise TokenError(f"unexpected token issuer {claims.get('iss')!r} (want {issuer!r})")
    aud = claims.get("aud")
    auds = aud if isinstance(aud, list) else [aud]
    if audience not in auds:
        raise TokenError(f"token audience {aud!r} does not contain {audience!r}")
    _check_times(claims, time.time() if now is None else now, leeway)
    if not isinstance(claims.get("sub"), str):
        raise TokenError("token is missing the 'sub' claim")
    return claims
