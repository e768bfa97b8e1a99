"""Issue 12, class 2: a pull request's scope and signer policy come from the trusted side.

`report --base REV` (what the Action and the GitLab job run) reads `.modelseal.yaml`
and the key and root files it names from REV, never from the tree under review; the
models it checks are the base's list (matched against the head's files) plus any model
the head adds; a head that changes the policy gets a visible entry, which fails under
`strict`. Real git repositories and the real CLI throughout.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from tests.action_project import project as project  # the Action tests' fixture
from tests.git_helpers import Git, add_model, new_repo
from tests.signing_support import write_private_key, write_public_key

BASE_CONFIG = "models:\n  - models/a\n  - models/b\npolicy:\n  keys: [keys/trusted.pub]\n"


class Keys:
    """A trusted signer and an attacker, each a private key (outside the repo) and a
    public key file."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        trusted, attacker = ec.generate_private_key(ec.SECP256R1()), \
            ec.generate_private_key(ec.SECP256R1())
        self.trusted = write_private_key(folder / "trusted.pem", trusted)
        self.trusted_pub = write_public_key(folder / "trusted.pub", trusted)
        self.attacker = write_private_key(folder / "attacker.pem", attacker)
        self.attacker_pub = write_public_key(folder / "attacker.pub", attacker)


@pytest.fixture
def keys(tmp_path: Path) -> Keys:
    return Keys(tmp_path / "keys")


def sign(repo: Git, model: str, private: Path) -> None:
    done = repo.modelseal("sign", model, "--method", "key", "--key", str(private),
                          "--update-manifest")
    assert done.returncode == 0, done.stderr


@pytest.fixture
def signed(tmp_path: Path, keys: Keys) -> Git:
    """main: models a and b signed with the trusted key, which the config names; then
    the branch `pr` checked out, as the pull request's head."""
    repo = new_repo(tmp_path / "repo", tmp_path / "home")
    add_model(repo, "models/a")
    add_model(repo, "models/b", weights=b"\x07" * 512)
    repo.write("keys/trusted.pub", keys.trusted_pub.read_bytes())
    repo.write(".modelseal.yaml", BASE_CONFIG)
    for model in ("models/a", "models/b"):
        sign(repo, model, keys.trusted)
    repo("add", "-A")
    repo.commit("signed models")
    assert report(repo).get("verdict") == "pass"
    repo("checkout", "-q", "-b", "pr")
    return repo


def report(repo: Git, *args: str, fmt: str = "json") -> dict[str, Any]:
    """`modelseal report --base main --format json` as the CI runs it (the JSON, plus
    the exit status under "_exit")."""
    done = repo.modelseal("report", "--base", "main", "--format", fmt, *args)
    if fmt != "json":
        return {"_exit": done.returncode, "_text": done.stdout, "_stderr": done.stderr}
    assert done.returncode in (0, 1), done.stderr
    data: dict[str, Any] = json.loads(done.stdout)
    data["_exit"] = done.returncode
    return data


def states(document: dict[str, Any]) -> dict[str, str]:
    return {model["path"]: model["state"] for model in document["models"]}


def tamper(repo: Git, model: str) -> None:
    weights = repo.path / model / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-4] + b"EVIL")


def commit_all(repo: Git, message: str = "pull request") -> None:
    repo("add", "-A")
    repo.commit(message)


# --- who may sign -----------------------------------------------------------------------


def test_trust_head_config_adding_a_key_does_not_trust_it(signed: Git, keys: Keys) -> None:
    tamper(signed, "models/a")
    sign(signed, "models/a", keys.attacker)
    signed.write("keys/attacker.pub", keys.attacker_pub.read_bytes())
    signed.write(".modelseal.yaml", BASE_CONFIG.replace("[keys/trusted.pub]",
                                                        "[keys/trusted.pub, keys/attacker.pub]"))
    commit_all(signed)
    document = report(signed)
    assert states(document)["models/a"] == "signature-invalid"
    assert document["verdict"] == "fail" and document["_exit"] == 1
    # the same check with the head's config named explicitly trusts what it lists
    named = report(signed, "--config", ".modelseal.yaml")
    assert states(named)["models/a"] == "verified"


