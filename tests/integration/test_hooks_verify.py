"""The verify hook after a real `git pull`: signed models pass, tampered ones are reported."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.git_helpers import (
    Git,
    add_model,
    git_env,
    git_home_fixture,  # noqa: F401 (fixture)
    repo_fixture,  # noqa: F401 (fixture)
)

PRIVATE = "signing/private.pem"


def _keys(repo: Git) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    repo.write(PRIVATE, key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    repo.write("keys/model.pub", key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))


def _sign(repo: Git, model: str) -> None:
    result = repo.modelseal("sign", model, "--method", "key", "--key", str(repo.path / PRIVATE),
                            "--update-manifest")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture
def origin(repo: Git) -> Git:
    """A repository with two key-signed models and a strict policy naming the key."""
    _keys(repo)
    repo.write(".gitignore", "signing/\n")
    for model in ("models/a", "models/b"):
        add_model(repo, model)
        _sign(repo, model)
    repo.write(".modelseal.yaml", "models:\n  - models/a\n  - models/b\n"
                                  "policy:\n  keys: [keys/model.pub]\n  strict: true\n")
    repo("add", "-A")
    repo.commit("signed models")
    return repo


def _clone(origin: Git, home: Path) -> Git:
    Git(origin.path.parent, git_env(home))("clone", "-q", str(origin.path), "clone")
    clone = Git(origin.path.parent / "clone", git_env(home))
    assert clone.modelseal("install-hooks", "--hook", "post-merge").returncode == 0
    return clone


def _tamper(origin: Git, model: str) -> None:
    """Change the weights and the manifest, but not the signature."""
    origin.write(f"{model}/model.safetensors", b"tampered weights")
    assert origin.modelseal("manifest", model).returncode == 0
    origin("add", "-A")
    origin.commit("tamper")


def test_a_pull_of_a_tampered_model_fails_under_strict(origin: Git, git_home: Path) -> None:
    clone = _clone(origin, git_home)
    _tamper(origin, "models/b")
    pulled = clone("pull", "-q", "--no-rebase", check=False)
    # git ignores a post-merge hook's exit status; the hook's report is what people see
    assert "modelseal: error: models/b:" in pulled.stderr
    assert "1 model did not verify under the strict policy; do not use it until" in pulled.stderr
    assert "models/a" not in pulled.stderr + pulled.stdout  # unchanged: not re-verified
    direct = clone.modelseal("hook", "verify", "--from-ref", "HEAD~1", "--to-ref", "HEAD")
    assert direct.returncode == 1
    assert "modelseal: error: models/b: " in direct.stderr
    assert "~ modified  model.safetensors" in direct.stderr or "signature" in direct.stderr


def test_a_pull_of_a_properly_signed_change_verifies(origin: Git, git_home: Path) -> None:
    clone = _clone(origin, git_home)
    origin.write("models/a/config.json", '{"v": 2}\n')
    _sign(origin, "models/a")
    origin("add", "-A")
    origin.commit("new version, signed")
    pulled = clone("pull", "-q", "--no-rebase")
    assert "models/a: " in pulled.stdout + pulled.stderr
    assert "error" not in pulled.stderr and "warning" not in pulled.stderr
    direct = clone.modelseal("hook", "verify", "--from-ref", "HEAD~1")
    assert direct.returncode == 0, direct.stderr


def test_without_strict_an_unsigned_model_only_warns(origin: Git, git_home: Path) -> None:
    origin.write(".modelseal.yaml", "models:\n  - models/a\n  - models/b\n"
                                    "policy:\n  keys: [keys/model.pub]\n")
    origin("add", "-A")
    origin.commit("relax the policy")
    clone = _clone(origin, git_home)
    origin("rm", "-q", "models/a/model.sig")
    origin.commit("drop the signature")
    clone("pull", "-q", "--no-rebase")
    result = clone.modelseal("hook", "verify", "--from-ref", "HEAD~1")
    assert result.returncode == 0
    assert "modelseal: warning: models/a: unsigned: no signature" in result.stderr
    assert "set policy.strict: true" in result.stderr
    assert clone.modelseal("hook", "verify", "--from-ref", "HEAD~1",
                           "--strict").returncode == 1


def test_without_strict_a_tampered_model_still_fails(origin: Git, git_home: Path) -> None:
    origin.write(".modelseal.yaml", "models:\n  - models/a\n  - models/b\n"
                                    "policy:\n  keys: [keys/model.pub]\n")
    origin("add", "-A")
    origin.commit("relax the policy")
    clone = _clone(origin, git_home)
    _tamper(origin, "models/a")
    clone("pull", "-q", "--no-rebase")
    result = clone.modelseal("hook", "verify", "--from-ref", "HEAD~1")
    assert result.returncode == 1
    assert "modelseal: error: models/a:" in result.stderr and "warning" not in result.stderr


def test_an_unsigned_model_under_strict(origin: Git, git_home: Path) -> None:
    clone = _clone(origin, git_home)
    origin("rm", "-q", "models/a/model.sig")
    origin.commit("drop the signature")
    clone("pull", "-q", "--no-rebase", check=False)
    result = clone.modelseal("hook", "verify", "--from-ref", "HEAD~1")
    assert result.returncode == 1
    assert "modelseal: error: models/a: unsigned: no signature" in result.stderr


def test_all_and_a_fresh_clone_verify_every_model(origin: Git, git_home: Path) -> None:
    clone = _clone(origin, git_home)
    everything = clone.modelseal("hook", "verify", "--all")
    assert everything.returncode == 0, everything.stderr
    assert "models/a: " in everything.stdout and "models/b: " in everything.stdout
    null = "0" * 40
    fresh = clone.modelseal("hook", "verify", env={"PRE_COMMIT_FROM_REF": null,
                                                   "PRE_COMMIT_TO_REF": "HEAD"})
    assert fresh.returncode == 0 and "models/b: " in fresh.stdout
    files_only = clone.modelseal("hook", "verify", env={"PRE_COMMIT_CHECKOUT_TYPE": "0",
                                                        "PRE_COMMIT_FROM_REF": null})
    assert (files_only.returncode, files_only.stdout) == (0, "")


def test_the_verify_hook_does_not_load_sigstore_for_manifests(repo: Git) -> None:
    add_model(repo, "models/a")
    repo.write(".modelseal.yaml", "models:\n  - models/a\n")
    repo("add", "-A")
    probe = repo.run(["python", "-c",
                      "import sys; from modelseal import hooks; hooks.main(['manifest']); "
                      "print(sorted(m for m in sys.modules if m.startswith('sigstore')))"],
                     check=False)
    assert probe.stdout.strip().endswith("[]"), probe.stdout + probe.stderr


# --- the pulled commits never choose their own policy (issue 12, class 2) -------------


def _attacker_key(repo: Git, home: Path) -> Path:
    key = ec.generate_private_key(ec.SECP256R1())
    private = home / "attacker.pem"
    private.parent.mkdir(parents=True, exist_ok=True)
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    repo.write("keys/attacker.pub", key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return private


def test_trust_a_pulled_commit_cannot_trust_its_own_key(origin: Git, git_home: Path) -> None:
    clone = _clone(origin, git_home)
    private = _attacker_key(origin, git_home)
    origin.write("models/b/model.safetensors", b"attacker weights")
    resigned = origin.modelseal("sign", "models/b", "--method", "key", "--key", str(private),
                                "--update-manifest")
    assert resigned.returncode == 0, resigned.stderr
    origin.write(".modelseal.yaml", "models:\n  - models/a\n  - models/b\n"
                                    "policy:\n  keys: [keys/attacker.pub]\n  strict: true\n")
    origin("add", "-A")
    origin.commit("re-sign with my own key, trust it")
    pulled = clone("pull", "-q", "--no-rebase", check=False)
    assert "modelseal: error: models/b:" in pulled.stderr, pulled.stderr
    direct = clone.modelseal("hook", "verify", "--from-ref", "HEAD~1", "--to-ref", "HEAD")
    assert direct.returncode == 1 and "models/b" in direct.stderr


def test_trust_a_pulled_commit_cannot_drop_a_model_from_the_check(
        origin: Git, git_home: Path) -> None:
    clone = _clone(origin, git_home)
    origin.write("models/b/model.safetensors", b"tampered weights")
    origin("rm", "-q", "models/b/model.manifest.json")  # nothing left to find it by
    origin.write(".modelseal.yaml", "models:\n  - models/a\n"
                                    "policy:\n  keys: [keys/model.pub]\n  strict: true\n")
    origin("add", "-A")
    origin.commit("tamper with b and stop tracking it")
    clone("pull", "-q", "--no-rebase", check=False)
    direct = clone.modelseal("hook", "verify", "--from-ref", "HEAD~1", "--to-ref", "HEAD")
    assert direct.returncode == 1 and "modelseal: error: models/b:" in direct.stderr


def test_trust_a_pulled_signed_change_still_verifies(origin: Git, git_home: Path) -> None:
    """The rule does not get in the way of an honest pull signed by the trusted key."""
    clone = _clone(origin, git_home)
    origin.write("models/a/config.json", '{"v": 3}\n')
    _sign(origin, "models/a")
    origin("add", "-A")
    origin.commit("honest update")
    clone("pull", "-q", "--no-rebase")
    direct = clone.modelseal("hook", "verify", "--from-ref", "HEAD~1", "--to-ref", "HEAD")
    assert direct.returncode == 0, direct.stderr
