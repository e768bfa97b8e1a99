"""With a base revision, a Sigstore trust config inside the repository is read from the
base (the change cannot bring its own roots); one outside the repository is used as is."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelseal.app.policies import trust_config_file
from modelseal.errors import UsageError
from tests.git_helpers import Git, git_home_fixture, repo_fixture

__all__ = ["git_home_fixture", "repo_fixture"]


@pytest.fixture
def based(repo: Git, monkeypatch: pytest.MonkeyPatch) -> str:
    repo.write("sigstore/trust.json", '{"base": true}')
    repo("add", "-A")
    repo.commit("base")
    base = repo("rev-parse", "HEAD").stdout.strip()
    repo.write("sigstore/trust.json", '{"head": true}')  # the change under review
    monkeypatch.chdir(repo.path)
    return base


def test_a_repository_trust_config_is_the_base_revisions(based: str, tmp_path: Path) -> None:
    folder = tmp_path / "policy"
    folder.mkdir()
    local, watched = trust_config_file(Path("sigstore/trust.json"), based, folder)
    assert local is not None and local.read_text() == '{"base": true}'
    assert watched == ("sigstore/trust.json",)


def test_a_trust_config_the_base_lacks_is_refused_with_the_way_out(repo: Git, based: str,
                                                                   tmp_path: Path) -> None:
    repo.write("ci/new-trust.json", "{}")  # brought by the pull request
    with pytest.raises(UsageError, match="a pull request cannot bring its own") as raised:
        trust_config_file(Path("ci/new-trust.json"), based, tmp_path)
    assert "outside the repository" in str(raised.value)


def test_outside_the_repository_or_without_a_base_it_is_used_as_given(
        based: str, tmp_path: Path) -> None:
    runner_file = tmp_path / "runner" / "trust.json"
    assert trust_config_file(runner_file, based, tmp_path) == (runner_file, ())
    head = Path("sigstore/trust.json")
    assert trust_config_file(head, None, tmp_path) == (head, ())
