"""Key pairs for the `key` signing method: `modelseal keygen`.

The private key is written as PKCS#8 PEM, encrypted when a password is given, and is
never readable by other users: the temporary file that becomes it is created with mode
0600, so no moment exists in which the key sits on disk with wider permissions.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from modelseal.errors import UsageError
from modelseal.fsio import atomic_write_bytes

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
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

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
