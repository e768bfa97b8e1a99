"""Build a `Report` from what the other steps found, model by model.

Per model the inputs are the manifest check (`engine.ManifestStatus`), the
verification (`verifying.VerificationResult`) and, with a base revision, the
base..head comparison (`gitrepo.ModelRevisions`). `model_report` decides the state
from those alone (a pure function); `build_report` runs the three steps.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from modelseal.report.escape import Placeholder, shell_command
from modelseal.report.model import FileChange, FileChanges, ModelReport, ModelState, Report
from modelseal.signer import SignerInfo

if TYPE_CHECKING:
    from modelseal.engine import HashRun, ManifestStatus
    from modelseal.gitrepo import ModelRevisions
    from modelseal.manifest import ManifestDiff
    from modelseal.targets import ModelTarget
    from modelseal.verifying import VerificationResult, VerifyOptions

def file_changes(diff: ManifestDiff | None, *, old_sizes_known: bool = True) -> FileChanges:
    """A `ManifestDiff` as report rows, with sizes where the diff has them."""
    if diff is None:
        return FileChanges()
    new, old = diff.sizes, diff.old_sizes if old_sizes_known else {}
    rows = [FileChange("added", path, size=new.get(path)) for path in diff.added]
    rows += [FileChange("removed", path, old_size=old.get(path)) for path in diff.removed]
    rows += [FileChange("modified", path, size=new.get(path), old_size=old.get(path))
             for path in diff.modified]
    rows += [FileChange("renamed", after, old_path=before, size=new.get(after),
                        old_size=old.get(before)) for before, after in diff.renamed]
    return FileChanges(tuple(rows), tuple(diff.settings))


def signer_from(info: SignerInfo | None,
                signed_at: datetime | None = None) -> SignerInfo | None:
    """The verified signer, its time set to the trusted signing time where it had none."""
    if info is None:
        return None
    return replace(info, integrated_time=info.integrated_time or signed_at)


@dataclass(frozen=True)
class _Decision:
    state: ModelState
    message: str
    mismatch: FileChanges = field(default_factory=FileChanges)
    mismatch_source: str | None = None


def _decide(status: ManifestStatus | None, result: VerificationResult,
            revision: ModelRevisions | None, check_error: str | None) -> _Decision:
    """The model's state. "Awaiting signature" is the one non-failing state for a model
    that does not verify, so it is given only when nothing is left unexplained: the
    manifest check passed, and either there is no signature at all or every other check
    passed and each file that differs from the signature is a change of this range, with
    exactly the bytes the head revision records. Any error in any check fails."""
    from modelseal.verifying import CHECK_FILES, CHECK_POLICY, STATUS_UNSIGNED, STATUS_VERIFIED

    changed = revision is not None and revision.changed
    if check_error is not None or status is None:
        return _Decision(ModelState.MANIFEST_STALE, check_error or "the manifest was not checked")
    if status.stale:
        manifest = status.target.manifest_path.name
        what = "is missing" if status.missing else "does not match the files"
        return _Decision(ModelState.MANIFEST_STALE,
                         f"{manifest} {what}: run `modelseal manifest "
                         f"{status.target.display}` and commit it",
                         file_changes(status.diff, old_sizes_known=False), "manifest")
    if result.status == STATUS_VERIFIED:
        state = ModelState.VERIFIED if changed else ModelState.SIGNED_UNCHANGED
        return _Decision(state, result.message)
    if result.status == STATUS_UNSIGNED:
        return _unsigned(status, result, revision)
    if result.no_trusted_signer:
        # nothing to check the signature against: not verified, but not invalid either
        return _Decision(ModelState.SIGNED_NOT_VERIFIED,
                         result.message.removeprefix(f"{result.failed_check}: "))
    if result.failed_check == CHECK_POLICY:
        return _Decision(ModelState.POLICY_VIOLATION, result.message)
    if result.failed_check == CHECK_FILES and result.diff is not None:
        # the files were compared with a valid signature; a files check that raised
        # (a symlink, FIFO or unreadable file, an LFS pointer) has no diff and fails below
        mismatch = file_changes(result.diff, old_sizes_known=False)
        unexplained = _unexplained(mismatch, status, revision)
        if not unexplained:
            return _Decision(ModelState.AWAITING_SIGNATURE,
                             "changed in this range; the signature covers the base version "
                             "and CI signs the new one on merge", mismatch, "signature")
        return _Decision(ModelState.SIGNATURE_INVALID,
                         f"{result.message}; not changes of this range: "
                         f"{_names(unexplained)}", mismatch, "signature")
    return _Decision(ModelState.SIGNATURE_INVALID, result.message)


def _unsigned(status: ManifestStatus, result: VerificationResult,
              revision: ModelRevisions | None) -> _Decision:
    """No signature: awaiting one when this range changed the model and the files on disk
    are the head revision's; otherwise plainly unsigned (a failure under strict)."""
    # the state's label already says "unsigned"; its message need not repeat it
    reason = result.message.removeprefix(f"{result.status}: ")
    if revision is None or not revision.changed:
        return _Decision(ModelState.UNSIGNED, reason)
    if revision.head is None or status.current.file_digests() != revision.head.file_digests():
        return _Decision(ModelState.UNSIGNED,
                         f"{reason}; the files are not those of the head revision")
    return _Decision(ModelState.AWAITING_SIGNATURE,
                     f"{result.message}; changed in this range, CI signs it on merge")


