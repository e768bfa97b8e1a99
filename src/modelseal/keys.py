"""Keys and certificates: loading PEM files, the EC curves OMS allows, `modelseal keygen`.

Both signing and verification load their keys and certificates here, so neither
depends on the other. Every file problem is a `UsageError` naming the file.

Key generation writes the private key as PKCS#8 PEM, encrypted when a password is
given, and never readable by other users: the temporary file that becomes it is
created with mode 0600, so no moment exists in which the key sits on disk with wider
permissions.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from modelseal.errors import UsageError
from modelseal.fsio import atomic_write_bytes

SUPPORTED_CURVES = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}
PRIVATE_SUFFIX = ".key"
PUBLIC_SUFFIX = ".pub"
DEFAULT_NAME = "modelseal"


@dataclass(frozen=True)
class KeyPairFiles:
    """Where `write_key_pair` put the two halves, and whether the private one is encrypted."""

    private: Path
    public: Path
    encrypted: bool


def key_pair_paths(output_dir: Path, name: str) -> tuple[Path, Path]:
    """``NAME.key`` and ``NAME.pub`` in ``output_dir``; ``name`` must be a plain file name."""
    if not name or "/" in name or "\\" in name or name in (".", "..") or "\x00" in name:
        raise UsageError(f"--name {name!r} must be a plain file name, without a directory")
    return output_dir / f"{name}{PRIVATE_SUFFIX}", output_dir / f"{name}{PUBLIC_SUFFIX}"


def password_from_env(variable: str | None) -> bytes | None:
    """The password held by ``$variable``; refuses an unset or empty variable."""
    if variable is None:
        return None
    value = os.environ.get(variable)
    if value is None:
        raise UsageError(f"--password-env names {variable}, but it is not set")
    if not value:
        raise UsageError(f"--password-env names {variable}, but it is empty; set a password "
                         "or leave out --password-env for an unencrypted key")
    return value.encode("utf-8")


def write_key_pair(output_dir: Path, name: str = DEFAULT_NAME, *,
                   password: bytes | None = None, force: bool = False) -> KeyPairFiles:
    """Generate an EC P-256 key pair and write it; refuses to overwrite unless ``force``."""
    private_path, public_path = key_pair_paths(output_dir, name)
    if output_dir.exists() and not output_dir.is_dir():
        raise UsageError(f"--output-dir {output_dir} is not a directory")
    output_dir.mkdir(mode=0o700, parents=True, exist_ok=True)  # a new one: for keys only
    existing = [str(p) for p in (private_path, public_path) if os.path.lexists(p)]
    if existing and not force:
        verb = "exists" if len(existing) == 1 else "exist"
        raise UsageError(f"{' and '.join(existing)} already {verb}; pass --force to "
                         "replace, or choose another --name or --output-dir")
    key = ec.generate_private_key(ec.SECP256R1())
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password) if password
        else serialization.NoEncryption())
    private_pem = key.private_bytes(serialization.Encoding.PEM,
                                    serialization.PrivateFormat.PKCS8, encryption)
    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    atomic_write_bytes(private_path, private_pem, mode=0o600)
    atomic_write_bytes(public_path, public_pem, mode=0o644)
    return KeyPairFiles(private_path, public_path, encrypted=password is not None)


# --- EC keys ---------------------------------------------------------------------------


def curve_hash(key: ec.EllipticCurvePublicKey) -> hashes.HashAlgorithm:
    """The digest OMS pairs with an EC curve: P-256/SHA-256, P-384/SHA-384, P-521/SHA-512."""
    size = key.curve.key_size
    if size == 256:
        return hashes.SHA256()
    if size == 384:
        return hashes.SHA384()
    if size == 521:
        return hashes.SHA512()
    raise UsageError(f"EC curve {key.curve.name} is not supported by OMS "
                     "(use P-256, P-384 or P-521)")


def check_ec_key(key: object, where: str) -> ec.EllipticCurvePublicKey:
    """``key`` as a supported EC public key, or a clear error naming what it is."""
    if isinstance(key, ec.EllipticCurvePrivateKey):
        key = key.public_key()
    if isinstance(key, (ed25519.Ed25519PrivateKey, ed25519.Ed25519PublicKey,
                        ed448.Ed448PrivateKey, ed448.Ed448PublicKey)):
        raise UsageError(f"{where} is an Ed25519/Ed448 key, which is not supported by OMS; "
                         "use an EC key on P-256, P-384 or P-521")
    if isinstance(key, (rsa.RSAPrivateKey, rsa.RSAPublicKey)):
        raise UsageError(f"{where} is an RSA key, which is not supported by OMS; use an EC key "
                         "on P-256, P-384 or P-521")
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise UsageError(f"{where} is not an EC key; OMS signs with P-256, P-384 or P-521")
    if key.curve.name not in SUPPORTED_CURVES:
        raise UsageError(f"{where} uses curve {key.curve.name}, which is not supported by OMS "
                         "(use P-256, P-384 or P-521)")
    return key


def load_private_key(path: Path, password_env: str | None = None) -> ec.EllipticCurvePrivateKey:
    """Load a PEM EC private key; the password, if any, comes from the named env variable."""
    password: bytes | None = None
    if password_env is not None:
        value = os.environ.get(password_env)
        if value is None:
            raise UsageError(f"--password-env names {password_env}, but it is not set")
        password = value.encode("utf-8")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read private key {path}: {exc.strerror}") from None
    try:
        key = serialization.load_pem_private_key(data, password)
    except TypeError:
        hint = "pass --password-env VAR" if password is None else "it is not encrypted"
        raise UsageError(f"private key {path}: password problem ({hint})") from None
    except ValueError as exc:
        if password is not None and "password" in str(exc).lower():
            raise UsageError(f"private key {path}: wrong password (from ${password_env})") \
                from None
        raise UsageError(f"{path} is not a PEM private key (or the password is wrong)") \
            from None
    check_ec_key(key, f"private key {path}")
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key


def load_public_keys(paths: Sequence[Path]) -> list[tuple[Path, PublicKeyTypes]]:
    """The PEM public keys at ``paths``; a bad file is a usage error naming it."""
    keys: list[tuple[Path, PublicKeyTypes]] = []
    for path in paths:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read public key {path}: {exc.strerror}") from None
        try:
            keys.append((path, serialization.load_pem_public_key(data)))
        except (ValueError, TypeError):
            raise UsageError(f"{path} is not a PEM public key") from None
    return keys


# --- certificates ----------------------------------------------------------------------


_Ext = TypeVar("_Ext", bound=x509.ExtensionType)
_Default = TypeVar("_Default")


def load_certificates(paths: Sequence[Path], what: str) -> list[x509.Certificate]:
    """All PEM certificates in the files at ``paths``; ``what`` names them in errors."""
    found: list[x509.Certificate] = []
    for path in paths:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read {what} {path}: {exc.strerror}") from None
        try:
            found.extend(x509.load_pem_x509_certificates(data))
        except ValueError:
            raise UsageError(f"{what} {path} holds no PEM certificate") from None
    return found


def signing_certificate_problem(leaf: x509.Certificate) -> str | None:
    """Why ``leaf`` may not sign models, or None: a certificate-method signer needs the
    codeSigning extended key usage and digitalSignature, and must not be a CA."""
    if _extension(leaf, x509.BasicConstraints, x509.BasicConstraints(False, None)).ca:
        return ("it is a CA certificate (basicConstraints CA:TRUE); sign with an "
                "end-entity code-signing certificate")
    usage = _extension(leaf, x509.KeyUsage, None)
    if usage is None or not usage.digital_signature:
        return "its key usage lacks digitalSignature"
    extended = _extension(leaf, x509.ExtendedKeyUsage, None)
    if extended is None or x509.oid.ExtendedKeyUsageOID.CODE_SIGNING not in extended:
        return "its extended key usage lacks codeSigning"
    return None


def _extension(certificate: x509.Certificate, kind: type[_Ext], default: _Default
               ) -> _Ext | _Default:
    try:
        return certificate.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return default
