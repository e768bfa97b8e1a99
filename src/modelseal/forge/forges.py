"""The forges modelseal comments on: the one list of their names and what each gives.

Each entry names the module that implements the forge (imported only when used, so
building the CLI imports no HTTP code) and what the CLI and the comment flow need to
know about it. A forge module provides:

- ``comment_thread(pr, *, dry_run)``: the pull/merge request's comments, from the CI
  environment (a `sticky.CommentThread`);
- ``base_revision(environ)``: the request's base commit, when the CI environment says.

Adding a forge (Gitea, say) is one module with those two functions (and an
``ApiClient`` factory, as `github.client`) plus one `Forge(...)` line in `FORGES`.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, cast

from modelseal.errors import UsageError

if TYPE_CHECKING:  # the CLI builds its options from here: no report code at start-up
    from modelseal.forge.sticky import CommentThread


class ForgeApi(Protocol):
    """What a forge module provides (a module is checked against this protocol)."""

    def comment_thread(self, pr: int | None, *, dry_run: bool = False) -> CommentThread: ...

    def base_revision(self, environ: Mapping[str, str]) -> str | None: ...


@dataclass(frozen=True)
class Forge:
    name: str  # the CLI flag (--NAME) and the value of ``args.forge``
    module: str  # the implementation, imported when the forge is used
    option_help: str  # what the flag posts and which CI variables it reads
    comment_format: str  # the report format (`report.render.FORMATS`) of its comments
    comment_noun: str  # what the forge calls a comment
    relays: bool = False  # a fork's read-only token leaves the report for a relay job

    def api(self) -> ForgeApi:
        return cast(ForgeApi, importlib.import_module(self.module))


FORGES: dict[str, Forge] = {forge.name: forge for forge in (
    Forge("github", "modelseal.forge.github",
          "pull request comment (GITHUB_TOKEN, GITHUB_REPOSITORY, GITHUB_EVENT_PATH, "
          "GITHUB_API_URL)", "markdown", "comment", relays=True),
    Forge("gitlab", "modelseal.forge.gitlab",
          "merge request note (CI_API_V4_URL, CI_PROJECT_ID, CI_MERGE_REQUEST_IID, "
          "MODELSEAL_GITLAB_TOKEN)", "gitlab", "note"),
)}


def get_forge(name: str) -> Forge:
    try:
        return FORGES[name]
    except KeyError:
        raise UsageError(f"unknown forge {name!r} (one of: {', '.join(FORGES)})") from None


def add_forge_options(parser: argparse.ArgumentParser) -> None:
    """``--github``, ``--gitlab``, ...: exactly one, stored as ``args.forge``."""
    group = parser.add_mutually_exclusive_group(required=True)
    for forge in FORGES.values():
        group.add_argument(f"--{forge.name}", dest="forge", action="store_const",
                           const=forge.name, help=forge.option_help)
