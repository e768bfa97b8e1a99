"""The reference implementation, `model_signing` 1.1.1, in a venv of its own."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from msbench.proc import BenchError, log

VERSION = "1.1.1"
# 1.1.1 imports OpenSSL (pyopenssl) without declaring it as a dependency.
REQUIREMENTS = (f"model-signing=={VERSION}", "pyopenssl")


def default_venv() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "modelseal-bench" / f"model-signing-{VERSION}"


@dataclass(frozen=True)
class Reference:
    """A ready `model_signing` command and a P-256 key to sign with."""

    executable: Path
    key: Path

    def sign_argv(self, model: Path, signature: Path) -> list[str]:
        return [str(self.executable), "sign", "key", "--private_key", str(self.key),
                "--signature", str(signature), str(model)]


def prepare(venv: Path, workdir: Path) -> Reference:
    """Create the venv on first use, check its version, and write a signing key."""
    executable = venv / ("Scripts" if os.name == "nt" else "bin") / "model_signing"
    if _version(executable) != VERSION:
        _create(venv)
        if (found := _version(executable)) != VERSION:
            raise BenchError(f"{executable} reports version {found!r}, wanted {VERSION}")
    return Reference(executable, write_key(workdir / "bench-key.pem"))


def _version(executable: Path) -> str | None:
    if not executable.exists():
        return None
    done = subprocess.run([str(executable), "--version"], capture_output=True, text=True,
                          check=False)
    words = done.stdout.split()
    return words[-1] if done.returncode == 0 and words else None


def _create(venv: Path) -> None:
    log(f"creating a venv for model_signing {VERSION} at {venv} (first use only)")
    steps = [[sys.executable, "-m", "venv", "--clear", str(venv)],
             [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
              "--disable-pip-version-check", *REQUIREMENTS]]
    for argv in steps:
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            tail = " | ".join((done.stderr or done.stdout).strip().splitlines()[-3:])
            raise BenchError(f"{' '.join(argv)} failed: {tail}")


def write_key(path: Path) -> Path:
    """An unencrypted EC P-256 private key in PEM, as `model_signing sign key` wants."""
    key = ec.generate_private_key(ec.SECP256R1())
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    return path


def subject_digest(signature: Path) -> str:
    """The root digest (hex) inside a model_signing bundle."""
    bundle = json.loads(signature.read_text())
    statement = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    return str(statement["subject"][0]["digest"]["sha256"])
