"""Key material of one stack, persisted in a state directory so ``serve`` and ``token`` agree.

Layout of ``STATE/keys/`` (created atomically on first use):
``oidc.key``, ``ctlog.key``, ``rekor.key`` and, for the trusted and the
*untrusted* ("rogue") CA, ``<ca>-root.key/.pem`` and ``<ca>-intermediate.key/.pem``;
``meta.json`` holds the creation time and the Rekor tree ID.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from .ca import CertificateAuthority, create_ca
from .ct import CTLog

TRUSTED_ORG = "modelseal-test-fulcio"
ROGUE_ORG = "modelseal-untrusted-ca"


@dataclass(frozen=True)
class StackKeys:
    """All long-lived keys of a stack instance."""

    oidc: ec.EllipticCurvePrivateKey
    ctlog: ec.EllipticCurvePrivateKey
    rekor: ec.EllipticCurvePrivateKey
    ca: CertificateAuthority
    rogue_ca: CertificateAuthority
    created: dt.datetime
    tree_id: int

    @property
    def ct_log(self) -> CTLog:
        """The CT log stand-in signing SCTs with ``ctlog``."""
        return CTLog(self.ctlog)


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def _read_key(path: Path) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{path} is not an EC private key")
    return key


def _write_ca(directory: Path, name: str, ca: CertificateAuthority) -> None:
    for level, key, cert in (
        ("root", ca.root_key, ca.root_cert),
        ("intermediate", ca.intermediate_key, ca.intermediate_cert),
    ):
        _write_key(directory / f"{name}-{level}.key", key)
        (directory / f"{name}-{level}.pem").write_bytes(
            cert.public_bytes(serialization.Encoding.PEM)
        )


def _read_ca(directory: Path, name: str) -> CertificateAuthority:
    def cert(level: str) -> x509.Certificate:
        return x509.load_pem_x509_certificate((directory / f"{name}-{level}.pem").read_bytes())

    return CertificateAuthority(
        root_key=_read_key(directory / f"{name}-root.key"),
        root_cert=cert("root"),
        intermediate_key=_read_key(directory / f"{name}-intermediate.key"),
        intermediate_cert=cert("intermediate"),
    )


def _generate(directory: Path) -> None:
    """Write a complete fresh key set into ``directory``."""
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    for name in ("oidc", "ctlog", "rekor"):
        _write_key(directory / f"{name}.key", ec.generate_private_key(ec.SECP256R1()))
    _write_ca(directory, "ca", create_ca(TRUSTED_ORG, now))
    _write_ca(directory, "rogue", create_ca(ROGUE_ORG, now))
    meta = {"created": now.isoformat(), "tree_id": secrets.randbits(62)}
    (directory / "meta.json").write_text(json.dumps(meta))


def load_or_create(state_dir: Path) -> StackKeys:
    """Load ``state_dir``'s keys, generating them first if absent (race-safe)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    keys_dir = state_dir / "keys"
    if not (keys_dir / "meta.json").exists():
        tmp = Path(tempfile.mkdtemp(prefix=".keys-", dir=state_dir))
        _generate(tmp)
        try:
            os.rename(tmp, keys_dir)
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)
    meta = json.loads((keys_dir / "meta.json").read_text())
    return StackKeys(
        oidc=_read_key(keys_dir / "oidc.key"),
        ctlog=_read_key(keys_dir / "ctlog.key"),
        rekor=_read_key(keys_dir / "rekor.key"),
        ca=_read_ca(keys_dir, "ca"),
        rogue_ca=_read_ca(keys_dir, "rogue"),
        created=dt.datetime.fromisoformat(meta["created"]),
        tree_id=int(meta["tree_id"]),
    )


def write_json_atomic(path: Path, data: object) -> None:
    """Write JSON so readers never see a partial file (temp file + rename)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle, indent=2)
        handle.write("\n")
    os.replace(tmp, path)
