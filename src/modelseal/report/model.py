"""The report model: what a run found for each model, as plain frozen dataclasses.

Renderers read only these classes, so every output (PR comment, job summary, MR note,
terminal text, JSON, JUnit) says the same thing. `Report.to_json` is the versioned
JSON document described by `schema/report-v1.json`; `report_from_json` reads it back
(e.g. a report relayed from a fork's workflow run), checking every field.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum
from typing import Any

from modelseal.errors import UsageError
from modelseal.signer import SignerInfo
from modelseal.words import plural

Signer = SignerInfo  # the report's name for who signed

SCHEMA_VERSION = 1
SCHEMA_ID = "https://modelseal.dev/schemas/report-v1.json"
REPORT_KIND = "modelseal-report"


class ModelState(str, Enum):
    """What a model's signature and manifest say, most trustworthy first."""

    VERIFIED = "verified"  # changed here, and the signature covers the new files
    SIGNED_UNCHANGED = "signed-unchanged"  # not changed here; its signature verifies
    AWAITING_SIGNATURE = "awaiting-signature"  # changed here; CI signs it on merge
    MANIFEST_STALE = "manifest-stale"  # committed manifest does not match the files
    SIGNATURE_INVALID = "signature-invalid"  # bad bundle, signature or tampered files
    POLICY_VIOLATION = "policy-violation"  # valid signature by a signer not allowed
    SIGNED_NOT_VERIFIED = "signed-not-verified"  # no trusted signer configured to check it
    UNSIGNED = "unsigned"  # no signature; a failure only under a strict policy


class Severity(str, Enum):
    OK = "ok"
    PENDING = "pending"
    WARNING = "warning"
    FAILURE = "failure"


class Verdict(str, Enum):
    """The one overall answer: can this be merged as far as model integrity goes."""

    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"


STATE_LABELS: Mapping[ModelState, str] = {
    ModelState.VERIFIED: "verified",
    ModelState.SIGNED_UNCHANGED: "signed and unchanged",
    ModelState.AWAITING_SIGNATURE: "awaiting signature on merge",
    ModelState.MANIFEST_STALE: "manifest stale",
    ModelState.SIGNATURE_INVALID: "signature invalid",
    ModelState.POLICY_VIOLATION: "policy violation",
    ModelState.SIGNED_NOT_VERIFIED: "signed, not verified",
    ModelState.UNSIGNED: "unsigned",
}
# In the summary's comma-separated counts a label must not hold a comma itself.
_SUMMARY_LABELS: Mapping[ModelState, str] = {
    **STATE_LABELS, ModelState.SIGNED_NOT_VERIFIED: "signed but not verified"}

_SEVERITY: Mapping[ModelState, Severity] = {
    ModelState.VERIFIED: Severity.OK,
    ModelState.SIGNED_UNCHANGED: Severity.OK,
    ModelState.AWAITING_SIGNATURE: Severity.PENDING,
    ModelState.MANIFEST_STALE: Severity.FAILURE,
    ModelState.SIGNATURE_INVALID: Severity.FAILURE,
    ModelState.POLICY_VIOLATION: Severity.FAILURE,
    ModelState.SIGNED_NOT_VERIFIED: Severity.WARNING,
    ModelState.UNSIGNED: Severity.WARNING,
}
# Warnings that a strict policy turns into failures: nothing verified the model.
_STRICT_FAILURES = (ModelState.UNSIGNED, ModelState.SIGNED_NOT_VERIFIED)

CHANGE_KINDS = ("added", "removed", "modified", "renamed")


@dataclass(frozen=True)
class FileChange:
    """One file added, removed, modified or renamed (``old_path`` for a rename)."""

    kind: str
    path: str
    old_path: str | None = None
    size: int | None = None
    old_size: int | None = None

    @property
    def size_delta(self) -> int | None:
        """Bytes gained (negative: lost); None when a size it needs is unknown."""
        if self.kind == "added":
            return self.size
        if self.kind == "removed":
            return None if self.old_size is None else -self.old_size
        if self.size is None or self.old_size is None:
            return None
        return self.size - self.old_size


@dataclass(frozen=True)
class FileChanges:
    """The file changes of one model, plus changed serialization settings."""

    files: tuple[FileChange, ...] = ()
    settings: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.files or self.settings)

    @property
    def size_delta(self) -> int | None:
        """Bytes added minus bytes removed over the changes whose sizes are known (None:
        files changed but no size is known)."""
        known = [c.size_delta for c in self.files if c.size_delta is not None]
        if self.files and not known:
            return None
        return sum(known)

    def count(self, kind: str) -> int:
        return sum(1 for change in self.files if change.kind == kind)

    def counts(self) -> dict[str, int]:
        return {kind: self.count(kind) for kind in CHANGE_KINDS}


