"""modelseal: manifests, OMS signatures and CI integration for ML model directories.

The public Python API is exactly the names in ``__all__``; every other module and
name is internal and may change in any release.

    import modelseal
    policy = modelseal.Policy(keys=(Path("signing-key.pub.pem"),))
    result = modelseal.verify("models/bert", policy)
    if not result.ok:
        raise SystemExit(result.message)

Errors (a missing path, an unreadable key, a stale manifest when signing) raise a
`ModelsealError`; a model that does not verify is a result with ``ok`` False and a
one-line ``message``, never an exception and never a silent pass. Importing
`modelseal` is cheap: each name below loads its module on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from modelseal._version import __version__

__all__ = [
    "CheckResult",
    "Manifest",
    "ModelsealError",
    "Policy",
    "PolicyFlags",
    "SignedModel",
    "SignerRequest",
    "VerificationResult",
    "__version__",
    "check",
    "policy_from_flags",
    "sign",
    "signer_for",
    "verify",
]

if TYPE_CHECKING:
    from pathlib import Path

    from modelseal.app.check import CheckResult
    from modelseal.app.sign import SignedModel, signer_for
    from modelseal.app.verify import policy_from_flags
    from modelseal.errors import ModelsealError
    from modelseal.manifest import Manifest
    from modelseal.policy import Policy, PolicyFlags
    from modelseal.signing import Signer
    from modelseal.signing_methods import SignerRequest
    from modelseal.verifying import VerificationResult

# name -> the module it comes from, imported on first use
_LAZY = {
    "CheckResult": "modelseal.app.check",
    "Manifest": "modelseal.manifest",
    "ModelsealError": "modelseal.errors",
    "Policy": "modelseal.policy",
    "PolicyFlags": "modelseal.policy",
    "SignedModel": "modelseal.app.sign",
    "SignerRequest": "modelseal.signing_methods",
    "VerificationResult": "modelseal.verifying",
    "policy_from_flags": "modelseal.app.verify",
    "signer_for": "modelseal.app.sign",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'modelseal' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


def verify(path: str | Path, policy: Policy, *, signature: str | Path | None = None,
           offline: bool = False, ignore_unsigned_files: bool = False) -> VerificationResult:
    """Verify the model directory or file at ``path`` against ``policy``.

    Returns a `VerificationResult`: ``ok`` is True only when the signature verifies,
    the signer is one ``policy`` trusts and every file matches the signed manifest;
    ``message`` says why not. ``offline`` uses the embedded Sigstore trusted root.
    """
    from modelseal.app.verify import verify_path

    return verify_path(path, policy, signature=signature, offline=offline,
                       ignore_unsigned_files=ignore_unsigned_files)


def check(path: str | Path) -> CheckResult:
    """Compare the model's committed `model.manifest.json` with its files (``.ok``,
    ``.stale``, per-model ``.statuses`` with the diff)."""
    from modelseal.app.check import check_path

    return check_path(path)


def sign(path: str | Path, signer: Signer, *, update_manifest: bool = False,
         signature: str | Path | None = None) -> SignedModel:
    """Sign the model at ``path`` with ``signer`` (see `signer_for`) and write its
    bundle; a missing manifest is written, a stale one raises unless
    ``update_manifest``."""
    from modelseal.app.sign import sign_path

    return sign_path(path, signer, update_manifest=update_manifest, signature=signature)
