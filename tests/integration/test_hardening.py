"""Findings of the security review, each pinned by a test.

A pull request controls the files, the committed manifest, `model.sig` and
`.modelseal.yaml` of the tree under review; none of them may widen trust, hide a
file, hang a command or inject lines into CI logs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from modelseal.config import SignerRule
from modelseal.errors import printable
from modelseal.fulcio import SignerFacts
from modelseal.policy import Policy, PolicyViolation, check_signer
from tests.conftest import run_modelseal, run_modelseal_process
from tests.signing_support import write_private_key, write_public_key


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    return (write_private_key(tmp_path / "k.pem", key), write_public_key(tmp_path / "k.pub", key))


def sign(model: Path, private: Path) -> None:
    result = run_modelseal(["sign", str(model), "--method", "key", "--key", str(private),
                            "--update-manifest"])
    assert result.returncode == 0, result.stderr


def test_config_ignore_cannot_hide_a_new_file_from_verify(tmp_path: Path, tiny_model: Path,
                                                          keys: tuple[Path, Path]) -> None:
    sign(tiny_model, keys[0])
    (tiny_model / "backdoor.py").write_text("import os")
    (tmp_path / ".modelseal.yaml").write_text(
        "models:\n  - path: tiny-model\n    ignore: [backdoor.py]\n")
    result = run_modelseal(["verify", "tiny-model", "--key", str(keys[1])], cwd=tmp_path)
    assert result.returncode == 1
    assert "+ added     backdoor.py" in result.stdout
    # the same ignore given by the person running verify is honoured
    explicit = run_modelseal(["verify", "tiny-model", "--key", str(keys[1]),
                              "--ignore", "backdoor.py"], cwd=tmp_path)
    assert explicit.returncode == 0, explicit.stderr


def test_config_keys_do_not_widen_a_flag_policy(tmp_path: Path, tiny_model: Path,
                                                keys: tuple[Path, Path]) -> None:
    sign(tiny_model, keys[0])  # the "attacker" key, listed by the change's own config
    shutil.copy(keys[1], tmp_path / "attacker.pub")
    (tmp_path / ".modelseal.yaml").write_text(
        "models: [tiny-model]\npolicy:\n  keys: [attacker.pub]\n")
    assert run_modelseal(["verify", "tiny-model"], cwd=tmp_path).returncode == 0
    pinned = run_modelseal(["verify", "tiny-model", "--repository", "acme/models",
                            "--workflow", "sign.yml", "--ref", "main", "--strict"], cwd=tmp_path)
    assert pinned.returncode == 1


@pytest.mark.parametrize("kind", ["dev-zero-link", "fifo"])
def test_manifest_that_is_not_a_regular_file_is_refused_quickly(tiny_model: Path,
                                                                kind: str) -> None:
    manifest = tiny_model / "model.manifest.json"
    if kind == "fifo":
        os.mkfifo(manifest)
    else:
        manifest.symlink_to("/dev/zero")
    # a process, so that a hang hits its timeout instead of stalling the suite
    result = run_modelseal_process(["check", str(tiny_model)])
    assert result.returncode == 2
    assert "not a regular file" in result.stderr or "symlink" in result.stderr


def test_signature_fifo_does_not_hang_verify(tiny_model: Path, keys: tuple[Path, Path]) -> None:
    os.mkfifo(tiny_model / "model.sig")
    result = run_modelseal_process(["verify", str(tiny_model), "--key", str(keys[1])])
    assert result.returncode != 0
    assert "not a regular file" in result.stderr


def test_file_names_cannot_inject_lines_into_ci_logs(tiny_model: Path) -> None:
    assert run_modelseal(["manifest", str(tiny_model)]).returncode == 0
    (tiny_model / "x\n::error title=ok::all models verified\ny").write_text("x")
    result = run_modelseal(["check", str(tiny_model)])
    assert result.returncode == 1
    assert not any(line.startswith("::") for line in result.stdout.splitlines())
    assert printable("x\n::error") == "x\u2424::error"


def test_huge_shard_offsets_are_a_clean_error(tiny_model: Path) -> None:
    digest = "0" * 64
    resource = f'{{"name": "a.bin:{"9" * 5000}:{"9" * 5001}", "algorithm": ' \
               f'"sha256-sharded-10", "digest": "{digest}"}}'
    (tiny_model / "model.manifest.json").write_text(
        '{"_type": "https://in-toto.io/Statement/v1", "predicateType": '
        '"https://model_signing/signature/v1.0", "subject": [{"name": "m", "digest": '
        f'{{"sha256": "{digest}"}}}}], "predicate": {{"serialization": {{"method": "shards", '
        f'"hash_type": "sha256", "shard_size": 10}}, "resources": [{resource}]}}}}')
    result = run_modelseal(["check", str(tiny_model)])
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "path:start:end" in result.stderr


def test_sharded_single_file_model_verifies(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    weights = tmp_path / "one.bin"
    weights.write_bytes(os.urandom(3000))
    (tmp_path / ".modelseal.yaml").write_text(
        "models:\n  - path: one.bin\n    serialization: shards\n    shard_size: 1000\n")
    sign(weights, keys[0])
    result = run_modelseal(["verify", str(weights), "--key", str(keys[1])], cwd=tmp_path)
    assert result.returncode == 0, result.stderr


def test_a_same_named_reusable_workflow_elsewhere_does_not_match() -> None:
    rule = SignerRule(repository="acme/models", workflow="release.yml")
    policy = Policy(signers=(rule,))
    facts = SignerFacts(
        identity="https://github.com/evil/tools/.github/workflows/release.yml@refs/heads/main",
        issuer="https://token.actions.githubusercontent.com",
        source_repository_uri="https://github.com/acme/models",
        build_signer_uri="https://github.com/evil/tools/.github/workflows/release.yml@refs/heads/main",
        build_config_uri="https://github.com/acme/models/.github/workflows/ci.yml@refs/heads/main")
    with pytest.raises(PolicyViolation, match="workflow"):
        check_signer(policy, facts)
    own = SignerFacts(**{**facts.__dict__, "build_config_uri":
                         "https://github.com/acme/models/.github/workflows/release.yml@refs/heads/main"})
    check_signer(policy, own)


def test_git_can_carry_the_hostile_manifest_link(tmp_path: Path) -> None:
    """The /dev/zero case is reachable: git stores a symlink for whoever checks it out."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "model.manifest.json").symlink_to("/dev/zero")
    subprocess.run(["git", "-C", str(tmp_path), "add", "model.manifest.json"], check=True)
    listed = subprocess.run(["git", "-C", str(tmp_path), "ls-files", "-s"], check=True,
                            capture_output=True, text=True).stdout
    assert listed.startswith("120000")