def test_trust_key_file_rewritten_by_the_head_is_read_from_the_base(signed: Git,
                                                                    keys: Keys) -> None:
    tamper(signed, "models/a")
    sign(signed, "models/a", keys.attacker)
    signed.write("keys/trusted.pub", keys.attacker_pub.read_bytes())  # same name, new key
    commit_all(signed)
    document = report(signed)
    assert states(document)["models/a"] == "signature-invalid"
    assert document["verdict"] == "fail"
    change = document["policy_change"]
    assert change is not None and "keys/trusted.pub" in change["paths"]


def test_trust_no_base_config_means_no_trusted_signer_from_the_head(tmp_path: Path,
                                                                   keys: Keys) -> None:
    repo = new_repo(tmp_path / "repo", tmp_path / "home")
    add_model(repo, "models/a")
    repo.write("README.md", "no modelseal yet\n")
    commit_all(repo, "before modelseal")
    repo("checkout", "-q", "-b", "pr")
    repo.write("keys/mine.pub", keys.attacker_pub.read_bytes())
    repo.write(".modelseal.yaml", "models: [models/a]\npolicy:\n  keys: [keys/mine.pub]\n")
    tamper(repo, "models/a")
    sign(repo, "models/a", keys.attacker)
    commit_all(repo)
    document = report(repo)
    # the head's model list is used to find models, never its policy: the base trusts
    # nobody, so the head's key verifies nothing (signed, not verified: a warning that
    # strict fails; issue 14)
    assert states(document) == {"models/a": "signed-not-verified"}
    assert "list the public key in policy.keys" in document["models"][0]["message"]
    assert document["_exit"] == 0 and document["verdict"] == "warn"
    strict = report(repo, "--strict")
    assert strict["_exit"] == 1 and states(strict)["models/a"] == "signed-not-verified"
    assert document["policy_change"]["paths"] == [".modelseal.yaml"]
    # a key given by the person running the report is trusted
    flagged = report(repo, "--key", str(keys.attacker_pub))
    assert states(flagged)["models/a"] == "verified"


# --- which models, and how they are read --------------------------------------------------


def test_trust_model_dropped_by_the_head_config_is_still_checked(signed: Git) -> None:
    tamper(signed, "models/b")
    signed.write(".modelseal.yaml", BASE_CONFIG.replace("  - models/b\n", ""))
    commit_all(signed)
    document = report(signed)
    assert "models/b" in states(document)
    assert states(document)["models/b"] != "verified"
    assert document["verdict"] == "fail"


def test_trust_model_added_by_the_head_config_is_reported(signed: Git) -> None:
    add_model(signed, "models/c", weights=b"\x09" * 256)
    signed.write(".modelseal.yaml", BASE_CONFIG.replace("  - models/b\n",
                                                        "  - models/b\n  - models/c\n"))
    assert signed.modelseal("manifest").returncode == 0
    commit_all(signed)
    document = report(signed)
    assert set(states(document)) == {"models/a", "models/b", "models/c"}
    assert states(document)["models/c"] in ("awaiting-signature", "unsigned")


def test_trust_head_config_ignore_does_not_hide_a_new_file(signed: Git) -> None:
    tamper(signed, "models/a")
    signed.write("models/a/backdoor.py", "import os\n")
    signed.write(".modelseal.yaml", BASE_CONFIG.replace(
        "  - models/a\n", "  - path: models/a\n    ignore: [backdoor.py]\n"))
    assert signed.modelseal("manifest").returncode == 0  # with the head's ignore
    commit_all(signed)
    document = report(signed)
    assert document["verdict"] == "fail"
    model = next(m for m in document["models"] if m["path"] == "models/a")
    assert model["state"] not in ("awaiting-signature", "verified")
    assert "backdoor.py" in json.dumps(model)


def test_trust_head_config_allow_symlinks_is_not_honoured(signed: Git) -> None:
    config = signed.path / "models/a/config.json"
    signed.write("models/a/sub/real.json", config.read_bytes())
    config.unlink()
    os.symlink("sub/real.json", config)
    signed.write(".modelseal.yaml", BASE_CONFIG.replace(
        "  - models/a\n", "  - path: models/a\n    allow_symlinks: true\n"))
    assert signed.modelseal("manifest").returncode == 0
    commit_all(signed)
    done = signed.modelseal("report", "--base", "main", "--format", "json")
    assert done.returncode in (1, 2), done.stdout
    assert "symlink" in done.stdout + done.stderr
    if done.returncode == 1:
        assert json.loads(done.stdout)["verdict"] == "fail"


# --- the policy-changed entry -------------------------------------------------------------


