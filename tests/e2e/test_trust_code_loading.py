"""Issue 12, class 1: tool code is never loaded from the working tree.

`python -m NAME` puts the current directory first on ``sys.path``; every entry point
runs in the repository under judgement, so a commit adding a top-level ``modelseal/``
package (or ``modelseal.py``; or ``pip/``, ``venv/`` for the installers the CI entry
points start) would run instead of the installed tool. Here such a commit plants code
that writes a marker and forges success (prints "all models verified", exits 0); each
entry point (plain git hooks, pre-commit hooks, the Action on the simulated runner,
the GitLab job under gitlab-ci-local) must leave the marker unwritten and report the
real result. A static guard keeps every Python invocation in the shipped entry points
behind the safeguard.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, cast

import pytest

from tests.git_helpers import (
    PYTHON_BIN,
    REPO_ROOT,
    Git,
    add_model,
    configure,
    git_env,
    git_home_fixture,  # noqa: F401 (fixture)
    hooks_project_fixture,  # noqa: F401 (fixture)
    pre_commit,
    pre_commit_home_fixture,  # noqa: F401 (fixture)
    precommit_config,
    repo_fixture,  # noqa: F401 (fixture)
)

FORGED = """\
import sys
with open({marker!r}, "a", encoding="utf-8") as stream:
    stream.write(__name__ + " " + repr(sys.argv) + "\\n")
print("modelseal: all models verified")
sys.exit(0)
"""
INSTALLED_MODELSEAL = str(PYTHON_BIN / "modelseal")  # a console script: safe to run anywhere


def plant(root: Path, marker: Path, *, form: str = "package",
          names: tuple[str, ...] = ("modelseal",)) -> None:
    """Top-level packages (or modules) named ``names`` that forge success."""
    code = FORGED.format(marker=str(marker))
    for name in names:
        if form == "package":
            (root / name).mkdir()
            (root / name / "__init__.py").write_text(code)
            (root / name / "__main__.py").write_text(code)
        else:
            (root / f"{name}.py").write_text(code)


def assert_not_loaded(marker: Path) -> None:
    assert not marker.exists(), f"code from the working tree ran: {marker.read_text()}"


def installed(repo: Git, *args: str) -> subprocess.CompletedProcess[str]:
    """The test's own modelseal calls, by the console script (the tree holds a decoy)."""
    return repo.run([INSTALLED_MODELSEAL, *args], check=False)


def _models_then_planted(repo: Git, marker: Path, form: str) -> None:
    """A committed model with its manifest, then a commit that adds the decoy."""
    add_model(repo, "models/bert")
    configure(repo, ["models/bert"])
    assert installed(repo, "manifest", "models/bert").returncode == 0
    repo("add", "-A")
    repo.commit("model", "--no-verify")
    plant(repo.path, marker, form=form)
    repo("add", "-A")
    repo.commit("add a helper package", "--no-verify")


def _tamper(repo: Git) -> None:
    repo.write("models/bert/model.safetensors", b"new weights")
    repo("add", "-A")


# -- plain git hooks ------------------------------------------------------------------


@pytest.mark.parametrize(("source", "form"), [("install-hooks", "package"),
                                              ("install-hooks", "module"),
                                              ("hooks-dir", "package")])
def test_trust_plain_git_hooks_run_the_installed_modelseal(repo: Git, tmp_path: Path,
                                                           source: str, form: str) -> None:
    marker = tmp_path / "marker"
    _models_then_planted(repo, marker, form)
    if source == "install-hooks":
        assert installed(repo, "install-hooks").returncode == 0
    else:  # the scripts in hooks/, copied as they are (modelseal found on PATH)
        for name in ("pre-commit", "post-merge"):
            shutil.copy2(REPO_ROOT / "hooks" / name, repo.path / ".git" / "hooks" / name)

    _tamper(repo)
    refused = repo.commit("retrain", check=False)
    assert refused.returncode != 0, refused.stdout + refused.stderr
    assert "models/bert: updated models/bert/model.manifest.json" in refused.stderr
    assert "~ modified  model.safetensors" in refused.stderr
    assert "all models verified" not in refused.stdout + refused.stderr
    assert_not_loaded(marker)


