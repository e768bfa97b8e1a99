"""Issue 12, classes 6 and 7: only our own sticky comment is updated, and every
untrusted string reaches a terminal, CI log, job summary or Action output through
one escaping function.

The hostile strings are what a pull request controls: file names, model paths in
`.modelseal.yaml`, bundle fields outside the signed payload, and the exception
messages that carry them. A runner obeys a line that starts (after blanks) with
``::`` and a ``##[`` anywhere in a line; terminals obey escape sequences; Unicode
line separators and bidi controls change what a reader sees.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings
from hypothesis import strategies as st

from modelseal import errors
from modelseal.cli import main
from modelseal.errors import printable
from modelseal.forge.sticky import report_key
from modelseal.report.render import render
from tests import report_samples as samples
from tests.conftest import EXAMPLE_MODEL, REPO_ROOT, run_modelseal, run_modelseal_process
from tests.forge_servers import (
    PR_HEAD_SHA,
    ForgeState,
    GitHubHandler,
    GitLabHandler,
    github_comment,
    github_pull_request_env,
    gitlab_note,
    serve,
)
from tests.gha_runner import CompositeRunner, Job, pull_request_event
from tests.git_helpers import (
    Git,
    git_home_fixture,  # noqa: F401 (fixture)
    hooks_project_fixture,  # noqa: F401 (fixture)
    new_repo,
    pre_commit_home_fixture,  # noqa: F401 (fixture)
    precommit_repo_fixture,  # noqa: F401 (fixture)
    repo_fixture,  # noqa: F401 (fixture)
)
from tests.signing_support import make_certificate, make_pki, pem, write_private_key

# --- what counts as safe output ----------------------------------------------------------

HOSTILE_FRAGMENTS = [
    "\n::error::PWNED", "\r::warning::PWNED", "::error::PWNED", "  ::notice::PWNED",
    "##[error]PWNED", "##vso[task.setvariable variable=x]PWNED", "\x1b[31mPWNED\x1b[0m",
    "\x1b]8;;https://evil.test\x07PWNED", "\u2028::error::PWNED", "\u2029::error::PWNED",
    "\x85::error::PWNED", "\u202ePWNED", "\u2066PWNED\u2069", "\u200bPWNED", "\ufeffPWNED",
    "\U000e0041PWNED", "\x0b::error::PWNED", "\x1c::error::PWNED", "\x9b31mPWNED",
    "\u00a0::error::PWNED", "\u3000::error::PWNED",
]
# File names a pull request can add (no "/" and no NUL on POSIX).
HOSTILE_FILE_NAMES = [
    "a\n::error::PWNED-nl.bin", "b\r::warning::PWNED-cr.bin", "##[error]PWNED-hash.bin",
    "\x1b[31mPWNED-ansi\x1b[0m.bin", "c\u2028::error::PWNED-ls.bin",
    "d\x85::error::PWNED-nel.bin", "\u202ePWNED-bidi.bin", "e\x0b::error::PWNED-vt.bin",
]
# The workflow commands modelseal itself prints (annotations and groups in the Action).
_OUR_COMMANDS = re.compile(r"::(error|warning|notice) title=modelseal[^:]*::|::(end)?group::")
_BAD_CATEGORIES = {"Cc", "Cf", "Zl", "Zp", "Cs"}


def unsafe_lines(text: str) -> list[str]:
    """Lines of ``text`` a runner or terminal would act on (empty when safe).

    Lines are split on every Unicode line break (stricter than a runner, which splits
    on CR and LF only); only LF may separate lines.
    """
    problems = [f"raw U+{ord(char):04X}" for char in sorted(set(text))
                if char != "\n" and unicodedata.category(char) in _BAD_CATEGORIES]
    for line in text.splitlines():
        stripped = line.lstrip()
        if stripped.startswith("::") and not _OUR_COMMANDS.match(stripped):
            problems.append(f"command line: {line!r}")
        if "##[" in line or "##vso[" in line.lower():
            problems.append(f"##[ in: {line!r}")
    return problems


def assert_safe(text: str, where: str) -> None:
    problems = unsafe_lines(text)
    assert not problems, f"{where}: {problems[:5]}\n{text[:3000]}"


# --- the escaping function itself ---------------------------------------------------------

hostile_text = st.lists(st.one_of(st.text(), st.sampled_from(HOSTILE_FRAGMENTS),
                                  st.sampled_from(["::", "##", "[", "#", ":", "vso["])),
                        max_size=8).map("".join)
our_prefixes = st.sampled_from(["", " ", "  ", "\t", "modelseal: error: ", "  + added     ",
                                "      ", "$ modelseal check "])


@settings(max_examples=400, deadline=None)
@given(prefix=our_prefixes, text=hostile_text)
def test_trust_printable_never_lets_a_value_steer_a_log(prefix: str, text: str) -> None:
    shown = printable(text)
    assert "\n" not in shown
    assert_safe(prefix.replace("\t", "    ") + shown, "printable")
    assert printable(shown) == shown  # escaping escaped text changes nothing


@settings(max_examples=200, deadline=None)
@given(st.from_regex(r"[A-Za-z0-9._/ -][A-Za-z0-9._/:@+=, -]*", fullmatch=True))
def test_trust_printable_leaves_ordinary_names_alone(name: str) -> None:
    assert printable(name) == name


def test_trust_printable_marks_what_it_neutralised() -> None:
    assert printable("x\n::error::y") == "x\u2424::error::y"
    assert printable("::error::y") == "\ufffd::error::y"
    assert printable("##[group]y") == "##\ufffd[group]y"
    assert printable("a\u2028b\x85c") == "a\u2424b\u2424c"
    assert printable("\x1b[31mred") == "\ufffd[31mred"
    assert printable("\udcff") == "\ufffd"  # a non-UTF-8 byte in a file name


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), hostile_text),
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(hostile_text, inner, max_size=4)),
    max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_trust_json_output_is_lossless_and_inert(data: Any) -> None:
    text = errors.safe_json(data)  # type: ignore[attr-defined,unused-ignore]
    assert json.loads(text) == data
    assert_safe(text, "safe_json")


# --- real commands on hostile trees -------------------------------------------------------


def hostile_model(tmp_path: Path) -> tuple[Path, Path]:
    """A key-signed copy of the example model, then files with hostile names added."""
    model = tmp_path / "model"
    import shutil

    shutil.copytree(EXAMPLE_MODEL, model)
    key = ec.generate_private_key(ec.SECP256R1())
    private = write_private_key(tmp_path / "k.pem", key)
    public = tmp_path / "k.pub"
    from tests.signing_support import write_public_key

    write_public_key(public, key)
    signed = run_modelseal(["sign", str(model), "--method", "key", "--key", str(private),
                            "--update-manifest"])
    assert signed.returncode == 0, signed.stderr
    for name in HOSTILE_FILE_NAMES:
        (model / name).write_bytes(b"x")
    os.symlink("/etc/passwd", model / "f\n::error::PWNED-link")
    return model, public


def test_trust_cli_output_with_hostile_file_names(tmp_path: Path) -> None:
    model, public = hostile_model(tmp_path)
    (model / "f\n::error::PWNED-link").unlink()  # a clean listing: the files show in diffs
    runs = {
        "check": ["check", str(model)],
        "check json": ["check", str(model), "--format", "json"],
        "verify": ["verify", str(model), "--key", str(public)],
        "verify json": ["verify", str(model), "--key", str(public), "--format", "json"],
        "report text": ["report", str(model), "--key", str(public), "--format", "text"],
        "report json": ["report", str(model), "--key", str(public), "--format", "json"],
        "report junit": ["report", str(model), "--key", str(public), "--format", "junit"],
        "report markdown": ["report", str(model), "--key", str(public)],
        "export": ["export", str(model), "--format", "oci-descriptors"],
        "manifest": ["manifest", str(model)],
    }
    for what, args in runs.items():
        result = run_modelseal(args, cwd=tmp_path)
        assert result.returncode in (0, 1), f"{what}: {result.stderr}"
        assert "PWNED" in result.stdout + result.stderr, what  # the names are shown
        assert_safe(result.stdout, f"{what} stdout")
        assert_safe(result.stderr, f"{what} stderr")


def test_trust_error_messages_carrying_hostile_names(tmp_path: Path) -> None:
    model, public = hostile_model(tmp_path)  # with a symlink: listing it is an error
    for args in (["check", str(model)], ["verify", str(model), "--key", str(public)],
                 ["digest", str(model)]):
        result = run_modelseal(args, cwd=tmp_path)
        assert result.returncode != 0
        assert "PWNED-link" in result.stdout + result.stderr
        assert_safe(result.stdout + result.stderr, " ".join(args[:1]))
    os.mkfifo(tmp_path / "::error::PWNED-fifo")
    result = run_modelseal_process(["verify", str(model), "--key", str(public), "--signature",
                                    str(tmp_path / "::error::PWNED-fifo")], cwd=tmp_path)
    assert result.returncode != 0 and "PWNED-fifo" in result.stderr
    assert_safe(result.stdout + result.stderr, "verify --signature FIFO")


def test_trust_hostile_model_paths_from_config(tmp_path: Path) -> None:
    names = ["::error::PWNED-cfg", "m\n::warning::PWNED-cfg", "##[group]PWNED-cfg",
             "\u2028::error::PWNED-cfg"]
    import shutil

    for name in names:
        shutil.copytree(EXAMPLE_MODEL, tmp_path / name)
    patterns = [name.replace("[", "[[]") for name in names]  # model paths are globs
    (tmp_path / ".modelseal.yaml").write_text(
        "models:\n" + "".join(f"  - {json.dumps(name)}\n" for name in patterns))
    for args in (["check"], ["manifest"], ["check"], ["check", "--format", "json"],
                 ["verify"], ["report", "--format", "text"]):
        result = run_modelseal(args, cwd=tmp_path)
        assert result.returncode in (0, 1), f"{args}: {result.stderr}"
        assert "PWNED" in result.stdout + result.stderr, args
        assert_safe(result.stdout + result.stderr, " ".join(args))
    (tmp_path / ".modelseal.yaml").unlink()  # `init` finds the models by their files
    result = run_modelseal(["init", "."], cwd=tmp_path)
    assert result.returncode == 0 and "PWNED" in result.stdout, result.stderr
    assert_safe(result.stdout + result.stderr, "init")


def test_trust_hook_errors_quote_config_text_and_names_inertly(tmp_path: Path) -> None:
    hook = [sys.executable, "-m", "modelseal.hooks", "check", "--all"]
    (tmp_path / ".modelseal.yaml").write_text(
        "models:\n  - a\n  - [\n::error::PWNED-yaml\n##[error]PWNED-yaml\n")
    for args in (["check"], ["verify"]):
        result = run_modelseal(args, cwd=tmp_path)
        assert result.returncode == 2 and "PWNED-yaml" in result.stderr
        assert_safe(result.stdout + result.stderr, " ".join(args))
    result = subprocess.run(hook, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert result.returncode == 2 and "PWNED-yaml" in result.stderr
    assert_safe(result.stdout + result.stderr, "hook check, bad YAML")
    import shutil

    shutil.copytree(EXAMPLE_MODEL, tmp_path / "m")
    os.symlink("/etc/passwd", tmp_path / "m" / "x\n::error::PWNED-link\n##[error]y")
    (tmp_path / ".modelseal.yaml").write_text("models: [m]\n")
    result = subprocess.run(hook, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert result.returncode == 2 and "PWNED-link" in result.stderr
    assert_safe(result.stdout + result.stderr, "hook check, symlink")


def test_trust_hostile_bundle_fields(tmp_path: Path) -> None:
    """Certificate subject and SAN, and the unsigned key hint, are the signer's text."""
    import shutil

    model = tmp_path / "model"
    shutil.copytree(EXAMPLE_MODEL, model)
    pki = make_pki(tmp_path / "pki")
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf = make_certificate("signer\n::error::PWNED-cn ##[error]x", leaf_key.public_key(),
                            issuer=pki.intermediate, issuer_key=pki.intermediate_key,
                            ca=False, san=x509.RFC822Name("a@b.test\n::warning::PWNED-san"))
    (tmp_path / "leaf.pem").write_bytes(pem(leaf))
    write_private_key(tmp_path / "leaf-key.pem", leaf_key)
    signed = run_modelseal(["sign", str(model), "--method", "certificate", "--key",
                            str(tmp_path / "leaf-key.pem"), "--cert", str(tmp_path / "leaf.pem"),
                            "--chain", str(pki.chain_pem), "--update-manifest"])
    assert signed.returncode == 0, signed.stderr
    policy = ["--cert-chain", str(pki.root_pem)]
    for fmt in ("text", "json"):
        result = run_modelseal(["verify", str(model), *policy, "--format", fmt])
        assert "PWNED" in result.stdout + result.stderr
        assert_safe(result.stdout + result.stderr, f"verify {fmt}")
        report = run_modelseal(["report", str(model), *policy, "--format", fmt])
        assert "PWNED" in report.stdout + report.stderr
        assert_safe(report.stdout + report.stderr, f"report {fmt}")
    # the key hint sits outside the signed payload
    key = ec.generate_private_key(ec.SECP256R1())
    private = write_private_key(tmp_path / "k.pem", key)
    assert run_modelseal(["sign", str(model), "--method", "key", "--key", str(private)]
                         ).returncode == 0
    bundle = json.loads((model / "model.sig").read_text())
    bundle["verificationMaterial"]["publicKey"]["hint"] = "\n::error::PWNED-hint ##[x]"
    (model / "model.sig").write_text(json.dumps(bundle))
    for args in (["verify", str(model)], ["report", str(model), "--format", "text"],
                 ["verify", str(model), "--format", "json"]):
        result = run_modelseal(args)
        assert_safe(result.stdout + result.stderr, " ".join(args[:1]))


