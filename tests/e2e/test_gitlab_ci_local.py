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

import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.forge_servers import ForgeState, GitLabHandler, serve
from tests.gitlab_helpers import (
    EXAMPLES,
    REPO_ROOT,
    Component,
    dump_yaml,
    git,
    gitlab_ci_local,
)
from tests.sigstore_stack.fixture import SigstoreStack
from tests.sigstore_stack.fixture import sigstore_stack as sigstore_stack

GCL = gitlab_ci_local()
pytestmark = pytest.mark.skipif(
    GCL is None, reason="needs gitlab-ci-local 4.45.0 (npm) and rsync on PATH")

PROJECT = "acme/models"
MAIN = "refs/heads/main"
MODEL = "models/tiny-model"
PROJECT_ID = "4242"
MR_IID = "7"
NOTE_TOKEN = "glpat-modelseal-test-token"
COMPONENT_FILE = ".gitlab/modelseal.yml"


@dataclass
class JobRun:
    returncode: int
    output: str

    def result(self, job: str) -> str | None:
        """``PASS``, ``FAIL <exit code>`` or None (did not run). gitlab-ci-local 4.45.0
        exits 0 even when a job fails: read ``<job> finished in ... FAIL n`` and the
        summary line `` PASS  <job>``."""
        failed = re.findall(rf"^{re.escape(job)} finished in .*?(FAIL \d+)", self.output, re.M)
        if failed:
            return str(failed[-1])
        passed = re.search(rf"^ *PASS +{re.escape(job)} *$", self.output, re.M)
        return "PASS" if passed else None

    @property
    def ran(self) -> set[str]:
        return set(re.findall(r"^(\S+) starting ", self.output, re.M))


@dataclass
class Project:
    """The model project's working copy and the tools to run its pipeline."""

    repo: Path
    home: Path
    stack: SigstoreStack

    def pipeline(self, *jobs: str, variables: Mapping[str, str] = {},
                 unset: tuple[str, ...] = (), extra: tuple[str, ...] = ()) -> JobRun:
        """Run gitlab-ci-local (the whole pipeline, or ``jobs``) with ``variables``."""
        assert GCL is not None
        # gitlab-ci-local 4.45.0 takes --cwd and --home relative to its working directory
        cmd = [GCL, "--cwd", ".", "--home", os.path.relpath(self.home, self.repo),
               "--max-job-name-padding", "0", *extra]
        for key, value in {"CI_DEFAULT_BRANCH": "main", **variables}.items():
            cmd += ["--variable", f"{key}={value}"]
        for key in unset:
            cmd += ["--unset-variable", key]
        cmd += list(jobs)
        proc = subprocess.run(cmd, cwd=self.repo, env=_job_env(), capture_output=True,
                              text=True, timeout=300)
        return JobRun(proc.returncode, proc.stdout + proc.stderr)

    def jobs(self, variables: Mapping[str, str] = {}, unset: tuple[str, ...] = ()) -> set[str]:
        """The jobs whose rules put them in this pipeline."""
        run = self.pipeline(variables=variables, unset=unset, extra=("--list-json",))
        assert run.returncode == 0, run.output
        listed, _ = json.JSONDecoder().raw_decode(run.output, run.output.index("["))
        return {job["name"] for job in listed if job["when"] != "never"}

    def verify_variables(self, base: str, **extra: str) -> dict[str, str]:
        """What GitLab sets in a merge request pipeline, plus the test's policy inputs."""
        return {"CI_PIPELINE_SOURCE": "merge_request_event", "CI_MERGE_REQUEST_IID": MR_IID,
                "CI_MERGE_REQUEST_DIFF_BASE_SHA": base,
                "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main",
                "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME": "feature", "CI_PROJECT_ID": PROJECT_ID,
                "MODELSEAL_TRUST_CONFIG": str(self.stack.trust_config),
                "MODELSEAL_ISSUER": self.stack.issuer, **extra}


def _job_env() -> dict[str, str]:
    """gitlab-ci-local's environment: the test interpreter first on PATH, pip offline."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CI_", "GITLAB_", "SIGSTORE_", "MODELSEAL_"))}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.update({"PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1",
                "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
                "FORCE_COLOR": "0"})
    return env


def pipeline_for_gitlab_ci_local() -> tuple[str, str]:
    """(.gitlab-ci.yml, the component file it includes) for a shell-mode run."""
    pipeline = yaml.safe_load((EXAMPLES / ".gitlab-ci.yml").read_text())
    (entry,) = [i for i in pipeline["include"] if "component" in i]
    component = Component.load().expand(entry.get("inputs", {}))
    pipeline["include"] = [{"local": COMPONENT_FILE}]
    return dump_yaml(_without_images(pipeline)), dump_yaml(_without_images(component))


def _without_images(config: dict[str, Any]) -> dict[str, Any]:
    return {name: {k: v for k, v in job.items() if k != "image"} if isinstance(job, dict)
            else job for name, job in config.items()}


@pytest.fixture
def project(tmp_path: Path, sigstore_stack: SigstoreStack) -> Iterator[Project]:
    bare = tmp_path / "remote" / "acme" / "models.git"
    bare.parent.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True)
    repo = tmp_path / "models"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "remote", "add", "origin", f"https://gitlab.com/{PROJECT}.git")
    git(repo, "config", f"url.{bare}.pushInsteadOf", f"https://gitlab.com/{PROJECT}.git")
    shutil.copytree(REPO_ROOT / "examples" / "tiny-model", repo / MODEL)
    (repo / ".modelseal.yaml").write_text(f"version: 1\nmodels:\n  - {MODEL}\n")
    ci, component = pipeline_for_gitlab_ci_local()
    (repo / ".gitlab-ci.yml").write_text(ci)
    (repo / COMPONENT_FILE).parent.mkdir()
    (repo / COMPONENT_FILE).write_text(component)
    (repo / ".gitignore").write_text(".gitlab-ci-local/\nmodelseal-*\n")
    subprocess.run([sys.executable, "-m", "modelseal", "manifest"], cwd=repo, check=True,
                   capture_output=True)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "model and its manifest")
    git(repo, "push", "-q", "origin", "main")
    home = tmp_path / "gcl-home"
    home.mkdir()
    yield Project(repo, home, sigstore_stack)


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