def test_trust_policy_change_is_shown_and_fails_when_strict(signed: Git) -> None:
    hostile = "# @everyone <img src=x> \x1b[31m``` \n"
    signed.write(".modelseal.yaml", BASE_CONFIG + "lfs:\n  warn_size: 100\n" + hostile)
    commit_all(signed)
    document = report(signed)
    change = document["policy_change"]
    assert change["paths"] == [".modelseal.yaml"]
    assert "+lfs:" in change["diff"] and change["strict"] is False
    assert document["verdict"] == "warn" and document["_exit"] == 0
    assert "policy changed" in document["summary"]

    strict = report(signed, "--strict")
    assert strict["verdict"] == "fail" and strict["_exit"] == 1
    assert strict["policy_change"]["strict"] is True

    markdown = report(signed, fmt="markdown")["_text"]
    assert "Policy changed in this pull request" in markdown
    # the head's text is shown only inside a code block that it cannot close
    fence = re.search(r"^(`{3,})diff$", markdown, re.M)
    assert fence is not None and len(fence.group(1)) > 3
    outside = re.sub(rf"^{fence.group(1)}diff$.*?^{fence.group(1)}$", "", markdown,
                     flags=re.M | re.S)
    assert "<img" not in outside and "@everyone" not in outside
    assert "\x1b" not in markdown
    text = report(signed, fmt="text")
    assert "policy changed in this pull request" in text["_text"]
    assert "\x1b" not in text["_text"]


def test_trust_strict_in_the_base_config_fails_a_policy_change(signed: Git) -> None:
    signed("checkout", "-q", "main")
    signed.write(".modelseal.yaml", BASE_CONFIG + "  strict: true\n")
    commit_all(signed, "strict")
    signed("checkout", "-q", "-B", "pr")
    signed.write(".modelseal.yaml", BASE_CONFIG)  # the head turns strict off
    commit_all(signed)
    document = report(signed)
    assert document["policy_change"]["strict"] is True
    assert document["verdict"] == "fail"


def test_trust_policy_change_survives_the_json_round_trip(signed: Git, tmp_path: Path) -> None:
    signed.write(".modelseal.yaml", BASE_CONFIG + "lfs:\n  warn_size: 100\n")
    commit_all(signed)
    saved = tmp_path / "report.json"
    done = signed.modelseal("report", "--base", "main", "--strict", "--format", "json",
                            "--output", str(saved))
    assert done.returncode == 1
    again = signed.modelseal("report", "--from-json", str(saved), "--format", "gitlab")
    assert again.returncode == 1
    assert "Policy changed in this pull request" in again.stdout


def test_trust_unchanged_policy_has_no_entry(signed: Git) -> None:
    signed.write("NOTES.md", "docs only\n")
    commit_all(signed)
    document = report(signed)
    assert document["policy_change"] is None and document["verdict"] == "pass"


# --- key and root lists, as the CI inputs give them ------------------------------------------


def test_trust_key_list_reads_paths_from_the_base_and_takes_inline_pem(tmp_path: Path,
                                                                       keys: Keys) -> None:
    repo = new_repo(tmp_path / "repo", tmp_path / "home")
    add_model(repo, "models/a")
    repo.write("keys/trusted.pub", keys.trusted_pub.read_bytes())
    repo.write(".modelseal.yaml", "models: [models/a]\n")
    sign(repo, "models/a", keys.trusted)
    commit_all(repo, "signed")
    repo("checkout", "-q", "-b", "pr")
    repo.write("NOTES.md", "docs\n")
    commit_all(repo)
    assert states(report(repo))["models/a"] == "signed-not-verified"  # no key configured
    by_path = report(repo, "--key-list", "keys/trusted.pub\n")
    assert states(by_path)["models/a"] == "signed-unchanged"
    inline = report(repo, "--key-list", keys.trusted_pub.read_text())
    assert states(inline)["models/a"] == "signed-unchanged"
    # the head rewrites the key file and re-signs: the base's key is still the one used
    tamper(repo, "models/a")
    sign(repo, "models/a", keys.attacker)
    repo.write("keys/trusted.pub", keys.attacker_pub.read_bytes())
    commit_all(repo, "swap the key")
    swapped = report(repo, "--key-list", "keys/trusted.pub")
    assert states(swapped)["models/a"] == "signature-invalid"


# --- the GitHub Action on the simulated runner -------------------------------------------------