# --- hooks through real git ---------------------------------------------------------------


@pytest.fixture
def hostile_repo(tmp_path: Path) -> Git:
    repo = new_repo(tmp_path / "repo", tmp_path / "home")
    import shutil

    shutil.copytree(EXAMPLE_MODEL, repo.path / "models" / "m\n::error::PWNED-dir")
    repo.write(".modelseal.yaml", 'models:\n  - "models/m\\n::error::PWNED-dir"\n')
    assert repo.modelseal("manifest").returncode == 0
    repo("add", "-A")
    repo.commit("model", "--no-verify")
    return repo


def test_trust_hooks_with_hostile_names(hostile_repo: Git) -> None:
    repo = hostile_repo
    model = repo.path / "models" / "m\n::error::PWNED-dir"
    for name in HOSTILE_FILE_NAMES:
        (model / name).write_bytes(b"x" * 10)
    repo("add", "-A")
    hook = [sys.executable, "-m", "modelseal.hooks"]
    for args in (["check"], ["manifest"], ["check"], ["verify", "--all"]):
        result = repo.run([*hook, *args], check=False)
        assert "PWNED" in result.stdout + result.stderr, args
        assert_safe(result.stdout, f"hook {args} stdout")
        assert_safe(result.stderr, f"hook {args} stderr")
    assert repo.modelseal("install-hooks").returncode == 0
    (model / "##[error]PWNED-late.bin").write_bytes(b"y")
    repo("add", "-A")
    committed = repo.commit("hostile", check=False)
    assert committed.returncode == 1  # the hook wrote the manifest
    assert "PWNED" in committed.stdout + committed.stderr
    assert_safe(committed.stdout + committed.stderr, "git commit with the pre-commit hook")


