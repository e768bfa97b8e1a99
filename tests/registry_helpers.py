"""Shared steps of the registry tests: keys, a signed model, pushing it, reading the CLI."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.conftest import EXAMPLE_MODEL, Result, run_modelseal


def key_pair(directory: Path, name: str = "signer") -> tuple[Path, Path]:
    """(private PEM, public PEM) of a fresh P-256 key."""
    key = ec.generate_private_key(ec.SECP256R1())
    private, public = directory / f"{name}.pem", directory / f"{name}-pub.pem"
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    public.write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return private, public


def signed_model(directory: Path, private_key: Path, name: str = "tiny-model") -> Path:
    """A copy of the example model, signed with ``private_key`` (model.sig inside).

    The weights are fresh random bytes: the registry stores a blob once for every
    repository, so a test that tampers with one must not touch another test's model.
    """
    model = directory / name
    shutil.copytree(EXAMPLE_MODEL, model)
    weights = model / "model.safetensors"
    weights.write_bytes(os.urandom(weights.stat().st_size))
    for stale in ("model.sig", "model.manifest.json"):
        (model / stale).unlink(missing_ok=True)
    ok(run_modelseal(["sign", str(model), "--method", "key", "--key", str(private_key),
                      "--update-manifest"]))
    return model


def ok(result: Result) -> Result:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


def verify_json(reference: str, *args: str) -> tuple[int, dict[str, Any]]:
    result = run_modelseal(["verify", reference, "--format", "json", *args])
    assert result.stdout, result.stderr
    return result.returncode, json.loads(result.stdout)


def pinned_digest(stdout: str) -> str:
    """The manifest digest from `push` or `verify` output (HOST/REPO@sha256:...)."""
    start = stdout.index("@sha256:") + 1
    return stdout[start:start + 71]
