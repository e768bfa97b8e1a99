"""The one output module: every line a user sees is written here.

Model names, file names, messages and signer details come from the tree, the bundle
or a server: every one goes through `errors.printable` (text) or `errors.safe_json`
(JSON) before it is written. `say`, `notice`, `warning` and `error` are the one way
to print a line; the `print_*` helpers render results.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TextIO

from modelseal.errors import printable, safe_json
from modelseal.progress import human_size
from modelseal.words import one_or_many, plural

# The CLI loads this module first thing, so what it imports stays light: the result
# types are for annotations only.
if TYPE_CHECKING:
    from modelseal.engine import ManifestStatus, ModelFailure
    from modelseal.manifest import ManifestDiff
    from modelseal.signing import PreparedModel
    from modelseal.verifying import VerificationResult

JSON_SCHEMA_VERSION = 1


def say(text: object, *, err: bool = False, out: TextIO | None = None) -> None:
    """One line of output (to ``out``, else stdout, or stderr with `err`), escaped.
    Flushed at once, so it keeps its place among the lines of child processes."""
    print(printable(text), file=out or (sys.stderr if err else sys.stdout), flush=True)


def say_lines(lines: Sequence[object], *, err: bool = False, out: TextIO | None = None) -> None:
    """Several lines, each escaped on its own (a line break inside one stays visible)."""
    for line in lines:
        say(line, err=err, out=out)


def notice(message: object) -> None:
    """`modelseal: notice: ...` on stderr: something the user may want to know."""
    say(f"modelseal: notice: {printable(message)}", err=True)


def warning(message: object) -> None:
    """`modelseal: warning: ...` on stderr: not a failure, but needs attention."""
    say(f"modelseal: warning: {printable(message)}", err=True)


def error(message: object) -> None:
    """`modelseal: error: ...` on stderr: what failed, where, and what to do."""
    say(f"modelseal: error: {printable(message)}", err=True)


def files_differ(count: int) -> str:
    """``1 file differs``, ``3 files differ``."""
    return f"{plural(count, 'file')} {one_or_many(count, 'differs', 'differ')}"


def _size(diff: ManifestDiff, path: str, old: bool = False) -> str:
    size = (diff.old_sizes if old else diff.sizes).get(path)
    return f" ({human_size(size)})" if size is not None else ""


def diff_lines(diff: ManifestDiff, limit: int = 200) -> list[str]:
    """One line per change, the most important first; long lists are cut with a count."""
    show = printable
    lines = [f"  + added     {show(p)}{_size(diff, p)}" for p in diff.added]
    lines += [f"  - removed   {show(p)}" for p in diff.removed]
    lines += [f"  ~ modified  {show(p)}{_size(diff, p)}" for p in diff.modified]
    lines += [f"  > renamed   {show(a)} -> {show(b)}" for a, b in diff.renamed]
    lines += [f"  * setting   {show(s)}" for s in diff.settings]
    if len(lines) > limit:
        hidden = len(lines) - limit
        lines = [*lines[:limit], f"  ... and {hidden} more (use --format json for all)"]
    return lines


def print_check(statuses: Sequence[ManifestStatus], out: TextIO | None = None) -> None:
    out = out or sys.stdout
    stale = [s for s in statuses if s.stale]
    for status in statuses:
        name = printable(status.target.display)
        if status.missing:
            print(f"{name}: no manifest ({printable(status.target.manifest_path.name)} is "
                  "missing)", file=out)
        elif status.stale:
            print(f"{name}: manifest is stale ({files_differ(status.diff.changed_files)})",
                  file=out)
            for line in diff_lines(status.diff):
                print(line, file=out)
        else:
            files = len({r.path for r in status.current.resources})
            print(f"{name}: ok ({plural(files, 'file')}, "
                  f"sha256:{status.current.root_digest[:16]}...)", file=out)
        print_lfs_note(status, out)
    if stale:
        paths = printable(" ".join(shlex.quote(s.target.display) for s in stale))
        print(f"\nrun `modelseal manifest {paths}` to update, then commit the manifest", file=out)


def print_stale(stale: Sequence[ManifestStatus]) -> None:
    """`sign` refusing stale manifests: each one with its diff."""
    for status in stale:
        say(f"{status.target.display}: manifest is stale "
            f"({files_differ(status.diff.changed_files)})")
        say_lines(diff_lines(status.diff))


def print_signed(model: PreparedModel, method: str) -> None:
    """A model just signed: the manifest written with it, the digest, the bundle path."""
    name, manifest = model.target.display, model.target.manifest_path
    if model.write_manifest and model.status.missing:
        say(f"{name}: wrote {manifest} (there was no manifest; commit it with model.sig)")
    elif model.write_manifest:
        say(f"{name}: updated {manifest}")
        say_lines(diff_lines(model.status.diff))
    digest = model.status.current.root_digest
    say(f"{name}: signed ({method}, sha256:{digest[:16]}...) -> {model.signature_path}")


def print_refresh(statuses: Sequence[ManifestStatus], out: TextIO | None = None) -> None:
    out = out or sys.stdout
    for status in statuses:
        if not status.written:
            print(f"{printable(status.target.display)}: manifest up to date", file=out)
        else:
            print("\n".join(refresh_lines(status, str(status.target.manifest_path))), file=out)
        print_lfs_note(status, out)


def refresh_lines(status: ManifestStatus, manifest: str) -> list[str]:
    """What writing ``status``'s manifest changed: created, reformatted, or the diff."""
    name, manifest = printable(status.target.display), printable(manifest)
    if status.missing:
        count = len({r.path for r in status.current.resources})
        return [f"{name}: created {manifest} ({plural(count, 'file')})"]
    if status.diff.empty:
        return [f"{name}: rewrote {manifest} in canonical form"]
    return [f"{name}: updated {manifest}:", *diff_lines(status.diff)]


