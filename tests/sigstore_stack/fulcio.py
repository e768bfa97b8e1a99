"""Fulcio ``/api/v2/signingCert``: token check, proof of possession, certificate issue."""

from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from . import oidc
from .ca import CertificateAuthority, issue_leaf
from .ct import CTLog
from .identity import IdentityError, identity_from_claims

AUDIENCE = "sigstore"


class FulcioError(Exception):
    """A refused request; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Fulcio:
    """One Fulcio instance: trusts tokens from ``issuer`` and issues from ``ca``."""

    ca: CertificateAuthority
    ct_log: CTLog
    issuer: str
    token_keys: dict[str, ec.EllipticCurvePublicKey]

    def signing_cert(self, body: bytes, authorization: str | None) -> dict[str, Any]:
        """Handle a signingCert request and return Fulcio's JSON response."""
        request = _parse_json(body)
        token = _bearer(authorization) or _body_token(request)
        if not token:
            raise FulcioError(401, "missing identity token (Authorization: Bearer ...)")
        try:
            claims = oidc.verify(token, self.token_keys, issuer=self.issuer, audience=AUDIENCE)
        except oidc.TokenError as exc:
            raise FulcioError(401, f"error processing the identity token: {exc}") from exc
        public_key = _proven_key(request, claims)
        try:
            ident = identity_from_claims(claims)
        except IdentityError as exc:
            raise FulcioError(400, str(exc)) from exc
        now = dt.datetime.now(dt.timezone.utc)
        cert = issue_leaf(self.ca, self.ct_log, public_key, ident.san, ident.extensions, now)
        pem = cert.public_bytes(serialization.Encoding.PEM).decode()
        chain = {"certificates": [pem, *self.ca.chain_pem()]}
        return {"signedCertificateEmbeddedSct": {"chain": chain}}

    def trust_bundle(self) -> dict[str, Any]:
        """``/api/v2/trustBundle``: the CA chain(s) this instance issues from."""
        return {"chains": [{"certificates": self.ca.chain_pem()}]}


def _parse_json(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body or b"{}")
    except ValueError as exc:
        raise FulcioError(400, f"request body is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise FulcioError(400, "request body must be a JSON object")
    return data


def _bearer(authorization: str | None) -> str | None:
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    return None


def _body_token(request: dict[str, Any]) -> str | None:
    creds = request.get("credentials")
    token = creds.get("oidcIdentityToken") if isinstance(creds, dict) else None
    return token if isinstance(token, str) else None


def _ec_key(key: object) -> ec.EllipticCurvePublicKey:
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise FulcioError(400, "only ECDSA public keys are supported by the test stack")
    return key


def _proven_key(request: dict[str, Any], claims: dict[str, Any]) -> ec.EllipticCurvePublicKey:
    """Return the requested public key after checking proof of possession."""
    if "certificateSigningRequest" in request:
        return _key_from_csr(str(request["certificateSigningRequest"]))
    if isinstance(request.get("publicKeyRequest"), dict):
        return _key_from_pop(request["publicKeyRequest"], claims)
    raise FulcioError(400, "need certificateSigningRequest or publicKeyRequest")


def _key_from_csr(encoded: str) -> ec.EllipticCurvePublicKey:
    """CSR flow: the CSR's self-signature is the proof of possession."""
    try:
        pem = base64.b64decode(encoded, validate=True)
        csr = x509.load_pem_x509_csr(pem)
    except ValueError as exc:
        raise FulcioError(400, f"invalid certificate signing request: {exc}") from exc
    if not csr.is_signature_valid:
        raise FulcioError(400, "CSR signature invalid: no proof of key possession")
    return _ec_key(csr.public_key())


def _key_from_pop(req: dict[str, Any], claims: dict[str, Any]) -> ec.EllipticCurvePublicKey:
    """Public-key flow: ``proofOfPossession`` signs the token subject (email for email IdPs)."""
    try:
        key_info = req["publicKey"]
        key = _ec_key(serialization.load_pem_public_key(str(key_info["content"]).encode()))
        proof = base64.b64decode(str(req["proofOfPossession"]), validate=True)
    except (KeyError, TypeError, ValueError) as exc:
        raise FulcioError(400, f"invalid publicKeyRequest: {exc}") from exc
    subject = str(claims.get("email") or claims["sub"]).encode()
    try:
        key.verify(proof, subject, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature as exc:
        raise FulcioError(400, "proofOfPossession does not verify over the token subject") from exc
    return key