def _unexplained(mismatch: FileChanges, status: ManifestStatus,
                 revision: ModelRevisions | None) -> list[str]:
    """The files differing from the signature that this range does not account for.

    A file is accounted for when the range changed it the same way (both say it exists
    now, or both say it is gone) and, when it exists, the bytes on disk are the ones the
    head revision's manifest records. A file the range calls removed but that is still
    on disk (hidden by an ignore rule, say) is not accounted for.
    """
    wanted = _presence(mismatch)
    if revision is None or not revision.changed or revision.head is None:
        return list(wanted)
    in_range = _presence(file_changes(revision.diff))
    on_disk = status.current.file_digests()
    at_head = revision.head.file_digests()
    return [path for path, present in wanted.items()
            if in_range.get(path) is not present
            or (present and (path not in on_disk or on_disk[path] != at_head.get(path)))]


def _presence(changes: FileChanges) -> dict[str, bool]:
    """Each path a change touches, and whether it exists after the change."""
    presence: dict[str, bool] = {}
    for change in changes.files:
        if change.old_path is not None:
            presence[change.old_path] = False
        presence[change.path] = change.kind != "removed"
    return presence


def _names(paths: Sequence[str], shown: int = 3) -> str:
    more = f" and {len(paths) - shown} more" if len(paths) > shown else ""
    return ", ".join(paths[:shown]) + more


def model_report(status: ManifestStatus | None, result: VerificationResult,
                 revision: ModelRevisions | None = None, *, verify_command: str = "",
                 check_error: str | None = None, path: str | None = None) -> ModelReport:
    """One model's report from its check, verification and base..head comparison.

    ``status`` is None when the manifest could not be read (``check_error`` says why).
    """
    decision = _decide(status, result, revision, check_error)
    current = status.current if status is not None else None
    sizes: Mapping[str, int] = status.diff.sizes if status is not None else {}
    if not sizes and revision is not None:
        sizes = revision.head_sizes
    target = result.target
    return ModelReport(
        path=path or target.display, name=target.model_name, state=decision.state,
        message=decision.message, strict=result.strict,
        signer=signer_from(result.signer, result.signed_at),
        changes=file_changes(revision.diff) if revision is not None else FileChanges(),
        mismatch=decision.mismatch, mismatch_source=decision.mismatch_source,
        root_digest=f"sha256:{current.root_digest}" if current is not None else None,
        files=len({r.path for r in current.resources}) if current is not None else None,
        size=sum(sizes.values()) if sizes else None,
        verify_command=verify_command, warnings=tuple(result.warnings),
    )


def registry_model_report(label: str, pinned: str, result: VerificationResult, *,
                          verify_command: str = "") -> ModelReport:
    """A registry model's report: its verification alone (it has no manifest in the
    work tree and no base..head changes). ``pinned`` is ``HOST/REPO@sha256:...``."""
    from modelseal.verifying import CHECK_FILES, CHECK_POLICY, STATUS_UNSIGNED, STATUS_VERIFIED

    mismatch = FileChanges()
    if result.status == STATUS_VERIFIED:
        state, message = ModelState.VERIFIED, result.message
    elif result.status == STATUS_UNSIGNED:
        state = ModelState.UNSIGNED
        message = result.message.removeprefix(f"{result.status}: ")
    elif result.no_trusted_signer:
        state = ModelState.SIGNED_NOT_VERIFIED
        message = result.message.removeprefix(f"{result.failed_check}: ")
    elif result.failed_check == CHECK_POLICY:
        state, message = ModelState.POLICY_VIOLATION, result.message
    else:
        state, message = ModelState.SIGNATURE_INVALID, result.message
        if result.failed_check == CHECK_FILES and result.diff is not None:
            mismatch = file_changes(result.diff, old_sizes_known=False)
            named = list(_presence(mismatch))
            message = f"{message}: {_names(named)}" if named else message
    return ModelReport(
        path=label, name=label.rsplit("/", 1)[-1], state=state, message=message,
        strict=result.strict, signer=signer_from(result.signer, result.signed_at),
        mismatch=mismatch, mismatch_source="signature" if not mismatch.empty else None,
        reference=pinned, verify_command=verify_command, warnings=tuple(result.warnings))


