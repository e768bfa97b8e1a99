"""ClientTrustConfig JSON (trusted root + signing config) describing a running stack."""

from __future__ import annotations

import datetime as dt
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from .ca import CertificateAuthority
from .encoding import b64, key_id, spki_der
from .state import StackKeys

CLIENT_TRUST_CONFIG = "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json"
TRUSTED_ROOT = "application/vnd.dev.sigstore.trustedroot+json;version=0.1"
SIGNING_CONFIG = "application/vnd.dev.sigstore.signingconfig.v0.2+json"
OPERATOR = "modelseal-test-stack"


def _time(value: dt.datetime) -> str:
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _valid_from(keys: StackKeys) -> dict[str, str]:
    return {"start": _time(keys.created - dt.timedelta(hours=1))}


def _tlog(url: str, key: ec.EllipticCurvePrivateKey, keys: StackKeys) -> dict[str, Any]:
    """A ``TransparencyLogInstance`` (used for both Rekor and the CT log)."""
    public = key.public_key()
    return {
        "baseUrl": url,
        "hashAlgorithm": "SHA2_256",
        "publicKey": {
            "rawBytes": b64(spki_der(public)),
            "keyDetails": "PKIX_ECDSA_P256_SHA_256",
            "validFor": _valid_from(keys),
        },
        "logId": {"keyId": b64(key_id(public))},
    }


def _authority(url: str, ca: CertificateAuthority, keys: StackKeys) -> dict[str, Any]:
    chain = [{"rawBytes": b64(c.public_bytes(serialization.Encoding.DER))} for c in ca.chain()]
    return {
        "subject": {"organization": ca.organization, "commonName": ca.common_name},
        "uri": url,
        "certChain": {"certificates": chain},
        "validFor": _valid_from(keys),
    }


def trusted_root(keys: StackKeys, endpoints: dict[str, str]) -> dict[str, Any]:
    """The trusted root: the stack CA, its Rekor key and its CT log key."""
    return {
        "mediaType": TRUSTED_ROOT,
        "tlogs": [_tlog(endpoints["rekor"], keys.rekor, keys)],
        "certificateAuthorities": [_authority(endpoints["fulcio"], keys.ca, keys)],
        "ctlogs": [_tlog(endpoints["ctlog"], keys.ctlog, keys)],
        "timestampAuthorities": [],
    }


def _service(url: str, keys: StackKeys) -> dict[str, Any]:
    return {"url": url, "majorApiVersion": 1, "validFor": _valid_from(keys), "operator": OPERATOR}


def signing_config(keys: StackKeys, endpoints: dict[str, str], fulcio_url: str) -> dict[str, Any]:
    """Signing config: one Fulcio, one Rekor **v1** log, the stack OIDC issuer, no TSA."""
    return {
        "mediaType": SIGNING_CONFIG,
        "caUrls": [_service(fulcio_url, keys)],
        "oidcUrls": [_service(endpoints["issuer"], keys)],
        "rekorTlogUrls": [_service(endpoints["rekor"], keys)],
        "rekorTlogConfig": {"selector": "ANY"},
        "tsaUrls": [],
        "tsaConfig": {"selector": "ANY"},
    }


def client_trust_config(
    keys: StackKeys, endpoints: dict[str, str], *, untrusted_ca: bool = False
) -> dict[str, Any]:
    """Full ClientTrustConfig; ``untrusted_ca`` signs via the rogue Fulcio instead."""
    fulcio = endpoints["fulcio_untrusted" if untrusted_ca else "fulcio"]
    return {
        "mediaType": CLIENT_TRUST_CONFIG,
        "trustedRoot": trusted_root(keys, endpoints),
        "signingConfig": signing_config(keys, endpoints, fulcio),
    }
