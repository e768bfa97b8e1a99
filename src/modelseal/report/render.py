"""Turn a `Report` into text: forge markdown, terminal text, JSON or JUnit XML.

Templates live in `templates/` (package data); ``template`` overrides one with a
user's file, which may also ``{% extends %}`` or ``{% import %}`` the built-in ones.
Every value a template prints is escaped for its output by default (the
environment's ``finalize``); filters that produce markup return `Markup` to opt out.
Forge bodies always start with the report marker, added here and never by a
template, and are shrunk to the forge's size limit by leaving out per-file detail.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelseal.errors import UsageError, printable
from modelseal.progress import human_size
from modelseal.report import escape, formats
from modelseal.report.model import (
    FileChange,
    FileChanges,
    ModelReport,
    ModelState,
    Report,
    Severity,
)
from modelseal.words import plural

if TYPE_CHECKING:
    import jinja2

MARKER = "<!-- modelseal-report -->"
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")

# re-exported: the limits are the formats registry's
FORMATS = formats.names()
Limit = formats.Limit
GITHUB_COMMENT_LIMIT = formats.GITHUB_COMMENT_LIMIT
GITHUB_SUMMARY_LIMIT = formats.GITHUB_SUMMARY_LIMIT
GITLAB_NOTE_LIMIT = formats.GITLAB_NOTE_LIMIT


@dataclass(frozen=True)
class Detail:
    """How much per-file detail to show; shrunk step by step to fit a size limit."""

    files: int | None = None  # rows per file table; None = all
    details: bool = True  # the collapsible per-model sections
    models: int | None = None  # rows in the models table; None = all


_SHRINK_STEPS = (Detail(), Detail(500), Detail(100), Detail(25), Detail(5), Detail(0),
                 Detail(0, details=False), Detail(0, False, 500), Detail(0, False, 100))


def check_report_id(report_id: str | None) -> str | None:
    """A report id goes into an HTML comment: letters, digits, '.', '_' and '-' only."""
    if report_id is not None and not _ID.fullmatch(report_id):
        raise UsageError(f"report id {report_id!r} must be 1-64 letters, digits, '.', '_' or "
                         "'-', starting with a letter or digit")
    return report_id


def marker_lines(report_id: str | None) -> str:
    """The hidden first line(s) by which `comment` finds its own earlier comment."""
    check_report_id(report_id)
    return MARKER + (f"\n<!-- modelseal-report:{report_id} -->" if report_id else "") + "\n"


def render(report: Report, fmt: str, *, template: Path | None = None,
           color: bool = False) -> str:
    """``report`` in format ``fmt`` (a name in `formats.FORMATS`), shrunk to the
    forge's limit."""
    made = formats.FORMATS.get(fmt)
    if made is None:
        raise UsageError(f"unknown report format {fmt!r} (choose from {', '.join(FORMATS)})")
    if made.function is not None:
        if template is not None:
            raise UsageError(f"--template does not apply to --format {fmt}")
        return made.function(report)
    loaded = _load_template(made, template)
    prefix = marker_lines(report.report_id) if made.marked else ""
    limit = made.limit
    steps = _SHRINK_STEPS if limit else (Detail(made.rows_per_table),)
    body = ""
    for step in steps:
        body = prefix + loaded.render(_context(report, step, limit, color))
        if limit is None or limit.fits(body):
            return body
    assert limit is not None
    return _cut(body, limit)


def _cut(body: str, limit: Limit) -> str:
    """Last resort (tens of thousands of models): cut the text and say so."""
    note = f"\n\n_Report cut to stay under {limit.what}; see the JSON report for all of it._\n"
    keep = limit.size - len(note.encode("utf-8")) - 16
    if limit.unit == "bytes":
        cut = body.encode("utf-8")[:keep].decode("utf-8", errors="ignore")
    else:
        cut = body[:keep]
    return cut[:cut.rfind("\n") + 1] + note


# --- templates -------------------------------------------------------------------------


def _load_template(made: formats.ReportFormat, template: Path | None) -> jinja2.Template:
    env = _environment(made.escaping, template.parent if template else None)
    try:
        return env.get_template(template.name if template else str(made.template))
    except OSError as exc:
        raise UsageError(f"cannot read template {template}: {exc}") from None
    except Exception as exc:  # jinja2.TemplateError, imported lazily
        raise UsageError(f"template {template or made.template}: {exc}") from None


@functools.lru_cache(maxsize=16)
def _environment(escaping: str, user_dir: Path | None) -> jinja2.Environment:
    """One environment per escaping (and template folder): templates compile once."""
    import jinja2

    loaders: list[jinja2.BaseLoader] = []
    if user_dir is not None:
        loaders.append(jinja2.FileSystemLoader(str(user_dir)))
    loaders.append(jinja2.PackageLoader("modelseal.report", "templates"))
    # Autoescape makes macros return Markup; finalize does the escaping for the format.
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=True,
        finalize=_finalizer(_escaper(escaping)),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(_filters())
    return env


def _escaper(escaping: str) -> Callable[[object], str]:
    if escaping == formats.MARKDOWN:
        return escape.markdown_text
    if escaping == formats.XML:
        return lambda value: str(escape_xml(escape.xml_text(value)))
    return printable


def escape_xml(text: str) -> str:
    from markupsafe import escape as markup_escape

    return str(markup_escape(text))


def _finalizer(escaper: Callable[[object], str]) -> Callable[[Any], Any]:
    from markupsafe import Markup

    def finalize(value: Any) -> Any:
        if value is None:
            return Markup("")
        if isinstance(value, Markup):
            return value
        return Markup(escaper(value))

    return finalize