def test_trust_post_merge_and_checkout_hooks_report_the_real_verification(
        repo: Git, tmp_path: Path, git_home: Path) -> None:
    marker = tmp_path / "marker"
    _models_then_planted(repo, marker, "package")
    Git(repo.path.parent, git_env(git_home))("clone", "-q", str(repo.path), "clone")
    clone = Git(repo.path.parent / "clone", git_env(git_home))
    for hook in ("post-merge", "post-checkout"):
        assert installed(clone, "install-hooks", "--hook", hook).returncode == 0
    _tamper(repo)
    assert installed(repo, "manifest", "models/bert").returncode == 0
    repo("add", "-A")
    repo.commit("retrain", "--no-verify")
    pulled = clone("pull", "-q", "--no-rebase", check=False)
    assert "modelseal: warning: models/bert: " in pulled.stderr, pulled.stderr
    assert "unsigned" in pulled.stderr
    switched = clone("checkout", "-q", "-b", "before", "HEAD~1", check=False)
    assert "modelseal: warning: models/bert: " in switched.stderr, switched.stderr
    assert "all models verified" not in pulled.stdout + pulled.stderr + switched.stderr
    assert_not_loaded(marker)


# -- the pre-commit framework -------------------------------------------------------------


@pytest.mark.parametrize("form", ["package", "module"])
def test_trust_precommit_hooks_run_the_installed_modelseal(
        repo: Git, tmp_path: Path, hooks_project: tuple[Path, str], pre_commit_home: Path,
        form: str) -> None:
    marker = tmp_path / "marker"
    repo.env["PRE_COMMIT_HOME"] = str(pre_commit_home)
    _models_then_planted(repo, marker, form)
    repo.write(".pre-commit-config.yaml", precommit_config(
        hooks_project, ["modelseal-manifest", "modelseal-check", "modelseal-verify"]))
    repo("add", "-A")
    repo.commit("hooks", "--no-verify")
    assert pre_commit(repo, "install").returncode == 0

    _tamper(repo)
    stale = pre_commit(repo, "run", "modelseal-check", "--hook-stage", "manual",
                       "--all-files")
    assert stale.returncode == 1, stale.stdout
    assert "models/bert: manifest is stale (1 file differs):" in stale.stdout

    refused = repo.commit("retrain", check=False)
    refused_out = refused.stdout + refused.stderr
    assert refused.returncode != 0, refused_out
    assert "models/bert: updated models/bert/model.manifest.json" in refused_out
    assert "~ modified  model.safetensors" in refused_out
    repo("add", "-A")
    repo.commit("retrain")

    verify = pre_commit(repo, "run", "modelseal-verify", "--hook-stage", "manual",
                        "--from-ref", "HEAD~1", "--to-ref", "HEAD", "--verbose")
    assert verify.returncode == 0, verify.stdout  # unsigned: a warning
    assert "modelseal: warning: models/bert: " in verify.stdout
    assert "all models verified" not in refused_out + stale.stdout + verify.stdout
    assert_not_loaded(marker)


# -- the GitHub Action --------------------------------------------------------------------


