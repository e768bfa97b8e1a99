"""Issue 12, class 2, in the GitLab job run by gitlab-ci-local: the `keys` input (here
its job variable) is read from the merge request's base commit.

Uses the project fixture of tests/gitlab_project.py: the component expanded with
the README's example inputs, run in shell mode against this checkout's modelseal.
"""

from __future__ import annotations

import json

from cryptography.hazmat.primitives.asymmetric import ec

from tests.conftest import run_modelseal
from tests.gitlab_helpers import git
from tests.gitlab_project import MODEL, Project, pytestmark  # noqa: F401
from tests.gitlab_project import project as project  # the gitlab-ci-local project
from tests.signing_support import write_private_key, write_public_key
from tests.sigstore_stack.fixture import sigstore_stack as sigstore_stack  # project needs it


def _sign(project: Project, private: str) -> None:
    done = run_modelseal(["sign", MODEL, "--method", "key", "--key", private,
                          "--update-manifest"], cwd=project.repo)
    assert done.returncode == 0, done.stderr


def test_trust_gitlab_job_verifies_with_the_base_key_only(project: Project) -> None:
    keys = project.repo.parent / "keys"
    keys.mkdir()
    trusted, attacker = (ec.generate_private_key(ec.SECP256R1()) for _ in range(2))
    write_private_key(keys / "trusted.pem", trusted)
    write_private_key(keys / "attacker.pem", attacker)
    (project.repo / "keys").mkdir()
    write_public_key(project.repo / "keys/trusted.pub", trusted)
    _sign(project, str(keys / "trusted.pem"))
    git(project.repo, "add", "-A")
    git(project.repo, "commit", "-q", "-m", "key-signed model")
    base = git(project.repo, "rev-parse", "HEAD").strip()
    git(project.repo, "checkout", "-q", "-b", "feature")
    (project.repo / "NOTES.md").write_text("notes\n")
    git(project.repo, "add", "NOTES.md")
    git(project.repo, "commit", "-q", "-m", "notes")
    variables = project.verify_variables(base, MODELSEAL_KEYS="keys/trusted.pub",
                                         MODELSEAL_COMMENT="false")
    passed = project.pipeline("modelseal-verify", variables=variables,
                              unset=("CI_COMMIT_BRANCH",))
    assert passed.result("modelseal-verify") == "PASS", passed.output

    # the merge request re-signs tampered weights and rewrites the key file to match
    weights = project.repo / MODEL / "model.safetensors"
    weights.write_bytes(weights.read_bytes() + b"tampered")
    _sign(project, str(keys / "attacker.pem"))
    write_public_key(project.repo / "keys/trusted.pub", attacker)
    git(project.repo, "commit", "-q", "-am", "swap the key")
    failed = project.pipeline("modelseal-verify", variables=variables,
                              unset=("CI_COMMIT_BRANCH",))
    assert failed.result("modelseal-verify") == "FAIL 1", failed.output
    report = json.loads((project.repo / "modelseal-report.json").read_text())
    assert [m["state"] for m in report["models"]] == ["signature-invalid"]
    assert report["policy_change"]["paths"] == ["keys/trusted.pub"]
