"""The hooks of `.pre-commit-hooks.yaml` run through the real pre-commit framework.

pre-commit installs modelseal into its own hook environment from a git repository
holding this project's working tree at one commit (see `hooks_project`); one
PRE_COMMIT_HOME is shared by the session, so that install happens once.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.git_helpers import (
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
    precommit_repo_fixture,  # noqa: F401 (fixture)
    repo_fixture,  # noqa: F401 (fixture)
)

HOOKS = {hook["id"]: hook for hook in
         yaml.safe_load((REPO_ROOT / ".pre-commit-hooks.yaml").read_text())}


def _commit(repo: Git, message: str) -> tuple[int, str]:
    done = repo.commit(message, check=False)
    return done.returncode, done.stdout + done.stderr


def test_hook_definitions_are_deliberate() -> None:
    from pre_commit.clientlib import load_manifest

    load_manifest(str(REPO_ROOT / ".pre-commit-hooks.yaml"))  # valid for pre-commit
    assert set(HOOKS) == {"modelseal-manifest", "modelseal-check", "modelseal-verify"}
    for hook in HOOKS.values():
        assert hook["language"] == "python"
        assert hook["require_serial"] is True and hook["always_run"] is True
        assert hook["minimum_pre_commit_version"] == "3.2.0"
        assert "commit-msg" not in hook["stages"] and "prepare-commit-msg" not in hook["stages"]
    assert HOOKS["modelseal-manifest"]["stages"] == ["pre-commit", "pre-merge-commit", "manual"]
    assert HOOKS["modelseal-verify"]["stages"] == ["post-merge", "manual"]  # no post-checkout
    assert all(hook["verbose"] is True for hook in HOOKS.values())  # no silent pass
    assert HOOKS["modelseal-verify"]["pass_filenames"] is False
    assert HOOKS["modelseal-manifest"]["pass_filenames"] is True


def test_commit_cycle_through_the_framework(precommit_repo: Git) -> None:
    repo = precommit_repo
    add_model(repo, "models/bert")
    add_model(repo, "models/gpt")
    configure(repo, ["models/bert", "models/gpt"])
    repo("add", "-A")
    code, out = _commit(repo, "first")
    assert code != 0
    assert "modelseal manifest" in out and "Failed" in out
    assert "models/bert: created models/bert/model.manifest.json (4 files)" in out
    assert "git add models/bert/model.manifest.json models/gpt/model.manifest.json" in out

    repo("add", "models/bert/model.manifest.json", "models/gpt/model.manifest.json")
    code, out = _commit(repo, "first")
    assert code == 0, out

    steps = [
        (lambda: repo.write("models/bert/model.safetensors", b"new weights"),
         "~ modified  model.safetensors (11 B)"),
        (lambda: repo("rm", "-q", "models/bert/README.md"), "- removed   README.md"),
        (lambda: repo("mv", "models/gpt/config.json", "models/gpt/conf.json"),
         "> renamed   config.json -> conf.json"),
        (lambda: repo.write("models/gpt/extra.txt", "more\n"), "+ added     extra.txt (5 B)"),
    ]
    for change, expected in steps:
        change()
        repo("add", "-A")
        code, out = _commit(repo, "change")
        assert code != 0 and expected in out, out
        repo("add", "-A")
        code, out = _commit(repo, "change")
        assert code == 0, out

    # two models in one commit
    repo.write("models/bert/config.json", "{}\n")
    repo.write("models/gpt/tokenizer.json", "{}\n")
    repo("add", "-A")
    code, out = _commit(repo, "both")
    assert code != 0
    assert out.count("models/bert: updated") == 1 and out.count("models/gpt: updated") == 1


def test_a_change_outside_the_models_passes(precommit_repo: Git) -> None:
    repo = precommit_repo
    add_model(repo, "models/bert")
    configure(repo, ["models/bert"])
    repo("add", "-A")
    _commit(repo, "first")
    repo("add", "-A")
    assert _commit(repo, "first")[0] == 0
    repo.write("README.md", "docs\n")
    repo("add", "-A")
    code, out = _commit(repo, "docs")
    assert code == 0 and "modelseal manifest" in out and "Passed" in out


def _many_files(repo: Git, model: str, count: int, name_length: int) -> None:
    for index in range(count):
        repo.write(f"{model}/{'n' * name_length}-{index:05d}.txt", f"{index}\n")


@pytest.mark.parametrize("serial", [True, False])
def test_split_file_lists_handle_each_model_once(repo: Git, hooks_project: tuple[Path, str],
                                                 pre_commit_home: Path, serial: bool) -> None:
    from pre_commit import xargs

    repo.env["PRE_COMMIT_HOME"] = str(pre_commit_home)
    overrides = {} if serial else {"require_serial": "false"}
    repo.write(".pre-commit-config.yaml",
               precommit_config(hooks_project, ["modelseal-manifest"], overrides))
    # serial: long names overflow pre-commit's command-line limit (128 KiB);
    # parallel: pre-commit also splits a list to use every CPU
    count, length = (700, 100) if serial else (40, 10)
    for model in ("models/a", "models/b"):
        add_model(repo, model)
        _many_files(repo, model, count, length)
    configure(repo, ["models/a", "models/b"])
    repo("add", "-A")
    files = repo("diff", "--cached", "--name-only").stdout.split()
    concurrency = 1 if serial else max(2, xargs.cpu_count())
    assert len(xargs.partition(("python", "-m", "modelseal.hooks", "manifest"), files,
                               concurrency)) > 1  # pre-commit really splits this list
    result = pre_commit(repo, "run", "modelseal-manifest")
    out = result.stdout
    assert result.returncode == 1, out
    assert out.count("models/a: created") == 1 and out.count("models/b: created") == 1, out
    assert "not staged" not in out
    for model in ("models/a", "models/b"):
        assert out.count(f"{model}/model.manifest.json") == 2, out  # "created", "git add"
    for model in ("models/a", "models/b"):
        resources = yaml.safe_load((repo.path / model / "model.manifest.json").read_text())[
            "predicate"]["resources"]
        assert len(resources) == count + 4
    repo("add", "-A")
    again = pre_commit(repo, "run", "modelseal-manifest")
    assert again.returncode == 0, again.stdout


def test_check_hook_in_ci_mode(repo: Git, hooks_project: tuple[Path, str],
                               pre_commit_home: Path) -> None:
    repo.env["PRE_COMMIT_HOME"] = str(pre_commit_home)
    repo.write(".pre-commit-config.yaml", precommit_config(hooks_project, ["modelseal-check"]))
    add_model(repo, "models/bert")
    configure(repo, ["models/bert"])
    assert repo.modelseal("manifest").returncode == 0
    repo("add", "-A")
    repo.commit("with manifest", "--no-verify")
    ok = pre_commit(repo, "run", "modelseal-check", "--all-files")
    assert ok.returncode == 0, ok.stdout
    repo.write("models/bert/config.json", "{}\n")
    repo("add", "-A")
    repo.commit("stale", "--no-verify")
    stale = pre_commit(repo, "run", "modelseal-check", "--all-files")
    assert stale.returncode == 1
    assert "models/bert: manifest is stale (1 file differs):" in stale.stdout
    assert "~ modified  config.json" in stale.stdout
    assert "files were modified by this hook" not in stale.stdout  # read-only


def test_verify_hook_after_a_pull_under_strict(repo: Git, git_home: Path,
                                               hooks_project: tuple[Path, str],
                                               pre_commit_home: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    private = git_home / "private.pem"
    private.parent.mkdir(parents=True, exist_ok=True)
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    repo.write("keys/model.pub", key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    add_model(repo, "models/bert")
    signed = repo.modelseal("sign", "models/bert", "--method", "key", "--key", str(private),
                            "--update-manifest")
    assert signed.returncode == 0, signed.stderr
    repo.write(".modelseal.yaml", "models:\n  - models/bert\n"
                                  "policy:\n  keys: [keys/model.pub]\n  strict: true\n")
    repo.write(".pre-commit-config.yaml", precommit_config(hooks_project, ["modelseal-verify"]))
    repo("add", "-A")
    repo.commit("signed", "--no-verify")

    env = {**git_env(git_home), "PRE_COMMIT_HOME": str(pre_commit_home)}
    Git(repo.path.parent, env)("clone", "-q", str(repo.path), "clone")
    clone = Git(repo.path.parent / "clone", env)
    installed = pre_commit(clone, "install")  # default_install_hook_types: + post-merge
    assert "post-merge" in installed.stdout, installed.stdout

    repo.write("models/bert/model.safetensors", b"tampered")
    assert repo.modelseal("manifest", "models/bert").returncode == 0
    repo("add", "-A")
    repo.commit("tampered", "--no-verify")

    pulled = clone("pull", "-q", "--no-rebase", check=False)
    report = pulled.stdout + pulled.stderr
    assert "modelseal verify" in report and "Failed" in report, report
    assert "modelseal: error: models/bert: " in report
    manual = pre_commit(clone, "run", "modelseal-verify", "--hook-stage", "manual",
                        "--from-ref", "HEAD~1", "--to-ref", "HEAD")
    assert manual.returncode == 1
    assert "did not verify under the strict policy" in manual.stdout


def test_no_hook_runs_at_commit_msg(precommit_repo: Git) -> None:
    repo = precommit_repo
    message = repo.write("msg.txt", "hello\n")
    result = pre_commit(repo, "run", "--hook-stage", "commit-msg", "--commit-msg-filename",
                        str(message))
    assert result.returncode == 0
    # the first run in a test process installs the hook repository (an [INFO] line that
    # names its path, .../modelseal-snapshot0); what counts is that no hook ran
    ran = [line for line in result.stdout.splitlines() if not line.startswith("[INFO]")]
    assert not [line for line in ran if "modelseal" in line], result.stdout