def _action_origin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The model repository of tests/action_project.py: a bare origin with a model."""
    from tests.action_project import Project, git

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
    shutil.copytree(REPO_ROOT / "examples" / "tiny-model", seed / "models" / "tiny")
    (seed / ".modelseal.yaml").write_text("version: 1\nmodels:\n  - models/tiny\n")
    subprocess.run([INSTALLED_MODELSEAL, "manifest"], cwd=seed, check=True,
                   capture_output=True)
    git(seed, "add", ".")
    git(seed, "commit", "--quiet", "-m", "add the tiny model")
    git(seed, "push", "--quiet", "origin", "HEAD:main")
    return Project(tmp_path, origin, env)


def _hostile_pull_request(project: Any, marker: Path, number: int) -> tuple[Path, Any]:
    """A PR that changes a weight (manifest left stale) and adds decoy packages."""
    from tests.action_project import REPO, git
    from tests.gha_runner import pull_request_event

    work = project.clone(f"contributor-{number}")
    git(work, "checkout", "--quiet", "-b", "change-weights")
    weights = work / "models" / "tiny" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-4] + b"\x01\x02\x03\x04")
    plant(work, marker, names=("modelseal", "pip", "venv"))
    git(work, "add", ".")
    git(work, "commit", "--quiet", "-m", "change")
    git(work, "push", "--quiet", "origin", f"HEAD:refs/pull/{number}/head")
    head = git(work, "rev-parse", "HEAD")
    workspace = project.clone(f"pr-{number}", ref=head)
    event = pull_request_event(REPO, number, project.head(), head)
    return workspace, event


def test_trust_action_installs_and_runs_the_installed_modelseal(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The real install path (venv, pip install from the action's directory), then
    verify and its child processes, in a workspace holding modelseal/, pip/, venv/."""
    from tests.action_project import VERIFY_ACTION
    from tests.gha_runner import CompositeRunner

    marker = tmp_path / "marker"
    project = _action_origin(tmp_path, monkeypatch)
    workspace, event = _hostile_pull_request(project, marker, 5)
    job = project.job("verify", workspace, "pull_request", event, ref="refs/pull/5/merge")
    result = CompositeRunner(job, VERIFY_ACTION).run({"comment": "false"})
    assert_not_loaded(marker)
    assert (job.temp / "modelseal-venv").is_dir()
    assert result.step("Install modelseal").outcome == "success", result.log
    step = result.step("Run modelseal")
    assert step.outcome == "failure", result.log
    assert "all models verified" not in result.log
    assert result.outputs["verified"] == "false"
    report = json.loads(Path(result.outputs["report-json"]).read_text())
    [model] = report["models"]
    assert model["path"] == "models/tiny"
    assert "model.safetensors" in json.dumps(model)
    assert "models/tiny" in result.summary