def _action_pull_request(project: Any, keys: Keys, number: int, *, swap_key: bool = False,
                         trust_own_key: bool = False) -> tuple[Path, dict[str, object]]:
    """main: models/tiny signed with the trusted key, whose public key is committed; a
    pull request that only edits docs, or re-signs a tampered model with the attacker's
    key and then swaps the key file (``swap_key``) or lists its own key in the config
    (``trust_own_key``)."""
    from tests.action_project import REPO, git, modelseal
    from tests.gha_runner import pull_request_event

    seed = project.clone(f"seed-{number}")
    modelseal(seed, "sign", "models/tiny", "--method", "key", "--key", str(keys.trusted),
              "--update-manifest")
    (seed / "keys").mkdir()
    (seed / "keys/trusted.pub").write_bytes(keys.trusted_pub.read_bytes())
    git(seed, "add", "-A")
    git(seed, "commit", "--quiet", "-m", "key-signed model")
    git(seed, "push", "--quiet", "origin", "HEAD:main")
    work = project.clone(f"contributor-{number}")
    git(work, "checkout", "--quiet", "-b", "change")
    if swap_key or trust_own_key:
        weights = work / "models/tiny/model.safetensors"
        weights.write_bytes(weights.read_bytes()[:-4] + b"EVIL")
        modelseal(work, "sign", "models/tiny", "--method", "key", "--key",
                  str(keys.attacker), "--update-manifest")
    if swap_key:
        (work / "keys/trusted.pub").write_bytes(keys.attacker_pub.read_bytes())
    elif trust_own_key:
        (work / "keys/mine.pub").write_bytes(keys.attacker_pub.read_bytes())
        (work / ".modelseal.yaml").write_text(
            "version: 1\nmodels:\n  - models/tiny\npolicy:\n  keys: [keys/mine.pub]\n")
    else:
        (work / "NOTES.md").write_text("docs only\n")
    git(work, "add", "-A")
    git(work, "commit", "--quiet", "-m", "pull request")
    git(work, "push", "--quiet", "origin", f"HEAD:refs/pull/{number}/head")
    head = git(work, "rev-parse", "HEAD")
    workspace = project.clone(f"pr-{number}", ref=head)
    return workspace, pull_request_event(REPO, number, project.head(), head)


def _verify_action(project: Any, workspace: Path, event: dict[str, object], name: str,
                   **with_: str) -> Any:
    from tests.action_project import VERIFY_ACTION, run

    job = project.job(name, workspace, "pull_request", event, ref="refs/pull/1/merge")
    return run(VERIFY_ACTION, job, comment="false", **with_)


def test_trust_action_keys_input_verifies_a_key_signed_model(
        project: Any, keys: Keys) -> None:
    workspace, event = _action_pull_request(project, keys, 21)
    without = _verify_action(project, workspace, event, "no-keys", strict="true")
    assert not without.succeeded and without.outputs["verified"] == "false"
    by_path = _verify_action(project, workspace, event, "by-path", keys="keys/trusted.pub")
    assert by_path.succeeded, by_path.log
    assert by_path.outputs["verified"] == "true"
    document = json.loads(Path(by_path.outputs["report-json"]).read_text())
    assert states(document) == {"models/tiny": "signed-unchanged"}
    inline = _verify_action(project, workspace, event, "inline",
                            keys=keys.trusted_pub.read_text())
    assert inline.succeeded, inline.log
    assert inline.outputs["verified"] == "true"


def test_trust_action_reads_the_key_file_from_the_base(project: Any, keys: Keys) -> None:
    workspace, event = _action_pull_request(project, keys, 22, swap_key=True)
    result = _verify_action(project, workspace, event, "swapped", keys="keys/trusted.pub")
    assert not result.succeeded
    document = json.loads(Path(result.outputs["report-json"]).read_text())
    assert states(document) == {"models/tiny": "signature-invalid"}
    assert document["policy_change"]["paths"] == ["keys/trusted.pub"]
    assert "Policy changed in this pull request" in result.summary


def test_trust_action_drops_nothing_when_the_head_empties_the_config(
        project: Any, keys: Keys) -> None:
    from tests.action_project import git

    workspace, event = _action_pull_request(project, keys, 23)
    weights = workspace / "models/tiny/model.safetensors"
    weights.write_bytes(b"tampered")
    (workspace / ".modelseal.yaml").write_text("version: 1\nmodels: []\n")
    git(workspace, "commit", "--quiet", "-am", "hide the model")
    event["pull_request"]["head"]["sha"] = git(workspace, "rev-parse", "HEAD")  # type: ignore[index]
    result = _verify_action(project, workspace, event, "emptied", strict="true")
    assert not result.succeeded
    document = json.loads(Path(result.outputs["report-json"]).read_text())
    assert "models/tiny" in states(document)
    assert document["policy_change"]["strict"] is True


