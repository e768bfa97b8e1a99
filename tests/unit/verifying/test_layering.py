"""Verification stands on its own: it imports no signing code, at load time or later.

A verifier (a model loader, an admission controller) should carry only what checks a
signature. These tests pin the layer order of DESIGN.md's module map: `verifying/`,
`keys.py`, `fulcio.py` and `policy.py` sit beside or above `signing/`, never below it.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

import modelseal
from modelseal.config import HashOptions
from modelseal.signing import KeySigner, prepare, sign_models, write_signed
from modelseal.targets import ModelTarget

SRC = Path(modelseal.__file__).parent
# the verification side: none of these may import modelseal.signing, even lazily
VERIFICATION_SIDE = ("verifying", "keys.py", "fulcio.py", "policy.py", "bundle.py", "signer.py")

_VERIFY_IN_FRESH_PROCESS = """
import sys
from pathlib import Path

from modelseal.config import HashOptions
from modelseal.policy import Policy
from modelseal.targets import ModelTarget
from modelseal.verifying import STATUS_VERIFIED, VerifyOptions, verify_target

model, public = Path(sys.argv[1]), Path(sys.argv[2])
options = VerifyOptions(policy=Policy(keys=(public,)), offline=True, progress=False)
result = verify_target(ModelTarget(model, HashOptions()), options)
assert result.status == STATUS_VERIFIED, result.message
print(sorted(m for m in sys.modules
             if m.startswith(("modelseal.signing.", "modelseal.signing_methods"))
             or m == "modelseal.signing" or m.split(".")[0] == "sigstore"))
"""


def _signed_model(tmp_path: Path) -> tuple[Path, Path]:
    model = tmp_path / "model"
    model.mkdir()
    (model / "weights.bin").write_bytes(b"\x00\x01" * 4096)
    (model / "config.json").write_text('{"layers": 2}\n')
    key = ec.generate_private_key(ec.SECP256R1())
    public = tmp_path / "signer.pub"
    public.write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    prepared = prepare(ModelTarget(model, HashOptions()), progress=False)
    write_signed(prepared, sign_models([prepared], KeySigner(key))[0])
    return model, public


def test_an_offline_key_verification_loads_no_signing_or_sigstore_code(tmp_path: Path) -> None:
    model, public = _signed_model(tmp_path)
    result = subprocess.run([sys.executable, "-c", _VERIFY_IN_FRESH_PROCESS, str(model),
                             str(public)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


def _imports_signing(tree: ast.AST) -> list[int]:
    """Line numbers of every import of modelseal.signing or of the signing-method registry
    (at module level or inside functions)."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        if any(name in ("modelseal.signing", "modelseal.signing_methods")
               or name.startswith("modelseal.signing.") for name in names):
            lines.append(node.lineno)
    return lines


def test_no_verification_module_imports_signing_code_even_lazily() -> None:
    sources = [path for name in VERIFICATION_SIDE for path in
               ((SRC / name).rglob("*.py") if (SRC / name).is_dir() else [SRC / name])
               if path.exists()]
    assert any(path.parent.name == "verifying" for path in sources)
    offenders = {str(path.relative_to(SRC)): lines for path in sources
                 if (lines := _imports_signing(ast.parse(path.read_text(encoding="utf-8"))))}
    assert offenders == {}