@dataclass(frozen=True)
class ModelReport:
    """One model: its state, why, who signed it, and what changed.

    ``changes`` is what the base..head range changes in the model (empty without a
    base). ``mismatch`` lists the files that differ from what ``mismatch_source``
    records: ``signature`` (tampered or not yet re-signed) or ``manifest`` (the
    committed manifest is stale).
    """

    path: str
    state: ModelState
    message: str = ""
    strict: bool = False
    name: str = ""
    signer: Signer | None = None
    changes: FileChanges = field(default_factory=FileChanges)
    mismatch: FileChanges = field(default_factory=FileChanges)
    mismatch_source: str | None = None
    root_digest: str | None = None
    files: int | None = None
    size: int | None = None
    verify_command: str = ""
    warnings: tuple[str, ...] = ()
    reference: str | None = None  # a registry model: HOST/REPO@sha256:... to pull

    @property
    def severity(self) -> Severity:
        if self.state in _STRICT_FAILURES and self.strict:
            return Severity.FAILURE
        return _SEVERITY[self.state]

    @property
    def label(self) -> str:
        return STATE_LABELS[self.state]


MAX_POLICY_DIFF_CHARS = 16_000
MAX_POLICY_PATHS = 100


@dataclass(frozen=True)
class PolicyChange:
    """The pull request changes the policy files (`.modelseal.yaml`, or a key or root
    file the base's policy names). The run used the base's policy; the change is shown
    for review (``diff``: a unified diff, bounded), and fails the run when ``strict``."""

    paths: tuple[str, ...]
    diff: str = ""
    truncated: bool = False
    strict: bool = False

    @property
    def severity(self) -> Severity:
        return Severity.FAILURE if self.strict else Severity.WARNING

    @property
    def diff_lines(self) -> list[str]:
        return self.diff.splitlines()


MAX_UNTRACKED_DIRS = 1000
MAX_UNTRACKED_FILES = 100  # per directory, as listed in the report


@dataclass(frozen=True)
class UntrackedWeights:
    """Weight files in ``directory`` that no tracked model covers: nothing checks or
    signs them. A warning, or a failure under a strict policy."""

    directory: str
    files: tuple[str, ...]
    strict: bool = False

    @property
    def severity(self) -> Severity:
        return Severity.FAILURE if self.strict else Severity.WARNING


@dataclass(frozen=True)
class Report:
    """Everything one run found; ``report_id`` tells several reports in a PR apart."""

    models: tuple[ModelReport, ...]
    base: str | None = None
    head: str | None = None
    report_id: str | None = None
    verify_command: str = ""
    tool_version: str = ""
    policy_change: PolicyChange | None = None
    untracked_weights: tuple[UntrackedWeights, ...] = ()

    @property
    def verdict(self) -> Verdict:
        severities = {model.severity for model in self.models}
        if self.policy_change is not None:
            severities.add(self.policy_change.severity)
        severities.update(entry.severity for entry in self.untracked_weights)
        if Severity.FAILURE in severities:
            return Verdict.FAIL
        if Severity.WARNING in severities:
            return Verdict.WARN
        return Verdict.PASS

    def count(self, *states: ModelState) -> int:
        return sum(1 for model in self.models if model.state in states)

    def failing(self) -> list[ModelReport]:
        return [m for m in self.models if m.severity is Severity.FAILURE]

    @property
    def summary(self) -> str:
        """The one status line, without decoration: the verdict and the counts behind it."""
        summary = self._models_summary()
        if self.policy_change is not None:
            fails = " (strict: fails)" if self.policy_change.strict else ""
            summary += f"; policy changed in this pull request{fails}"
        if self.untracked_weights:
            where = plural(len(self.untracked_weights), "directory", "directories")
            summary += f"; untracked weights in {where}"
        return summary

    def _models_summary(self) -> str:
        total = len(self.models)
        if total == 0:
            return "no models to report"
        counts = Counter(model.state for model in self.models)
        parts = [f"{counts[state]} {_SUMMARY_LABELS[state]}" for state in ModelState
                 if counts[state]]
        noun = "model" if total == 1 else "models"
        failed = len(self.failing())
        if failed:
            head = f"{failed} of {total} {noun} failed"
        elif self.verdict is Verdict.WARN:
            head = f"{total} {noun} checked, with warnings"
        else:
            head = f"all {total} {noun} OK"
        return f"{head}: " + ", ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return report_to_json(self)


# --- JSON ------------------------------------------------------------------------------


