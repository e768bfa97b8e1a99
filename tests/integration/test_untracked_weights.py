"""No model left untracked: weight files outside every tracked model are named."""

from __future__ import annotations

import json
from pathlib import Path

from modelseal.weights import untracked_weight_dirs
from tests.conftest import REPO_ROOT
from tests.git_helpers import (
    Git,
    add_model,
    configure,
    git_home_fixture,  # noqa: F401 (fixture)
    repo_fixture,  # noqa: F401 (fixture)
)


def _tracked_repo(repo: Git, *, strict: bool = False) -> None:
    add_model(repo, "models/a")
    configure(repo, ["models/a"], "policy:\n  strict: true\n" if strict else "")
    assert repo.modelseal("manifest").returncode == 0


def test_check_names_the_directory_of_untracked_weights(repo: Git) -> None:
    _tracked_repo(repo)
    repo.write("models/new/model.safetensors", b"w" * 10)
    repo.write("models/new/config.json", "{}")
    repo.write(".venv-like/.hidden/x.bin", b"x")  # hidden: skipped
    result = repo.modelseal("check")
    assert result.returncode == 0, result.stderr  # a warning, not a failure
    assert "modelseal: warning: models/new/ holds 1 weight file no tracked model covers " \
           "(model.safetensors)" in result.stderr
    assert ".hidden" not in result.stderr
    data = json.loads(repo.modelseal("check", "--format", "json").stdout)
    assert data["untracked_weights"] == [{"directory": "models/new",
                                          "files": ["model.safetensors"]}]
    assert data["ok"] is True
    # an explicit PATH checks that model only
    assert "no tracked model" not in repo.modelseal("check", "models/a").stderr


def test_check_fails_on_untracked_weights_under_strict(repo: Git) -> None:
    _tracked_repo(repo, strict=True)
    assert repo.modelseal("check").returncode == 0
    repo.write("extra/w.gguf", b"w")
    result = repo.modelseal("check")
    assert result.returncode == 1
    assert "modelseal: error: extra/ holds 1 weight file" in result.stderr
    assert json.loads(repo.modelseal("check", "--format", "json").stdout)["ok"] is False


def test_manifest_hook_names_staged_weights_outside_every_model(repo: Git) -> None:
    _tracked_repo(repo)
    repo("add", "-A")
    repo.commit("tracked")
    repo.write("stray/a.bin", b"a")
    repo.write("stray/b.pt", b"b")
    repo("add", "-A")
    result = repo.modelseal("hook", "manifest", "stray/a.bin", "stray/b.pt")
    assert "stray/ holds 2 weight files no tracked model covers (a.bin, b.pt)" in result.stderr
    assert result.returncode == 0  # warn only
    configure(repo, ["models/a"], "policy:\n  strict: true\n")
    repo("add", "-A")
    strict = repo.modelseal("hook", "manifest", "stray/a.bin")
    assert strict.returncode == 1 and "modelseal: error: stray/" in strict.stderr


def test_weights_inside_a_model_or_a_glob_model_are_covered(tmp_path: Path) -> None:
    for name in ("models/a/w.bin", "models/a/sub/x.onnx", "top.gguf", "node_modules/p/x.bin"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    found = untracked_weight_dirs(tmp_path, [tmp_path / "models" / "a"])
    assert found == {".": ["top.gguf"]}
    assert untracked_weight_dirs(tmp_path, [tmp_path]) == {}


def test_report_and_comment_show_untracked_weights(repo: Git) -> None:
    import cmarkgfm

    _tracked_repo(repo)
    repo.write("models/new/model.safetensors", b"w" * 10)
    repo.write("models/new/`odd`.bin", b"w")
    document = json.loads(repo.modelseal("report", "--format", "json").stdout)
    assert document["untracked_weights"] == [
        {"directory": "models/new", "files": ["`odd`.bin", "model.safetensors"],
         "strict": False}]
    assert document["verdict"] == "warn"
    assert "untracked weights in 1 directory" in document["summary"]
    import jsonschema

    schema = REPO_ROOT / "src/modelseal/report/schema/report-v1.json"
    jsonschema.validate(document, json.loads(schema.read_text()))
    markdown = repo.modelseal("report", "--format", "markdown").stdout
    html = cmarkgfm.github_flavored_markdown_to_html(markdown)
    assert "<strong>Untracked weights:</strong>" in html
    assert "<code>models/new</code>" in html and "<code>`odd`.bin</code>" in html
    text = repo.modelseal("report", "--format", "text").stdout
    assert "untracked weights: models/new/ holds `odd`.bin, model.safetensors" in text
    # the JSON reads back (the comment step renders from it)
    from modelseal.report.model import report_from_json

    assert report_from_json(document).untracked_weights[0].directory == "models/new"
    # a PATH reports that model only; strict fails
    assert "untracked_weights" not in json.loads(
        repo.modelseal("report", "models/a", "--format", "json").stdout)
    strict = repo.modelseal("report", "--strict", "--format", "json")
    assert strict.returncode == 1 and json.loads(strict.stdout)["verdict"] == "fail"