def _markup(function: Callable[..., str]) -> Callable[..., Any]:
    from markupsafe import Markup

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        return Markup(function(*args, **kwargs))

    return wrapped


def _filters() -> dict[str, Callable[..., Any]]:
    return {
        "code": _markup(escape.code_span),
        "inline_code": _markup(lambda text: escape.code_span(text, in_table=False)),
        "html": _markup(escape.html_text),
        "fence": _markup(escape.code_block),
        "link": _markup(escape.markdown_link),
        "size": size_text,
        "file_size": file_size_text,
        "delta": delta_text,
        "number": lambda n: f"{n:,}",
        "plural": plural,
    }


# Words for what a report does not know, instead of a bare dash a reader must guess at.
UNKNOWN_SIZE = "unknown"
NO_CHANGE = "no change"


def size_text(nbytes: int | None) -> str:
    return UNKNOWN_SIZE if nbytes is None else human_size(nbytes)


def file_size_text(change: FileChange) -> str:
    """A file's size after the change: ``none`` once removed, ``unknown`` when not known."""
    if change.kind == "removed":
        return "none"
    return size_text(change.size)


def delta_text(nbytes: int | None, unknown: str = UNKNOWN_SIZE) -> str:
    """A size change: +2.0 MiB, -512 B, ±0, or ``unknown`` when it is not known."""
    if nbytes is None:
        return unknown
    if nbytes == 0:
        return "±0"
    return ("+" if nbytes > 0 else "-") + human_size(abs(nbytes))


# --- the context every template gets ---------------------------------------------------

_ICONS = {Severity.OK: "✅", Severity.PENDING: "⏳", Severity.WARNING: "⚠️",
          Severity.FAILURE: "❌"}
_VERDICT_ICONS = {"pass": "✅", "warn": "⚠️", "fail": "❌"}
_VERDICT_SEVERITY = {"pass": Severity.OK, "warn": Severity.WARNING, "fail": Severity.FAILURE}
_TEXT_MARKS = {Severity.OK: "✓", Severity.PENDING: "…", Severity.WARNING: "!",
               Severity.FAILURE: "✗"}
_COLORS: dict[Severity | str, str] = {
    Severity.OK: "32", Severity.PENDING: "36", Severity.WARNING: "33", Severity.FAILURE: "31",
    "bold": "1", "dim": "2"}


@dataclass(frozen=True)
class Shown:
    """The rows of a file table that fit, and how many were left out."""

    rows: Sequence[FileChange]
    hidden: int


def _context(report: Report, step: Detail, limit: Limit | None, color: bool) -> dict[str, Any]:
    from markupsafe import Markup

    models = report.models if step.models is None else report.models[:step.models]

    def shown(changes: FileChanges) -> Shown:
        rows = changes.files if step.files is None else changes.files[:step.files]
        return Shown(rows, len(changes.files) - len(rows))

    def icon(model: ModelReport) -> Any:
        return Markup(_ICONS[model.severity])

    def mark(model: ModelReport) -> Any:
        return style(_TEXT_MARKS[model.severity], model.severity)

    def style(text: object, how: Severity | str) -> Any:
        safe = printable(text)
        return Markup(f"\x1b[{_COLORS[how]}m{safe}\x1b[0m" if color else safe)

    hidden_files = sum(shown(m.changes).hidden + shown(m.mismatch).hidden
                       for m in report.models)
    total_files = sum(len(m.changes.files) + len(m.mismatch.files) for m in report.models)
    return {
        "report": report,
        "models": models,
        "hidden_models": len(report.models) - len(models),
        "details": step.details,
        "shown": shown,
        "hidden_files": hidden_files,
        "total_files": total_files,
        "limit": limit,
        "icon": icon,
        "verdict_icon": Markup(_VERDICT_ICONS[report.verdict.value]),
        "verdict_severity": _VERDICT_SEVERITY[report.verdict.value],
        "mark": mark,
        "style": style,
        "change_summary": change_summary,
        "signer_rows": signer_rows,
        "signer_cell": signer_cell,
    }


def change_summary(changes: FileChanges) -> str:
    """``2 added, 1 modified`` (or ``settings changed``, or ``no change``)."""
    parts = [f"{count:,} {kind}" for kind, count in changes.counts().items() if count]
    if changes.settings:
        parts.append("settings changed")
    return ", ".join(parts) or NO_CHANGE


def signer_cell(model: ModelReport) -> str:
    """What the signer column says when no verified signer is known, and why."""
    if model.state is ModelState.UNSIGNED:
        return "not signed"
    if model.state is ModelState.AWAITING_SIGNATURE:
        return "not signed yet"
    return "not verified"


def signer_rows(model: ModelReport) -> list[tuple[str, str | None, str]]:
    """(label, value, kind) for each known signer detail; kind is code, link or text."""
    signer = model.signer
    if signer is None:
        return []
    rows: list[tuple[str, str | None, str]] = [
        ("Method", signer.method, "text"),
        ("Identity", signer.identity, "code"),
        ("Issuer", signer.issuer, "code"),
        ("Repository", signer.repository, "code"),
        ("Workflow", signer.workflow, "code"),
        ("Ref", signer.ref, "code"),
        ("Commit", signer.commit, "code"),
        ("Run", signer.run_url, "link"),
        ("Certificate", signer.certificate_subject, "code"),
        ("Key", f"sha256:{signer.key_hint}" if signer.key_hint else None, "code"),
        ("Rekor log index", None if signer.rekor_log_index is None
         else str(signer.rekor_log_index), "text"),
        ("Signed at", None if signer.integrated_time is None
         else signer.integrated_time.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
         "text"),
    ]
    return [row for row in rows if row[1]]
