"""The GitLab CI component's jobs, run for real by gitlab-ci-local 4.45.0 in shell mode.

A temp git repository plays the model project ``acme/models``: its ``origin`` is
``https://gitlab.com/acme/models.git`` (gitlab-ci-local derives ``CI_PROJECT_PATH``
and ``CI_SERVER_HOST`` from ``git remote -v``) while pushes go to a local bare
repository (``url.<bare>.pushInsteadOf``), so nothing leaves the machine. Its
``.gitlab-ci.yml`` is the README's example pipeline, with the component include
replaced by the component expanded with the example's inputs (gitlab-ci-local 4.45.0
knows no ``spec:``/``component:``) and ``image:`` removed: 4.45.0 has no
``--shell-executor-no-image``, and a job without an image runs in the shell.

The jobs' ``pip install "modelseal==VERSION"`` runs unchanged against the test
interpreter's environment (first on PATH), where this checkout is installed, so pip
finds the requirement already satisfied; ``PIP_NO_INDEX=1`` makes sure it never
downloads. ``SIGSTORE_ID_TOKEN`` is minted by the local Sigstore stack for the GitLab
identity, the trust config and issuer are passed as variables, and the merge request
note goes to the loopback GitLab API in tests/forge_servers.py.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from tests.forge_servers import ForgeState, GitLabHandler, serve
from tests.gitlab_helpers import git
from tests.gitlab_project import (
    MAIN,
    MODEL,
    MR_IID,
    NOTE_TOKEN,
    PROJECT,
    PROJECT_ID,
    Project,
)
from tests.gitlab_project import project as project  # the fixture
from tests.gitlab_project import pytestmark as pytestmark  # gitlab-ci-local is needed
from tests.sigstore_stack.fixture import sigstore_stack as sigstore_stack


def test_rules_pick_sign_on_main_and_verify_in_merge_requests(project: Project) -> None:
    assert project.jobs() == {"sign-models"}
    assert project.jobs({"CI_PIPELINE_SOURCE": "merge_request_event"},
                        unset=("CI_COMMIT_BRANCH",)) == {"modelseal-verify"}
    git(project.repo, "checkout", "-q", "-b", "feature")
    assert project.jobs() == set()  # a branch pipeline off the default branch


def test_sign_without_id_token_explains_id_tokens(project: Project) -> None:
    run = project.pipeline("sign-models")
    assert run.result("sign-models") == "FAIL 2", run.output
    assert "SIGSTORE_ID_TOKEN is not set" in run.output
    assert "id_tokens:" in run.output and "aud: sigstore" in run.output
    assert "pip install" not in run.output.split("SIGSTORE_ID_TOKEN is not set")[1]
    assert not (project.repo / MODEL / "model.sig").exists()


def test_sign_on_main_then_verify_and_note_in_a_merge_request(project: Project) -> None:
    stack = project.stack
    token = stack.gitlab_token(PROJECT, MAIN, pipeline_source="push")
    signed = project.pipeline(variables={"SIGSTORE_ID_TOKEN": token,
                                         "MODELSEAL_TRUST_CONFIG": str(stack.trust_config)})
    assert signed.ran == {"sign-models"}, signed.output
    assert signed.result("sign-models") == "PASS", signed.output
    assert token not in signed.output
    signature = project.repo / MODEL / "model.sig"
    assert signature.is_file()
    identity = stack.gitlab_identity(PROJECT, MAIN)
    assert identity == f"https://gitlab.com/{PROJECT}//.gitlab-ci.yml@{MAIN}"

    # publish the signature on main, then open a merge request that leaves weights alone
    git(project.repo, "add", str(signature.relative_to(project.repo)))
    git(project.repo, "commit", "-q", "-m", "model.sig from the sign job")
    git(project.repo, "push", "-q", "origin", "main")
    base = git(project.repo, "rev-parse", "HEAD").strip()
    git(project.repo, "checkout", "-q", "-b", "feature")
    (project.repo / "NOTES.md").write_text("training notes\n")
    git(project.repo, "add", "NOTES.md")
    git(project.repo, "commit", "-q", "-m", "notes")

    with serve(GitLabHandler, ForgeState(tokens={NOTE_TOKEN: "write"})) as gitlab:
        variables = project.verify_variables(
            base, CI_API_V4_URL=f"{gitlab.base_url}/api/v4", MODELSEAL_GITLAB_TOKEN=NOTE_TOKEN)
        verified = project.pipeline(variables=variables, unset=("CI_COMMIT_BRANCH",))
        assert verified.ran == {"modelseal-verify"}, verified.output
        assert verified.result("modelseal-verify") == "PASS", verified.output
        suite = ET.parse(project.repo / "modelseal-junit.xml").getroot()
        cases = suite.findall(".//testcase")
        assert len(cases) == 1 and MODEL in (cases[0].get("name") or "")
        assert cases[0].find("failure") is None and cases[0].find("error") is None
        markdown = (project.repo / "modelseal-report.md").read_text()
        assert MODEL in markdown
        (note,) = gitlab.threads[f"{PROJECT_ID}!{MR_IID}"]
        first_body = str(note["body"])
        assert first_body.startswith("<!-- modelseal-report") and MODEL in first_body
        # the example's policy inputs reached the verifier (the note's "verify locally")
        assert f"--gitlab-project {PROJECT}" in first_body and f"--ref {MAIN}" in first_body
        assert NOTE_TOKEN not in verified.output

        # the next pipeline changes a weight: the job fails and the same note says why
        weights = project.repo / MODEL / "model.safetensors"
        weights.write_bytes(weights.read_bytes() + b"tampered")
        git(project.repo, "commit", "-q", "-am", "retrain")
        failed = project.pipeline(variables=variables, unset=("CI_COMMIT_BRANCH",))
        assert failed.result("modelseal-verify") == "FAIL 1"
        (updated,) = gitlab.threads[f"{PROJECT_ID}!{MR_IID}"]
        assert updated["id"] == note["id"] and updated["body"] != first_body
        assert [r.method for r in gitlab.writes()] == ["POST", "PUT"]
        suite = ET.parse(project.repo / "modelseal-junit.xml").getroot()
        assert suite.find(".//testcase/failure") is not None


def test_verify_without_token_reports_but_posts_no_note(project: Project) -> None:
    base = git(project.repo, "rev-parse", "HEAD").strip()
    run = project.pipeline("modelseal-verify", variables=project.verify_variables(
        base, MODELSEAL_STRICT="false"), unset=("CI_COMMIT_BRANCH",))
    assert run.result("modelseal-verify") == "PASS", run.output  # unsigned: a warning
    assert (project.repo / "modelseal-junit.xml").is_file()
    assert "unsigned" in run.output.lower()
    assert "note was not posted" not in run.output