def _time(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _changes_json(changes: FileChanges) -> dict[str, Any]:
    return {
        "files": [{"change": c.kind, "path": c.path, "old_path": c.old_path, "size": c.size,
                   "old_size": c.old_size} for c in changes.files],
        "settings": list(changes.settings),
        "counts": changes.counts(),
        "size_delta": changes.size_delta,
    }


def _signer_json(signer: Signer) -> dict[str, Any]:
    return {
        "method": signer.method, "identity": signer.identity, "issuer": signer.issuer,
        "repository": signer.repository, "workflow": signer.workflow, "ref": signer.ref,
        "commit": signer.commit, "run_url": signer.run_url, "key_hint": signer.key_hint,
        "certificate_subject": signer.certificate_subject,
        "rekor_log_index": signer.rekor_log_index,
        "integrated_time": _time(signer.integrated_time),
    }


def _model_json(model: ModelReport) -> dict[str, Any]:
    return {
        "path": model.path, "name": model.name, "state": model.state.value,
        "label": model.label, "severity": model.severity.value, "strict": model.strict,
        "message": model.message,
        "signer": _signer_json(model.signer) if model.signer else None,
        "changes": _changes_json(model.changes),
        "mismatch": _changes_json(model.mismatch), "mismatch_source": model.mismatch_source,
        "root_digest": model.root_digest, "files": model.files, "size": model.size,
        "verify_command": model.verify_command, "warnings": list(model.warnings),
        **({"reference": model.reference} if model.reference is not None else {}),
    }


def report_to_json(report: Report) -> dict[str, Any]:
    """The report as the versioned JSON document (see schema/report-v1.json)."""
    return {
        "$schema": SCHEMA_ID,
        "kind": REPORT_KIND,
        "schema_version": SCHEMA_VERSION,
        "tool_version": report.tool_version,
        "id": report.report_id,
        "base": report.base,
        "head": report.head,
        "verdict": report.verdict.value,
        "summary": report.summary,
        "counts": {state.value: report.count(state) for state in ModelState},
        "verify_command": report.verify_command,
        "models": [_model_json(model) for model in report.models],
        "policy_change": _policy_change_json(report.policy_change),
        **({"untracked_weights": [{"directory": entry.directory, "files": list(entry.files),
                                   "strict": entry.strict}
                                  for entry in report.untracked_weights]}
           if report.untracked_weights else {}),
    }


def _policy_change_json(change: PolicyChange | None) -> dict[str, Any] | None:
    if change is None:
        return None
    return {"paths": list(change.paths), "diff": change.diff, "truncated": change.truncated,
            "strict": change.strict, "severity": change.severity.value}


MAX_JSON_MODELS = 10_000
MAX_JSON_FILES = 1_000_000
MAX_JSON_INT = 2**63 - 1
MAX_REFERENCE_CHARS = 512
_PINNED = re.compile(r"[^\s@/]+/[^\s@]+@sha256:[0-9a-f]{64}")


class _Reader:
    """Reads an untrusted report document field by field; errors name the field."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, message: str) -> UsageError:
        return UsageError(f"{self.source}: not a modelseal report: {message}")

    def obj(self, value: Any, where: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(f"{where} must be an object")
        return value

    def str_(self, data: dict[str, Any], key: str, where: str) -> str:
        value = data.get(key)
        if not isinstance(value, str):
            raise self.fail(f"{where}.{key} must be a string")
        return value

    def opt_str(self, data: dict[str, Any], key: str, where: str) -> str | None:
        value = data.get(key)
        if value is not None and not isinstance(value, str):
            raise self.fail(f"{where}.{key} must be a string or null")
        return value

    def opt_int(self, data: dict[str, Any], key: str, where: str) -> int | None:
        # sizes, counts and log indexes: never negative, and small enough to render
        # (a 400-digit size would overflow the float that formats it)
        value = data.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)
                                  or not 0 <= value <= MAX_JSON_INT):
            raise self.fail(f"{where}.{key} must be an integer from 0 to {MAX_JSON_INT} "
                            "or null")
        return value

    def str_list(self, data: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(f"{where}.{key} must be a list of strings")
        return tuple(value)

    def time(self, data: dict[str, Any], key: str, where: str) -> datetime | None:
        text = self.opt_str(data, key, where)
        if text is None:
            return None
        try:
            return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
        except ValueError:
            raise self.fail(f"{where}.{key} must be a UTC time like 2025-01-31T12:00:00Z")\
                from None

    def changes(self, value: Any, where: str) -> FileChanges:
        data = self.obj(value, where)
        items = data.get("files", [])
        if not isinstance(items, list) or len(items) > MAX_JSON_FILES:
            raise self.fail(f"{where}.files must be a list")
        files = []
        for item in items:
            entry = self.obj(item, f"{where}.files[]")
            kind = self.str_(entry, "change", f"{where}.files[]")
            if kind not in CHANGE_KINDS:
                raise self.fail(f"{where}.files[].change must be one of {CHANGE_KINDS}")
            files.append(FileChange(kind, self.str_(entry, "path", where),
                                    self.opt_str(entry, "old_path", where),
                                    self.opt_int(entry, "size", where),
                                    self.opt_int(entry, "old_size", where)))
        return FileChanges(tuple(files), self.str_list(data, "settings", where))

    def signer(self, value: Any) -> Signer | None:
        if value is None:
            return None
        data = self.obj(value, "signer")
        text = {key: self.opt_str(data, key, "signer") for key in (
            "identity", "issuer", "repository", "workflow", "ref", "commit", "run_url",
            "key_hint", "certificate_subject")}
        return Signer(method=self.str_(data, "method", "signer"), **text,
                      rekor_log_index=self.opt_int(data, "rekor_log_index", "signer"),
                      integrated_time=self.time(data, "integrated_time", "signer"))

    def model(self, value: Any) -> ModelReport:
        data = self.obj(value, "models[]")
        where = "models[]"
        try:
            state = ModelState(self.str_(data, "state", where))
        except ValueError:
            raise self.fail(f"{where}.state is not a known state") from None
        strict = data.get("strict", False)
        if not isinstance(strict, bool):
            raise self.fail(f"{where}.strict must be true or false")
        return ModelReport(
            path=self.str_(data, "path", where), state=state,
            message=self.opt_str(data, "message", where) or "", strict=strict,
            name=self.opt_str(data, "name", where) or "",
            signer=self.signer(data.get("signer")),
            changes=self.changes(data.get("changes", {}), f"{where}.changes"),
            mismatch=self.changes(data.get("mismatch", {}), f"{where}.mismatch"),
            mismatch_source=self.opt_str(data, "mismatch_source", where),
            root_digest=self.opt_str(data, "root_digest", where),
            files=self.opt_int(data, "files", where), size=self.opt_int(data, "size", where),
            verify_command=self.opt_str(data, "verify_command", where) or "",
            warnings=self.str_list(data, "warnings", where),
            reference=self.reference(data, where),
        )

    def reference(self, data: dict[str, Any], where: str) -> str | None:
        value = self.opt_str(data, "reference", where)
        if value is not None and (len(value) > MAX_REFERENCE_CHARS
                                  or not _PINNED.fullmatch(value)):
            raise self.fail(f"{where}.reference must be HOST/REPO@sha256:<64 hex digits>")
        return value

    def policy_change(self, value: Any) -> PolicyChange | None:
        if value is None:
            return None
        data = self.obj(value, "policy_change")
        paths = self.str_list(data, "paths", "policy_change")
        diff = self.opt_str(data, "diff", "policy_change") or ""
        if len(paths) > MAX_POLICY_PATHS or len(diff) > MAX_POLICY_DIFF_CHARS:
            raise self.fail("policy_change is larger than modelseal writes it")
        flags = {key: data.get(key, False) for key in ("truncated", "strict")}
        if not all(isinstance(flag, bool) for flag in flags.values()):
            raise self.fail("policy_change.truncated and .strict must be true or false")
        return PolicyChange(paths, diff, flags["truncated"], flags["strict"])

    def untracked(self, value: Any) -> tuple[UntrackedWeights, ...]:
        if value is None:
            return ()
        if not isinstance(value, list) or len(value) > MAX_UNTRACKED_DIRS:
            raise self.fail("untracked_weights must be a list")
        entries = []
        for item in value:
            data = self.obj(item, "untracked_weights[]")
            files = self.str_list(data, "files", "untracked_weights[]")
            strict = data.get("strict", False)
            if len(files) > MAX_UNTRACKED_FILES or not isinstance(strict, bool):
                raise self.fail("untracked_weights[] is not as modelseal writes it")
            entries.append(UntrackedWeights(self.str_(data, "directory", "untracked_weights[]"),
                                            files, strict))
        return tuple(entries)

    def report(self, value: Any) -> Report:
        data = self.obj(value, "the document")
        if data.get("kind") != REPORT_KIND:
            raise self.fail(f"kind must be {REPORT_KIND!r}")
        if data.get("schema_version") != SCHEMA_VERSION:
            raise self.fail(f"schema_version {data.get('schema_version')!r} is not supported "
                            f"(this modelseal reads {SCHEMA_VERSION})")
        models = data.get("models")
        if not isinstance(models, list) or len(models) > MAX_JSON_MODELS:
            raise self.fail("models must be a list")
        return Report(
            models=tuple(self.model(item) for item in models),
            base=self.opt_str(data, "base", "report"), head=self.opt_str(data, "head", "report"),
            report_id=self.opt_str(data, "id", "report"),
            verify_command=self.opt_str(data, "verify_command", "report") or "",
            tool_version=self.opt_str(data, "tool_version", "report") or "",
            policy_change=self.policy_change(data.get("policy_change")),
            untracked_weights=self.untracked(data.get("untracked_weights")),
        )


def report_from_json(data: Any, *, source: str = "report") -> Report:
    """Read a report document back; anything malformed is a UsageError naming the field."""
    return _Reader(source).report(data)
