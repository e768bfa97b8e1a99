"""Trust review 2: on a pull request the Action's `trust-config` is read from the head.

`config`, `keys` and `certificate-roots` are read from the base revision (the trusted
side); `trust-config` (the Sigstore trusted root: which Fulcio CA and Rekor/CT keys
make a keyless signature count) is opened as a work-tree path, i.e. from the change
under review. A pull request that edits that file chooses the CA that vouches for
its own signature.
"""

from __future__ import annotations

import base64
import datetime
import json
import shutil
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from modelseal.app import report as app_report
from modelseal.ci import commands
from modelseal.ci.inputs import ActionInputs, Policy
from tests.conftest import EXAMPLE_MODEL, run_modelseal
from tests.git_helpers import Git, git_home_fixture, repo_fixture
from tests.sigstore_stack.fixture import SigstoreStack
from tests.sigstore_stack.fixture import sigstore_stack as _sigstore_stack  # noqa: F401

__all__ = ["git_home_fixture", "repo_fixture"]

REPO, WORKFLOW, REF = "acme/models", ".github/workflows/sign.yml", "refs/heads/main"


def _other_ca_der() -> str:
    """A self-signed CA nobody signed with: a trusted root that trusts none of the stack."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "not the stack")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()


def _swap_cas(node: Any, der: str) -> None:
    if isinstance(node, dict):
        for authority in node.get("certificateAuthorities", []):
            authority["certChain"] = {"certificates": [{"rawBytes": der}]}
        for value in node.values():
            _swap_cas(value, der)
    elif isinstance(node, list):
        for value in node:
            _swap_cas(value, der)


def test_trust_config_input_is_read_from_the_base_on_a_pull_request(
        repo: Git, sigstore_stack: SigstoreStack, monkeypatch: pytest.MonkeyPatch) -> None:
    stack = sigstore_stack
    model = repo.path / "models" / "tiny"
    shutil.copytree(EXAMPLE_MODEL, model)
    repo.write(".modelseal.yaml", "models:\n  - models/tiny\n")
    trusted = json.loads(stack.trust_config.read_text())
    _swap_cas(trusted, _other_ca_der())
    repo.write("trust.json", json.dumps(trusted))  # base: the stack's CA is NOT trusted
    assert run_modelseal(["manifest", str(model)]).returncode == 0
    repo("add", "-A")
    repo.commit("base")
    base = repo("rev-parse", "HEAD").stdout.strip()
    # the pull request: its own trusted root, and a signature only that root vouches for
    env = {**stack.github_actions_env(REPO, WORKFLOW, REF), "SIGSTORE_ID_TOKEN": "",
           "GITLAB_CI": ""}
    signed = run_modelseal(["sign", str(model), "--method", "sigstore", "--trust-config",
                            str(stack.trust_config)], env=env)
    assert signed.returncode == 0, signed.stderr
    base_root = repo.path / "base-trust.json"
    shutil.copyfile(repo.path / "trust.json", base_root)
    # the base's root really refuses this signature (so the test below means something)
    refused = run_modelseal(["verify", str(model), "--trust-config", str(base_root),
                             "--identity", stack.github_identity(REPO, WORKFLOW, REF),
                             "--issuer", stack.issuer])
    assert refused.returncode == 1, refused.stdout + refused.stderr
    base_root.unlink()
    shutil.copyfile(stack.trust_config, repo.path / "trust.json")
    repo("add", "-A")
    repo.commit("head")
    inputs = ActionInputs(paths=("models/tiny",), trust_config="trust.json", policy=Policy(
        identity=stack.github_identity(REPO, WORKFLOW, REF), issuer=stack.issuer))
    monkeypatch.chdir(repo.path)
    built = app_report.build(commands.report_request(inputs, base))
    [row] = built.report.models
    # under the base's trusted root the stack's certificate chains to nothing it trusts
    assert row.state.value not in ("verified", "signed-unchanged"), row.message
