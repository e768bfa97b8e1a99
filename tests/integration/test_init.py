"""`modelseal init` and `modelseal install-hooks`: find models, write config, set hooks up."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from modelseal.config import load_config
from modelseal.errors import UsageError
from modelseal.init import (
    config_text,
    find_models,
    hook_script,
    merge_precommit,
    precommit_config,
)
from modelseal.weights import is_weight_file
from tests.conftest import run_modelseal
from tests.git_helpers import (
    Git,
    git_home_fixture,  # noqa: F401 (fixture)
    repo_fixture,  # noqa: F401 (fixture)
)


def _touch(root: Path, *names: str) -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"\0")


@pytest.mark.parametrize("name", ["model.safetensors", "m.GGUF", "x.onnx", "pytorch_model.bin",
                                  "a.pt", "a.pth", "a.ckpt", "a.h5", "a.tflite", "a.mlmodel",
                                  "a.keras", "model.safetensors.index.json",
                                  "pytorch_model.bin.index.json"])
def test_weight_files(name: str) -> None:
    assert is_weight_file(name)


@pytest.mark.parametrize("name", ["config.json", "index.json", "README.md", "x.safetensors.txt"])
def test_not_weight_files(name: str) -> None:
    assert not is_weight_file(name)


def test_find_models(tmp_path: Path) -> None:
    _touch(tmp_path, "models/bert/model.safetensors", "models/bert/onnx/model.onnx",
           "models/llama/model.safetensors.index.json", "other/gguf/q4.gguf",
           "docs/readme.md", ".hidden/x.bin", "node_modules/p/x.pt", "env/pyvenv.cfg",
           "env/lib/x.pt")
    assert find_models(tmp_path) == ["models/bert", "models/llama", "other/gguf"]


def test_a_model_at_the_root_is_the_root(tmp_path: Path) -> None:
    _touch(tmp_path, "model.safetensors", "config.json", "sub/x.onnx")
    assert find_models(tmp_path) == ["."]
    text = config_text(["."])
    (tmp_path / ".modelseal.yaml").write_text(text)
    [entry] = load_config(tmp_path / ".modelseal.yaml").models
    assert entry.path.resolve() == tmp_path.resolve()
    assert set(entry.options.ignore) == {".modelseal.yaml", ".pre-commit-config.yaml"}


def test_init_writes_a_valid_config_and_is_idempotent(tmp_path: Path) -> None:
    _touch(tmp_path, "models/a/model.safetensors", "models/b c/w.gguf", "models/docs/x.md")
    first = run_modelseal(["init"], cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert ".modelseal.yaml: wrote it, tracking 2 models:" in first.stdout
    assert "- id: modelseal-manifest" in first.stdout  # the hook config is printed
    config = load_config(tmp_path / ".modelseal.yaml")
    assert [e.path.name for e in config.models] == ["a", "b c"]  # models/docs is no model
    before = (tmp_path / ".modelseal.yaml").read_bytes()
    _touch(tmp_path, "models/late/x.onnx")
    second = run_modelseal(["init"], cwd=tmp_path)
    assert second.returncode == 0
    assert ".modelseal.yaml: exists, left as it is" in second.stdout
    assert "models/late holds model files but is not listed" in second.stdout
    assert (tmp_path / ".modelseal.yaml").read_bytes() == before
    assert not (tmp_path / ".pre-commit-config.yaml").exists()


def test_init_writes_a_glob_where_every_sibling_is_a_model(tmp_path: Path) -> None:
    """A model added later under models/ is tracked without editing the config."""
    _touch(tmp_path, "models/a/model.safetensors", "models/b/w.gguf", "single/m.onnx")
    first = run_modelseal(["init"], cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "(as models/*/:" in first.stdout
    assert yaml.safe_load((tmp_path / ".modelseal.yaml").read_text())["models"] == \
        ["models/*/", "single"]
    _touch(tmp_path, "models/late/x.onnx", "models/README.md")
    config = load_config(tmp_path / ".modelseal.yaml")
    assert [e.path.resolve().name for e in config.models] == ["a", "b", "late", "single"]
    second = run_modelseal(["init"], cwd=tmp_path)
    assert "not listed" not in second.stdout


def test_init_without_models_writes_nothing(tmp_path: Path) -> None:
    result = run_modelseal(["init", str(tmp_path)])
    assert result.returncode == 1
    assert "no model files found" in result.stdout
    assert not (tmp_path / ".modelseal.yaml").exists()


def test_write_precommit_creates_then_leaves_the_config(tmp_path: Path) -> None:
    _touch(tmp_path, "m/model.safetensors")
    result = run_modelseal(["init", "--write-precommit"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    text = (tmp_path / ".pre-commit-config.yaml").read_text()
    data = yaml.safe_load(text)
    assert data["default_install_hook_types"] == ["pre-commit", "post-merge", "pre-push"]
    [repo] = data["repos"]
    assert repo["repo"] == "local" and "rev" not in repo  # runs the installed modelseal
    assert [h["id"] for h in repo["hooks"]] == ["modelseal-manifest", "modelseal-check",
                                                "modelseal-verify"]
    assert {h["language"] for h in repo["hooks"]} == {"system"}
    again = run_modelseal(["init", "--write-precommit"], cwd=tmp_path)
    assert "already has the modelseal hooks, left as it is" in again.stdout
    assert (tmp_path / ".pre-commit-config.yaml").read_text() == text


def test_remote_form_pins_the_installed_version(tmp_path: Path) -> None:
    from modelseal import __version__

    _touch(tmp_path, "m/model.safetensors")
    result = run_modelseal(["init", "--write-precommit", "--remote"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    [repo] = yaml.safe_load((tmp_path / ".pre-commit-config.yaml").read_text())["repos"]
    assert repo["repo"] == "https://github.com/modelseal/modelseal"
    assert repo["rev"] == f"v{__version__}"
    custom = run_modelseal(["init", "--remote", "--hooks-repo", "https://git.example/h",
                            "--rev", "v9"], cwd=tmp_path)
    assert "- repo: https://git.example/h" in custom.stdout and "rev: v9" in custom.stdout
    wrong = run_modelseal(["init", "--rev", "v9"], cwd=tmp_path)
    assert wrong.returncode == 2 and "add --remote" in wrong.stderr


EXISTING = """\
# my hooks
default_stages: [pre-commit]
repos:
-   repo: https://github.com/pre-commit/pre-commit-hooks
    rev: v5.0.0
    hooks:
    -   id: trailing-whitespace  # keep me