def test_trust_pre_commit_framework_with_hostile_names(precommit_repo: Git) -> None:
    repo = precommit_repo
    import shutil

    model = repo.path / "models" / "m\n::error::PWNED-dir"
    shutil.copytree(EXAMPLE_MODEL, model)
    repo.write(".modelseal.yaml", 'models:\n  - "models/m\\n::error::PWNED-dir"\n')
    for name in HOSTILE_FILE_NAMES:
        (model / name).write_bytes(b"x")
    repo("add", "-A")
    committed = repo.commit("hostile", check=False)
    assert committed.returncode == 1, committed.stdout + committed.stderr
    assert "PWNED" in committed.stdout + committed.stderr
    assert_safe(committed.stdout + committed.stderr, "git commit through pre-commit")


# --- the GitHub Action on the simulated runner --------------------------------------------


def test_trust_action_step_output_summary_and_outputs(tmp_path: Path) -> None:
    repo = new_repo(tmp_path / "workspace", tmp_path / "home")
    import shutil

    shutil.copytree(EXAMPLE_MODEL, repo.path / "models" / "m\n::error::PWNED-dir")
    repo.write(".modelseal.yaml", 'models:\n  - "models/m\\n::error::PWNED-dir"\n')
    assert repo.modelseal("manifest").returncode == 0
    repo("add", "-A")
    repo.commit("base", "--no-verify")
    base = repo("rev-parse", "HEAD").stdout.strip()
    for name in HOSTILE_FILE_NAMES:
        (repo.path / "models" / "m\n::error::PWNED-dir" / name).write_bytes(b"x")
    repo("add", "-A")
    repo.commit("head", "--no-verify")
    head = repo("rev-parse", "HEAD").stdout.strip()
    event = pull_request_event("acme/models", 5, base, head)
    job = Job(root=tmp_path / "job", workspace=repo.path, repository="acme/models",
              event_name="pull_request", event=event, ref="refs/pull/5/merge", sha=head,
              extra_env=repo.env)
    root_action = REPO_ROOT
    for command in ("verify", "check"):
        result = CompositeRunner(job, root_action).run(
            {"command": command, "comment": "false"},
            env={"MODELSEAL_ACTION_PYTHON": sys.executable})
        joined = "".join(step.stdout + step.stderr for step in result.steps)
        assert "PWNED" in joined + result.summary, result.log
        for step in result.steps:
            assert_safe(step.stdout, f"{command}: {step.name} stdout")
            assert_safe(step.stderr, f"{command}: {step.name} stderr")
            for name, value in step.outputs.items():
                assert_safe(value, f"{command}: output {name}")
        assert_safe(result.summary, f"{command}: job summary")
        raw_output = (job.root / "files" / "output").read_text()
        assert_safe(raw_output, f"{command}: GITHUB_OUTPUT file")
        assert re.search(r"<<ghadelimiter_[0-9a-f]{32}\n", raw_output) or not raw_output


