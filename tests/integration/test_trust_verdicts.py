"""Issue 12, classes 3 and 5: a verification error is never explained away, and a
missing signature is a failure for `verify`.

Everything runs for real: git repositories, key-signed models, the `modelseal` CLI in a
child process, the verify hook. Each pull request is a branch `pr` off a signed `main`.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from tests.git_helpers import Git, add_model, configure, new_repo, pointer_for
from tests.signing_support import write_private_key, write_public_key

MODEL = "models/m"
# The states that fail a report whatever the policy says.
ERROR_STATES = {"signature-invalid", "manifest-stale", "policy-violation"}


@dataclass
class Project:
    """A repository whose `main` holds MODEL signed with a fresh key; HEAD is branch `pr`."""

    repo: Git
    key: Path
    public: Path

    @property
    def model(self) -> Path:
        return self.repo.path / MODEL

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.repo.modelseal(*args)

    def manifest(self) -> None:
        done = self.run("manifest", MODEL)
        assert done.returncode == 0, done.stdout + done.stderr

    def commit(self, message: str = "the pull request") -> None:
        self.repo("add", "-A")
        self.repo.commit(message, "--no-verify")

    def report(self, *extra: str) -> tuple[int, dict[str, Any], dict[str, Any]]:
        """`report --base main` as JSON: (exit code, document, the model's entry)."""
        done = self.run("report", "--base", "main", "--format", "json", "--key",
                        str(self.public), *extra)
        assert done.returncode in (0, 1), done.stderr
        document = json.loads(done.stdout)
        (model,) = [m for m in document["models"] if m["path"] == MODEL]
        return done.returncode, document, model


def _project(root: Path, *, sign: bool = True, policy: str = "") -> Project:
    repo = new_repo(root / "repo", root / "home")
    private = ec.generate_private_key(ec.SECP256R1())
    key = write_private_key(root / "signer.pem", private)
    public = write_public_key(root / "signer.pub", private)
    add_model(repo, MODEL)
    repo.write("keys/signer.pub", public.read_bytes())
    configure(repo, [MODEL], policy)
    project = Project(repo, key, public)
    project.manifest()
    if sign:
        done = project.run("sign", MODEL, "--method", "key", "--key", str(key))
        assert done.returncode == 0, done.stderr
    project.commit("signed model")
    repo("checkout", "-q", "-b", "pr")
    return project


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return _project(tmp_path)


def _model_config(extra: str) -> str:
    """The model's entry in `.modelseal.yaml` with per-model options."""
    return f"  - path: {MODEL}\n{extra}"


def _assert_error(code: int, document: dict[str, Any], model: dict[str, Any]) -> None:
    assert model["state"] in ERROR_STATES, model
    assert model["severity"] == "failure" and model["state"] != "awaiting-signature"
    assert document["verdict"] == "fail" and code == 1


# --- class 3: the report never explains an error away ----------------------------------


@pytest.mark.parametrize("kind", ["symlink-outside", "fifo"])
def test_trust_unhashable_file_behind_a_new_ignore_rule_is_an_error(project: Project,
                                                                   kind: str) -> None:
    """The range explains a README change; a file the signature cannot be checked against
    (a symlink leading outside, a FIFO) hides behind an ignore rule the PR adds."""
    (project.model / "README.md").write_text("a harmless looking change\n")
    configure(project.repo, [], _model_config("    ignore: [weights.bin]\n"))
    outside = project.repo.path.parent / "outside.bin"
    outside.write_bytes(b"weights from elsewhere")
    if kind == "symlink-outside":
        os.symlink(outside, project.model / "weights.bin")
    project.manifest()
    project.commit()
    if kind == "fifo":
        os.mkfifo(project.model / "weights.bin")  # git cannot carry one: the working tree
    code, document, model = project.report()
    _assert_error(code, document, model)
    assert "weights.bin" in model["message"]


@pytest.mark.parametrize("flags", [(), ("--ignore-unsigned-files",)])
def test_trust_symlink_in_place_of_a_signed_file_is_an_error(project: Project,
                                                             flags: tuple[str, ...]) -> None:
    """A signed file becomes a symlink (the PR's config now allows them) and the range
    shows it modified; the signature does not allow symlinks, so the files check cannot
    run: an error, not a change awaiting its signature."""
    (project.model / "other.json").write_text('{"hidden_size": 1}\n')
    (project.model / "config.json").unlink()
    os.symlink("other.json", project.model / "config.json")
    configure(project.repo, [], _model_config("    allow_symlinks: true\n"))
    project.manifest()
    project.commit()
    code, document, model = project.report(*flags)
    _assert_error(code, document, model)
    assert "config.json" in model["message"] and "symlink" in model["message"]


def test_trust_dangling_symlink_in_the_model_is_reported_as_an_error(project: Project) -> None:
    """Hashing fails in the manifest check itself: the model is reported, not skipped."""
    (project.model / "README.md").write_text("changed\n")
    project.manifest()
    project.commit()
    (project.model / "config.json").unlink()
    os.symlink("nowhere.json", project.model / "config.json")
    code, document, model = project.report()
    _assert_error(code, document, model)
    assert "config.json" in model["message"]


@pytest.mark.parametrize("kind", ["malformed-json", "dangling-symlink", "symlink-loop"])
def test_trust_unreadable_signature_in_a_changing_pr_is_an_error(project: Project,
                                                                kind: str) -> None:
    (project.model / "README.md").write_text("changed\n")
    signature = project.model / "model.sig"
    signature.unlink()
    if kind == "malformed-json":
        signature.write_text('{"mediaType": "application/vnd.dev.sigstore.bundle')
    elif kind == "dangling-symlink":
        os.symlink("nowhere.sig", signature)
    else:
        os.symlink("model.sig", signature)
    project.manifest()
    project.commit()
    code, document, model = project.report()
    _assert_error(code, document, model)
    assert model["state"] == "signature-invalid"
    assert model["message"].startswith("bundle:") and "model.sig" in model["message"]


def test_trust_new_ignore_rule_does_not_hide_a_tampered_file(project: Project) -> None:
    """The PR tampers with the weights and adds them to `ignore:`; the manifest it commits
    leaves them out, so the range shows them 'removed' while they are still there."""
    (project.model / "model.safetensors").write_bytes(b"tampered weights")
    (project.model / "README.md").write_text("a harmless looking change\n")
    configure(project.repo, [], _model_config("    ignore: [model.safetensors]\n"))
    project.manifest()
    project.commit()
    code, document, model = project.report()
    _assert_error(code, document, model)
    assert "model.safetensors" in {f["path"] for f in model["mismatch"]["files"]}
    for fmt in ("markdown", "text"):
        done = project.run("report", "--base", "main", "--key", str(project.public),
                           "--format", fmt)
        assert done.returncode == 1 and "model.safetensors" in done.stdout


def test_trust_files_not_in_the_range_are_not_explained_by_it(project: Project) -> None:
    """The range changes README.md, but the working tree holds other bytes than the head
    commit records (changed after it, manifest regenerated): not the range's change."""
    (project.model / "README.md").write_text("committed change\n")
    project.manifest()
    project.commit()
    (project.model / "README.md").write_text("something else entirely\n")
    project.manifest()
    code, document, model = project.report()
    _assert_error(code, document, model)
    assert model["state"] == "signature-invalid"
    assert [f["path"] for f in model["mismatch"]["files"]] == ["README.md"]
    assert "README.md" in model["message"]


def test_trust_awaiting_signature_still_holds_for_an_honest_change(project: Project) -> None:
    """The counterpart: every differing file is a change of the range, with the bytes the
    head commit records, and the signature is valid: awaiting signature, and it passes."""
    (project.model / "README.md").write_text("retrained\n")
    (project.model / "extra.bin").write_bytes(b"\0" * 64)
    (project.model / "tokenizer.json").unlink()
    (project.model / "config.json").rename(project.model / "settings.json")
    project.manifest()
    project.commit()
    code, document, model = project.report()
    assert (code, document["verdict"], model["state"]) == (0, "pass", "awaiting-signature")
    touched = {f["path"] for f in model["mismatch"]["files"]}
    touched |= {f["old_path"] for f in model["mismatch"]["files"] if f["old_path"]}
    assert touched == {"README.md", "extra.bin", "tokenizer.json", "config.json",
                       "settings.json"}  # the rename may show as removed + added


def test_trust_unsigned_model_says_unsigned(tmp_path: Path) -> None:
    project = _project(tmp_path, sign=False)
    code, document, model = project.report()
    assert (code, document["verdict"], model["state"]) == (0, "warn", "unsigned")
    assert model["label"] == "unsigned"
    assert model["message"] == "no signature (model.sig is missing)"
    text = project.run("report", "--format", "text").stdout
    assert f"{MODEL}: unsigned\n    no signature (model.sig is missing)" in text
    junit = project.run("report", "--format", "junit").stdout
    assert 'skipped message="unsigned: no signature (model.sig is missing)"' in junit
    strict = project.run("report", "--strict", "--format", "text")
    assert strict.returncode == 1 and "1 of 1 model failed: 1 unsigned" in strict.stdout


def test_trust_unsigned_changed_model_says_unsigned(tmp_path: Path) -> None:
    project = _project(tmp_path, sign=False)
    (project.model / "README.md").write_text("changed\n")
    project.manifest()
    project.commit()
    code, document, model = project.report()
    assert (code, document["verdict"], model["state"]) == (0, "pass", "awaiting-signature")
    assert model["message"].startswith("unsigned:") and "model.sig is missing" in model["message"]
    markdown = project.run("report", "--base", "main", "--format", "markdown").stdout
    assert "unsigned: no signature" in markdown and "model.sig is missing" in markdown


# --- class 5: a missing signature fails `verify` ------------------------------------------


def _verify(project: Project, *extra: str) -> tuple[subprocess.CompletedProcess[str],
                                                    dict[str, Any]]:
    done = project.run("verify", MODEL, "--key", str(project.public), "--format", "json",
                       *extra)
    return done, json.loads(done.stdout)


@pytest.mark.parametrize("how", ["never-signed", "deleted"])
def test_trust_verify_fails_without_a_signature(tmp_path: Path, how: str) -> None:
    project = _project(tmp_path, sign=how == "deleted")
    if how == "deleted":
        (project.model / "model.sig").unlink()
    done, document = _verify(project)
    assert done.returncode == 1 and document["ok"] is False
    (model,) = document["models"]
    assert (model["status"], model["ok"]) == ("unsigned", False)
    text = project.run("verify", MODEL, "--key", str(project.public))
    assert text.returncode == 1
    assert f"modelseal: error: {MODEL}: unsigned: no signature (model.sig is missing)" \
        in text.stderr
    assert "--allow-unsigned" in text.stderr


def test_trust_verify_fails_on_a_dangling_signature_symlink(project: Project) -> None:
    signature = project.model / "model.sig"
    signature.unlink()
    os.symlink("gone.sig", signature)
    for extra in ((), ("--allow-unsigned",)):
        done, document = _verify(project, *extra)
        assert done.returncode == 1 and document["ok"] is False, extra
        (model,) = document["models"]
        assert (model["status"], model["failed_check"]) == ("failed", "bundle")
        assert "symlink" in model["message"]


def test_trust_allow_unsigned_passes_an_unsigned_model_and_says_so(tmp_path: Path) -> None:
    project = _project(tmp_path, sign=False)
    done, document = _verify(project, "--allow-unsigned")
    assert done.returncode == 0 and document["ok"] is True
    assert document["models"][0]["status"] == "unsigned"
    text = project.run("verify", MODEL, "--allow-unsigned")
    assert text.returncode == 0
    assert f"modelseal: warning: {MODEL}: unsigned: no signature (model.sig is missing)" \
        in text.stderr
    both = project.run("verify", MODEL, "--allow-unsigned", "--strict")
    assert both.returncode == 2 and "--allow-unsigned" in both.stderr


def test_trust_allow_unsigned_does_not_pass_a_tampered_model(project: Project) -> None:
    (project.model / "config.json").write_text("{}\n")
    done, document = _verify(project, "--allow-unsigned")
    assert done.returncode == 1 and document["models"][0]["failed_check"] == "files"


def test_trust_allow_unsigned_does_not_override_a_strict_config(tmp_path: Path) -> None:
    project = _project(tmp_path, sign=False, policy="policy:\n  strict: true\n")
    done, document = _verify(project, "--allow-unsigned")
    assert done.returncode == 1 and document["ok"] is False


# --- the verify hook: unsigned is a warning (or strict failure), an error is an error ----


def _hook(project: Project, *extra: str) -> subprocess.CompletedProcess[str]:
    return project.run("hook", "verify", "--from-ref", "main", "--to-ref", "HEAD", *extra)


def _hook_project(root: Path) -> Project:
    return _project(root, policy="policy:\n  keys: [keys/signer.pub]\n")


def test_trust_hook_says_unsigned_plainly(tmp_path: Path) -> None:
    project = _hook_project(tmp_path)
    (project.model / "model.sig").unlink()
    project.commit("drop the signature")
    warned = _hook(project)
    assert warned.returncode == 0
    assert f"modelseal: warning: {MODEL}: unsigned: no signature (model.sig is missing)" \
        in warned.stderr
    assert "1 model unsigned" in warned.stderr
    failed = _hook(project, "--strict")
    assert failed.returncode == 1
    assert f"modelseal: error: {MODEL}: unsigned: no signature" in failed.stderr


@pytest.mark.parametrize("kind", ["tampered", "dangling-signature"])
def test_trust_hook_fails_on_an_error_without_strict(tmp_path: Path, kind: str) -> None:
    project = _hook_project(tmp_path)
    if kind == "tampered":
        (project.model / "model.safetensors").write_bytes(b"tampered weights")
        project.manifest()
    else:
        (project.model / "model.sig").unlink()
        os.symlink("nowhere.sig", project.model / "model.sig")
    project.commit()
    done = _hook(project)
    assert done.returncode == 1, done.stderr
    assert f"modelseal: error: {MODEL}: " in done.stderr and "warning" not in done.stderr
    assert "did not verify" in done.stderr


def test_trust_unsmudged_lfs_pointer_in_a_changing_pr_is_an_error(project: Project) -> None:
    """The range changes the weights, but the checkout holds only their Git LFS pointer:
    the signature cannot be checked against the bytes, so nothing is awaiting anything."""
    (project.model / "model.safetensors").write_text(pointer_for(b"new weights" * 100))
    project.manifest()
    project.commit()
    code, document, model = project.report()
    _assert_error(code, document, model)
    assert "pointer" in model["message"] and "model.safetensors" in model["message"]
