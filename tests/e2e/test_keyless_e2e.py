"""Keyless signing end to end: the real CLIs against the local Sigstore stack (issue 4).

`modelseal sign --method sigstore` runs as a CI job would (ambient GitHub Actions
credentials, or a GitLab-style ``SIGSTORE_ID_TOKEN``) and `modelseal verify` checks the
result against every kind of signer policy; each negative case must fail with one line
naming the reason. The reference CLI (`model_signing`) checks our bundles, and we check
its bundles. Everything talks to 127.0.0.1 only.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EXAMPLE_MODEL, Result, run_modelseal
from tests.sigstore_stack import tamper
from tests.sigstore_stack.fixture import SigstoreStack
from tests.sigstore_stack.fixture import sigstore_stack as _sigstore_stack  # noqa: F401

REPO = "acme/models"
WORKFLOW = ".github/workflows/sign.yml"
REF = "refs/heads/main"
# an attacker's repository whose name starts like ours: the prefix-trick signer
FORK = "acme/models-evil-fork"
GITLAB_PROJECT = "ml-group/tiny-model"
REFERENCE_CLI = Path(sys.executable).parent / "model_signing"


@dataclass(frozen=True)
class Signed:
    """A model signed against the stack, and what the signing job looked like."""

    model: Path
    identity: str
    env: dict[str, str]
    stack: SigstoreStack

    @property
    def sig(self) -> Path:
        return self.model / "model.sig"

    def bundle(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.sig.read_text())
        return data

    def tlog_entry(self) -> dict[str, Any]:
        entry: dict[str, Any] = self.bundle()["verificationMaterial"]["tlogEntries"][0]
        return entry

    def signed_at(self) -> datetime:
        return datetime.fromtimestamp(int(self.tlog_entry()["integratedTime"]), tz=timezone.utc)

    def copy_to(self, where: Path) -> Path:
        target = where / self.model.name
        shutil.copytree(self.model, target)
        return target


# --- helpers ------------------------------------------------------------------------------


def new_model(root: Path, cache: Path, *, manifest: bool = True) -> Path:
    """A fresh copy of the example model, with its committed manifest written."""
    root.mkdir(parents=True, exist_ok=True)
    model = root / "tiny-model"
    shutil.copytree(EXAMPLE_MODEL, model)
    if manifest:
        result = run_modelseal(["manifest", str(model)], env={"XDG_CACHE_HOME": str(cache)})
        assert result.returncode == 0, result.stderr
    return model


def sign(stack: SigstoreStack, model: Path, env: dict[str, str], *extra: str,
         trust_config: Path | None = None) -> Result:
    config = trust_config or stack.trust_config
    return run_modelseal(["sign", str(model), "--method", "sigstore", "--trust-config",
                          str(config), *extra], env=env)


def verify(signed: Signed | Path, stack: SigstoreStack, *policy: str,
           cwd: Path | None = None) -> Result:
    model = signed.model if isinstance(signed, Signed) else signed
    return run_modelseal(["verify", str(model), "--trust-config", str(stack.trust_config),
                          *policy], cwd=cwd)


def issuer(stack: SigstoreStack) -> list[str]:
    return ["--issuer", stack.issuer]


def verified(result: Result) -> None:
    assert result.returncode == 0, result.stdout + result.stderr
    assert ": verified (4 files, signed by " in result.stdout


def rejected(result: Result, *needles: str, code: int = 1) -> str:
    """The command failed with ``code`` and one error line holding every needle."""
    assert result.returncode == code, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith("modelseal: error: "), line
    for needle in needles:
        assert needle in line, line
    return line


def github_env(stack: SigstoreStack, repo: str, **overrides: Any) -> dict[str, str]:
    """A GitHub Actions job with `id-token: write` (no explicit token anywhere)."""
    env = stack.github_actions_env(repo, WORKFLOW, REF, **overrides)
    return {**env, "SIGSTORE_ID_TOKEN": "", "GITLAB_CI": ""}


def gitlab_env(stack: SigstoreStack, **overrides: Any) -> dict[str, str]:
    """A GitLab CI job with an `id_tokens: SIGSTORE_ID_TOKEN` (aud sigstore) entry."""
    env = stack.gitlab_ci_env(GITLAB_PROJECT, REF, **overrides)
    assert env["SIGSTORE_ID_TOKEN"]
    return {**env, "GITHUB_ACTIONS": "", "ACTIONS_ID_TOKEN_REQUEST_URL": "",
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN": ""}


def reference(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(REFERENCE_CLI), *args], capture_output=True, text=True,
                          timeout=120)


def reference_verify(model: Path, stack: SigstoreStack,
                     identity: str) -> subprocess.CompletedProcess[str]:
    return reference("verify", "sigstore", str(model), "--signature", str(model / "model.sig"),
                     "--trust_config", str(stack.trust_config), "--identity", identity,
                     "--identity_provider", stack.issuer)


def payload(signed: Signed) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(base64.b64decode(signed.bundle()["dsseEnvelope"]["payload"]))
    return data


def utc(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


# --- signed models, one signing job each per module ----------------------------------------


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("keyless-cache")


@pytest.fixture(scope="module")
def unsigned_model(tmp_path_factory: pytest.TempPathFactory, cache_dir: Path) -> Path:
    """The example model with its manifest, never signed; tests sign copies of it."""
    return new_model(tmp_path_factory.mktemp("unsigned"), cache_dir)


def copy_model(template: Path, where: Path) -> Path:
    target = where / template.name
    shutil.copytree(template, target)
    return target


@pytest.fixture(scope="module")
def github_signed(sigstore_stack: SigstoreStack, tmp_path_factory: pytest.TempPathFactory,
                  unsigned_model: Path) -> Signed:
    """Signed in a GitHub Actions job of acme/models with ambient OIDC credentials."""
    model = copy_model(unsigned_model, tmp_path_factory.mktemp("github"))
    env = github_env(sigstore_stack, REPO)
    result = sign(sigstore_stack, model, env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "signed (sigstore, sha256:" in result.stdout
    return Signed(model, sigstore_stack.github_identity(REPO, WORKFLOW, REF), env,
                  sigstore_stack)


@pytest.fixture(scope="module")
def fork_signed(sigstore_stack: SigstoreStack, tmp_path_factory: pytest.TempPathFactory,
                unsigned_model: Path) -> Signed:
    """Signed by the same workflow in an attacker's repository acme/models-evil-fork."""
    model = copy_model(unsigned_model, tmp_path_factory.mktemp("fork"))
    env = github_env(sigstore_stack, FORK)
    result = sign(sigstore_stack, model, env)
    assert result.returncode == 0, result.stdout + result.stderr
    return Signed(model, sigstore_stack.github_identity(FORK, WORKFLOW, REF), env,
                  sigstore_stack)