# --- class 6: only our own sticky comment ---------------------------------------------------

APP_TOKEN = "ghs_InstallationTokenValue0123456789ab"  # GITHUB_TOKEN: /user is refused
USER_TOKEN = "ghp_PersonalTokenValue0123456789abcdefg"  # a user's token: /user answers
GL_TOKEN = "glpat-ProjectBotToken-0123456789"
THREAD = "acme/models#7"
GL_THREAD = "acme/ml!12"
HEAD_SHA = PR_HEAD_SHA
MARKER = "<!-- modelseal-report -->"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("GITHUB_", "CI_", "MODELSEAL_")) or name == "GITLAB_CI":
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


@pytest.fixture
def github(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ForgeState]:
    state = ForgeState(tokens={APP_TOKEN: "write", USER_TOKEN: "write"},
                       users={USER_TOKEN: "alice"})
    with serve(GitHubHandler, state) as running:
        github_pull_request_env(monkeypatch, tmp_path, running.base_url, APP_TOKEN)
        yield running


@pytest.fixture
def gitlab(monkeypatch: pytest.MonkeyPatch) -> Iterator[ForgeState]:
    state = ForgeState(tokens={GL_TOKEN: "write"}, users={GL_TOKEN: "project_5_bot_1a2b"})
    with serve(GitLabHandler, state) as running:
        monkeypatch.setenv("CI_API_V4_URL", running.base_url + "/api/v4")
        monkeypatch.setenv("CI_PROJECT_ID", "acme/ml")
        monkeypatch.setenv("CI_MERGE_REQUEST_IID", "12")
        monkeypatch.setenv("MODELSEAL_GITLAB_TOKEN", GL_TOKEN)
        yield running


