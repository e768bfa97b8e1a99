"""The report formats: the one list `report --format` and the renderer both read.

A format is a name, one line of help, and how it is made: a built-in Jinja2
template in `templates/` (escaped for its ``escaping``, shrunk to its forge's
``limit``, behind the comment marker when ``marked``) or a plain function of the
report (JSON). Adding a format is a template (or a function) plus one line in
`FORMATS`. Nothing here imports Jinja2: the CLI builds its options from this list.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from modelseal.report.model import Report

MARKDOWN = "markdown"
XML = "xml"
TERMINAL = "terminal"


@dataclass(frozen=True)
class Limit:
    """A forge's size limit on a body, in characters or UTF-8 bytes."""

    size: int
    unit: str  # "chars" or "bytes"
    what: str

    def fits(self, text: str) -> bool:
        size = len(text) if self.unit == "chars" else len(text.encode("utf-8"))
        return size <= self.size


GITHUB_COMMENT_LIMIT = Limit(65_535, "chars", "GitHub's 65,536-character comment limit")
GITHUB_SUMMARY_LIMIT = Limit(1024 * 1024 - 1, "bytes", "GitHub's 1 MiB job summary limit")
GITLAB_NOTE_LIMIT = Limit(999_999, "chars", "GitLab's 1,000,000-character note limit")


def _json(report: Report) -> str:
    from modelseal.errors import safe_json

    return safe_json(report.to_json()) + "\n"


@dataclass(frozen=True)
class ReportFormat:
    """How one format is made. Exactly one of ``template`` and ``function`` is set."""

    name: str
    help: str
    template: str | None = None
    function: Callable[[Report], str] | None = None
    escaping: str = MARKDOWN  # what template values are escaped for
    limit: Limit | None = None  # shrink the per-file detail until the body fits
    marked: bool = False  # a comment body: starts with the marker `comment` finds it by
    rows_per_table: int | None = None  # None: every row


FORMATS: dict[str, ReportFormat] = {made.name: made for made in (
    ReportFormat("markdown", "the GitHub pull request comment", "github-comment.md.j2",
                 limit=GITHUB_COMMENT_LIMIT, marked=True),
    ReportFormat("text", "for a terminal", "text.txt.j2", escaping=TERMINAL,
                 rows_per_table=50),
    ReportFormat("json", "schema report-v1, which --from-json renders again",
                 function=_json),
    ReportFormat("junit", "JUnit XML, a test case per model", "junit.xml.j2", escaping=XML),
    ReportFormat("github-summary", "a GitHub job summary", "github-summary.md.j2",
                 limit=GITHUB_SUMMARY_LIMIT),
    ReportFormat("gitlab", "the GitLab merge request note", "gitlab-note.md.j2",
                 limit=GITLAB_NOTE_LIMIT, marked=True),
)}
DEFAULT = "markdown"


def names() -> tuple[str, ...]:
    return tuple(FORMATS)


def help_text() -> str:
    """The `--format` help, from the list."""
    listed = "; ".join(f"{name}: {made.help}" for name, made in FORMATS.items())
    return f"{listed} (default: {DEFAULT})"
