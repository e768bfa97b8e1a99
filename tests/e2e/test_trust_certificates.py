"""Issue 12, class 10: certificates and claims are checked as their role requires.

A certificate-method leaf must carry the codeSigning extended key usage AND the
digitalSignature key usage, must not be a CA, and must be valid when it is verified
(the certificate method has no trusted timestamp, so verification time is the
signing time that counts). A signer rule that names a repository, project,
workflow, ref or identity fails when the certificate lacks that claim.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from modelseal.bundle import build_bundle, certificate_material, pae
from modelseal.config import HashOptions, SignerRule
from modelseal.engine import refresh_target
from modelseal.fulcio import signer_facts
from modelseal.policy import GITHUB_ISSUER, Policy, PolicyViolation, check_signer
from modelseal.targets import ModelTarget
from tests.signing_support import FULCIO, der_utf8, run_cli
from tests.sigstore_stack.fixture import SigstoreStack
from tests.sigstore_stack.fixture import sigstore_stack as _stack  # noqa: F401

NOW = datetime.now(timezone.utc)


@dataclass
class Leaf:
    """What a test leaf carries; the defaults are a proper code-signing leaf."""

    ca: bool = False
    digital_signature: bool = True
    key_usage: bool = True
    code_signing: bool = True
    not_before: datetime = NOW - timedelta(days=1)
    not_after: datetime = NOW + timedelta(days=30)


def _name(text: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text)])


def _ca(subject: str, key: ec.EllipticCurvePrivateKey, issuer: x509.Name,
        issuer_key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    usage = x509.KeyUsage(digital_signature=False, content_commitment=False,
                          key_encipherment=False, data_encipherment=False, key_agreement=False,
                          key_cert_sign=True, crl_sign=True, encipher_only=False,
                          decipher_only=False)
    return (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(issuer)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(NOW - timedelta(days=3000))
            .not_valid_after(NOW + timedelta(days=3000))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(usage, critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                issuer_key.public_key()), critical=False)
            .sign(issuer_key, hashes.SHA256()))


def _leaf(spec: Leaf, key: ec.EllipticCurvePrivateKey, issuer: x509.Certificate,
          issuer_key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    builder = (x509.CertificateBuilder().subject_name(_name("model signer"))
               .issuer_name(issuer.subject).public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(spec.not_before).not_valid_after(spec.not_after)
               .add_extension(x509.BasicConstraints(ca=spec.ca, path_length=None),
                              critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                              critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                   issuer_key.public_key()), critical=False)
               .add_extension(x509.SubjectAlternativeName(
                   [x509.RFC822Name("signer@example.com")]), critical=False))
    if spec.key_usage:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=spec.digital_signature, content_commitment=False,
            key_encipherment=not spec.digital_signature, data_encipherment=False,
            key_agreement=False, key_cert_sign=False, crl_sign=False, encipher_only=False,
            decipher_only=False), critical=True)
    if spec.code_signing:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
    else:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def certificate_signed(model: Path, tmp_path: Path, spec: Leaf) -> Path:
    """Sign ``model`` with a fresh root -> intermediate -> leaf; returns the root PEM.

    The bundle is assembled here (not by `modelseal sign`, which refuses unusable
    certificates up front) so that verification alone is what is tested.
    """
    root_key, int_key, leaf_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    root = _ca("root", root_key, _name("root"), root_key)
    intermediate = _ca("intermediate", int_key, root.subject, root_key)
    leaf = _leaf(spec, leaf_key, intermediate, int_key)
    refresh_target(ModelTarget(model, HashOptions()))
    payload = (model / "model.manifest.json").read_bytes()
    signature = leaf_key.sign(pae(payload), ec.ECDSA(hashes.SHA256()))
    der = [cert.public_bytes(serialization.Encoding.DER) for cert in (leaf, intermediate)]
    (model / "model.sig").write_bytes(build_bundle(certificate_material(der), payload,
                                                   signature))
    root_pem = tmp_path / "root.pem"
    root_pem.write_bytes(root.public_bytes(serialization.Encoding.PEM))
    return root_pem


def verify(model: Path, root: Path, capsys: Any) -> tuple[int, dict[str, Any], str]:
    code, out, err = run_cli(["verify", str(model), "--cert-chain", str(root),
                              "--format", "json"], capsys)
    return code, json.loads(out), err


def failure(document: dict[str, Any]) -> str:
    (model,) = document["models"]
    assert model["status"] == "failed"
    return str(model["message"])


# --- the certificate method ----------------------------------------------------------------


def test_a_proper_code_signing_leaf_verifies(tiny_model: Path, tmp_path: Path,
                                             capsys: Any) -> None:
    # the control for every rejection below: only the one named property differs
    root = certificate_signed(tiny_model, tmp_path, Leaf())
    code, document, err = verify(tiny_model, root, capsys)
    assert code == 0, err
    assert document["models"][0]["status"] == "verified"


def test_leaf_without_code_signing_extended_usage_is_rejected(tiny_model: Path, tmp_path: Path,
                                                              capsys: Any) -> None:
    root = certificate_signed(tiny_model, tmp_path, Leaf(code_signing=False))
    code, document, _ = verify(tiny_model, root, capsys)
    assert code == 1 and "codeSigning" in failure(document)


def test_leaf_without_digital_signature_is_rejected(tiny_model: Path, tmp_path: Path,
                                                    capsys: Any) -> None:
    root = certificate_signed(tiny_model, tmp_path, Leaf(digital_signature=False))
    code, document, _ = verify(tiny_model, root, capsys)
    assert code == 1 and "digitalSignature" in failure(document)


def test_leaf_without_key_usage_is_rejected(tiny_model: Path, tmp_path: Path,
                                            capsys: Any) -> None:
    root = certificate_signed(tiny_model, tmp_path, Leaf(key_usage=False))
    code, document, _ = verify(tiny_model, root, capsys)
    assert code == 1 and "digitalSignature" in failure(document)


def test_ca_certificate_as_leaf_is_rejected(tiny_model: Path, tmp_path: Path,
                                            capsys: Any) -> None:
    root = certificate_signed(tiny_model, tmp_path, Leaf(ca=True))
    code, document, _ = verify(tiny_model, root, capsys)
    assert code == 1 and "is a CA certificate" in failure(document)


def test_leaf_not_yet_valid_is_rejected(tiny_model: Path, tmp_path: Path,
                                        capsys: Any) -> None:
    spec = Leaf(not_before=NOW + timedelta(days=2), not_after=NOW + timedelta(days=40))
    root = certificate_signed(tiny_model, tmp_path, spec)
    code, document, _ = verify(tiny_model, root, capsys)
    assert code == 1 and "not valid until" in failure(document)


def test_expired_leaf_is_rejected(tiny_model: Path, tmp_path: Path, capsys: Any) -> None:
    spec = Leaf(not_before=NOW - timedelta(days=40), not_after=NOW - timedelta(days=2))
    root = certificate_signed(tiny_model, tmp_path, spec)
    code, document, _ = verify(tiny_model, root, capsys)
    assert code == 1 and "expired" in failure(document)


def test_reference_test_pki_leaf_is_a_ca_and_is_rejected(oms_fixtures: Path, tmp_path: Path,
                                                         capsys: Any) -> None:
    # model-signing's own test PKI issues its signing certificate with CA:TRUE
    folder = tmp_path / "model"
    shutil.copytree(oms_fixtures / "v1.1.0-certificate", folder)
    root = oms_fixtures / "keys/certificate/ca-cert.pem"
    code, document, _ = verify(folder, root, capsys)
    assert code == 1 and "is a CA certificate" in failure(document)


# --- signer rules and missing claims ------------------------------------------------------------


def _fulcio_facts(identity: x509.GeneralName | None, extensions: dict[str, str]) -> Any:
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (x509.CertificateBuilder().subject_name(x509.Name([])).issuer_name(_name("fulcio"))
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(NOW - timedelta(minutes=1))
               .not_valid_after(NOW + timedelta(minutes=10)))
    if identity is not None:
        builder = builder.add_extension(x509.SubjectAlternativeName([identity]), critical=True)
    for number, value in extensions.items():
        raw = value.encode() if int(number) <= 6 else der_utf8(value)
        builder = builder.add_extension(
            x509.UnrecognizedExtension(x509.ObjectIdentifier(FULCIO + number), raw),
            critical=False)
    return signer_facts(builder.sign(key, hashes.SHA256()))


def _violation(rule: SignerRule, facts: Any) -> str:
    with pytest.raises(PolicyViolation) as caught:
        check_signer(Policy(signers=(rule,)), facts)
    return str(caught.value)


GITLAB_IDENTITY = "https://gitlab.com/group/project//.gitlab-ci.yml@refs/heads/main"


def test_gitlab_rule_fails_when_the_project_claim_is_missing() -> None:
    rule = SignerRule(gitlab_project="group/project")
    complete = _fulcio_facts(x509.UniformResourceIdentifier(GITLAB_IDENTITY), {
        "8": "https://gitlab.com", "12": "https://gitlab.com/group/project",
        "14": "refs/heads/main"})
    check_signer(Policy(signers=(rule,)), complete)  # the control: all claims present
    # the SAN is the CI config's location, which another project can provide: without
    # the source repository claim the certificate does not say which project ran
    lacking = _fulcio_facts(x509.UniformResourceIdentifier(GITLAB_IDENTITY), {
        "8": "https://gitlab.com", "14": "refs/heads/main"})
    assert "names no source repository" in _violation(rule, lacking)


def test_identity_regex_fails_when_the_certificate_has_no_identity() -> None:
    rule = SignerRule(identity_regex="(https://github.com/acme/.*)?", issuer=GITHUB_ISSUER)
    facts = _fulcio_facts(None, {"8": GITHUB_ISSUER})
    assert "names no identity" in _violation(rule, facts)


def test_exact_identity_rule_fails_when_the_certificate_has_no_identity() -> None:
    rule = SignerRule(identity="", issuer=GITHUB_ISSUER)
    facts = _fulcio_facts(None, {"8": GITHUB_ISSUER})
    assert "names no identity" in _violation(rule, facts)


WORKFLOW = "https://github.com/acme/models/.github/workflows/release.yml@refs/heads/main"
GITHUB_CLAIMS = {"8": GITHUB_ISSUER, "9": WORKFLOW, "12": "https://github.com/acme/models",
                 "14": "refs/heads/main", "18": WORKFLOW}


@pytest.mark.parametrize(("rule", "dropped", "reason"), [
    (SignerRule(repository="acme/models"), ("12",), "names no source repository"),
    (SignerRule(repository="acme/models", workflow="release.yml"), ("9", "18"),
     "names no workflow"),
    (SignerRule(repository="acme/models", ref="main"), ("14",), "names no ref"),
    (SignerRule(gitlab_project="group/project", ref="main"), ("14",), "names no ref"),
], ids=["repository", "workflow", "ref", "gitlab-ref"])
def test_every_claim_a_rule_names_must_be_present(rule: SignerRule, dropped: tuple[str, ...],
                                                  reason: str) -> None:
    gitlab = rule.gitlab_project is not None
    claims = ({"8": "https://gitlab.com", "12": "https://gitlab.com/group/project",
               "14": "refs/heads/main"} if gitlab else dict(GITHUB_CLAIMS))
    identity = x509.UniformResourceIdentifier(GITLAB_IDENTITY if gitlab else WORKFLOW)
    check_signer(Policy(signers=(rule,)), _fulcio_facts(identity, claims))
    lacking = {number: value for number, value in claims.items() if number not in dropped}
    assert reason in _violation(rule, _fulcio_facts(identity, lacking))


# --- a real keyless certificate without the ref claim (local Sigstore stack) -------------------


def test_keyless_gitlab_certificate_without_ref_fails_a_ref_rule(
        sigstore_stack: SigstoreStack, tiny_model: Path, capsys: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SIGSTORE_ID_TOKEN", "GITLAB_CI", "GITHUB_ACTIONS",
                 "ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    # a token without `ref_path`: the stack's Fulcio, like Fulcio, then leaves out the
    # source repository ref extension (.14); the identity still ends in @refs/heads/main
    token = sigstore_stack.gitlab_token("group/project", ref_path=None)
    trust = ["--trust-config", str(sigstore_stack.trust_config)]
    code, _, err = run_cli(["sign", str(tiny_model), "--method", "sigstore", *trust,
                            "--identity-token", token], capsys)
    assert code == 0, err
    rule = ["--gitlab-project", "group/project", "--issuer", sigstore_stack.issuer]
    code, _, err = run_cli(["verify", str(tiny_model), *trust, *rule], capsys)
    assert code == 0, err  # the control: the rule names no ref
    code, _, err = run_cli(["verify", str(tiny_model), *trust, *rule, "--ref", "main"], capsys)
    assert code == 1 and "names no ref" in err, err