def report_file(tmp_path: Path) -> Path:
    path = tmp_path / "report.json"
    path.write_text(render(samples.SAMPLES["mixed"](), "json"))
    return path


def comment(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["comment", *args])
    _, err = capsys.readouterr()
    return code, err


def test_trust_github_marker_comment_by_someone_else_is_not_edited(
        github: ForgeState, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    forged = github_comment(github, THREAD, f"{MARKER}\nall models verified", "mallory")
    code, err = comment(["--github", "--report", str(report_file(tmp_path))], capsys)
    assert code == 0, err
    assert [(r.method, r.path) for r in github.writes()] == [
        ("POST", "/repos/acme/models/issues/7/comments")]
    by_id = {c["id"]: c for c in github.threads[THREAD]}
    assert by_id[forged]["body"].endswith("all models verified")
    assert ("GET", "/user") in [(r.method, r.path) for r in github.requests]


def test_trust_github_actions_token_edits_its_own_comment(
        github: ForgeState, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    github_comment(github, THREAD, f"{MARKER}\nforged", "mallory")
    ours = github_comment(github, THREAD, f"{MARKER}\nold", "github-actions[bot]")
    code, err = comment(["--github", "--report", str(report_file(tmp_path))], capsys)
    assert code == 0 and "updated" in err
    assert [(r.method, r.path) for r in github.writes()] == [
        ("PATCH", f"/repos/acme/models/issues/comments/{ours}")]


def test_trust_github_user_token_is_its_login(
        github: ForgeState, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", USER_TOKEN)
    bot = github_comment(github, THREAD, f"{MARKER}\nby the workflow", "github-actions[bot]")
    mine = github_comment(github, THREAD, f"{MARKER}\nmine", "alice")
    code, err = comment(["--github", "--report", str(report_file(tmp_path))], capsys)
    assert code == 0, err
    assert [(r.method, r.path) for r in github.writes()] == [
        ("PATCH", f"/repos/acme/models/issues/comments/{mine}")]
    assert {c["id"]: c for c in github.threads[THREAD]}[bot]["body"].endswith("workflow")


def test_trust_github_relay_does_not_edit_someone_elses_marker(
        github: ForgeState, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    relay = tmp_path / "relay"
    relay.mkdir()
    (relay / "report.json").write_text(render(samples.SAMPLES["mixed"](), "json"))
    (relay / "pr.json").write_text(json.dumps({"pr": 7, "head_sha": HEAD_SHA,
                                               "repository": "acme/models"}))
    event = tmp_path / "run.json"
    event.write_text(json.dumps({"workflow_run": {"head_sha": HEAD_SHA}}))
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(event))
    monkeypatch.setenv("GITHUB_EVENT_NAME", "workflow_run")
    github.pulls[THREAD] = HEAD_SHA
    forged = github_comment(github, THREAD, f"{MARKER}\nforged by the fork", "mallory")
    code, err = comment(["--github", "--relay", str(relay)], capsys)
    assert code == 0, err
    assert [r.method for r in github.writes()] == ["POST"]
    assert {c["id"]: c for c in github.threads[THREAD]}[forged]["body"].endswith("fork")


def test_trust_gitlab_note_by_someone_else_is_not_edited(
        gitlab: ForgeState, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    forged = gitlab_note(gitlab, GL_THREAD, f"{MARKER}\nforged", username="mallory")
    code, err = comment(["--gitlab", "--report", str(report_file(tmp_path))], capsys)
    assert code == 0, err
    assert [r.method for r in gitlab.writes()] == ["POST"]
    assert ("GET", "/api/v4/user") in [(r.method, r.path) for r in gitlab.requests]
    assert {n["id"]: n for n in gitlab.threads[GL_THREAD]}[forged]["body"].endswith("forged")
    code, err = comment(["--gitlab", "--report", str(report_file(tmp_path))], capsys)
    assert code == 0 and "updated" in err
    assert [r.method for r in gitlab.writes()] == ["POST", "PUT"]
    assert len([n for n in gitlab.threads[GL_THREAD] if report_key(n["body"])[0]]) == 2
