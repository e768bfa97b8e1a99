"""The GitLab component with `oci://` paths, run by gitlab-ci-local against a real registry.

The model is signed keyless by the example pipeline's sign job (local Sigstore stack,
GitLab identity), pushed with `modelseal push` (which attaches model.sig), and the
merge request job verifies it in the registry; an unsigned artifact fails the job.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_modelseal
from tests.gitlab_project import GCL, MAIN, MODEL, PROJECT, Project
from tests.gitlab_project import project as project
from tests.registry_helpers import key_pair, ok, signed_model, verify_json
from tests.registry_server import Registry
from tests.sigstore_stack.fixture import sigstore_stack as sigstore_stack

pytestmark = pytest.mark.skipif(
    GCL is None, reason="needs gitlab-ci-local 4.45.0 (npm) and rsync on PATH")


def test_merge_request_job_verifies_registry_paths(project: Project, registry: Registry,
                                                   tmp_path: Path) -> None:
    stack = project.stack
    token = stack.gitlab_token(PROJECT, MAIN, pipeline_source="push")
    signed = project.pipeline(variables={"SIGSTORE_ID_TOKEN": token,
                                         "MODELSEAL_TRUST_CONFIG": str(stack.trust_config)})
    assert signed.result("sign-models") == "PASS", signed.output
    model = project.repo / MODEL
    good = f"oci://{registry.host}/acme/gitlab-signed:v1"
    ok(run_modelseal(["push", str(model), good]))
    (model / "model.sig").unlink()
    unsigned = f"oci://{registry.host}/acme/gitlab-unsigned:v1"
    ok(run_modelseal(["push", str(model), unsigned]))

    base = "HEAD"
    passed = project.pipeline("modelseal-verify", variables=project.verify_variables(
        base, MODELSEAL_PATHS=good), unset=("CI_COMMIT_BRANCH",))
    assert passed.result("modelseal-verify") == "PASS", passed.output
    assert f"{registry.host}/acme/gitlab-signed@sha256:" in passed.output
    assert "signature: referrer" in passed.output
    assert not (project.repo / "modelseal-junit.xml").exists()  # no local path: no report

    failed = project.pipeline("modelseal-verify", variables=project.verify_variables(
        base, MODELSEAL_PATHS=f"{good} {unsigned}"), unset=("CI_COMMIT_BRANCH",))
    assert failed.result("modelseal-verify") == "FAIL 1", failed.output
    assert "not signed" in failed.output


def test_sign_job_signs_registry_paths_and_keeps_them_when_signed(
        project: Project, registry: Registry, tmp_path: Path) -> None:
    """The sign job with a local and an oci:// path: the local model gets its model.sig,
    the reference is signed keyless in the registry, and is kept on the next run."""
    stack = project.stack
    private, _ = key_pair(tmp_path)
    model = signed_model(tmp_path, private, "gitlab-pushed")
    (model / "model.sig").unlink()
    reference = f"oci://{registry.host}/acme/gitlab-keyless:v1"
    ok(run_modelseal(["push", str(model), reference]))
    token = stack.gitlab_token(PROJECT, MAIN, pipeline_source="push")
    variables = {"SIGSTORE_ID_TOKEN": token, "MODELSEAL_PATHS": f"{MODEL} {reference}",
                 "MODELSEAL_TRUST_CONFIG": str(stack.trust_config),
                 "MODELSEAL_ISSUER": stack.issuer}
    first = project.pipeline("sign-models", variables=variables)
    assert first.result("sign-models") == "PASS", first.output
    assert "-> referrer" in first.output
    assert (project.repo / MODEL / "model.sig").is_file()
    policy = ["--gitlab-project", PROJECT, "--ref", MAIN, "--issuer",
              stack.issuer, "--trust-config", str(stack.trust_config)]
    code, doc = verify_json(reference, *policy)
    assert code == 0, doc
    assert verify_json(reference, *policy[:1], "acme/other", *policy[2:])[0] == 1

    again = project.pipeline("sign-models", variables=variables)
    assert again.result("sign-models") == "PASS", again.output
    assert f"{reference}: signature already verifies; not re-signing" in again.output
    assert "-> referrer" not in again.output
