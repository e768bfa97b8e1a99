"""The Action tests' project: a bare origin with a configured model, jobs on it, and the
simulated runner's shortcut. Shared by tests/e2e/test_action_e2e.py and the trust tests
that drive the Action."""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_MODEL, run_modelseal
from tests.gha_runner import REPO_ROOT, ActionRun, CompositeRunner, Job
from tests.sigstore_stack.fixture import SigstoreStack

REPO = "acme/models"
SIGN_WORKFLOW = ".github/workflows/sign.yml"
ROOT_ACTION, SIGN_ACTION, VERIFY_ACTION = (REPO_ROOT, REPO_ROOT / "actions" / "sign",
                                           REPO_ROOT / "actions" / "verify")
LOCAL = {"modelseal/modelseal": ROOT_ACTION, "modelseal/modelseal/actions/sign": SIGN_ACTION,
         "modelseal/modelseal/actions/verify": VERIFY_ACTION}
WRITE, READ = "ghs_write_token", "ghs_read_only_token"
SHORTCUT = {"MODELSEAL_ACTION_PYTHON": sys.executable}


def git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


@dataclass
class Project:
    """A bare origin with a configured model, and the environment git runs with."""

    root: Path
    origin: Path
    git_env: dict[str, str]

    def clone(self, name: str, ref: str = "main") -> Path:
        target = self.root / name / "workspace"
        target.parent.mkdir(parents=True, exist_ok=True)
        git(self.root, "clone", "--quiet", str(self.origin), str(target))
        git(target, "checkout", "--quiet", ref)
        return target

    def head(self, ref: str = "main") -> str:
        return git(self.origin, "rev-parse", ref)

    def job(self, name: str, workspace: Path, event_name: str, event: dict[str, object], *,
            extra_env: dict[str, str] | None = None, ref: str = "refs/heads/main",
            api_url: str = "https://api.github.com", token: str = WRITE,
            artifacts: Path | None = None) -> Job:
        return Job(root=self.root / name, workspace=workspace, repository=REPO,
                   event_name=event_name, event=event, ref=ref, api_url=api_url, token=token,
                   extra_env={**self.git_env, **(extra_env or {})}, artifacts=artifacts,
                   sha=git(workspace, "rev-parse", "HEAD"))


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    home = tmp_path / "home"
    home.mkdir()
    (home / "gitconfig").write_text("[user]\n\tname = Dev\n\temail = dev@example.com\n"
                                    "[init]\n\tdefaultBranch = main\n"
                                    "[advice]\n\tdetachedHead = false\n")
    env = {"GIT_CONFIG_GLOBAL": str(home / "gitconfig"), "GIT_CONFIG_NOSYSTEM": "1"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "--quiet", "--bare", "-b", "main", str(origin))
    seed = tmp_path / "seed"
    git(tmp_path, "clone", "--quiet", str(origin), str(seed))
    shutil.copytree(EXAMPLE_MODEL, seed / "models" / "tiny")
    (seed / ".modelseal.yaml").write_text("version: 1\nmodels:\n  - models/tiny\n")
    modelseal(seed, "manifest")
    git(seed, "add", ".")
    git(seed, "commit", "--quiet", "-m", "add the tiny model")
    git(seed, "push", "--quiet", "origin", "HEAD:main")
    return Project(tmp_path, origin, env)


def modelseal(cwd: Path, *args: str) -> None:
    done = run_modelseal(args, cwd=cwd)
    assert done.returncode == 0, done.stdout + done.stderr


def oidc_env(stack: SigstoreStack, ref: str = "refs/heads/main") -> dict[str, str]:
    """Only the token request variables: the job describes the rest of the run itself."""
    env = stack.github_actions_env(REPO, workflow=SIGN_WORKFLOW, ref=ref)
    return {key: env[key] for key in ("ACTIONS_ID_TOKEN_REQUEST_URL",
                                      "ACTIONS_ID_TOKEN_REQUEST_TOKEN")}


def policy(stack: SigstoreStack) -> dict[str, str]:
    """The README's policy line: this repo's sign.yml on main (issuer: the local stack)."""
    return {"repository": REPO, "workflow": SIGN_WORKFLOW, "ref": "refs/heads/main",
            "issuer": stack.issuer, "trust-config": str(stack.trust_config)}


def run(action: Path, job: Job, **with_: str) -> ActionRun:
    return CompositeRunner(job, action).run(with_, env=SHORTCUT)