def test_trust_action_uses_the_base_config_not_the_heads(project: Any, keys: Keys) -> None:
    workspace, event = _action_pull_request(project, keys, 24, trust_own_key=True)
    result = _verify_action(project, workspace, event, "own-key")
    # the base trusts nobody: the head's own key verifies nothing (a warning; issue 14)
    assert result.outputs["verified"] == "false"
    document = json.loads(Path(result.outputs["report-json"]).read_text())
    assert states(document) == {"models/tiny": "signed-not-verified"}
    strict = _verify_action(project, workspace, event, "own-key-strict", strict="true")
    assert not strict.succeeded and strict.outputs["verified"] == "false"


def test_trust_action_fails_a_pull_request_whose_base_is_not_fetched(
        project: Any, keys: Keys) -> None:
    # without its base, the head's config (trusting its own key) must not stand in
    workspace, event = _action_pull_request(project, keys, 25, trust_own_key=True)
    event["pull_request"]["base"]["sha"] = "f" * 40  # type: ignore[index]
    result = _verify_action(project, workspace, event, "shallow")
    assert not result.succeeded
    assert result.outputs["report-json"] == "" and result.outputs["verified"] == ""
    assert "::error title=modelseal verify::the pull request's base commit" in result.log
    assert "fetch-depth: 0" in result.log


# --- the GitLab job's script, run as the job runs it ------------------------------------------


def _gitlab_verify_script(inputs: dict[str, Any]) -> tuple[str, dict[str, str]]:
    """The verify job's script (without `pip install`: this checkout is installed) and
    its variables, from the component expanded with ``inputs``."""
    from tests.gitlab_helpers import Component

    config = Component.load().expand(inputs)
    job: dict[str, Any] = {}
    for name in (".modelseal-base", ".modelseal-verify"):
        job = {**job, **config[name], "variables": {**job.get("variables", {}),
                                                    **config[name].get("variables", {})}}
    lines: list[str] = []
    for item in job["script"]:
        lines.extend(item if isinstance(item, list) else [item])
    script = "\n".join(line for line in lines if "pip install" not in line)
    return script, {key: str(value) for key, value in job["variables"].items()}


