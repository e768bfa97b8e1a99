"""`modelseal report` on a real git repository with real key signatures: every state."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from tests.conftest import REPO_ROOT
from tests.git_helpers import Git, add_model, configure, new_repo
from tests.signing_support import write_private_key, write_public_key

SCHEMA = REPO_ROOT / "src/modelseal/report/schema/report-v1.json"
MODELS = ("models/verified", "models/unchanged", "models/awaiting", "models/untrusted",
          "models/tampered", "models/sneaky", "models/unsigned", "models/stale")


def ok(proc: object) -> None:
    assert getattr(proc, "returncode", 1) == 0, (getattr(proc, "stdout", ""),
                                                 getattr(proc, "stderr", ""))


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Git, Path]:
    """main: signed models (one tampered after signing); branch pr: the changes."""
    root = tmp_path_factory.mktemp("report")
    repo = new_repo(root / "repo", root / "home")
    trusted, other = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(
        ec.SECP256R1())
    key = write_private_key(root / "key.pem", trusted)
    other_key = write_private_key(root / "other.pem", other)
    public = write_public_key(root / "key.pub", trusted)
    for model in MODELS:
        add_model(repo, model)
    configure(repo, list(MODELS))
    ok(repo.modelseal("manifest"))
    for model in ("models/verified", "models/unchanged", "models/awaiting",
                  "models/tampered", "models/sneaky"):
        ok(repo.modelseal("sign", model, "--method", "key", "--key", str(key)))
    ok(repo.modelseal("sign", "models/untrusted", "--method", "key", "--key", str(other_key)))
    repo("add", "-A")
    repo.commit("signed models")
    for model in ("models/tampered", "models/sneaky"):  # changed on main without re-signing
        repo.write(f"{model}/config.json", '{"hidden_size": 4096}\n')
        ok(repo.modelseal("manifest", model))
    repo("add", "-A")
    repo.commit("unsigned change on main")
    repo("checkout", "-q", "-b", "pr")
    repo.write("models/verified/model.safetensors", b"new weights" * 100)
    ok(repo.modelseal("sign", "models/verified", "--method", "key", "--key", str(key),
                      "--update-manifest"))
    repo.write("models/awaiting/README.md", "retrained on more data\n")
    repo.write("models/awaiting/extra.bin", b"\0" * 2048)
    repo("rm", "-q", "models/awaiting/tokenizer.json")
    repo.write("models/sneaky/README.md", "innocent change\n")
    for model in ("models/awaiting", "models/sneaky"):
        ok(repo.modelseal("manifest", model))
    add_model(repo, "models/new")
    configure(repo, [*MODELS, "models/new"])
    ok(repo.modelseal("manifest", "models/new"))
    repo("add", "-A")
    repo.commit("the pull request")
    repo.write("models/stale/config.json", "{}\n")  # not regenerated, not committed
    return repo, public


def report_json(repo: Git, *args: str) -> tuple[int, dict[str, object]]:
    proc = repo.modelseal("report", "--base", "main", "--format", "json", *args)
    assert proc.returncode in (0, 1), proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def states(document: dict[str, object]) -> dict[str, str]:
    models = document["models"]
    assert isinstance(models, list)
    return {m["path"]: m["state"] for m in models}


def test_every_state_from_a_real_pull_request(project: tuple[Git, Path]) -> None:
    repo, public = project
    code, document = report_json(repo, "--key", str(public))
    assert code == 1 and document["verdict"] == "fail"
    assert states(document) == {
        "models/verified": "verified",
        "models/unchanged": "signed-unchanged",
        "models/awaiting": "awaiting-signature",
        "models/untrusted": "signature-invalid",
        "models/tampered": "signature-invalid",
        "models/sneaky": "signature-invalid",
        "models/unsigned": "unsigned",
        "models/stale": "manifest-stale",
        "models/new": "awaiting-signature",
    }
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(document, json.loads(SCHEMA.read_text()))


def test_changes_sizes_and_signer(project: tuple[Git, Path]) -> None:
    repo, public = project
    _, document = report_json(repo, "--key", str(public))
    by_path = {m["path"]: m for m in document["models"]}  # type: ignore[union-attr]
    awaiting = by_path["models/awaiting"]
    changes = {(f["change"], f["path"]): f for f in awaiting["changes"]["files"]}
    assert set(changes) == {("modified", "README.md"), ("added", "extra.bin"),
                            ("removed", "tokenizer.json")}
    assert changes[("added", "extra.bin")]["size"] == 2048
    removed = changes[("removed", "tokenizer.json")]
    assert removed["old_size"] > 0 and removed["size"] is None
    assert awaiting["changes"]["size_delta"] == (
        2048 - removed["old_size"] + changes[("modified", "README.md")]["size"]
        - changes[("modified", "README.md")]["old_size"])
    assert awaiting["mismatch_source"] == "signature"
    assert awaiting["signer"]["method"] == "key" and awaiting["signer"]["key_hint"]
    tampered = by_path["models/tampered"]
    assert tampered["changes"]["files"] == []
    assert [f["path"] for f in tampered["mismatch"]["files"]] == ["config.json"]
    assert by_path["models/stale"]["mismatch_source"] == "manifest"
    assert "modelseal manifest models/stale" in by_path["models/stale"]["message"]
    # the key is outside the repository: the reader fills in their own copy of it
    assert by_path["models/verified"]["verify_command"] == \
        "modelseal verify models/verified --key <PUBLIC_KEY_PEM>"
    assert document["verify_command"] == "modelseal verify --key <PUBLIC_KEY_PEM>"


def test_policy_violation(project: tuple[Git, Path]) -> None:
    repo, public = project
    _, document = report_json(repo, "models/unchanged", "--key", str(public),
                              "--not-before", "2020-01-01")
    assert states(document) == {"models/unchanged": "policy-violation"}
    assert "--not-before 2020-01-01" in document["models"][0]["verify_command"]  # type: ignore[index]


def test_strict_unsigned_fails_and_text_output(project: tuple[Git, Path]) -> None:
    repo, public = project
    proc = repo.modelseal("report", "models/unsigned", "--key", str(public), "--strict",
                          "--format", "text")
    assert proc.returncode == 1
    assert "1 of 1 model failed: 1 unsigned" in proc.stdout and "\x1b" not in proc.stdout
    proc = repo.modelseal("report", "models/unsigned", "--format", "text", "--color")
    assert proc.returncode == 0 and "\x1b[33m" in proc.stdout


def test_outputs_render_again_from_json(project: tuple[Git, Path], tmp_path: Path) -> None:
    repo, public = project
    saved = tmp_path / "report.json"
    for fmt, out in (("json", saved), ("markdown", tmp_path / "direct.md")):
        proc = repo.modelseal("report", "--base", "main", "--key", str(public), "--format",
                              fmt, "--output", str(out), "--id", "models")
        assert proc.returncode == 1 and proc.stdout == ""
    proc = repo.modelseal("report", "--from-json", str(saved), "--format", "markdown",
                          "--output", str(tmp_path / "again.md"))
    assert proc.returncode == 1
    assert (tmp_path / "again.md").read_text() == (tmp_path / "direct.md").read_text()
    proc = repo.modelseal("report", "--from-json", str(saved), "--format", "junit",
                          "--exit-zero")
    assert proc.returncode == 0 and proc.stdout.count("<failure ") == 4


def test_report_without_base_has_no_changes(project: tuple[Git, Path]) -> None:
    repo, public = project
    proc = repo.modelseal("report", "models/verified", "--key", str(public), "--format", "json")
    document = json.loads(proc.stdout)
    assert document["base"] is None
    assert states(document) == {"models/verified": "signed-unchanged"}


def test_unknown_base_is_a_usage_error(project: tuple[Git, Path]) -> None:
    repo, _ = project
    proc = repo.modelseal("report", "--base", "no-such-branch")
    assert proc.returncode == 2 and "no-such-branch" in proc.stderr


def test_comment_builds_the_report_against_the_event_base(project: tuple[Git, Path],
                                                           tmp_path: Path) -> None:
    from tests.forge_servers import ForgeState, GitHubHandler, serve

    repo, public = project
    base = repo("rev-parse", "main").stdout.strip()
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 3, "base": {"sha": base},
                                                  "head": {"sha": "f" * 40}}}))
    token = "ghs_buildTokenSecret42"
    with serve(GitHubHandler, ForgeState(tokens={token: "write"})) as github:
        env = {"GITHUB_API_URL": github.base_url, "GITHUB_REPOSITORY": "acme/models",
               "GITHUB_EVENT_PATH": str(event), "GITHUB_TOKEN": token,
               "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"}
        proc = repo.modelseal("comment", "--github", "--key", str(public), env=env)
    assert proc.returncode == 0, proc.stderr
    assert token not in proc.stdout + proc.stderr
    [comment] = github.threads["acme/models#3"]
    assert comment["body"].startswith("<!-- modelseal-report -->\n### ❌ modelseal: 4 of 9")
    assert f"Changes from `{base}` to `HEAD`" in comment["body"]
