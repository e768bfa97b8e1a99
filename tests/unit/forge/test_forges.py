"""The forge registry is the one list of forges: the CLI's flags and the comment flow
come from it, so a new forge is one module plus one line."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from modelseal.cli import build_parser, main
from modelseal.forge import forges
from modelseal.forge.sticky import report_key
from modelseal.report.render import FORMATS, render
from tests import report_samples as samples
from tests.forge_servers import ForgeState, GitLabHandler, serve

TOKEN = "glpat-S3cretForgeRegistryToken"


@pytest.fixture
def gitlab_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[ForgeState]:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    with serve(GitLabHandler, ForgeState(tokens={TOKEN: "write"})) as running:
        monkeypatch.setenv("CI_API_V4_URL", running.base_url + "/api/v4")
        monkeypatch.setenv("CI_PROJECT_ID", "acme/ml")
        monkeypatch.setenv("CI_MERGE_REQUEST_IID", "12")
        monkeypatch.setenv("MODELSEAL_GITLAB_TOKEN", TOKEN)
        yield running


def test_every_forge_module_provides_the_hook_ins() -> None:
    assert set(forges.FORGES) == {"github", "gitlab"}
    for forge in forges.FORGES.values():
        api = forge.api()
        assert callable(api.comment_thread) and callable(api.base_revision)
        assert forge.comment_format in FORMATS


def test_the_comment_flags_are_the_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    parser = build_parser()
    for name in forges.FORGES:
        assert parser.parse_args(["comment", f"--{name}"]).forge == name
    with pytest.raises(SystemExit):
        parser.parse_args(["comment", "--github", "--gitlab"])  # exactly one
    monkeypatch.delitem(forges.FORGES, "gitlab")
    with pytest.raises(SystemExit):
        build_parser().parse_args(["comment", "--gitlab"])


def test_a_new_forge_is_one_line(gitlab_api: ForgeState, tmp_path: Path,
                                 monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    # a forge speaking GitLab's API under another name: the registry line is all it takes
    monkeypatch.setitem(forges.FORGES, "gitea", forges.Forge(
        "gitea", "modelseal.forge.gitlab", "pull request comment", "markdown", "remark"))
    report = tmp_path / "report.json"
    report.write_text(render(samples.SAMPLES["signed"](), "json"))
    assert main(["comment", "--gitea", "--report", str(report)]) == 0
    assert "created the report remark" in capsys.readouterr().err
    [note] = [n for n in gitlab_api.threads["acme/ml!12"] if report_key(n["body"])[0]]
    assert note["body"] == render(samples.SAMPLES["signed"](), "markdown")


def test_unknown_forge_is_a_usage_error() -> None:
    with pytest.raises(Exception, match="unknown forge 'gitea'"):
        forges.get_forge("gitea")
