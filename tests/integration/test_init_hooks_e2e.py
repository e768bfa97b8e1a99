"""The hook configuration `modelseal init` writes, driven unedited by the real pre-commit
and prek in a real repository, offline (`repo: local` runs the installed modelseal)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
import yaml

from modelseal.init import LOCAL_HOOKS
from tests.git_helpers import (
    REPO_ROOT,
    Git,
    add_model,
    git_home_fixture,  # noqa: F401 (fixture)
    repo_fixture,  # noqa: F401 (fixture)
)

PREK = shutil.which("prek", path=str(Path(sys.executable).parent))
FRAMEWORKS = {"pre-commit": [sys.executable, "-m", "pre_commit"], "prek": [str(PREK)]}


def _framework(name: str) -> list[str]:
    if name == "prek" and PREK is None:
        pytest.fail("prek is not installed (pip install prek; the test extra has it)")
    return FRAMEWORKS[name]


def _init_repo(repo: Git, framework: str, tmp_path: Path) -> list[str]:
    repo.env["PRE_COMMIT_HOME"] = str(tmp_path / "pc-home")
    repo.env["PREK_HOME"] = str(tmp_path / "prek-home")
    add_model(repo, "models/bert")
    add_model(repo, "models/gpt")
    init = repo.modelseal("init", "--write-precommit")
    assert init.returncode == 0, init.stdout + init.stderr
    tool = _framework(framework)
    installed = repo.run([*tool, "install"], check=False)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return tool


@pytest.mark.parametrize("framework", ["pre-commit", "prek"])
def test_generated_config_works_on_first_use(repo: Git, tmp_path: Path, framework: str) -> None:
    tool = _init_repo(repo, framework, tmp_path)
    hooks = repo.path / ".git" / "hooks"
    assert (hooks / "pre-commit").is_file() and (hooks / "post-merge").is_file()
    assert not (hooks / "post-checkout").exists()
    repo("add", "-A")
    first = repo.commit("models", check=False)
    assert first.returncode != 0
    output = first.stdout + first.stderr
    assert "git add models/bert/model.manifest.json models/gpt/model.manifest.json" in output
    repo("add", "-A")
    second = repo.commit("models", check=False)
    assert second.returncode == 0, second.stdout + second.stderr
    repo.write("models/gpt/model.safetensors", b"edited weights")
    repo("add", "-A")
    edited = repo.commit("edit", check=False)
    assert edited.returncode != 0
    assert "~ modified  model.safetensors" in edited.stdout + edited.stderr
    # the README's CI command runs the read-only check of every model
    repo("checkout", "-q", "--", ".")
    repo("reset", "-q", "--hard")
    ci = repo.run([*tool, "run", "modelseal-check", "--all-files", "--hook-stage", "manual"],
                  check=False)
    assert ci.returncode == 0, ci.stdout + ci.stderr
    repo.write("models/bert/config.json", "{}")
    stale = repo.run([*tool, "run", "modelseal-check", "--all-files", "--hook-stage",
                      "manual"], check=False)
    assert stale.returncode == 1 and "config.json" in stale.stdout + stale.stderr


@pytest.mark.parametrize("framework", ["pre-commit", "prek"])
def test_a_warning_is_never_a_bare_passed(repo: Git, tmp_path: Path, framework: str) -> None:
    """A verify hook with no trusted signer passes, but says why it could not verify."""
    tool = _init_repo(repo, framework, tmp_path)
    repo("add", "-A")
    repo.commit("models", check=False)
    repo("add", "-A")
    repo.commit("models")
    result = repo.run([*tool, "run", "modelseal-verify", "--hook-stage", "manual",
                       "--all-files"], check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Passed" in output and "models/bert: unsigned: no signature" in output
    assert "2 models unsigned (a warning" in output


def test_local_hooks_match_the_published_definitions() -> None:
    published = {hook["id"]: hook for hook in
                 yaml.safe_load((REPO_ROOT / ".pre-commit-hooks.yaml").read_text())}
    for local in LOCAL_HOOKS:
        hook = published[local["id"]]
        for key, value in local.items():
            if key in ("entry", "language", "stages"):
                continue
            assert hook.get(key) == value, (local["id"], key)
        assert set(local["stages"]) <= set(hook["stages"])
        assert local["entry"].split()[:2] == ["modelseal", "hook"]
        assert local["entry"].split()[2] == hook["entry"].split()[-1]


def test_post_checkout_hook_leaves_file_checkouts_alone(repo: Git) -> None:
    """`git checkout --theirs FILE` during a merge succeeds; a branch switch verifies."""
    add_model(repo, "models/bert")
    repo.write(".modelseal.yaml", "models:\n  - models/bert\n")
    repo("add", "-A")
    repo.commit("base")
    installed = repo.modelseal("install-hooks", "--hook", "post-checkout")
    assert installed.returncode == 0, installed.stdout + installed.stderr
    repo("checkout", "-q", "-b", "other")
    repo.write("notes.txt", "theirs\n")
    repo("add", "-A")
    repo.commit("theirs")
    repo.write("models/bert/config.json", '{"changed": true}')
    repo("add", "-A")
    repo.commit("model changed on a branch")
    switched = repo("checkout", "main")
    assert "models/bert" in switched.stdout + switched.stderr  # verified on the switch
    repo.write("notes.txt", "ours\n")
    repo("add", "-A")
    repo.commit("ours")
    assert repo("merge", "other", check=False).returncode != 0  # a conflict on notes.txt
    theirs = repo("checkout", "--theirs", "notes.txt", check=False)
    assert theirs.returncode == 0, theirs.stdout + theirs.stderr
    assert "modelseal" not in theirs.stdout + theirs.stderr
    assert (repo.path / "notes.txt").read_text() == "theirs\n"
