"""Helpers and fixtures for tests that drive real git, git-lfs and pre-commit.

A test module imports the fixtures it uses by their function names (``repo_fixture``
provides the ``repo`` fixture, and so on). Every repository lives in a temp dir; git
reads no user or system configuration (``GIT_CONFIG_GLOBAL`` points at a file of
our own, ``GIT_CONFIG_NOSYSTEM`` is set).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from tests.conftest import run_modelseal

REPO_ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_MODEL = REPO_ROOT / "examples" / "tiny-model"
PYTHON_BIN = Path(sys.executable).parent


def git_env(home: Path) -> dict[str, str]:
    """Environment for git with its own global config under ``home``."""
    config = home / "gitconfig"
    if not config.exists():
        home.mkdir(parents=True, exist_ok=True)
        config.write_text("[user]\n\tname = Test\n\temail = test@example.com\n"
                          "[init]\n\tdefaultBranch = main\n"
                          "[advice]\n\tdetachedHead = false\n")
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("GIT_", "PRE_COMMIT"))}
    env.update(GIT_CONFIG_GLOBAL=str(config), GIT_CONFIG_NOSYSTEM="1", HOME=str(home),
               PATH=f"{PYTHON_BIN}{os.pathsep}{env.get('PATH', '')}")
    return env


class Git:
    """Runs git (and tools) in one repository with an isolated environment."""

    def __init__(self, path: Path, env: dict[str, str]) -> None:
        self.path = path
        self.env = env

    def __call__(self, *args: str, check: bool = True,
                 env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return self.run(["git", *args], check=check, env=env)

    def run(self, command: Sequence[str], *, check: bool = True,
            env: dict[str, str] | None = None,
            timeout: float = 900) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(list(command), cwd=self.path, env={**self.env, **(env or {})},
                              capture_output=True, text=True, timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError(f"{' '.join(command)} failed ({proc.returncode}):\n"
                                 f"{proc.stdout}\n{proc.stderr}")
        return proc

    def modelseal(self, *args: str, env: dict[str, str] | None = None,
                  ) -> subprocess.CompletedProcess[str]:
        """`modelseal ARGS` in this repository, in-process (see conftest.run_modelseal)."""
        done = run_modelseal(args, cwd=self.path, env={**self.env, **(env or {})},
                             whole_env=True)
        return subprocess.CompletedProcess(["modelseal", *args], done.returncode, done.stdout,
                                           done.stderr)

    def modelseal_process(self, *args: str, env: dict[str, str] | None = None,
                          ) -> subprocess.CompletedProcess[str]:
        """`modelseal ARGS` as a real process, for tests about the process itself."""
        return self.run([sys.executable, "-m", "modelseal", *args], check=False, env=env)

    def commit(self, message: str = "change", *args: str,
               check: bool = True) -> subprocess.CompletedProcess[str]:
        return self("commit", "-q", "-m", message, *args, check=check)

    def write(self, relative: str, data: bytes | str) -> Path:
        path = self.path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, str):
            path.write_text(data)
        else:
            path.write_bytes(data)
        return path


def new_repo(path: Path, home: Path) -> Git:
    """An empty repository at ``path``."""
    path.mkdir(parents=True, exist_ok=True)
    repo = Git(path, git_env(home))
    repo("init", "-q")
    return repo


def add_model(repo: Git, relative: str, *, weights: bytes | None = None) -> Path:
    """A copy of the example model at ``relative`` (optionally with other weights)."""
    target = repo.path / relative
    shutil.copytree(EXAMPLE_MODEL, target)
    if weights is not None:
        (target / "model.safetensors").write_bytes(weights)
    return target


def configure(repo: Git, models: Sequence[str], extra: str = "") -> None:
    """Write `.modelseal.yaml` listing ``models``."""
    lines = "".join(f"  - {model}\n" for model in models)
    repo.write(".modelseal.yaml", f"models:\n{lines}{extra}")


@pytest.fixture(name="git_home")
def git_home_fixture(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture(name="repo")
def repo_fixture(tmp_path: Path, git_home: Path) -> Git:
    """An empty git repository with an isolated git configuration."""
    return new_repo(tmp_path / "repo", git_home)


# -- the pre-commit framework ------------------------------------------------------


def snapshot_project(destination: Path, home: Path) -> tuple[Path, str]:
    """This project's working tree (tracked and untracked files, not ignored ones)
    committed into a fresh repository, so pre-commit can install it at a revision."""
    listed = subprocess.run(["git", "ls-files", "-z", "-co", "--exclude-standard"],
                            cwd=REPO_ROOT, capture_output=True, check=True).stdout
    for name in filter(None, listed.decode().split("\0")):
        source = REPO_ROOT / name
        if source.is_file() and not source.is_symlink():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    snapshot = Git(destination, git_env(home))
    snapshot("init", "-q")
    snapshot("add", "-A")
    snapshot("commit", "-q", "--no-verify", "-m", "snapshot of the working tree")
    return destination, snapshot("rev-parse", "HEAD").stdout.strip()


@pytest.fixture(scope="session", name="hooks_project")
def hooks_project_fixture(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """(path, rev) of a git repo holding the current working tree of this project."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    home = tmp_path_factory.mktemp("snapshot-home")
    return snapshot_project(tmp_path_factory.mktemp("modelseal-snapshot"), home)


@pytest.fixture(scope="session", name="pre_commit_home")
def pre_commit_home_fixture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One PRE_COMMIT_HOME for the session: the hook environment is installed once."""
    return tmp_path_factory.mktemp("pre-commit-home")


def precommit_config(project: tuple[Path, str], hooks: Sequence[str],
                     overrides: dict[str, str] | None = None) -> str:
    """A `.pre-commit-config.yaml` using ``hooks`` of the snapshot at its revision."""
    path, rev = project
    lines = ["default_install_hook_types: [pre-commit, post-merge, post-checkout]\n",
             "repos:\n", f"  - repo: {path}\n", f"    rev: {rev}\n", "    hooks:\n"]
    for hook in hooks:
        lines.append(f"      - id: {hook}\n")
        for key, value in (overrides or {}).items():
            lines.append(f"        {key}: {value}\n")
    return "".join(lines)


@pytest.fixture(name="precommit_repo")
def precommit_repo_fixture(repo: Git, hooks_project: tuple[Path, str],
                   pre_commit_home: Path) -> Iterator[Git]:
    """A repository with the modelseal-manifest hook installed through pre-commit."""
    repo.env["PRE_COMMIT_HOME"] = str(pre_commit_home)
    repo.write(".pre-commit-config.yaml", precommit_config(hooks_project,
                                                          ["modelseal-manifest"]))
    repo.run([sys.executable, "-m", "pre_commit", "install"])
    yield repo


def pre_commit(repo: Git, *args: str) -> subprocess.CompletedProcess[str]:
    """``pre-commit ARGS`` in ``repo`` (its exit status left to the caller)."""
    return repo.run([sys.executable, "-m", "pre_commit", *args], check=False)


def pointer_for(data: bytes) -> str:
    """The Git LFS pointer file standing in for ``data``."""
    return (f"version https://git-lfs.github.com/spec/v1\n"
            f"oid sha256:{hashlib.sha256(data).hexdigest()}\nsize {len(data)}\n")
