"""The hook entry points (`modelseal hook manifest|check`) on real git repositories."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from modelseal import hooks
from tests.conftest import REPO_ROOT
from tests.git_helpers import (
    Git,
    add_model,
    configure,
    git_home_fixture,  # noqa: F401 (fixture)
    repo_fixture,  # noqa: F401 (fixture)
)


def _committed_models(repo: Git, *models: str) -> None:
    """Models with their manifests, committed."""
    for model in models:
        add_model(repo, model)
    configure(repo, models)
    repo("add", "-A")
    assert repo.modelseal("hook", "manifest").returncode == 1
    repo("add", "-A")
    assert repo.modelseal("hook", "manifest").returncode == 0
    repo.commit("models")


def test_first_commit_creates_the_manifest_and_fails_then_passes(repo: Git) -> None:
    add_model(repo, "models/bert")
    configure(repo, ["models/bert"])
    repo("add", "-A")
    first = repo.modelseal("hook", "manifest")
    assert first.returncode == 1, first.stderr
    assert "models/bert: created models/bert/model.manifest.json (4 files)" in first.stdout
    assert "git add models/bert/model.manifest.json" in first.stdout
    assert (repo.path / "models/bert/model.manifest.json").is_file()
    again = repo.modelseal("hook", "manifest")
    assert again.returncode == 1  # written but not staged: the commit would miss it
    assert "up to date but not staged" in again.stdout
    repo("add", "models/bert/model.manifest.json")
    passed = repo.modelseal("hook", "manifest")
    assert passed.returncode == 0, passed.stdout
    assert passed.stdout == ""


def test_editing_a_weight_file_fails_naming_it(repo: Git) -> None:
    _committed_models(repo, "models/bert")
    with open(repo.path / "models/bert/model.safetensors", "ab") as stream:
        stream.write(b"\0" * 10)
    repo("add", "-A")
    result = repo.modelseal("hook", "manifest")
    assert result.returncode == 1
    assert "models/bert: updated models/bert/model.manifest.json:" in result.stdout
    assert "~ modified  model.safetensors" in result.stdout


@pytest.mark.parametrize(("change", "expected"), [
    (lambda r: r("rm", "-q", "models/bert/config.json"), "- removed   config.json"),
    (lambda r: r("mv", "models/bert/tokenizer.json", "models/bert/tok.json"),
     "> renamed   tokenizer.json -> tok.json"),
    (lambda r: (r.write("models/bert/extra.bin", b"x" * 100), r("add", "-A")),
     "+ added     extra.bin (100 B)"),
])
def test_deletions_renames_and_additions_are_reported(repo: Git, change: object,
                                                      expected: str) -> None:
    _committed_models(repo, "models/bert")
    change(repo)  # type: ignore[operator]
    result = repo.modelseal("hook", "manifest")
    assert result.returncode == 1
    assert expected in result.stdout
    assert result.stdout.count("models/bert: updated") == 1


def test_a_deletion_alone_is_found_from_the_index(repo: Git) -> None:
    # pre-commit never passes deleted files; the hook reads the staged changes itself
    _committed_models(repo, "models/bert")
    repo("rm", "-q", "models/bert/README.md")
    result = repo.modelseal("hook", "manifest", ".modelseal.yaml")
    assert result.returncode == 1
    assert "- removed   README.md" in result.stdout


def test_two_models_in_one_commit(repo: Git) -> None:
    _committed_models(repo, "models/a", "models/b", "models/c")
    for model in ("models/a", "models/b"):
        repo.write(f"{model}/config.json", '{"changed": true}\n')
    repo("add", "-A")
    result = repo.modelseal("hook", "manifest")
    assert result.returncode == 1
    assert "models/a: updated" in result.stdout and "models/b: updated" in result.stdout
    assert "models/c" not in result.stdout
    assert ("git add models/a/model.manifest.json models/b/model.manifest.json"
            in result.stdout)


def test_a_change_outside_every_model_does_nothing(repo: Git) -> None:
    _committed_models(repo, "models/bert")
    repo.write("README.md", "hello\n")
    repo("add", "-A")
    result = repo.modelseal("hook", "manifest", "README.md")
    assert (result.returncode, result.stdout) == (0, "")


def test_models_without_config_are_found_by_their_manifest(repo: Git) -> None:
    model = add_model(repo, "weights/m")
    assert repo.modelseal("manifest", "weights/m").returncode == 0
    repo("add", "-A")
    repo.commit()
    (model / "config.json").write_text("{}\n")
    repo("add", "-A")
    result = repo.modelseal("hook", "manifest", "weights/m/config.json")
    assert result.returncode == 1
    assert "weights/m: updated" in result.stdout


def test_check_is_read_only_and_shows_the_diff(repo: Git) -> None:
    _committed_models(repo, "models/bert")
    repo.write("models/bert/config.json", "{}\n")
    repo("add", "-A")
    manifest = repo.path / "models/bert/model.manifest.json"
    before = manifest.read_bytes()
    result = repo.modelseal("hook", "check", "models/bert/config.json")
    assert result.returncode == 1
    assert "models/bert: manifest is stale (1 file differs):" in result.stdout
    assert "~ modified  config.json" in result.stdout
    assert "modelseal manifest models/bert && git add models/bert/model.manifest.json" \
        in result.stdout
    assert manifest.read_bytes() == before


def test_check_fails_when_the_manifest_is_missing(repo: Git) -> None:
    add_model(repo, "models/bert")
    configure(repo, ["models/bert"])
    repo("add", "-A")
    result = repo.modelseal("hook", "check")
    assert result.returncode == 1
    assert "no manifest (models/bert/model.manifest.json is missing)" in result.stdout
    assert not (repo.path / "models/bert/model.manifest.json").exists()


def test_all_checks_every_configured_model(repo: Git) -> None:
    _committed_models(repo, "models/a", "models/b")
    (repo.path / "models/b/README.md").write_text("changed\n")  # not staged
    result = repo.modelseal("hook", "check", "--all")
    assert result.returncode == 1
    assert "models/b: manifest is stale" in result.stdout


def test_a_conflicted_manifest_is_regenerated_with_a_clear_message(repo: Git) -> None:
    _committed_models(repo, "models/bert")
    repo("checkout", "-q", "-b", "other")
    repo.write("models/bert/config.json", '{"side": "other"}\n')
    repo("add", "-A")
    repo.modelseal("hook", "manifest")
    repo("add", "-A")
    repo.commit("other")
    repo("checkout", "-q", "main")
    repo.write("models/bert/config.json", '{"side": "main"}\n')
    repo("add", "-A")
    repo.modelseal("hook", "manifest")
    repo("add", "-A")
    repo.commit("main")
    assert repo("merge", "-q", "other", check=False).returncode != 0
    repo.write("models/bert/config.json", '{"side": "both"}\n')
    repo("add", "models/bert/config.json")

    check = repo.modelseal("check", "models/bert")
    assert check.returncode == 2
    assert "manifest has a merge conflict" in check.stderr and "Traceback" not in check.stderr
    hook_check = repo.modelseal("hook", "check")
    assert hook_check.returncode == 1
    assert "manifest has a merge conflict" in hook_check.stdout

    fixed = repo.modelseal("hook", "manifest")
    assert fixed.returncode == 1
    assert "had a merge conflict; regenerated it from the files" in fixed.stdout
    repo("add", "-A")
    assert repo.modelseal("hook", "manifest").returncode == 0
    repo("commit", "-q", "--no-edit")


def test_large_weight_not_tracked_by_lfs_gets_a_warning(repo: Git) -> None:
    add_model(repo, "models/bert")
    configure(repo, ["models/bert"], "lfs:\n  warn_size: 1000\n")
    repo("add", "-A")
    result = repo.modelseal("hook", "manifest")
    assert "models/bert/model.safetensors is 3.6 KiB and not tracked by Git LFS" in result.stderr
    assert "*.safetensors filter=lfs diff=lfs merge=lfs -text" in result.stderr
    assert "tokenizer.json is" in result.stderr  # a big file inside a model counts too
    assert "README.md is" not in result.stderr  # small
    repo.write(".gitattributes", "*.safetensors filter=lfs diff=lfs merge=lfs -text\n"
                                 "*.json filter=lfs diff=lfs merge=lfs -text\n")
    tracked = repo.modelseal("hook", "manifest")
    assert "not tracked by Git LFS" not in tracked.stderr


def test_a_config_error_is_one_line_and_exit_2(repo: Git) -> None:
    repo.write(".modelseal.yaml", "models:\n  - missing\n")
    result = repo.modelseal("hook", "manifest")
    assert result.returncode == 2
    assert result.stderr.startswith("modelseal: error: ") and result.stderr.count("\n") == 1


# -- once per model per pre-commit run ---------------------------------------------


def _hook_process(repo: Git, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "modelseal", "hook", *args], cwd=repo.path,
                            env={**repo.env, "PRE_COMMIT": "1"}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_split_calls_of_one_run_handle_each_model_once(repo: Git) -> None:
    for model in ("models/a", "models/b"):
        add_model(repo, model)
    configure(repo, ["models/a", "models/b"])
    repo("add", "-A")
    # as pre-commit does with a long list: several calls, the same parent, in parallel
    calls = [_hook_process(repo, "manifest", "models/a/README.md", "models/b/README.md"),
             _hook_process(repo, "manifest", "models/a/config.json"),
             _hook_process(repo, "manifest", "models/b/config.json", "models/a/x")]
    outputs = [call.communicate(timeout=120) for call in calls]
    stdout = "".join(out for out, _ in outputs)
    assert stdout.count("models/a: created") == 1, stdout
    assert stdout.count("models/b: created") == 1, stdout
    assert "not staged" not in stdout
    add_lines = [line for line in stdout.splitlines() if line.startswith("  git add ")]
    assert sorted(" ".join(add_lines).split()[2:].count(f"models/{m}/model.manifest.json")
                  for m in "ab") == [1, 1], stdout
    assert {call.returncode for call in calls} <= {0, 1}
    assert 1 in {call.returncode for call in calls}
    record = json.loads((repo.path / ".git/modelseal/hook-session-manifest.json").read_text())
    assert record["done"] == ["<untracked weights>", "models/a", "models/b"]


def test_a_new_run_handles_the_models_again(repo: Git) -> None:
    _committed_models(repo, "models/a")
    record = repo.path / ".git/modelseal/hook-session-manifest.json"
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps({"id": "1:2", "started": 0, "done": ["models/a"]}))
    repo.write("models/a/config.json", "{}\n")
    repo("add", "-A")
    call = _hook_process(repo, "manifest")
    out, _ = call.communicate(timeout=120)
    assert call.returncode == 1 and "models/a: updated" in out


def test_outside_pre_commit_every_call_does_the_work(repo: Git, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    add_model(repo, "models/a")
    configure(repo, ["models/a"])
    repo("add", "-A")
    monkeypatch.chdir(repo.path)
    monkeypatch.delenv("PRE_COMMIT", raising=False)
    assert hooks.main(["check"]) == 1
    assert hooks.main(["check"]) == 1
    assert capsys.readouterr().out.count("models/a: no manifest") == 2


def test_lfs_pointer_note_in_hook_output(repo: Git) -> None:
    model = add_model(repo, "models/bert")
    data = (model / "model.safetensors").read_bytes()
    import hashlib

    oid = hashlib.sha256(data).hexdigest()
    configure(repo, ["models/bert"])
    repo("add", "-A")
    assert repo.modelseal("hook", "manifest").returncode == 1
    repo("add", "-A")
    (model / "model.safetensors").write_text(
        f"version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize {len(data)}\n")
    result = repo.modelseal("hook", "check", "models/bert/model.safetensors")
    assert result.returncode == 0, result.stdout
    assert "model.safetensors is a Git LFS pointer; used the pointer's sha256 oid" in result.stdout


def test_hooks_dir_scripts_match_what_install_hooks_writes() -> None:
    from modelseal.init import HOOK_NAMES, hook_script

    root = REPO_ROOT
    for name in HOOK_NAMES:
        path = root / "hooks" / name
        assert path.read_text() == hook_script(name), f"regenerate hooks/{name}"
        assert os.access(path, os.X_OK)
