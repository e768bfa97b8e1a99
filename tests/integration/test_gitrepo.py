"""gitrepo: repository root, staged and committed changes, base..head comparisons."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelseal.config import HashOptions
from modelseal.errors import UsageError
from modelseal.gitrepo import (
    Change,
    compare_revisions,
    find_repo_root,
    open_repo,
    touched_models,
)
from modelseal.targets import ModelTarget
from tests.git_helpers import (
    Git,
    add_model,
    configure,
    git_home_fixture,  # noqa: F401 (fixture)
    repo_fixture,  # noqa: F401 (fixture)
)


def _target(repo: Git, relative: str) -> ModelTarget:
    return ModelTarget(repo.path / relative, HashOptions())


def _commit_with_manifests(repo: Git, message: str) -> str:
    repo("add", "-A")
    repo.modelseal("hook", "manifest", "--all")
    repo("add", "-A")
    repo.commit(message)
    return repo("rev-parse", "HEAD").stdout.strip()


def test_root_is_found_from_a_subdirectory(repo: Git, tmp_path: Path) -> None:
    (repo.path / "a" / "b").mkdir(parents=True)
    assert find_repo_root(repo.path / "a" / "b") == repo.path.resolve()
    outside = tmp_path / "outside"
    outside.mkdir()
    assert find_repo_root(outside) is None
    with pytest.raises(UsageError, match="not inside a git repository"), open_repo(outside):
        pass


def test_staged_changes_include_deletions_before_and_after_the_first_commit(repo: Git) -> None:
    repo.write("a.txt", "a")
    repo.write("dir with space/ü.bin", b"\0")
    repo("add", "-A")
    with open_repo(repo.path) as git:
        assert git.staged_changes() == [Change("A", "a.txt"), Change("A", "dir with space/ü.bin")]
    repo.commit()
    repo("rm", "-q", "a.txt")
    repo("mv", "dir with space/ü.bin", "moved.bin")
    repo.write("untracked.txt", "x")  # not staged: not a change of the commit
    with open_repo(repo.path) as git:
        assert git.staged_changes() == [Change("D", "a.txt"), Change("D", "dir with space/ü.bin"),
                                        Change("A", "moved.bin")]


def test_unstaged_lists_untracked_and_modified_files(repo: Git) -> None:
    repo.write("staged.json", "1")
    repo.write("modified.json", "1")
    repo("add", "-A")
    repo.commit()
    repo.write("staged.json", "2")
    repo("add", "staged.json")
    repo.write("modified.json", "2")
    repo.write("new.json", "1")
    with open_repo(repo.path) as git:
        assert sorted(git.unstaged(["staged.json", "modified.json", "new.json"])) == \
            ["modified.json", "new.json"]
        assert git.unstaged([]) == []


def test_paths_are_literal_not_globs(repo: Git) -> None:
    repo.write("a*.json", "1")
    repo.write("ab.json", "1")
    with open_repo(repo.path) as git:
        assert git.unstaged(["a*.json"]) == ["a*.json"]


def test_lfs_tracked_reads_gitattributes(repo: Git) -> None:
    repo.write(".gitattributes", "*.safetensors filter=lfs diff=lfs merge=lfs -text\n")
    with open_repo(repo.path) as git:
        assert git.lfs_tracked(["m/a.safetensors", "m/b.bin"]) == {"m/a.safetensors"}


def test_hooks_dir_respects_core_hooks_path(repo: Git) -> None:
    with open_repo(repo.path) as git:
        assert git.hooks_dir() == repo.path.resolve() / ".git" / "hooks"
    repo("config", "core.hooksPath", ".githooks")
    with open_repo(repo.path) as git:
        assert git.hooks_dir() == repo.path.resolve() / ".githooks"


def test_touched_models(repo: Git) -> None:
    add_model(repo, "models/a")
    add_model(repo, "models/ab")
    repo.write("single.gguf", b"\0")
    targets = [_target(repo, "models/a"), _target(repo, "models/ab"),
               _target(repo, "single.gguf")]
    found = touched_models(repo.path, ["models/a/config.json", "single.gguf.manifest.json"],
                           targets)
    assert [t.path.name for t in found] == ["a", "single.gguf"]
    assert touched_models(repo.path, ["models/abc"], targets) == []
    root = ModelTarget(repo.path, HashOptions())
    assert touched_models(repo.path, ["anything"], [root]) == [root]


def test_compare_revisions_reports_each_changed_model_with_sizes(repo: Git) -> None:
    for model in ("models/a", "models/b", "models/c"):
        add_model(repo, model)
    configure(repo, ["models/a", "models/b", "models/c"])
    base = _commit_with_manifests(repo, "base")
    repo("checkout", "-q", "-b", "feature")
    repo.write("models/a/model.safetensors", b"\1" * 5000)
    repo("rm", "-q", "models/a/README.md")
    repo.write("models/a/extra.txt", "extra\n")
    repo("mv", "models/b/tokenizer.json", "models/b/tok.json")
    add_model(repo, "models/new")
    configure(repo, ["models/a", "models/b", "models/c", "models/new"])
    _commit_with_manifests(repo, "feature")

    targets = [_target(repo, m) for m in ("models/a", "models/b", "models/c", "models/new")]
    changes = {c.path: c for c in compare_revisions(repo.path, targets, "main", "feature")}
    assert sorted(changes) == ["models/a", "models/b", "models/new"]
    a = changes["models/a"]
    assert a.diff.modified == ("model.safetensors",)
    assert a.diff.removed == ("README.md",)
    assert a.diff.added == ("extra.txt",)
    assert a.head_sizes["model.safetensors"] == 5000
    assert a.base_sizes["model.safetensors"] == (repo.path / "models/c/model.safetensors"
                                                 ).stat().st_size
    assert a.diff.to_json()["removed"] == [{"path": "README.md", "size": 454}]
    assert changes["models/b"].diff.renamed == (("tokenizer.json", "tok.json"),)
    new = changes["models/new"]
    assert new.base is None and new.head is not None and new.changed
    assert len(new.diff.added) == 4

    everything = compare_revisions(repo.path, targets, base, "feature", only_changed=False)
    assert [c.path for c in everything] == ["models/a", "models/b", "models/c", "models/new"]
    assert not everything[2].changed and everything[2].diff.empty


def test_compare_uses_the_merge_base(repo: Git) -> None:
    add_model(repo, "models/a")
    add_model(repo, "models/b")
    configure(repo, ["models/a", "models/b"])
    _commit_with_manifests(repo, "base")
    repo("checkout", "-q", "-b", "feature")
    repo.write("models/a/config.json", "{}\n")
    _commit_with_manifests(repo, "feature")
    repo("checkout", "-q", "main")
    repo.write("models/b/config.json", "{}\n")
    _commit_with_manifests(repo, "main moved on")
    targets = [_target(repo, "models/a"), _target(repo, "models/b")]
    pr = compare_revisions(repo.path, targets, "main", "feature")
    assert [c.path for c in pr] == ["models/a"]  # what the branch changed, not main
    direct = compare_revisions(repo.path, targets, "main", "feature", merge_base=False)
    assert [c.path for c in direct] == ["models/a", "models/b"]


def test_a_removed_model_lists_every_file_as_removed(repo: Git) -> None:
    add_model(repo, "models/a")
    configure(repo, ["models/a"])
    base = _commit_with_manifests(repo, "base")
    target = _target(repo, "models/a")
    repo("rm", "-r", "-q", "models/a")
    repo.commit("drop the model")
    [gone] = compare_revisions(repo.path, [target], base, "HEAD")
    assert gone.head is None
    assert len(gone.diff.removed) == 4


def test_unknown_revisions_are_a_usage_error(repo: Git) -> None:
    repo.write("a", "a")
    repo("add", "-A")
    repo.commit()
    with pytest.raises(UsageError, match="unknown revision 'nope'"):
        compare_revisions(repo.path, [], "nope")


def test_a_failing_git_command_is_one_clear_error(repo: Git) -> None:
    from modelseal.gitrepo import GitFailed

    repo.write("a", "a")
    repo("add", "-A")
    repo.commit()
    with open_repo(repo.path) as git, pytest.raises(GitFailed) as caught:
        git.changes_between("HEAD", "no-such-branch")
    assert "`git diff` failed" in str(caught.value)
    assert "no-such-branch" in str(caught.value) and caught.value.exit_code == 2
    result = repo.modelseal("hook", "verify", "--from-ref", "HEAD", "--to-ref", "nope")
    assert result.returncode == 2
    assert result.stderr.startswith("modelseal: error: `git diff` failed")
    assert "Traceback" not in result.stderr