def test_trust_gitlab_keys_input_reads_the_base_key(signed: Git, keys: Keys) -> None:
    import subprocess

    base = signed("rev-parse", "main").stdout.strip()
    tamper(signed, "models/a")
    sign(signed, "models/a", keys.attacker)
    signed.write("keys/trusted.pub", keys.attacker_pub.read_bytes())
    commit_all(signed)
    script, variables = _gitlab_verify_script({"keys": "keys/trusted.pub", "comment": False})
    assert "--key-list=" in script
    env = {**signed.env, **variables, "CI_MERGE_REQUEST_DIFF_BASE_SHA": base,
           "CI_PIPELINE_SOURCE": "merge_request_event"}
    done = subprocess.run(["bash", "-e", "-c", script], cwd=signed.path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stdout + done.stderr  # the job fails
    document = json.loads((signed.path / "modelseal-report.json").read_text())
    assert states(document)["models/a"] == "signature-invalid"
    assert states(document)["models/b"] == "signed-unchanged"  # the base's key, by path
    assert "keys/trusted.pub" in document["policy_change"]["paths"]
    inline, variables = _gitlab_verify_script({"keys": keys.trusted_pub.read_text(),
                                               "comment": False})
    signed("reset", "-q", "--hard", "main")
    env.update(variables)
    again = subprocess.run(["bash", "-e", "-c", inline], cwd=signed.path, env=env,
                           capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stdout + again.stderr
    document = json.loads((signed.path / "modelseal-report.json").read_text())
    assert set(states(document).values()) == {"signed-unchanged"}


# --- smaller pieces ----------------------------------------------------------------------------


def test_trust_check_at_base_keeps_a_dropped_model(signed: Git) -> None:
    (signed.path / "models/b/config.json").write_text("{}\n")
    signed.write(".modelseal.yaml", BASE_CONFIG.replace("  - models/b\n", ""))
    commit_all(signed)
    assert signed.modelseal("check").returncode == 0  # the head's own list skips it
    at_base = signed.modelseal("check", "--base", "main")
    assert at_base.returncode == 1 and "models/b" in at_base.stdout


def test_trust_pem_lists_mix_inline_blocks_and_paths(keys: Keys) -> None:
    from modelseal.basepolicy import parse_pem_list
    from modelseal.errors import UsageError

    pem = keys.trusted_pub.read_text()
    entries = parse_pem_list(f"# release key\nkeys/a.pub\n{pem}\n  keys/b.pub  \n")
    assert [entry.path for entry in entries if entry.path] == ["keys/a.pub", "keys/b.pub"]
    assert [entry.pem for entry in entries if entry.pem] == [pem.strip() + "\n"]
    with pytest.raises(UsageError, match="not complete"):
        parse_pem_list(pem.rsplit("-----END", 1)[0])


def test_trust_base_config_option_needs_base(signed: Git) -> None:
    done = signed.modelseal("report", "--base-config", ".modelseal.yaml")
    assert done.returncode == 2 and "--base-config" in done.stderr
    missing = signed.modelseal("report", "--base", "main", "--base-config", "ci/none.yaml")
    assert missing.returncode == 2 and "main:ci/none.yaml does not exist" in missing.stderr


def test_trust_policy_change_in_junit_is_a_test_case() -> None:
    import xml.etree.ElementTree as ET

    from modelseal.report.model import ModelReport, ModelState, PolicyChange, Report
    from modelseal.report.render import render

    change = PolicyChange((".modelseal.yaml",), "+policy: \x1b]8;;x\x07 <a>&", strict=True)
    report = Report((ModelReport("models/a", ModelState.SIGNED_UNCHANGED),),
                    base="main", head="HEAD", policy_change=change)
    root = ET.fromstring(render(report, "junit"))
    assert root.get("tests") == "2" and root.get("failures") == "1"
    failure = root.find(".//testcase[@name='policy changed in this pull request']/failure")
    assert failure is not None and "<a>&" in (failure.text or "")
    lenient = Report(report.models, policy_change=PolicyChange((".modelseal.yaml",)))
    assert lenient.verdict.value == "warn"
    assert ET.fromstring(render(lenient, "junit")).get("skipped") == "1"


def test_trust_certificate_roots_come_from_the_base(tmp_path: Path) -> None:
    from tests.signing_support import make_pki

    good, evil = make_pki(tmp_path / "pki"), make_pki(tmp_path / "evil")
    repo = new_repo(tmp_path / "repo", tmp_path / "home")
    add_model(repo, "models/a")
    repo.write("pki/root.pem", good.root_pem.read_bytes())
    repo.write(".modelseal.yaml", "models: [models/a]\npolicy:\n  certificate_roots: "
                                  "[pki/root.pem]\n")

    def certificate_sign(pki: Any) -> None:
        done = repo.modelseal("sign", "models/a", "--method", "certificate", "--key",
                              str(pki.key_pem), "--cert", str(pki.leaf_pem), "--chain",
                              str(pki.chain_pem), "--update-manifest")
        assert done.returncode == 0, done.stderr

    certificate_sign(good)
    commit_all(repo, "certificate-signed")
    repo("checkout", "-q", "-b", "pr")
    repo.write("NOTES.md", "docs\n")
    commit_all(repo)
    assert states(report(repo))["models/a"] == "signed-unchanged"
    listed = report(repo, "--cert-chain-list", "pki/root.pem")
    assert states(listed)["models/a"] == "signed-unchanged"
    # the head swaps the root for its own and re-signs tampered weights
    tamper(repo, "models/a")
    certificate_sign(evil)
    repo.write("pki/root.pem", evil.root_pem.read_bytes())
    commit_all(repo, "swap the root")
    for args in ((), ("--cert-chain-list", "pki/root.pem")):
        document = report(repo, *args)
        assert states(document)["models/a"] == "signature-invalid", args
        assert document["policy_change"]["paths"] == ["pki/root.pem"]


def test_trust_a_broken_head_config_leaves_the_base_list(signed: Git) -> None:
    tamper(signed, "models/b")
    signed.write(".modelseal.yaml", "models: [models/a\n" + "#" * (2 * 1024 * 1024))
    commit_all(signed)
    done = signed.modelseal("report", "--base", "main", "--format", "json")
    assert done.returncode == 1, done.stderr
    assert "only the base's models are checked" in done.stderr
    document = json.loads(done.stdout)
    assert set(states(document)) == {"models/a", "models/b"}
    assert "larger than" in document["policy_change"]["diff"]


def test_trust_action_command_lines_read_config_and_keys_from_the_base(tmp_path: Path,
                                                                       keys: Keys) -> None:
    from modelseal.ci import commands
    from modelseal.ci.inputs import ActionInputs
    from modelseal.cli import build_parser

    env = {"MODELSEAL_INPUT_CONFIG": "ci/modelseal.yaml",
           "MODELSEAL_INPUT_KEYS": f"keys/a.pub\n{keys.trusted_pub.read_text()}",
           "MODELSEAL_INPUT_CERTIFICATE_ROOTS": "pki/root.pem\n"}
    inputs = ActionInputs.from_env(env)
    argv = commands.report_argv(inputs, "b" * 40, tmp_path / "r.json")
    assert "--base-config=ci/modelseal.yaml" in argv and not any(
        word.startswith("--config") for word in argv)
    args = build_parser().parse_args(argv)
    assert args.key_list == [env["MODELSEAL_INPUT_KEYS"].strip()]
    assert args.cert_chain_list == ["pki/root.pem"]
    assert "--config=ci/modelseal.yaml" in commands.report_argv(inputs, None, tmp_path / "r")
    check = commands.check_argv(inputs, "b" * 40)
    assert check[:3] == ["check", f"--base={'b' * 40}", "--base-config=ci/modelseal.yaml"]
    assert build_parser().parse_args(check).base == "b" * 40
    # the sign step's pre-check takes no key list (keyless signing)
    assert not any("key-list" in word for word in commands.verify_argv(inputs))


def test_trust_verify_base_reads_the_policy_from_the_base(signed: Git, keys: Keys) -> None:
    tamper(signed, "models/a")
    sign(signed, "models/a", keys.attacker)
    signed.write("keys/attacker.pub", keys.attacker_pub.read_bytes())
    signed.write(".modelseal.yaml", BASE_CONFIG.replace("  - models/b\n", "").replace(
        "[keys/trusted.pub]", "[keys/attacker.pub]"))
    commit_all(signed)
    assert signed.modelseal("verify").returncode == 0  # the head's own config trusts it
    at_base = signed.modelseal("verify", "--base", "main", "--format", "json")
    assert at_base.returncode == 1, at_base.stderr
    results = {m["path"]: m["status"] for m in json.loads(at_base.stdout)["models"]}
    assert results == {"models/a": "failed", "models/b": "verified"}
    listed = signed.modelseal("verify", "models/b", "--base", "main",
                              "--key-list", "keys/trusted.pub")
    assert listed.returncode == 0, listed.stderr


def test_trust_registry_reference_verified_with_the_base_policy(tmp_path: Path, keys: Keys,
                                                                 registry: Any) -> None:
    from tests.conftest import run_modelseal
    from tests.registry_helpers import signed_model

    model = signed_model(tmp_path / "built", keys.attacker)
    reference = f"oci://{registry.host}/acme/base-policy:v1"
    assert run_modelseal(["push", str(model), reference]).returncode == 0
    repo = new_repo(tmp_path / "repo", tmp_path / "home")
    repo.write("keys/trusted.pub", keys.trusted_pub.read_bytes())
    repo.write(".modelseal.yaml", "policy:\n  keys: [keys/trusted.pub]\n")
    commit_all(repo, "the trusted key")
    repo("checkout", "-q", "-b", "pr")
    repo.write("keys/mine.pub", keys.attacker_pub.read_bytes())
    repo.write(".modelseal.yaml", "policy:\n  keys: [keys/mine.pub]\n")
    commit_all(repo)
    assert repo.modelseal("verify", reference).returncode == 0  # the head's config
    at_base = repo.modelseal("verify", reference, "--base", "main")
    assert at_base.returncode == 1, at_base.stdout + at_base.stderr
    # the Action's command line for a registry path, with the pull request's base
    from modelseal.ci import registry_refs
    from modelseal.ci.inputs import ActionInputs

    argv = registry_refs.verify_argv(ActionInputs(), reference, "main")
    assert repo.modelseal(*argv).returncode == 1
    assert repo.modelseal(*registry_refs.verify_argv(ActionInputs(), reference)).returncode == 0