# a comment between keys
ci:
    autofix_prs: false
"""


def test_merge_keeps_comments_layout_and_other_keys() -> None:
    merged = merge_precommit(EXISTING, "https://github.com/modelseal/modelseal", rev="v1")
    assert merged.startswith(EXISTING.split("# a comment")[0])
    assert "# keep me" in merged and merged.endswith("ci:\n    autofix_prs: false\n")
    data = yaml.safe_load(merged)
    assert [r["repo"] for r in data["repos"]] == [
        "https://github.com/pre-commit/pre-commit-hooks", "https://github.com/modelseal/modelseal"]
    assert data["ci"] == {"autofix_prs": False}
    assert "\n-   repo: https://github.com/modelseal/modelseal\n" not in merged  # own indent ok
    assert merge_precommit(merged) == merged


@pytest.mark.parametrize("text", ["", "repos: []\n", "default_stages: [pre-commit]\n",
                                  "repos:\n  - repo: local\n    hooks: []\n"])
def test_merge_into_small_configs(text: str) -> None:
    merged = merge_precommit(text)
    data = yaml.safe_load(merged)
    assert data["repos"][-1]["hooks"][0]["id"] == "modelseal-manifest"


def test_merge_refuses_inline_repos() -> None:
    with pytest.raises(UsageError, match="add the modelseal hooks by hand"):
        merge_precommit("repos: [{repo: local, hooks: []}]\n")


@pytest.mark.parametrize("hooks_repo", [None, "https://github.com/modelseal/modelseal"])
def test_whole_config_is_valid_for_pre_commit(tmp_path: Path, hooks_repo: str | None) -> None:
    from pre_commit.clientlib import load_config as load_precommit

    path = tmp_path / ".pre-commit-config.yaml"
    path.write_text(precommit_config(hooks_repo))
    load_precommit(str(path))  # raises on an invalid config
    merged = yaml.safe_load(merge_precommit(EXISTING, hooks_repo))
    assert merged["repos"][-1]["repo"] == (hooks_repo or "local")


# -- install-hooks -----------------------------------------------------------------


def test_install_hooks_installs_both_and_is_idempotent(repo: Git) -> None:
    first = repo.modelseal("install-hooks")
    assert first.returncode == 0, first.stderr
    assert ".git/hooks/pre-commit: installed" in first.stdout
    assert ".git/hooks/post-merge: installed" in first.stdout
    hook = repo.path / ".git/hooks/pre-commit"
    assert os.access(hook, os.X_OK)
    assert hook.read_text().startswith("#!/bin/sh\n# modelseal-hook: pre-commit")
    second = repo.modelseal("install-hooks")
    assert second.stdout.count("already installed, unchanged") == 2


def test_install_hooks_keeps_a_foreign_hook_unless_forced(repo: Git) -> None:
    hook = repo.path / ".git/hooks/pre-commit"
    hook.parent.mkdir(parents=True, exist_ok=True)
    hook.write_text("#!/bin/sh\necho mine\n")
    kept = repo.modelseal("install-hooks", "--hook", "pre-commit")
    assert kept.returncode == 1
    assert "exists and was written by another tool, left as it is" in kept.stdout
    assert "--force" in kept.stdout
    assert hook.read_text() == "#!/bin/sh\necho mine\n"
    forced = repo.modelseal("install-hooks", "--hook", "pre-commit", "--force")
    assert forced.returncode == 0
    assert "replaced (the previous hook is now .git/hooks/pre-commit.pre-modelseal)" \
        in forced.stdout
    assert (repo.path / ".git/hooks/pre-commit.pre-modelseal").read_text() == \
        "#!/bin/sh\necho mine\n"
    assert not (repo.path / ".git/hooks/post-merge").exists()


def test_a_pre_commit_framework_hook_is_named(repo: Git) -> None:
    hook = repo.path / ".git/hooks/pre-commit"
    hook.parent.mkdir(parents=True, exist_ok=True)
    hook.write_text("#!/usr/bin/env bash\n# File generated by pre-commit: https://pre-commit.com\n"
                    "INSTALL_PYTHON=/usr/bin/python3\n")
    result = repo.modelseal("install-hooks", "--hook", "pre-commit")
    assert "exists and was written by pre-commit, left as it is" in result.stdout


def test_installed_hook_runs_on_a_real_commit(repo: Git) -> None:
    from tests.git_helpers import add_model, configure

    assert repo.modelseal("install-hooks").returncode == 0
    add_model(repo, "models/bert")
    configure(repo, ["models/bert"])
    repo("add", "-A")
    refused = repo.commit("first", check=False)
    assert refused.returncode != 0
    assert "models/bert: created models/bert/model.manifest.json" in refused.stderr  # git's
    assert "git add models/bert/model.manifest.json" in refused.stderr
    repo("add", "models/bert/model.manifest.json")
    repo.commit("first")
    (repo.path / "models/bert/model.safetensors").write_bytes(b"tampered")
    repo("add", "-A")
    again = repo.commit("second", check=False)
    assert again.returncode != 0 and "~ modified  model.safetensors" in again.stderr


def test_install_hooks_outside_git(tmp_path: Path) -> None:
    result = run_modelseal(["install-hooks"], cwd=tmp_path)
    assert result.returncode == 2
    assert "not inside a git repository" in result.stderr


def test_hook_script_without_modelseal_fails_the_commit_only() -> None:
    assert hook_script("pre-commit").rstrip().endswith("exit 1")
    assert hook_script("post-merge").rstrip().endswith("exit 0")
