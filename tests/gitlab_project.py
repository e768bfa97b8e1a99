"""The GitLab tests' model project, run by gitlab-ci-local 4.45.0 in shell mode.

Shared by tests/e2e/test_gitlab_ci_local.py and the other e2e tests that run the
component's jobs (registry paths, the base policy, code loading); see that file's
docstring for how the project stands in for gitlab.com without leaving the machine.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import run_modelseal
from tests.gitlab_helpers import (
    EXAMPLES,
    REPO_ROOT,
    Component,
    dump_yaml,
    git,
    gitlab_ci_local,
)
from tests.sigstore_stack.fixture import SigstoreStack

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
    assert run_modelseal(["manifest"], cwd=repo).returncode == 0
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "model and its manifest")
    git(repo, "push", "-q", "origin", "main")
    home = tmp_path / "gcl-home"
    home.mkdir()
    yield Project(repo, home, sigstore_stack)