def print_lfs_note(status: ManifestStatus, out: TextIO | None = None) -> None:
    """Say which files were Git LFS pointers whose oid stood in for their content."""
    if status.lfs_pointers:
        from modelseal import lfs

        print(printable(lfs.pointer_note(status.target.display, status.lfs_pointers)),
              file=out or sys.stdout)


def status_json(status: ManifestStatus) -> dict[str, Any]:
    state = "missing" if status.missing else "stale" if status.stale else "ok"
    return {
        "path": status.target.display,
        "manifest": str(status.target.manifest_path),
        "status": state,
        "written": status.written,
        "root_digest": f"sha256:{status.current.root_digest}",
        "files": len({r.path for r in status.current.resources}),
        "diff": status.diff.to_json(),
        "lfs_pointers": list(status.lfs_pointers),
    }


def print_json(data: Any, out: TextIO | None = None) -> None:
    out = out or sys.stdout
    out.write(safe_json(data) + "\n")


def statuses_json(statuses: Sequence[ManifestStatus],
                  untracked: Mapping[str, Sequence[str]] | None = None, *,
                  strict: bool = False,
                  failures: Sequence[ModelFailure] = ()) -> dict[str, Any]:
    untracked = untracked or {}
    return {
        "version": JSON_SCHEMA_VERSION,
        "ok": not failures and not any(s.stale and not s.written for s in statuses)
        and not (strict and untracked),
        "models": [status_json(s) for s in statuses] + [failure_json(f) for f in failures],
        "untracked_weights": [{"directory": directory, "files": list(names)}
                              for directory, names in sorted(untracked.items())],
    }


def failure_json(failure: ModelFailure) -> dict[str, Any]:
    """A model that could not be checked: ``status`` is ``error``, ``error`` says why."""
    return {"path": failure.target.display, "manifest": str(failure.target.manifest_path),
            "status": "error", "error": failure.message}


def print_untracked(untracked: Mapping[str, Sequence[str]], *, strict: bool,
                    out: TextIO | None = None) -> None:
    """Warn (an error under ``policy.strict``) about weights outside every tracked model."""
    from modelseal.weights import describe

    level = "error" if strict else "warning"
    for line in describe({d: list(n) for d, n in untracked.items()}):
        print(f"modelseal: {level}: {printable(line)}; add it under 'models:' in "
              ".modelseal.yaml (or to a model's directory)", file=out or sys.stderr)


def verify_json(results: list[VerificationResult]) -> dict[str, Any]:
    """The `verify --format json` document."""
    return {"version": JSON_SCHEMA_VERSION, "ok": all(r.ok for r in results),
            "models": [r.to_json() for r in results]}


def print_verify(results: list[VerificationResult]) -> None:
    """Text output: one line per model (failures on stderr), then what changed."""
    from modelseal.verifying import STATUS_UNSIGNED, STATUS_VERIFIED

    for result in results:
        name, message = printable(result.target.display), printable(result.message)
        if result.status == STATUS_VERIFIED:
            print(f"{name}: {message}{printable(_signer_details(result))}")
            for warning in result.warnings:
                print(f"modelseal: warning: {name}: {printable(warning)}", file=sys.stderr)
        elif result.status == STATUS_UNSIGNED:
            print(_unsigned_line(result), file=sys.stderr)
        else:
            print(f"modelseal: error: {name}: {message}", file=sys.stderr)
            if result.diff is not None:
                for line in diff_lines(result.diff):
                    print(line)


def _unsigned_line(result: VerificationResult) -> str:
    """An unsigned model fails `verify` unless --allow-unsigned accepted it."""
    name, message = printable(result.target.display), printable(result.message)
    if result.ok:
        return f"modelseal: warning: {name}: {message} (accepted by --allow-unsigned)"
    hint = ("the strict policy fails unsigned models" if result.strict else
            "sign it, or pass --allow-unsigned to accept unsigned models")
    return f"modelseal: error: {name}: {message}; {hint}"


def _signer_details(result: VerificationResult) -> str:
    from modelseal.signer import format_time

    signer = result.signer
    if signer is None:
        return ""
    parts = [signer.method]
    if signer.issuer:
        parts.append(f"issuer {signer.issuer}")
    if result.signed_at is not None:
        parts.append(f"signed {format_time(result.signed_at)}")
    if signer.rekor_log_index is not None:
        parts.append(f"rekor log index {signer.rekor_log_index}")
    return f" [{', '.join(parts)}]"
