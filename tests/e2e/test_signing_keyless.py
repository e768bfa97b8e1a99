"""Keyless (Sigstore) round trips against the local stack (OIDC, Fulcio, Rekor on 127.0.0.1).

Covers every way of getting a token, the GitHub and GitLab policy shorthand against
real Fulcio extensions, not_before on Rekor time, and both directions with
model-signing.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from modelseal.config import HashOptions
from modelseal.engine import refresh_target
from modelseal.targets import ModelTarget
from tests.signing_support import payload_of, run_cli
from tests.sigstore_stack.fixture import SigstoreStack
from tests.sigstore_stack.fixture import sigstore_stack as _stack  # noqa: F401
from tests.sigstore_stack.tamper import corrupt_inclusion_proof, shift_integrated_time

REPO = "acme/models"
WORKFLOW = ".github/workflows/release.yml"
AMBIENT = ("ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN", "GITHUB_ACTIONS",
           "GITLAB_CI", "SIGSTORE_ID_TOKEN", "BUILDKITE", "CIRCLECI", "GOOGLE_SERVICE_ACCOUNT_NAME")


@pytest.fixture(autouse=True)
def _no_ambient_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in AMBIENT:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def model(tiny_model: Path) -> Path:
    refresh_target(ModelTarget(tiny_model, HashOptions()))
    return tiny_model


def sign(stack: SigstoreStack, model: Path, capsys: Any, *extra: str,
         trust: Path | None = None) -> tuple[int, str, str]:
    return run_cli(["sign", str(model), "--method", "sigstore", "--trust-config",
                    str(trust or stack.trust_config), *extra], capsys)


def verify(stack: SigstoreStack, model: Path, capsys: Any, *policy: str) -> tuple[int, str, str]:
    return run_cli(["verify", str(model), "--trust-config", str(stack.trust_config), *policy],
                   capsys)


def github_policy(stack: SigstoreStack, **changes: str) -> list[str]:
    values = {"repository": REPO, "workflow": "release.yml", "ref": "main",
              "issuer": stack.issuer, **changes}
    return [arg for key, value in values.items() for arg in (f"--{key}", value)]


def test_github_round_trip_with_provenance(sigstore_stack: SigstoreStack, model: Path,
                                           capsys: Any) -> None:
    token = sigstore_stack.github_token(REPO, WORKFLOW, "refs/heads/main", sha="ab" * 20)
    code, out, err = sign(sigstore_stack, model, capsys, "--identity-token", token)
    assert code == 0, err
    assert token not in out + err
    assert payload_of(model / "model.sig") == (model / "model.manifest.json").read_bytes()
    code, out, err = verify(sigstore_stack, model, capsys, *github_policy(sigstore_stack),
                            "--format", "json")
    assert code == 0, err
    result = json.loads(out)["models"][0]
    signer = result["signer"]
    assert signer["identity"] == sigstore_stack.github_identity(REPO, WORKFLOW)
    assert signer["issuer"] == sigstore_stack.issuer
    assert signer["repository"] == REPO
    assert signer["workflow"] == WORKFLOW
    assert signer["ref"] == "refs/heads/main"
    assert signer["commit"] == "ab" * 20
    assert signer["run_url"] and signer["run_url"].startswith("https://github.com/acme/models")
    assert isinstance(signer["rekor_log_index"], int)
    assert signer["integrated_time"] == result["signed_at"]
    assert result["time_source"] == "Rekor integrated time"
    assert result["signature"]["verified"] is True
    assert result["signature"]["signer"] == signer["identity"]
    assert result["signature"]["signed_at"] == result["signed_at"]


@pytest.mark.parametrize(("change", "needle"), [
    ({"repository": "acme/other"}, "repository 'acme/models' does not match policy"),
    ({"workflow": "nightly.yml"}, "workflow '.github/workflows/release.yml' does not match "
                                  "policy, expected '.github/workflows/nightly.yml'"),
    ({"ref": "release"}, "ref 'refs/heads/main' does not match policy 'release'"),
    ({"issuer": "https://token.actions.githubusercontent.com"}, "issuer"),
])
def test_github_policy_mismatches(sigstore_stack: SigstoreStack, model: Path,
                                  change: dict[str, str], needle: str, capsys: Any) -> None:
    token = sigstore_stack.github_token(REPO, WORKFLOW)
    assert sign(sigstore_stack, model, capsys, "--identity-token", token)[0] == 0
    code, _, err = verify(sigstore_stack, model, capsys,
                          *github_policy(sigstore_stack, **change))
    assert code == 1
    assert err.startswith("modelseal: error: ") and needle in err
    assert len(err.strip().splitlines()) == 1


def test_ambient_github_credentials_and_not_before(sigstore_stack: SigstoreStack, model: Path,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   capsys: Any) -> None:
    for name, value in sigstore_stack.github_actions_env(REPO, WORKFLOW).items():
        monkeypatch.setenv(name, value)
    code, _, err = sign(sigstore_stack, model, capsys)
    assert code == 0, err
    for name in sigstore_stack.github_actions_env(REPO, WORKFLOW):
        monkeypatch.delenv(name)
    policy = github_policy(sigstore_stack)
    assert verify(sigstore_stack, model, capsys, *policy, "--not-before", "2020-01-01")[0] == 0
    code, _, err = verify(sigstore_stack, model, capsys, *policy, "--not-before", "2999-01-01")
    assert code == 1 and "older than policy not_before 2999-01-01T00:00:00Z" in err


def test_gitlab_token_from_the_environment(sigstore_stack: SigstoreStack, model: Path,
                                           monkeypatch: pytest.MonkeyPatch,
                                           capsys: Any) -> None:
    monkeypatch.setenv("SIGSTORE_ID_TOKEN", sigstore_stack.gitlab_token("group/project"))
    code, _, err = sign(sigstore_stack, model, capsys)
    assert code == 0, err
    gitlab = ["--gitlab-project", "group/project", "--issuer", sigstore_stack.issuer]
    code, _, err = verify(sigstore_stack, model, capsys, *gitlab, "--ref", "main")
    assert code == 0, err
    code, _, err = verify(sigstore_stack, model, capsys, *gitlab, "--ref", "dev")
    assert code == 1 and "does not match policy" in err
    code, _, err = verify(sigstore_stack, model, capsys, "--gitlab-project", "group/other",
                          "--issuer", sigstore_stack.issuer)
    assert code == 1 and "group/other" in err


def test_email_identity_and_config_policy(sigstore_stack: SigstoreStack, model: Path,
                                          tmp_path: Path, capsys: Any) -> None:
    token = sigstore_stack.email_token("dev@example.com")
    assert sign(sigstore_stack, model, capsys, "--identity-token", token)[0] == 0
    config = tmp_path / "policy.yaml"
    config.write_text("policy:\n  signers:\n"
                      "    - identity: ops@example.com\n"
                      f"      issuer: {sigstore_stack.issuer}\n"
                      "    - identity_regex: '[a-z]+@example\\.com'\n"
                      f"      issuer: {sigstore_stack.issuer}\n")
    code, out, err = verify(sigstore_stack, model, capsys, "--config", str(config))
    assert code == 0, err
    assert "signed by dev@example.com" in out
    code, _, err = verify(sigstore_stack, model, capsys, "--identity-regex", "dev",
                          "--issuer", sigstore_stack.issuer)
    assert code == 1 and "does not match policy regex" in err


def test_several_models_share_one_certificate(sigstore_stack: SigstoreStack, model: Path,
                                              tmp_path: Path, capsys: Any) -> None:
    second = tmp_path / "second"
    shutil.copytree(model, second)
    token = sigstore_stack.email_token("dev@example.com")
    code, _, err = run_cli(["sign", str(model), str(second), "--method", "sigstore",
                            "--trust-config", str(sigstore_stack.trust_config),
                            "--identity-token", token, "--update-manifest"], capsys)
    assert code == 0, err
    certs = {json.loads((m / "model.sig").read_text())["verificationMaterial"]["certificate"]
             ["rawBytes"] for m in (model, second)}
    assert len(certs) == 1
    code, out, err = run_cli(["verify", str(model), str(second), "--trust-config",
                              str(sigstore_stack.trust_config), "--identity", "dev@example.com",
                              "--issuer", sigstore_stack.issuer], capsys)
    assert code == 0, err
    assert out.count("verified") == 2


def test_files_changed_after_keyless_signing(sigstore_stack: SigstoreStack, model: Path,
                                             capsys: Any) -> None:
    assert sign(sigstore_stack, model, capsys, "--identity-token",
                sigstore_stack.email_token("dev@example.com"))[0] == 0
    (model / "config.json").write_text("{}")
    code, out, _err = verify(sigstore_stack, model, capsys, "--identity", "dev@example.com",
                            "--issuer", sigstore_stack.issuer)
    assert code == 1 and "modified  config.json" in out


@pytest.mark.parametrize("tamper", [shift_integrated_time, corrupt_inclusion_proof])
def test_tampered_log_entry(sigstore_stack: SigstoreStack, model: Path, tamper: Any,
                            capsys: Any) -> None:
    assert sign(sigstore_stack, model, capsys, "--identity-token",
                sigstore_stack.email_token("dev@example.com"))[0] == 0
    sig = model / "model.sig"
    sig.write_text(tamper(sig.read_text()))
    code, _, err = verify(sigstore_stack, model, capsys, "--identity", "dev@example.com",
                          "--issuer", sigstore_stack.issuer)
    assert code == 1 and "Sigstore verification failed" in err
    assert len(err.strip().splitlines()) == 1


def test_certificate_from_an_untrusted_ca(sigstore_stack: SigstoreStack, model: Path,
                                          capsys: Any) -> None:
    code, _, err = sign(sigstore_stack, model, capsys, "--identity-token",
                        sigstore_stack.email_token("dev@example.com"),
                        trust=sigstore_stack.untrusted_trust_config)
    assert code == 0, err  # the signer trusts Fulcio's answer; the verifier must not
    code, _, err = verify(sigstore_stack, model, capsys, "--identity", "dev@example.com",
                          "--issuer", sigstore_stack.issuer)
    assert code == 1 and "Sigstore verification failed" in err


def test_expired_and_bogus_tokens(sigstore_stack: SigstoreStack, model: Path,
                                  capsys: Any) -> None:
    expired = sigstore_stack.email_token("dev@example.com", expires_in=-600)
    code, out, err = sign(sigstore_stack, model, capsys, "--identity-token", expired)
    assert code == 2 and "identity token is not usable" in err
    assert expired not in out + err
    bogus = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.c2VjcmV0LXNpZ25hdHVyZQ"
    code, out, err = sign(sigstore_stack, model, capsys, "--identity-token", bogus)
    assert code == 2 and bogus not in out + err and "c2VjcmV0" not in err
    assert not (model / "model.sig").exists()


def test_models_are_hashed_before_a_token_is_used(sigstore_stack: SigstoreStack, model: Path,
                                                  capsys: Any) -> None:
    (model / "config.json").write_text("{}")
    expired = sigstore_stack.email_token("dev@example.com", expires_in=-600)
    code, _out, err = sign(sigstore_stack, model, capsys, "--identity-token", expired)
    assert code == 1 and "manifest is stale" in err  # the stale manifest is found first


def test_no_token_and_no_terminal(sigstore_stack: SigstoreStack, model: Path,
                                  capsys: Any) -> None:
    code, _, err = sign(sigstore_stack, model, capsys)
    assert code == 2 and "no identity token" in err and "SIGSTORE_ID_TOKEN" in err
    assert not (model / "model.sig").exists()


def test_keyless_bundle_matches_the_schema(sigstore_stack: SigstoreStack, model: Path,
                                           oms_spec: Path, capsys: Any) -> None:
    from tests.signing_support import oms_validator

    assert sign(sigstore_stack, model, capsys, "--identity-token",
                sigstore_stack.email_token("dev@example.com"))[0] == 0
    oms_validator(oms_spec, "bundle.schema.json").validate(
        json.loads((model / "model.sig").read_text()))


def test_reference_verifies_our_keyless_bundle(sigstore_stack: SigstoreStack, model: Path,
                                               capsys: Any) -> None:
    model_signing = pytest.importorskip("model_signing")
    assert sign(sigstore_stack, model, capsys, "--identity-token",
                sigstore_stack.email_token("dev@example.com"))[0] == 0
    model_signing.verifying.Config().use_sigstore_verifier(
        identity="dev@example.com", oidc_issuer=sigstore_stack.issuer,
        trust_config=sigstore_stack.trust_config).verify(model, model / "model.sig")


def test_we_verify_the_references_keyless_bundle(sigstore_stack: SigstoreStack,
                                                 tiny_model: Path, capsys: Any) -> None:
    model_signing = pytest.importorskip("model_signing")
    token = sigstore_stack.github_token(REPO, WORKFLOW)
    model_signing.signing.Config().use_sigstore_signer(
        identity_token=token, trust_config=sigstore_stack.trust_config).sign(
        tiny_model, tiny_model / "model.sig")
    code, out, err = verify(sigstore_stack, tiny_model, capsys, *github_policy(sigstore_stack))
    assert code == 0, err
    (tiny_model / "extra.txt").write_text("x")
    code, out, err = verify(sigstore_stack, tiny_model, capsys, *github_policy(sigstore_stack))
    assert code == 1 and "added     extra.txt" in out