@pytest.fixture(scope="module")
def gitlab_signed(sigstore_stack: SigstoreStack, tmp_path_factory: pytest.TempPathFactory,
                  unsigned_model: Path) -> Signed:
    """Signed in a GitLab CI job whose token is in $SIGSTORE_ID_TOKEN."""
    model = copy_model(unsigned_model, tmp_path_factory.mktemp("gitlab"))
    env = gitlab_env(sigstore_stack)
    result = sign(sigstore_stack, model, env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert env["SIGSTORE_ID_TOKEN"] not in result.stdout + result.stderr
    return Signed(model, sigstore_stack.gitlab_identity(GITLAB_PROJECT, REF), env,
                  sigstore_stack)


@pytest.fixture(scope="module")
def reference_signed(sigstore_stack: SigstoreStack,
                     tmp_path_factory: pytest.TempPathFactory, cache_dir: Path) -> Signed:
    """Signed by `model_signing sign sigstore` (no modelseal manifest in the model)."""
    model = new_model(tmp_path_factory.mktemp("reference"), cache_dir, manifest=False)
    token = sigstore_stack.github_token(REPO, WORKFLOW, REF)
    done = reference("sign", "sigstore", str(model), "--signature", str(model / "model.sig"),
                     "--trust_config", str(sigstore_stack.trust_config),
                     "--identity_token", token)
    assert done.returncode == 0, done.stdout + done.stderr
    return Signed(model, sigstore_stack.github_identity(REPO, WORKFLOW, REF), {},
                  sigstore_stack)


# --- positive: GitHub ambient credentials ------------------------------------------------


def test_github_signature_verifies_by_exact_identity_with_json_details(
        github_signed: Signed, sigstore_stack: SigstoreStack) -> None:
    result = verify(github_signed, sigstore_stack, "--identity", github_signed.identity,
                    *issuer(sigstore_stack), "--format", "json")
    assert result.returncode == 0, result.stdout + result.stderr
    document = json.loads(result.stdout)
    assert document["ok"] is True
    [model] = document["models"]
    env, entry = github_signed.env, github_signed.tlog_entry()
    assert (model["status"], model["method"]) == ("verified", "sigstore")
    assert model["time_source"] == "Rekor integrated time"
    signer = model["signer"]
    assert signer["identity"] == github_signed.identity
    assert signer["issuer"] == sigstore_stack.issuer
    assert signer["repository"] == REPO
    assert signer["workflow"] == WORKFLOW
    assert signer["ref"] == REF
    assert signer["commit"] == env["GITHUB_SHA"]
    assert signer["run_url"] == (f"https://github.com/{REPO}/actions/runs/{env['GITHUB_RUN_ID']}"
                                 f"/attempts/{env['GITHUB_RUN_ATTEMPT']}")
    assert signer["build_signer_uri"] == github_signed.identity
    assert signer["rekor_log_index"] == int(entry["logIndex"])
    assert signer["integrated_time"] == utc(github_signed.signed_at()) == model["signed_at"]
    signature = model["signature"]
    assert signature["format"] == "oms-v1.0"
    sig_digest = hashlib.sha256(github_signed.sig.read_bytes()).hexdigest()
    assert signature["signature_uri"] == f"sha256:{sig_digest}"
    assert signature["verified"] is True
    assert signature["signer"] == github_signed.identity
    assert signature["signed_at"] == model["signed_at"]
    manifest = json.loads((github_signed.model / "model.manifest.json").read_text())
    assert model["root_digest"] == f"sha256:{manifest['subject'][0]['digest']['sha256']}"


def test_signed_payload_is_the_committed_manifest(github_signed: Signed) -> None:
    envelope = github_signed.bundle()["dsseEnvelope"]
    assert envelope["payloadType"] == "application/vnd.in-toto+json"
    manifest = (github_signed.model / "model.manifest.json").read_bytes()
    assert base64.b64decode(envelope["payload"]) == manifest
    assert "x509CertificateChain" not in github_signed.bundle()["verificationMaterial"]
    assert "certificate" in github_signed.bundle()["verificationMaterial"]


def test_anchored_identity_regex_accepts(github_signed: Signed,
                                         sigstore_stack: SigstoreStack) -> None:
    regex = r"https://github\.com/acme/models/\.github/workflows/[^/@]+@refs/heads/main"
    verified(verify(github_signed, sigstore_stack, "--identity-regex", regex,
                    *issuer(sigstore_stack)))


@pytest.mark.parametrize("shorthand", [
    ["--repository", REPO, "--workflow", "sign.yml", "--ref", "main"],
    ["--repository", REPO.upper(), "--workflow", WORKFLOW, "--ref", REF],
])
def test_repository_workflow_ref_shorthand_accepts(
        github_signed: Signed, sigstore_stack: SigstoreStack, shorthand: list[str]) -> None:
    # the stack's issuer is not GitHub's, so it is named; shorthand alone implies GitHub's
    verified(verify(github_signed, sigstore_stack, *shorthand, *issuer(sigstore_stack)))


def test_repository_shorthand_pins_the_github_issuer(github_signed: Signed,
                                                     sigstore_stack: SigstoreStack) -> None:
    rejected(verify(github_signed, sigstore_stack, "--repository", REPO),
             "policy: issuer", sigstore_stack.issuer,
             "https://token.actions.githubusercontent.com")


def test_not_before_accepts_a_signature_made_at_the_cutoff(
        github_signed: Signed, sigstore_stack: SigstoreStack) -> None:
    verified(verify(github_signed, sigstore_stack, "--identity", github_signed.identity,
                    *issuer(sigstore_stack), "--not-before", utc(github_signed.signed_at())))


# --- positive: GitLab-style SIGSTORE_ID_TOKEN ----------------------------------------------


def test_gitlab_signature_verifies_by_exact_identity(gitlab_signed: Signed,
                                                     sigstore_stack: SigstoreStack) -> None:
    result = verify(gitlab_signed, sigstore_stack, "--identity", gitlab_signed.identity,
                    *issuer(sigstore_stack), "--format", "json")
    assert result.returncode == 0, result.stdout + result.stderr
    [model] = json.loads(result.stdout)["models"]
    signer, env = model["signer"], gitlab_signed.env
    assert signer["identity"] == f"https://gitlab.com/{GITLAB_PROJECT}//.gitlab-ci.yml@{REF}"
    assert signer["issuer"] == sigstore_stack.issuer
    assert signer["repository"] == GITLAB_PROJECT
    assert signer["workflow"] == ".gitlab-ci.yml"
    assert signer["ref"] == REF
    assert signer["commit"] == env["CI_COMMIT_SHA"]
    assert signer["run_url"] == f"https://gitlab.com/{GITLAB_PROJECT}/-/jobs/{env['CI_JOB_ID']}"
    assert signer["rekor_log_index"] == int(gitlab_signed.tlog_entry()["logIndex"])
    assert model["signature"]["format"] == "oms-v1.0"


@pytest.mark.parametrize("shorthand", [
    ["--gitlab-project", GITLAB_PROJECT, "--ref", "main"],
    ["--gitlab-project", GITLAB_PROJECT, "--ref", REF, "--gitlab-host", "gitlab.com",
     "--workflow", ".gitlab-ci.yml"],
])
def test_gitlab_project_shorthand_accepts(gitlab_signed: Signed, sigstore_stack: SigstoreStack,
                                          shorthand: list[str]) -> None:
    verified(verify(gitlab_signed, sigstore_stack, *shorthand, *issuer(sigstore_stack)))


@pytest.mark.parametrize(("shorthand", "needle"), [
    (["--gitlab-project", "ml-group/other-model", "--ref", "main"], "ml-group/other-model"),
    (["--gitlab-project", GITLAB_PROJECT, "--ref", "dev"], "@dev"),
    (["--gitlab-project", GITLAB_PROJECT, "--gitlab-host", "gitlab.example.com"],
     "https://gitlab.example.com/"),
    (["--gitlab-project", GITLAB_PROJECT, "--workflow", "ci/release.yml"], "ci/release.yml"),
])
def test_gitlab_project_shorthand_rejects(gitlab_signed: Signed, sigstore_stack: SigstoreStack,
                                          shorthand: list[str], needle: str) -> None:
    rejected(verify(gitlab_signed, sigstore_stack, *shorthand, *issuer(sigstore_stack)),
             "policy: identity", gitlab_signed.identity, needle)


# --- the policy: section of .modelseal.yaml instead of flags ----------------------------------


def project_with_policy(signed: Signed, root: Path, policy: str) -> Path:
    """A project dir holding a copy of the signed model and a config with ``policy``."""
    signed.copy_to(root)
    (root / ".modelseal.yaml").write_text(f"version: 1\nmodels:\n  - tiny-model\n{policy}")
    return root


def test_config_policy_accepts(github_signed: Signed, sigstore_stack: SigstoreStack,
                               tmp_path: Path) -> None:
    earlier = utc(github_signed.signed_at() - timedelta(minutes=5))
    project = project_with_policy(github_signed, tmp_path, f"""\
policy:
  strict: true
  not_before: {earlier}
  signers:
    - gitlab_project: {GITLAB_PROJECT}
      issuer: {sigstore_stack.issuer}
    - repository: {REPO}
      workflow: sign.yml
      ref: main
      issuer: {sigstore_stack.issuer}
""")
    result = run_modelseal(["verify", "--trust-config", str(sigstore_stack.trust_config)],
                           cwd=project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("tiny-model: verified")
    tags = rf"https://github\.com/{REPO}/\.github/workflows/sign\.yml@refs/tags/.*"
    regex = project_with_policy(github_signed, tmp_path / "regex", f"""\
policy:
  signers:
    - identity_regex: '{tags}|{re.escape(github_signed.identity)}'
      issuer: {sigstore_stack.issuer}
""")
    result = run_modelseal(["verify", "--trust-config", str(sigstore_stack.trust_config)],
                           cwd=regex)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(("policy", "needles"), [
    ("  signers:\n    - repository: acme/other\n      issuer: {issuer}\n",
     ["policy: repository 'acme/models' does not match policy 'acme/other'"]),
    ("  not_before: {later}\n  signers:\n    - repository: acme/models\n"
     "      issuer: {issuer}\n", ["policy: signature made at", "older than policy not_before"]),
], ids=["repository", "not-before"])
def test_config_policy_rejects(github_signed: Signed, sigstore_stack: SigstoreStack,
                               tmp_path: Path, policy: str, needles: list[str]) -> None:
    later = utc(github_signed.signed_at() + timedelta(seconds=1))
    text = "policy:\n" + policy.format(issuer=sigstore_stack.issuer, later=later)
    project = project_with_policy(github_signed, tmp_path, text)
    result = run_modelseal(["verify", "--trust-config", str(sigstore_stack.trust_config)],
                           cwd=project)
    rejected(result, "tiny-model:", *needles)


# --- negative: policy ----------------------------------------------------------------------


@pytest.mark.parametrize(("flags", "needles"), [
    (["--repository", REPO, "--workflow", "release.yml", "--ref", "main"],
     ["policy: workflow '.github/workflows/sign.yml' does not match policy, expected "
      "'.github/workflows/release.yml'"]),
    (["--repository", REPO, "--workflow", "sign.yml", "--ref", "refs/heads/dev"],
     ["policy: ref 'refs/heads/main' does not match policy 'refs/heads/dev'"]),
    (["--repository", "acme/other-models", "--workflow", "sign.yml", "--ref", "main"],
     ["policy: repository 'acme/models' does not match policy 'acme/other-models'"]),
    (["--identity", "https://github.com/acme/models/.github/workflows/sign.yml@refs/heads/dev"],
     ["policy: identity", "does not match policy"]),
], ids=["workflow", "ref", "repository", "identity"])
def test_wrong_workflow_ref_repository_are_rejected(
        github_signed: Signed, sigstore_stack: SigstoreStack, flags: list[str],
        needles: list[str]) -> None:
    rejected(verify(github_signed, sigstore_stack, *flags, *issuer(sigstore_stack)), *needles)


def test_fork_is_not_our_repository(fork_signed: Signed, sigstore_stack: SigstoreStack) -> None:
    rejected(verify(fork_signed, sigstore_stack, "--repository", REPO, "--workflow",
                    "sign.yml", "--ref", "main", *issuer(sigstore_stack)),
             f"policy: repository '{FORK}' does not match policy '{REPO}'")


@pytest.mark.parametrize("regex", [
    r".*evil",                        # re.match: matches 'https://github.com/acme/models-evil'
    r"https://github\.com/acme/models",  # re.match: the policy author forgot '/.*'
    r"acme/models",                   # re.search: found inside the identity
])
def test_unanchored_regex_is_not_a_prefix_or_search_match(
        fork_signed: Signed, sigstore_stack: SigstoreStack, regex: str) -> None:
    identity = fork_signed.identity
    # the pair is built so that a prefix or search match would wrongly accept the fork
    assert re.search(regex, identity) and not re.fullmatch(regex, identity)
    rejected(verify(fork_signed, sigstore_stack, "--identity-regex", regex,
                    *issuer(sigstore_stack)),
             f"policy: identity '{identity}' does not match policy regex", "(matched in full)")


def test_signature_before_not_before_is_rejected(github_signed: Signed,
                                                 sigstore_stack: SigstoreStack) -> None:
    signed_at = github_signed.signed_at()
    later = utc(signed_at + timedelta(seconds=1))
    rejected(verify(github_signed, sigstore_stack, "--identity", github_signed.identity,
                    *issuer(sigstore_stack), "--not-before", later),
             f"policy: signature made at {utc(signed_at)} (Rekor integrated time) is older than "
             f"policy not_before {later}")


# --- negative: signature material ------------------------------------------------------------


def test_certificate_from_an_untrusted_ca_is_rejected(
        sigstore_stack: SigstoreStack, unsigned_model: Path, tmp_path: Path) -> None:
    model = copy_model(unsigned_model, tmp_path)
    result = sign(sigstore_stack, model, github_env(sigstore_stack, REPO),
                  trust_config=sigstore_stack.untrusted_trust_config)
    assert result.returncode == 0, result.stdout + result.stderr
    rejected(verify(model, sigstore_stack, "--repository", REPO, *issuer(sigstore_stack)),
             "signature: Sigstore verification failed: the signing certificate does not chain "
             "to a Fulcio CA of the trusted root")


@pytest.mark.parametrize(("damage", "needle"), [
    (tamper.shift_integrated_time, "SET: invalid inclusion promise"),
    (tamper.corrupt_inclusion_proof, "inclusion proof contains invalid root hash"),
    (tamper.corrupt_checkpoint, "checkpoint: invalid signature"),
    (tamper.corrupt_entry_body, "inclusion proof"),
])
def test_tampered_tlog_entry_is_rejected(
        github_signed: Signed, sigstore_stack: SigstoreStack, tmp_path: Path,
        damage: Callable[[str], str], needle: str) -> None:
    model = github_signed.copy_to(tmp_path)
    sig = model / "model.sig"
    sig.write_text(damage(sig.read_text()))
    rejected(verify(model, sigstore_stack, "--identity", github_signed.identity,
                    *issuer(sigstore_stack)),
             "signature: Sigstore verification failed: invalid log entry", needle)


# --- negative: tokens (signing fails, nothing is written) --------------------------------------


def _bad_token_cases() -> list[Any]:
    def ambient_expired(stack: SigstoreStack) -> tuple[dict[str, str], list[str], str]:
        return github_env(stack, REPO, expires_in=-120), [], ""

    def env_expired(stack: SigstoreStack) -> tuple[dict[str, str], list[str], str]:
        env = gitlab_env(stack, expires_in=-120)
        return env, [], env["SIGSTORE_ID_TOKEN"]

    def flag_audience(stack: SigstoreStack) -> tuple[dict[str, str], list[str], str]:
        token = stack.github_token(REPO, WORKFLOW, REF, audience="https://evil.example")
        return github_env(stack, REPO), ["--identity-token", token], token

    def env_audience(stack: SigstoreStack) -> tuple[dict[str, str], list[str], str]:
        token = stack.gitlab_token(GITLAB_PROJECT, REF, audience="gitlab")
        return {**gitlab_env(stack), "SIGSTORE_ID_TOKEN": token}, [], token

    def forged(stack: SigstoreStack) -> tuple[dict[str, str], list[str], str]:
        token = tamper.corrupt_jwt_signature(stack.github_token(REPO, WORKFLOW, REF))
        return github_env(stack, REPO), ["--identity-token", token], token

    expired = "the identity token is not usable: it has expired"
    audience = "the identity token is not usable: its audience (aud) is not 'sigstore'"
    return [
        pytest.param(ambient_expired, expired, id="expired-ambient-github"),
        pytest.param(env_expired, expired, id="expired-SIGSTORE_ID_TOKEN"),
        pytest.param(flag_audience, audience, id="wrong-audience-flag"),
        pytest.param(env_audience, audience, id="wrong-audience-SIGSTORE_ID_TOKEN"),
        pytest.param(forged, "Fulcio answered HTTP 401", id="forged-token-refused-by-fulcio"),
    ]


@pytest.mark.parametrize(("case", "needle"), _bad_token_cases())
def test_unusable_token_fails_signing_and_writes_nothing(
        sigstore_stack: SigstoreStack, unsigned_model: Path, tmp_path: Path,
        case: Callable[[SigstoreStack], tuple[dict[str, str], list[str], str]],
        needle: str) -> None:
    model = copy_model(unsigned_model, tmp_path)
    before = sorted(path.name for path in model.iterdir())
    env, extra, token = case(sigstore_stack)
    result = sign(sigstore_stack, model, env, *extra)
    # a bad token is an input error (exit 2), as DESIGN.md's exit codes say
    line = rejected(result, needle, code=2)
    if token:
        assert token not in result.stdout + result.stderr
        assert token.split(".")[2] not in line
    assert sorted(path.name for path in model.iterdir()) == before
    assert not (model / "model.sig").exists()


# --- cross-checks with the reference implementation ------------------------------------------


@pytest.mark.parametrize("which", ["github_signed", "gitlab_signed"])
def test_reference_verifies_our_keyless_bundle_unaided(
        which: str, request: pytest.FixtureRequest, sigstore_stack: SigstoreStack) -> None:
    signed: Signed = request.getfixturevalue(which)
    ignore_paths = payload(signed)["predicate"]["serialization"]["ignore_paths"]
    # why no --ignore-paths is needed: our statement records what sits beside the weights
    assert {"model.sig", "model.manifest.json"} <= set(ignore_paths)
    done = reference_verify(signed.model, sigstore_stack, signed.identity)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Verification succeeded" in done.stdout


def test_we_verify_the_reference_keyless_bundle(reference_signed: Signed,
                                               sigstore_stack: SigstoreStack) -> None:
    assert not (reference_signed.model / "model.manifest.json").exists()
    result = verify(reference_signed, sigstore_stack, "--repository", REPO, "--workflow",
                    "sign.yml", "--ref", "main", *issuer(sigstore_stack), "--format", "json")
    assert result.returncode == 0, result.stdout + result.stderr
    [model] = json.loads(result.stdout)["models"]
    assert model["status"] == "verified"
    assert model["signer"]["identity"] == reference_signed.identity
    assert model["signer"]["repository"] == REPO
    assert model["signer"]["rekor_log_index"] == int(reference_signed.tlog_entry()["logIndex"])
    assert model["signature"]["format"] == "oms-v1.0"
    rejected(verify(reference_signed, sigstore_stack, "--repository", REPO, "--ref", "dev",
                    *issuer(sigstore_stack)),
             "policy: ref 'refs/heads/main' does not match policy 'dev'")


def test_reference_and_modelseal_sign_the_same_statement(
        reference_signed: Signed, github_signed: Signed) -> None:
    ours, theirs = payload(github_signed), payload(reference_signed)
    assert ours["subject"] == theirs["subject"]
    assert ours["predicate"]["resources"] == theirs["predicate"]["resources"]
