"""Words that mean what they say (issue 14): no local paths in a report, counted nouns,
no unexplained dashes, and names with backticks rendered exactly on GitHub."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from modelseal.report.model import FileChange, FileChanges, ModelReport, ModelState, Report
from modelseal.report.render import render
from modelseal.signer import SignerInfo
from modelseal.words import plural
from tests import report_samples as samples
from tests.conftest import REPO_ROOT
from tests.git_helpers import Git, add_model, configure, git_home_fixture, new_repo, repo_fixture
from tests.signing_support import write_private_key, write_public_key

__all__ = ["git_home_fixture", "repo_fixture"]  # the `repo` fixture

# --- 1. no local absolute paths ---------------------------------------------------------


@pytest.fixture(scope="module")
def signed_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Git, Path, Path]:
    """A repository with one signed model; its public key both inside and outside it."""
    root = tmp_path_factory.mktemp("wording")
    repo = new_repo(root / "repo", root / "home")
    key = ec.generate_private_key(ec.SECP256R1())
    (root / "outside").mkdir()
    (repo.path / "keys").mkdir()
    private = write_private_key(root / "outside" / "signing.pem", key)
    outside = write_public_key(root / "outside" / "signing.pub.pem", key)
    inside = write_public_key(repo.path / "keys" / "signing.pub.pem", key)
    add_model(repo, "models/bert")
    configure(repo, ["models/bert"])
    proc = repo.modelseal("sign", "models/bert", "--method", "key", "--key", str(private))
    assert proc.returncode == 0, proc.stderr
    repo("add", "-A")
    repo.commit("signed")
    return repo, inside, outside


def _report(repo: Git, *args: str, fmt: str = "json") -> str:
    proc = repo.modelseal("report", "--format", fmt, *args)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_key_outside_the_repository_is_a_placeholder(
        signed_repo: tuple[Git, Path, Path]) -> None:
    repo, _, outside = signed_repo
    document = json.loads(_report(repo, "--key", str(outside), "--trust-config",
                                  str(outside.parent / "trust.json"), "models/bert"))
    model = document["models"][0]
    assert model["state"] == "signed-unchanged"
    assert model["verify_command"] == ("modelseal verify models/bert --key <PUBLIC_KEY_PEM> "
                                       "--trust-config <TRUST_CONFIG_JSON>")
    assert document["verify_command"] == ("modelseal verify models/bert --key <PUBLIC_KEY_PEM>"
                                          " --trust-config <TRUST_CONFIG_JSON>")
    for fmt in ("markdown", "gitlab", "text", "junit", "json"):
        body = _report(repo, "--key", str(outside), fmt=fmt)
        assert str(outside.parent) not in body and str(repo.path) not in body, fmt


def test_key_inside_the_repository_is_repository_relative(
        signed_repo: tuple[Git, Path, Path]) -> None:
    repo, inside, _ = signed_repo
    document = json.loads(_report(repo, "--key", str(inside)))
    assert document["models"][0]["verify_command"] == \
        "modelseal verify models/bert --key keys/signing.pub.pem"
    assert document["verify_command"] == "modelseal verify --key keys/signing.pub.pem"


def test_paths_are_relative_to_the_repository_from_a_subdirectory(
        signed_repo: tuple[Git, Path, Path]) -> None:
    repo, inside, _ = signed_repo
    below = Git(repo.path / "models", repo.env)
    document = json.loads(_report(below, "bert", "--key", "../keys/signing.pub.pem",
                                  "--config", "../.modelseal.yaml"))
    model = document["models"][0]
    assert model["path"] == "models/bert"
    assert model["verify_command"] == ("modelseal verify models/bert --config .modelseal.yaml "
                                       "--key keys/signing.pub.pem")
    markdown = _report(below, "bert", "--key", str(inside), fmt="markdown")
    assert str(repo.path) not in markdown
    assert "Verify locally, from the repository root:" in markdown


def test_a_model_outside_the_repository_is_named_not_located(
        signed_repo: tuple[Git, Path, Path], tmp_path: Path) -> None:
    repo, inside, _ = signed_repo
    elsewhere = tmp_path / "elsewhere"
    add_model(Git(tmp_path, repo.env), "elsewhere/bert-copy")
    proc = repo.modelseal("report", str(elsewhere / "bert-copy"), "--key", str(inside),
                          "--format", "json")
    document = json.loads(proc.stdout)
    model = document["models"][0]
    assert model["path"] == "bert-copy (outside the repository)"
    assert model["verify_command"] == \
        "modelseal verify <MODEL_PATH> --key keys/signing.pub.pem"
    assert document["verify_command"] == \
        "modelseal verify <MODEL_PATH> --key keys/signing.pub.pem"
    # (the manifest check's message still quotes the path it could not read)


# --- 2. plural forms ---------------------------------------------------------------------


def test_plural_helper() -> None:
    assert plural(1, "file") == "1 file"
    assert plural(0, "file") == "0 files"
    assert plural(2, "model") == "2 models"
    assert plural(1234, "file change") == "1,234 file changes"
    assert plural(2, "entry") == "2 entries"
    assert plural(2, "key") == "2 keys"
    assert plural(2, "index", "indices") == "2 indices"


def test_one_file_is_one_file_in_the_report() -> None:
    model = ModelReport("models/tiny", ModelState.SIGNED_UNCHANGED, message="ok",
                        root_digest="sha256:" + "ab" * 32, files=1, size=10)
    text = render(samples.report(model), "markdown")
    assert ", 1 file, 10 B." in text and "1 files" not in text


def test_no_model_s_or_file_s_left_in_user_text() -> None:
    source = REPO_ROOT / "src" / "modelseal"
    offenders = [f"{path.relative_to(source)}:{number}"
                 for path in sorted(source.rglob("*")) if path.suffix in (".py", ".j2")
                 for number, line in enumerate(path.read_text().splitlines(), 1)
                 if re.search(r"\b(file|model|resource|layer|signature)\(s\)", line)
                 or "exist(s)" in line]
    assert offenders == []


def test_check_says_one_file(repo: Git) -> None:
    repo.write("single/weights.bin", b"\0" * 16)
    proc = repo.modelseal("manifest", "single")
    assert proc.returncode == 0, proc.stderr
    assert "(1 file)" in proc.stdout, proc.stdout
    proc = repo.modelseal("check", "single")
    assert "(1 file," in proc.stdout and "file(s)" not in proc.stdout, proc.stdout


# --- 3. no unexplained dashes ------------------------------------------------------------


def test_no_bare_dash_in_any_sample() -> None:
    for name, sample in samples.SAMPLES.items():
        for fmt in ("markdown", "text", "junit"):
            body = render(sample(), fmt)
            assert "| — |" not in body and "(—)" not in body and "; —)" not in body, \
                (name, fmt)


def test_table_says_no_change_and_who_did_not_sign() -> None:
    body = render(samples.mixed(), "markdown")
    assert "| ✅ | `models/bert` | signed and unchanged | no change | ±0 |" in body
    assert "| ⚠️ | `models/experimental` | unsigned | no change | ±0 | not signed |" in body


def test_unknown_sizes_and_removed_files_are_words() -> None:
    changes = FileChanges((FileChange("modified", "w.bin", size=10),
                           FileChange("removed", "old.bin")))
    report = samples.report(ModelReport("m", ModelState.SIGNATURE_INVALID, mismatch=changes,
                                        mismatch_source="signature"))
    body = render(report, "markdown")
    assert "| modified | `w.bin` | 10 B | unknown |" in body
    assert "| removed | `old.bin` | none | unknown |" in body
    assert "(1 removed, 1 modified; size change unknown)" in body
    assert "| ❌ | `m` | signature invalid | no change | ±0 | not verified |" in body


def test_without_a_base_nothing_claims_no_change() -> None:
    report = Report(models=(samples.signed_unchanged(), samples.unsigned()))
    body = render(report, "markdown")
    assert "| Model | Status | Signer |" in body and "Changes" not in body
    assert "| ⚠️ | `models/experimental` | unsigned | not signed |" in body
    assert "changes:" not in render(report, "junit")


# --- 4. backticks render exactly on GitHub -------------------------------------------------


def gfm_html(markdown: str) -> str:
    cmarkgfm = pytest.importorskip("cmarkgfm")
    from cmarkgfm.cmark import Options

    return str(cmarkgfm.github_flavored_markdown_to_html(markdown,
                                                         options=Options.CMARK_OPT_UNSAFE))


BACKTICK_NAMES = ("back`tick``s", "`lead", "trail`", "`", "``", "a`|`b", "x\\`y", "\\`",
                  "`a\\", "a``\\|``b", "``` fence", "`a`")


@pytest.mark.parametrize("name", BACKTICK_NAMES)
def test_backtick_names_render_exactly_in_every_place(name: str) -> None:
    """Table cells, inline code, the <summary>, prose and the signer table all show
    exactly the name, however many backticks and backslashes it holds."""
    model = ModelReport(
        path=name, state=ModelState.SIGNATURE_INVALID, message=f"bad {name} here",
        warnings=(f"warn {name} here",), signer=SignerInfo(method="key", identity=name),
        changes=FileChanges((FileChange("added", name, size=1),), settings=(name,)))
    page = gfm_html(render(Report(models=(model,), base=name, head="HEAD"), "markdown"))
    shown = html.escape(name, quote=False)
    codes = re.findall(r"<code>(.*?)</code>", page, flags=re.S)
    # models table, summary, file table, setting, base, signer identity
    assert codes.count(shown) >= 6, codes
    assert f"<p>bad {shown} here</p>" in page
    assert f"⚠️ warn {shown} here" in page
    assert "\\`" not in re.sub(r"<code>.*?</code>", "", page, flags=re.S).replace(
        shown, ""), page


# --- 5. no trusted signer configured is not "signature invalid" ---------------------------


def test_no_trusted_signer_is_signed_not_verified(signed_repo: tuple[Git, Path, Path]) -> None:
    repo, _, _ = signed_repo
    proc = repo.modelseal("report", "--format", "json")
    assert proc.returncode == 0, proc.stderr  # a warning, not a failure
    document = json.loads(proc.stdout)
    model = document["models"][0]
    assert model["state"] == "signed-not-verified" and model["severity"] == "warning"
    assert model["label"] == "signed, not verified"
    assert model["message"].startswith("no trusted signer configured")
    assert "--key" in model["message"] and "policy.keys" in model["message"]
    assert document["verdict"] == "warn"
    assert document["summary"] == "1 model checked, with warnings: 1 signed but not verified"
    markdown = _report(repo, fmt="markdown")
    assert "| ⚠️ | `models/bert` | signed, not verified |" in markdown
    assert "signature invalid" not in markdown
    text = _report(repo, fmt="text")
    assert "! models/bert: signed, not verified" in text
    assert "no trusted signer configured" in text


def test_no_trusted_signer_fails_under_strict(signed_repo: tuple[Git, Path, Path]) -> None:
    repo, _, _ = signed_repo
    proc = repo.modelseal("report", "--strict", "--format", "junit")
    assert proc.returncode == 1
    assert '<failure type="signed-not-verified"' in proc.stdout


def test_a_tampered_model_with_a_trusted_key_is_still_invalid(
        signed_repo: tuple[Git, Path, Path], tmp_path: Path) -> None:
    """The new state is only for "nothing to verify against": with the key configured,
    files changed after signing (manifest regenerated to match) still fail."""
    repo, _, _ = signed_repo
    copy = Git(tmp_path / "copy", repo.env)
    repo.run(["git", "clone", "-q", str(repo.path), str(copy.path)])
    (copy.path / "models/bert/config.json").write_text('{"evil": true}\n')
    assert copy.modelseal("manifest", "models/bert").returncode == 0
    proc = copy.modelseal("report", "--key", "keys/signing.pub.pem", "--format", "json")
    document = json.loads(proc.stdout)
    assert proc.returncode == 1, document
    assert document["models"][0]["state"] == "signature-invalid"


def test_trust_no_trusted_signer_never_explains_away_tampered_files(
        signed_repo: tuple[Git, Path, Path], tmp_path: Path) -> None:
    """With nobody trusted the signature proves nothing, but files that differ from the
    statement it carries are an error, not a "signed, not verified" warning (class 3)."""
    repo, _, _ = signed_repo
    copy = Git(tmp_path / "copy", repo.env)
    repo.run(["git", "clone", "-q", str(repo.path), str(copy.path)])
    (copy.path / "models/bert/config.json").write_text('{"evil": true}\n')
    assert copy.modelseal("manifest", "models/bert").returncode == 0
    proc = copy.modelseal("report", "--format", "json")
    document = json.loads(proc.stdout)
    assert proc.returncode == 1, document
    model = document["models"][0]
    assert model["state"] == "signature-invalid" and "config.json" in json.dumps(model)
    assert "no trusted signer configured" in model["message"]
    verify = copy.modelseal("verify", "models/bert")
    assert verify.returncode == 1 and "files differ" in verify.stderr


def test_keyless_signature_without_a_signer_policy(oms_fixtures: Path, tmp_path: Path) -> None:
    """A Sigstore bundle and no `policy.signers`: not a "policy violation" either."""
    import shutil

    from tests.conftest import run_modelseal

    shutil.copytree(oms_fixtures / "v1.1.0-sigstore", tmp_path / "model")
    assert run_modelseal(["manifest", "model"], cwd=tmp_path).returncode == 0
    result = run_modelseal(["report", "model", "--offline", "--format", "json"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    model = json.loads(result.stdout)["models"][0]
    assert model["state"] == "signed-not-verified", model
    assert model["message"].startswith("no trusted signer configured: signed keylessly")
    assert "--identity" in model["message"] and "policy.signers" in model["message"]


def test_a_policy_that_trusts_someone_else_still_fails(
        signed_repo: tuple[Git, Path, Path]) -> None:
    """Only a policy that trusts nobody makes "signed, not verified": when it trusts a
    keyless signer, a key signature nobody configured is a failure, as before."""
    repo, _, _ = signed_repo
    proc = repo.modelseal("report", "--repository", "acme/models", "--format", "json")
    assert proc.returncode == 1
    model = json.loads(proc.stdout)["models"][0]
    assert model["state"] == "signature-invalid"
    assert "pass --key PUB_PEM" in model["message"]