def test_trust_action_shortcut_and_sign_wrapper_run_the_installed_modelseal(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``MODELSEAL_ACTION_PYTHON`` (the interpreter given) for the root action's check
    and the sign wrapper, which must explain the missing OIDC token for real."""
    from tests.action_project import ROOT_ACTION, SHORTCUT, SIGN_ACTION
    from tests.gha_runner import CompositeRunner

    marker = tmp_path / "marker"
    project = _action_origin(tmp_path, monkeypatch)
    workspace, event = _hostile_pull_request(project, marker, 6)
    job = project.job("check", workspace, "pull_request", event, ref="refs/pull/6/merge")
    check = CompositeRunner(job, ROOT_ACTION).run({"command": "check"}, env=SHORTCUT)
    assert not check.succeeded
    assert "a manifest is missing or stale" in check.summary
    assert "model.safetensors" in check.step("Run modelseal").stdout

    sign = CompositeRunner(job, SIGN_ACTION).run({}, env=SHORTCUT)
    assert sign.step("Run modelseal").outcome == "failure", sign.log
    assert "keyless signing needs the workflow's OIDC token" in sign.step("Run modelseal").stdout
    assert "all models verified" not in check.log + sign.log
    assert_not_loaded(marker)


# -- the GitLab job -----------------------------------------------------------------------


def test_trust_gitlab_job_runs_the_installed_modelseal(tmp_path: Path) -> None:
    """The component's verify job under gitlab-ci-local, in a merge request whose head
    adds modelseal/ and pip/ packages and changes a weight without its manifest."""
    from tests import gitlab_project as gcl
    from tests.gitlab_helpers import git

    if gcl.GCL is None:
        pytest.skip("needs gitlab-ci-local 4.45.0 (npm) and rsync on PATH")
    marker = tmp_path / "marker"
    repo = tmp_path / "models"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "remote", "add", "origin", f"https://gitlab.com/{gcl.PROJECT}.git")
    shutil.copytree(REPO_ROOT / "examples" / "tiny-model", repo / gcl.MODEL)
    (repo / ".modelseal.yaml").write_text(f"version: 1\nmodels:\n  - {gcl.MODEL}\n")
    ci, component = gcl.pipeline_for_gitlab_ci_local()
    (repo / ".gitlab-ci.yml").write_text(ci)
    (repo / gcl.COMPONENT_FILE).parent.mkdir()
    (repo / gcl.COMPONENT_FILE).write_text(component)
    (repo / ".gitignore").write_text(".gitlab-ci-local/\nmodelseal-*\n")
    subprocess.run([INSTALLED_MODELSEAL, "manifest"], cwd=repo, check=True,
                   capture_output=True)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "model and its manifest")
    base = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "checkout", "-q", "-b", "feature")
    weights = repo / gcl.MODEL / "model.safetensors"
    weights.write_bytes(weights.read_bytes() + b"retrained")
    plant(repo, marker, names=("modelseal", "pip"))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "retrain, with a helper package")
    home = tmp_path / "gcl-home"
    home.mkdir()

    project = gcl.Project(repo, home, stack=cast(Any, None))
    variables = {"CI_PIPELINE_SOURCE": "merge_request_event", "CI_MERGE_REQUEST_IID": "7",
                 "CI_MERGE_REQUEST_DIFF_BASE_SHA": base, "CI_PROJECT_ID": gcl.PROJECT_ID,
                 "MODELSEAL_COMMENT": "false"}
    run = project.pipeline("modelseal-verify", variables=variables,
                           unset=("CI_COMMIT_BRANCH",))
    assert_not_loaded(marker)
    from modelseal import __version__

    assert f"modelseal {__version__}" in run.output  # `modelseal --version`: the real one
    assert run.result("modelseal-verify") == "FAIL 1", run.output
    assert "all models verified" not in run.output
    report = json.loads((repo / "modelseal-report.json").read_text())
    [model] = report["models"]
    assert model["path"] == gcl.MODEL and "model.safetensors" in json.dumps(model)


# -- the launcher and a static guard ------------------------------------------------------


@pytest.mark.parametrize("form", ["package", "module"])
def test_trust_launcher_runs_the_installed_modelseal_in_a_hostile_directory(
        tmp_path: Path, form: str) -> None:
    from modelseal import __version__
    from modelseal.launch import python_argv

    marker = tmp_path / "marker"
    plant(tmp_path, marker, form=form)
    done = subprocess.run([*python_argv(sys.executable), "--version"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and __version__ in done.stdout, done.stdout + done.stderr
    hooks = subprocess.run([*python_argv(sys.executable, "modelseal.hooks"), "check",
                            "--help"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert hooks.stdout.startswith("usage: modelseal hook check"), hooks.stdout + hooks.stderr
    assert_not_loaded(marker)


# A Python started on a module or a program: `python -m X`, `"$PY" -I -c ...`,
# `[sys.executable, "-m", ...]`; group 1 holds the flags before -m/-c.
_PYTHON_RUN = re.compile(r"""(?:python3?|"\$\w+"|\$\{?\w+\}?|sys\.executable)["',\s]*"""
                         r"""((?:-[A-Za-z]+["',\s]+)*)-([mc])\b""")


def _shipped_entry_points() -> dict[str, str]:
    """The text of every file an entry point is made of, including generated hooks."""
    from modelseal.init import HOOK_NAMES, hook_script

    paths = [REPO_ROOT / "action.yml", *sorted((REPO_ROOT / "actions").glob("*/action.yml")),
             *sorted((REPO_ROOT / "templates").glob("*.yml")),
             *sorted((REPO_ROOT / "hooks").iterdir()), REPO_ROOT / ".pre-commit-hooks.yaml",
             *sorted((REPO_ROOT / "examples" / "github").glob("*.yml")),
             *sorted((REPO_ROOT / "examples" / "gitlab").glob("*.yml")),
             *sorted((REPO_ROOT / "examples" / "gitlab").glob(".*.yml")),
             *sorted((REPO_ROOT / "src" / "modelseal" / "ci").glob("*.py")),
             REPO_ROOT / "src" / "modelseal" / "init.py"]
    texts = {str(path.relative_to(REPO_ROOT)): path.read_text(encoding="utf-8")
             for path in paths}
    for name in HOOK_NAMES:
        texts[f"install-hooks:{name}"] = hook_script(name, "/usr/bin/python3")
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    for index, block in enumerate(re.findall(r"^```yaml\n(.*?)^```", readme, re.M | re.S)):
        texts[f"README.md yaml block {index}"] = block  # workflows and jobs to copy
    return texts


def unsafe_python_runs(name: str, text: str) -> list[str]:
    """Lines of ``text`` starting Python with the current directory on sys.path: `-m`
    without isolated mode (-I), or `-c` with another program than the launcher's."""
    from modelseal.launch import program

    found = []
    for line in text.splitlines():
        if line.lstrip().startswith("#"):
            continue
        for match in _PYTHON_RUN.finditer(line):
            isolated = "-I" in re.findall(r"-[A-Za-z]+", match.group(1))
            launcher = program("modelseal.hooks").split(";")[1] in line[match.end():]
            if not (isolated or (match.group(2) == "c" and launcher)):
                found.append(f"{name}: {line.strip()}")
    return found


def test_trust_entry_points_never_run_python_on_the_working_directory() -> None:
    """Every start of Python in an entry point keeps the current directory (the
    repository under judgement) off sys.path."""
    texts = _shipped_entry_points()
    assert {"action.yml", "actions/sign/action.yml", "actions/verify/action.yml",
            "templates/modelseal.yml", "hooks/pre-commit", "hooks/post-merge",
            ".pre-commit-hooks.yaml", "src/modelseal/ci/commands.py"} <= set(texts)
    unsafe = [line for name, text in texts.items() for line in unsafe_python_runs(name, text)]
    assert not unsafe, "\n".join(unsafe)


def test_trust_static_guard_catches_the_old_invocations() -> None:
    """The guard finds each form the entry points used before the fix, and passes the
    safe ones."""
    for line in ('entry: python -m modelseal.hooks manifest',
                 '    exec "$INSTALL_PYTHON" -m modelseal.hooks manifest',
                 'run: \'"$MODELSEAL_PYTHON" -m modelseal action run\'',
                 '"$MODELSEAL_BASE_PYTHON" -m venv "$venv"',
                 '  - python -m pip install --quiet "${MODELSEAL_PIP_SPEC}"',
                 '  - python3 -c "import modelseal.cli"',
                 'proc = subprocess.run([sys.executable, "-m", "modelseal", *argv], cwd=cwd,'):
        assert unsafe_python_runs("old", line), line
    from modelseal.launch import shell_command

    for line in ('"$python" -I -m pip install "$MODELSEAL_SOURCE"',
                 "entry: python -I -m modelseal.hooks check",
                 f"exec {shell_command('INSTALL_PYTHON', 'modelseal.hooks')} verify"):
        assert not unsafe_python_runs("new", line), line


def test_trust_hooks_dir_falls_back_to_the_console_script() -> None:
    for name in ("pre-commit", "post-merge"):
        text = (REPO_ROOT / "hooks" / name).read_text()
        assert re.search(r"^\s+exec modelseal hook \w+$", text, re.M), name
    assert os.access(INSTALLED_MODELSEAL, os.X_OK)