def registry_error_report(label: str, error: str, *, verify_command: str = "") -> ModelReport:
    """A registry model that could not be checked (auth, not found, digest mismatch): a
    failure row naming the step, so the other models are still reported."""
    return ModelReport(path=label, name=label.rsplit("/", 1)[-1],
                       state=ModelState.SIGNATURE_INVALID, message=f"not verified: {error}",
                       strict=True, verify_command=verify_command)


def verify_command(paths: Sequence[str], flags: Sequence[str]) -> str:
    """The `modelseal verify` command line that checks ``paths`` with the same policy."""
    return shell_command(["modelseal", "verify", *paths, *flags])


MODEL_PLACEHOLDER = Placeholder("<MODEL_PATH>")


def report_root(start: Path) -> Path:
    """What the report's paths are relative to: the top of the repository holding
    ``start``, else ``start`` itself. A comment's reader has a clone, not our disk."""
    from modelseal.gitrepo import find_repo_root

    return find_repo_root(start) or Path(os.path.abspath(start))


def portable_path(path: Path | str, root: Path, placeholder: str) -> str:
    """``path`` relative to ``root`` when it lies inside, else ``placeholder``: a report
    never shows a local absolute path (a key file, a home folder) to its readers."""
    from modelseal.gitrepo import relative_to_root

    try:
        return relative_to_root(root, Path(path))
    except ValueError:
        return placeholder


def _shown_path(target: ModelTarget, root: Path) -> str:
    """How the report names a model: the caller's label, else the repository path."""
    if target.label:
        return target.label
    shown = portable_path(target.path, root, "")
    return shown or f"{target.model_name} (outside the repository)"


def build_report(targets: Sequence[ModelTarget], options: VerifyOptions, run: HashRun, *,
                 base: str | None = None, head: str = "HEAD", start: Path | None = None,
                 report_id: str | None = None, verify_flags: Sequence[str] = (),
                 all_paths: Sequence[str] = (), root: Path | None = None,
                 ) -> tuple[Report, list[str]]:
    """Check, verify and compare every target; returns the report and run notices.

    Paths in the report are relative to ``root`` (default: `report_root`); ``verify_flags``
    must already be (see `app.report.verify_flags`).
    """
    from modelseal import verifying
    from modelseal._version import __version__
    from modelseal.hashing import RunDigests

    root = root or report_root(start or Path.cwd())
    # One hashing pass per model: the check hashes from disk (no stat cache: CI starts
    # cold, and a cached digest must never reach the verification), and the
    # verification reuses those digests for each file it lists with the same spec.
    fresh = RunDigests()
    run = replace(run, use_cache=False, fresh=fresh)
    checks = [_checked(target, run) for target in targets]
    results, notices = verifying.verify_targets(list(targets), options, fresh)
    revisions: dict[Path, ModelRevisions] = {}
    revision_errors: dict[Path, str] = {}
    if base is not None:
        revisions, revision_errors = _compared(start or Path.cwd(), targets, base, head)
    models = tuple(
        model_report(status, result, revisions.get(result.target.path),
                     verify_command=verify_command([_verify_path(result.target, root)],
                                                   verify_flags),
                     check_error=error or revision_errors.get(result.target.path),
                     path=_shown_path(result.target, root))
        for (status, error), result in zip(checks, results, strict=True))
    paths = [portable_path(path, root, MODEL_PLACEHOLDER) for path in all_paths]
    report = Report(models=models, base=base, head=head if base is not None else None,
                    report_id=report_id, verify_command=verify_command(paths, verify_flags),
                    tool_version=__version__)
    return report, notices


def _verify_path(target: ModelTarget, root: Path) -> str:
    if target.label:
        return target.label
    return portable_path(target.path, root, MODEL_PLACEHOLDER)


def _compared(start: Path, targets: Sequence[ModelTarget], base: str, head: str
              ) -> tuple[dict[Path, ModelRevisions], dict[Path, str]]:
    """Each model's base..head comparison, and why it failed for the models where it did.

    All models are compared in one pass; only when a manifest at a revision cannot be
    read (hostile or corrupt) are they compared one by one, to keep the others.
    """
    from modelseal import gitrepo
    from modelseal.errors import ManifestFormatError

    try:
        compared = gitrepo.compare_revisions(start, list(targets), base, head)
        return {item.target.path: item for item in compared}, {}
    except ManifestFormatError:
        pass
    revisions: dict[Path, ModelRevisions] = {}
    errors: dict[Path, str] = {}
    for target in targets:
        try:
            for item in gitrepo.compare_revisions(start, [target], base, head):
                revisions[item.target.path] = item
        except ManifestFormatError as exc:
            errors[target.path] = str(exc)
    return revisions, errors


def _checked(target: ModelTarget, run: HashRun) -> tuple[ManifestStatus | None, str | None]:
    """The manifest check, or (None, why) when it failed for this model alone (an
    unreadable or hostile manifest or tree), so the other models are still reported."""
    from modelseal.engine import ModelFailure, check_target, isolated

    result = isolated(check_target, target, run)
    if isinstance(result, ModelFailure):
        return None, result.message
    return result, None
