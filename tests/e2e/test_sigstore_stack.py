"""The local Sigstore stack works with the real sigstore-python and model_signing clients.

Everything talks to 127.0.0.1 only; no sigstore code is patched.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sigstore import dsse
from sigstore._internal.fulcio.client import FulcioClientError
from sigstore.errors import VerificationError
from sigstore.models import Bundle, ClientTrustConfig
from sigstore.oidc import IdentityError, IdentityToken, detect_credential
from sigstore.sign import SigningContext
from sigstore.verify import Verifier, policy

from tests.sigstore_stack import merkle, tamper
from tests.sigstore_stack.fixture import REPO_ROOT, SigstoreStack
from tests.sigstore_stack.fixture import sigstore_stack as _sigstore_stack  # noqa: F401
from tests.sigstore_stack.oidc import unverified_claims

REPO = "octo-org/tiny-model"
WORKFLOW = ".github/workflows/sign.yml"
REF = "refs/heads/main"
GITLAB_PROJECT = "ml-group/tiny-model"
ARTIFACT = b"weights of a very small model\n"


def trust(path: Path) -> ClientTrustConfig:
    return ClientTrustConfig.from_json(path.read_text())


def sign_blob(config: Path, token: str, data: bytes = ARTIFACT) -> Bundle:
    """Sign ``data`` (hashedrekord) through the public sigstore API."""
    ctx = SigningContext.from_trust_config(trust(config))
    with ctx.signer(IdentityToken(token)) as signer:
        bundle = signer.sign_artifact(data)
    return Bundle.from_json(bundle.to_json())  # round-trip like a file would


def statement(data: bytes = ARTIFACT) -> dsse.Statement:
    body = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "model", "digest": {"sha256": hashlib.sha256(data).hexdigest()}}],
        "predicateType": "https://example.com/modelseal/test/v1",
        "predicate": {"note": "stack test"},
    }
    return dsse.Statement(json.dumps(body).encode())


def verifier(stack: SigstoreStack) -> Verifier:
    return Verifier(trusted_root=trust(stack.trust_config).trusted_root)


def ext_text(cert: x509.Certificate, number: int) -> bytes:
    oid = x509.ObjectIdentifier(f"1.3.6.1.4.1.57264.1.{number}")
    value = cert.extensions.get_extension_for_oid(oid).value
    assert isinstance(value, x509.UnrecognizedExtension)
    return value.value


def csr_body(key: ec.EllipticCurvePrivateKey | None = None) -> str:
    key = key or ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([]))
        .sign(key, hashes.SHA256())
    )
    pem = csr.public_bytes(serialization.Encoding.PEM)
    return json.dumps({"certificateSigningRequest": base64.b64encode(pem).decode()})


def post_fulcio(stack: SigstoreStack, token: str, body: str | None = None) -> requests.Response:
    return requests.post(
        f"{stack.endpoints['fulcio']}/api/v2/signingCert",
        data=body or csr_body(),
        timeout=10,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )


# --- happy paths -------------------------------------------------------------------------


def test_trust_config_is_accepted_by_sigstore(sigstore_stack: SigstoreStack) -> None:
    config = trust(sigstore_stack.trust_config)
    assert config.signing_config.get_oidc_url() == sigstore_stack.issuer
    assert config.signing_config.get_fulcio().url == sigstore_stack.endpoints["fulcio"]
    assert [type(t).__name__ for t in config.signing_config.get_tlogs()] == ["RekorClient"]
    assert len(config.trusted_root.get_fulcio_certs()) == 2
    discovery = requests.get(
        f"{sigstore_stack.issuer}/.well-known/openid-configuration", timeout=10
    ).json()
    assert discovery["issuer"] == sigstore_stack.issuer


def test_blob_signature_verifies_with_identity_policy(sigstore_stack: SigstoreStack) -> None:
    bundle = sign_blob(
        sigstore_stack.trust_config, sigstore_stack.github_token(REPO, WORKFLOW, REF)
    )
    identity = sigstore_stack.github_identity(REPO, WORKFLOW, REF)
    assert identity == f"https://github.com/{REPO}/{WORKFLOW}@{REF}"
    good = policy.Identity(identity=identity, issuer=sigstore_stack.issuer)
    verifier(sigstore_stack).verify_artifact(ARTIFACT, bundle, good)

    with pytest.raises(VerificationError, match="SANs do not match"):
        verifier(sigstore_stack).verify_artifact(
            ARTIFACT, bundle, policy.Identity(identity=identity + "x", issuer=sigstore_stack.issuer)
        )
    with pytest.raises(VerificationError):
        verifier(sigstore_stack).verify_artifact(b"other bytes", bundle, good)


def test_dsse_signature_carries_github_extensions(sigstore_stack: SigstoreStack) -> None:
    sha = "a" * 40
    token = sigstore_stack.github_token(
        REPO,
        WORKFLOW,
        REF,
        sha=sha,
        event_name="release",
        run_id="4242",
        repository_visibility="private",
    )
    ctx = SigningContext.from_trust_config(trust(sigstore_stack.trust_config))
    with ctx.signer(IdentityToken(token)) as signer:
        bundle = Bundle.from_json(signer.sign_dsse(statement()).to_json())
    claims = unverified_claims(token)
    gh = "https://github.com/"
    checks = policy.AllOf(
        [
            policy.Identity(
                identity=sigstore_stack.github_identity(REPO, WORKFLOW, REF),
                issuer=sigstore_stack.issuer,
            ),
            policy.GitHubWorkflowRepository(REPO),
            policy.GitHubWorkflowRef(REF),
            policy.GitHubWorkflowSHA(sha),
            policy.GitHubWorkflowTrigger("release"),
            policy.GitHubWorkflowName("sign"),
            policy.OIDCIssuerV2(sigstore_stack.issuer),
            policy.OIDCBuildSignerURI(f"{gh}{REPO}/{WORKFLOW}@{REF}"),
            policy.OIDCBuildSignerDigest(sha),
            policy.OIDCRunnerEnvironment("github-hosted"),
            policy.OIDCSourceRepositoryURI(gh + REPO),
            policy.OIDCSourceRepositoryDigest(sha),
            policy.OIDCSourceRepositoryRef(REF),
            policy.OIDCSourceRepositoryIdentifier(claims["repository_id"]),
            policy.OIDCSourceRepositoryOwnerURI(gh + "octo-org"),
            policy.OIDCSourceRepositoryOwnerIdentifier(claims["repository_owner_id"]),
            policy.OIDCBuildConfigURI(f"{gh}{REPO}/{WORKFLOW}@{REF}"),
            policy.OIDCBuildConfigDigest(sha),
            policy.OIDCBuildTrigger("release"),
            policy.OIDCRunInvocationURI(f"{gh}{REPO}/actions/runs/4242/attempts/1"),
            policy.OIDCSourceRepositoryVisibility("private"),
        ]
    )
    payload_type, payload = verifier(sigstore_stack).verify_dsse(bundle, checks)
    assert payload_type == "application/vnd.in-toto+json"
    assert json.loads(payload)["predicate"] == {"note": "stack test"}

    # Legacy extensions are raw strings, v2 ones DER UTF8String, as real Fulcio encodes them.
    cert = bundle.signing_certificate
    assert ext_text(cert, 5) == REPO.encode()
    assert ext_text(cert, 12) == b"\x0c" + bytes([len(gh + REPO)]) + (gh + REPO).encode()
    with pytest.raises(VerificationError, match="GitHubWorkflowRef"):
        verifier(sigstore_stack).verify_dsse(
            bundle, policy.AllOf([policy.GitHubWorkflowRef("refs/heads/evil")])
        )


def test_gitlab_and_email_identities(sigstore_stack: SigstoreStack) -> None:
    token = sigstore_stack.gitlab_token(GITLAB_PROJECT, REF)
    identity = sigstore_stack.gitlab_identity(GITLAB_PROJECT, REF)
    assert identity == f"https://gitlab.com/{GITLAB_PROJECT}//.gitlab-ci.yml@{REF}"
    bundle = sign_blob(sigstore_stack.trust_config, token)
    verifier(sigstore_stack).verify_artifact(
        ARTIFACT,
        bundle,
        policy.AllOf(
            [
                policy.Identity(identity=identity, issuer=sigstore_stack.issuer),
                policy.OIDCSourceRepositoryURI(f"https://gitlab.com/{GITLAB_PROJECT}"),
                policy.OIDCSourceRepositoryRef(REF),
                policy.OIDCBuildTrigger("push"),
                policy.OIDCRunnerEnvironment("gitlab-hosted"),
            ]
        ),
    )

    email_bundle = sign_blob(
        sigstore_stack.trust_config, sigstore_stack.email_token("dev@example.com")
    )
    verifier(sigstore_stack).verify_artifact(
        ARTIFACT,
        email_bundle,
        policy.Identity(identity="dev@example.com", issuer=sigstore_stack.issuer),
    )


# --- Fulcio refusals ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make_token", "reason"),
    [
        (lambda s: s.github_token(REPO, WORKFLOW, REF, audience="not-sigstore"), "audience"),
        (lambda s: s.github_token(REPO, WORKFLOW, REF, expires_in=-60), "expired"),
        (
            lambda s: tamper.corrupt_jwt_signature(s.github_token(REPO, WORKFLOW, REF)),
            "signature is invalid",
        ),
        (
            lambda s: s.github_token(REPO, WORKFLOW, REF, iss="https://token.actions.example"),
            "issuer",
        ),
        (lambda s: s.email_token("dev@example.com", email_verified=False), "not verified"),
    ],
    ids=["wrong-audience", "expired", "bad-signature", "wrong-issuer", "unverified-email"],
)
def test_fulcio_refuses_bad_tokens(
    sigstore_stack: SigstoreStack, make_token: Callable[[SigstoreStack], str], reason: str
) -> None:
    resp = post_fulcio(sigstore_stack, make_token(sigstore_stack))
    assert resp.status_code in (400, 401), resp.text
    assert reason in resp.json()["message"]


def test_fulcio_refusal_surfaces_in_sigstore_client(sigstore_stack: SigstoreStack) -> None:
    token = sigstore_stack.github_token(REPO, WORKFLOW, REF, audience="other")
    ctx = SigningContext.from_trust_config(trust(sigstore_stack.trust_config))
    with pytest.raises(FulcioClientError) as info:
        ctx.signer(IdentityToken(token, client_id="other")).__enter__()
    response = info.value.__cause__.response  # type: ignore[union-attr]
    assert response.status_code == 401
    assert "audience" in response.json()["message"]


def test_fulcio_checks_proof_of_possession(sigstore_stack: SigstoreStack) -> None:
    token = sigstore_stack.github_token(REPO, WORKFLOW, REF)
    body = json.loads(csr_body())
    pem = base64.b64decode(body["certificateSigningRequest"])
    der = bytearray(x509.load_pem_x509_csr(pem).public_bytes(serialization.Encoding.DER))
    der[-3] ^= 0x01  # inside the signature
    bad_pem = x509.load_der_x509_csr(bytes(der)).public_bytes(serialization.Encoding.PEM)
    bad = json.dumps({"certificateSigningRequest": base64.b64encode(bad_pem).decode()})
    resp = post_fulcio(sigstore_stack, token, bad)
    assert resp.status_code == 400 and "proof of key possession" in resp.json()["message"]

    key = ec.generate_private_key(ec.SECP256R1())
    sub = unverified_claims(token)["sub"].encode()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )

    def pop_request(proof: bytes) -> str:
        return json.dumps(
            {
                "credentials": {"oidcIdentityToken": token},
                "publicKeyRequest": {
                    "publicKey": {"algorithm": "ECDSA", "content": public.decode()},
                    "proofOfPossession": base64.b64encode(proof).decode(),
                },
            }
        )

    ok = requests.post(
        f"{sigstore_stack.endpoints['fulcio']}/api/v2/signingCert",
        data=pop_request(key.sign(sub, ec.ECDSA(hashes.SHA256()))),
        timeout=10,
    )
    assert ok.status_code == 201, ok.text
    leaf_pem = ok.json()["signedCertificateEmbeddedSct"]["chain"]["certificates"][0]
    assert x509.load_pem_x509_certificate(leaf_pem.encode()).public_key() == key.public_key()
    wrong = requests.post(
        f"{sigstore_stack.endpoints['fulcio']}/api/v2/signingCert",
        data=pop_request(key.sign(b"other", ec.ECDSA(hashes.SHA256()))),
        timeout=10,
    )
    assert wrong.status_code == 400


# --- verification failures ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (tamper.shift_integrated_time, "SET"),
        (tamper.corrupt_inclusion_proof, "inclusion proof"),
        (tamper.corrupt_checkpoint, "checkpoint"),
        (tamper.corrupt_entry_body, "inclusion proof"),
    ],
    ids=["integrated-time", "inclusion-proof", "checkpoint", "entry-body"],
)
def test_tampered_tlog_entry_fails_verification(
    sigstore_stack: SigstoreStack, damage: Callable[[str], str], message: str
) -> None:
    # Two signatures first so the tree has more than one leaf and proofs are non-empty.
    token = sigstore_stack.github_token(REPO, WORKFLOW, REF)
    sign_blob(sigstore_stack.trust_config, token, b"padding entry")
    bundle = sign_blob(sigstore_stack.trust_config, token)
    good = policy.Identity(
        identity=sigstore_stack.github_identity(REPO, WORKFLOW, REF), issuer=sigstore_stack.issuer
    )
    verifier(sigstore_stack).verify_artifact(ARTIFACT, bundle, good)
    damaged = Bundle.from_json(damage(bundle.to_json()))
    with pytest.raises(VerificationError, match=message):
        verifier(sigstore_stack).verify_artifact(ARTIFACT, damaged, good)


def test_certificate_from_untrusted_ca_fails(sigstore_stack: SigstoreStack) -> None:
    token = sigstore_stack.github_token(REPO, WORKFLOW, REF)
    bundle = sign_blob(sigstore_stack.untrusted_trust_config, token)
    issuer_org = bundle.signing_certificate.issuer.get_attributes_for_oid(
        x509.NameOID.ORGANIZATION_NAME
    )[0].value
    assert issuer_org == "modelseal-untrusted-ca"
    trusted_roots = trust(sigstore_stack.trust_config).trusted_root.get_fulcio_certs()
    assert bundle.signing_certificate.issuer not in [c.subject for c in trusted_roots]
    rogue = sigstore_stack.issue_certificate(token, untrusted_ca=True)
    assert rogue.certificate.issuer == bundle.signing_certificate.issuer
    trusted = sigstore_stack.issue_certificate(token)
    assert trusted.certificate.issuer == trusted_roots[0].subject
    assert rogue.chain_pem().count(b"BEGIN CERTIFICATE") == 3
    with pytest.raises(VerificationError, match="certificate chain"):
        verifier(sigstore_stack).verify_artifact(
            ARTIFACT,
            bundle,
            policy.Identity(
                identity=sigstore_stack.github_identity(REPO, WORKFLOW, REF),
                issuer=sigstore_stack.issuer,
            ),
        )


# --- ambient credentials -----------------------------------------------------------------


def test_github_ambient_detection(
    sigstore_stack: SigstoreStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = sigstore_stack.github_actions_env(REPO, WORKFLOW, "refs/tags/v1.0", event_name="release")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    token = detect_credential()
    assert token is not None
    claims = unverified_claims(token)
    assert claims["aud"] == "sigstore"
    assert claims["iss"] == sigstore_stack.issuer
    assert claims["repository"] == REPO == env["GITHUB_REPOSITORY"]
    assert claims["ref"] == "refs/tags/v1.0" == env["GITHUB_REF"]
    assert claims["event_name"] == "release"
    assert claims["job_workflow_ref"] == f"{REPO}/{WORKFLOW}@refs/tags/v1.0"
    bundle = sign_blob(sigstore_stack.trust_config, token)
    verifier(sigstore_stack).verify_artifact(
        ARTIFACT,
        bundle,
        policy.Identity(
            identity=sigstore_stack.github_identity(REPO, WORKFLOW, "refs/tags/v1.0"),
            issuer=sigstore_stack.issuer,
        ),
    )

    monkeypatch.setenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "not-a-request-token")
    with pytest.raises(IdentityError, match="code=403"):
        detect_credential()


def test_gitlab_ambient_detection(
    sigstore_stack: SigstoreStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    for key, value in sigstore_stack.gitlab_ci_env(GITLAB_PROJECT, REF).items():
        monkeypatch.setenv(key, value)
    token = detect_credential()
    assert token is not None
    assert unverified_claims(token)["project_path"] == GITLAB_PROJECT


# --- reference CLI -----------------------------------------------------------------------


def model_signing(*args: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).parent / "model_signing"
    return subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=120)


def test_model_signing_cli_round_trip(sigstore_stack: SigstoreStack, tmp_path: Path) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "weights.bin").write_bytes(os.urandom(2048))
    (model / "config.json").write_text('{"layers": 2}\n')
    sig = tmp_path / "model.sig"
    cfg = str(sigstore_stack.trust_config)
    signed = model_signing(
        "sign",
        "sigstore",
        str(model),
        "--signature",
        str(sig),
        "--trust_config",
        cfg,
        "--identity_token",
        sigstore_stack.github_token(REPO, WORKFLOW, REF),
    )
    assert signed.returncode == 0, signed.stdout + signed.stderr
    assert "dsseEnvelope" in sig.read_text()

    identity = sigstore_stack.github_identity(REPO, WORKFLOW, REF)
    ok = model_signing(
        "verify",
        "sigstore",
        str(model),
        "--signature",
        str(sig),
        "--trust_config",
        cfg,
        "--identity",
        identity,
        "--identity_provider",
        sigstore_stack.issuer,
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    wrong = model_signing(
        "verify",
        "sigstore",
        str(model),
        "--signature",
        str(sig),
        "--trust_config",
        cfg,
        "--identity",
        identity.replace("main", "dev"),
        "--identity_provider",
        sigstore_stack.issuer,
    )
    assert wrong.returncode != 0
    assert "SANs do not match" in wrong.stdout + wrong.stderr


# --- command line and internals ----------------------------------------------------------


def stack_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tests.sigstore_stack", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_serve_and_token_commands(tmp_path: Path) -> None:
    state = tmp_path / "state"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.sigstore_stack",
            "serve",
            "--state",
            str(state),
            "--port",
            "0",
        ],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while not (state / "endpoints.json").exists():
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr
            time.sleep(0.05)
        endpoints = json.loads((state / "endpoints.json").read_text())
        assert {"issuer", "fulcio", "rekor", "token"} <= endpoints.keys()
        config = trust(state / "trust_config.json")
        assert config.signing_config.get_oidc_url() == endpoints["issuer"]

        out = stack_cli(
            "token",
            "--state",
            str(state),
            "--github",
            REPO,
            "--workflow",
            WORKFLOW,
            "--ref",
            REF,
            "--sha",
            "b" * 40,
            "--event",
            "workflow_dispatch",
        )
        assert out.returncode == 0, out.stderr
        token = out.stdout.strip()
        claims = unverified_claims(token)
        assert claims["iss"] == endpoints["issuer"] and claims["aud"] == "sigstore"
        assert claims["job_workflow_ref"] == f"{REPO}/{WORKFLOW}@{REF}"
        assert claims["sha"] == "b" * 40 and claims["event_name"] == "workflow_dispatch"
        assert post_fulcio_url(endpoints["fulcio"], token).status_code == 201

        out = stack_cli(
            "token",
            "--state",
            str(state),
            "--gitlab",
            GITLAB_PROJECT,
            "--ref",
            REF,
            "--audience",
            "elsewhere",
            "--expires-in",
            "-30",
        )
        gl = unverified_claims(out.stdout.strip())
        assert gl["ci_config_ref_uri"] == f"gitlab.com/{GITLAB_PROJECT}//.gitlab-ci.yml@{REF}"
        assert gl["aud"] == "elsewhere" and gl["exp"] < time.time()
        assert post_fulcio_url(endpoints["fulcio"], out.stdout.strip()).status_code == 401

        out = stack_cli("env", "--state", str(state), "--github", REPO, "--ref", "refs/tags/v2")
        env = dict(line.split("=", 1) for line in out.stdout.splitlines())
        assert env["GITHUB_ACTIONS"] == "true" and env["GITHUB_REF"] == "refs/tags/v2"
        ambient = requests.get(
            env["ACTIONS_ID_TOKEN_REQUEST_URL"],
            params={"audience": "x"},
            headers={"Authorization": "bearer " + env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"]},
            timeout=10,
        )
        ambient_claims = unverified_claims(ambient.json()["value"])
        assert ambient_claims["aud"] == "x" and ambient_claims["ref"] == "refs/tags/v2"
        assert ambient_claims["repository"] == REPO
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    assert not (state / "endpoints.json").exists()


def post_fulcio_url(url: str, token: str) -> requests.Response:
    return requests.post(
        f"{url}/api/v2/signingCert",
        data=csr_body(),
        timeout=10,
        headers={"Authorization": f"Bearer {token}"},
    )


def test_rekor_log_endpoints_are_consistent(sigstore_stack: SigstoreStack) -> None:
    sign_blob(sigstore_stack.trust_config, sigstore_stack.github_token(REPO, WORKFLOW, REF))
    rekor = sigstore_stack.endpoints["rekor"]
    info = requests.get(f"{rekor}/api/v1/log", timeout=10).json()
    size = info["treeSize"]
    assert size >= 1 and f"\n{size}\n" in info["signedTreeHead"]
    for index in {0, size - 1}:
        ((uuid, entry),) = (
            requests.get(f"{rekor}/api/v1/log/entries", params={"logIndex": index}, timeout=10)
            .json()
            .items()
        )
        proof = entry["verification"]["inclusionProof"]
        leaf = merkle.leaf_hash(base64.b64decode(entry["body"]))
        assert uuid.endswith(leaf.hex())
        rebuilt = merkle.root_from_proof(
            index, proof["treeSize"], leaf, [bytes.fromhex(h) for h in proof["hashes"]]
        )
        assert rebuilt.hex() == proof["rootHash"]
        by_uuid = requests.get(f"{rekor}/api/v1/log/entries/{uuid}", timeout=10)
        assert by_uuid.json()[uuid]["logIndex"] == index
    assert requests.get(f"{rekor}/api/v1/log/entries/{'0' * 64}", timeout=10).status_code == 404


def test_merkle_proofs_for_many_sizes() -> None:
    for size in range(1, 40):
        leaves = [merkle.leaf_hash(str(i).encode()) for i in range(size)]
        top = merkle.root(leaves)
        for index in range(size):
            proof = merkle.inclusion_proof(index, leaves)
            assert merkle.root_from_proof(index, size, leaves[index], proof) == top
    # RFC 6962 structure: a 3-leaf root is H(H(l0, l1), l2).
    a, b, c = (merkle.leaf_hash(x) for x in (b"a", b"b", b"c"))
    assert merkle.root([a, b, c]) == merkle.node_hash(merkle.node_hash(a, b), c)
