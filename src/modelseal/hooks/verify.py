"""The `verify` hook: after a merge, pull or checkout, verify the models that changed.

It runs at ``post-merge`` (and ``manual``, and as the plain post-checkout hook) with
the policy of `.modelseal.yaml` as it was *before* the merge or switch (``ORIG_HEAD``
or ``--from-ref``): the commits just pulled are what is judged, so their own config
never says who may sign them or drops a model from the check. After a fresh clone
there is no earlier revision, and the cloned config is what you chose to trust.

A model that does not verify (unreadable signature, signer not allowed, changed files)
is an error. An unsigned model (no signature file at all) is a warning, or an error
under ``strict`` (``policy.strict: true`` or ``--strict``). The merge has already
happened either way; the hook's job is to tell the person, with the reason.

This is the only hook that loads the signature code (cryptography, sigstore).
Verification is offline: the embedded Sigstore trusted root, no network on a pull.
"""

from __future__ import annotations

import argparse
import os
import shlex
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from modelseal import console
from modelseal.errors import EXIT_FAILED, EXIT_OK
from modelseal.gitrepo import NULL_REVISION, GitRepo
from modelseal.hooks.context import HookContext, models_for_paths, open_context
from modelseal.targets import ModelTarget
from modelseal.words import one_or_many, plural

if TYPE_CHECKING:
    from modelseal.verifying import VerificationResult


def run(args: argparse.Namespace) -> int:
    """Verify the models between the two revisions; see the module docstring."""
    if os.environ.get("PRE_COMMIT_CHECKOUT_TYPE") == "0":
        return EXIT_OK  # a checkout of files, not of a branch: nothing was pulled
    with open_context([], config_path=args.config, all_models=True,
                      with_staged=False) as context, \
            tempfile.TemporaryDirectory(prefix="modelseal-hook-") as folder:
        old, new = _revisions(context.repo, args) if context.repo else (None, "HEAD")
        if old is not None and args.config is None:
            context = _trusting_the_old_revision(context, old, Path(folder))
        targets = context.touched if args.all or old is None else \
            _changed_models(context, old, new)
        targets = [target for target in targets if target.path.exists()]
        if not targets:
            return EXIT_OK
        return _verify(context, targets, strict=args.strict)


def _trusting_the_old_revision(context: HookContext, old: str, folder: Path) -> HookContext:
    """The context with the config (models and policy) of ``old``, the revision before the
    merge or switch: the commits just pulled must not choose who may sign them, nor drop a
    model from the check. Models only the new config adds are checked too."""
    from modelseal.basepolicy import read_trusted_side

    side = read_trusted_side(context.root, old, folder)
    for notice in side.notices:
        console.notice(notice)
    models = [ModelTarget(entry.path, entry.options) for entry in side.models]
    return replace(context, config=side.config, touched=models)


def _changed_models(context: HookContext, old: str, new: str) -> list[ModelTarget]:
    assert context.repo is not None
    paths = [change.path for change in context.repo.changes_between(old, new)]
    if os.environ.get("PRE_COMMIT_IS_SQUASH_MERGE") == "1":
        paths += [change.path for change in context.repo.staged_changes()]
    return models_for_paths(context.root, paths, context.touched, context.config)


def _revisions(repo: GitRepo, args: argparse.Namespace) -> tuple[str | None, str]:
    """(old, new): the flags, pre-commit's from/to refs, else ORIG_HEAD..HEAD."""
    old = args.from_ref or os.environ.get("PRE_COMMIT_FROM_REF") or "ORIG_HEAD"
    new = args.to_ref or os.environ.get("PRE_COMMIT_TO_REF") or "HEAD"
    if old == NULL_REVISION or repo.resolve(old) is None:
        return None, new
    return old, new


def _verify(context: HookContext, targets: Sequence[ModelTarget],
            strict: bool | None) -> int:
    from modelseal.app.policies import effective_policy
    from modelseal.app.verify import verify_models
    from modelseal.policy import PolicyFlags
    from modelseal.verifying import STATUS_UNSIGNED, STATUS_VERIFIED, VerifyOptions

    policy = effective_policy(PolicyFlags(strict=bool(strict)), context.config)
    outcome = verify_models(targets, VerifyOptions(policy=policy, offline=True, progress=False))
    for notice in outcome.notices:
        console.notice(notice)
    results = outcome.results
    # Only "unsigned" (nothing there at all) may be a warning; a signature that is there
    # and does not verify (unreadable, wrong signer, tampered files) is always an error.
    unsigned = [r for r in results if r.status == STATUS_UNSIGNED]
    failed = [r for r in results if r.status not in (STATUS_VERIFIED, STATUS_UNSIGNED)]
    for result in results:
        _print_result(context, result, error=result in failed or policy.strict)
    if policy.strict:
        failed += unsigned
    elif unsigned:
        console.say(f"modelseal: {plural(len(unsigned), 'model')} unsigned (a warning: set "
                    "policy.strict: true in .modelseal.yaml to fail instead)", err=True)
    if not failed:
        return EXIT_OK
    paths = " ".join(shlex.quote(r.target.display) for r in failed)
    under = " under the strict policy" if policy.strict else ""
    them = one_or_many(len(failed), "it", "them")
    console.say(f"modelseal: {plural(len(failed), 'model')} did not verify{under}; do not use "
                f"{them} until `modelseal verify {paths}` passes", err=True)
    return EXIT_FAILED


def _print_result(context: HookContext, result: VerificationResult, *, error: bool) -> None:
    from modelseal.verifying import STATUS_VERIFIED

    name, message = result.target.display, result.message
    if result.status == STATUS_VERIFIED:
        console.say(f"{name}: {message}", out=context.out)
        return
    (console.error if error else console.warning)(f"{name}: {message}")
    console.say_lines(console.diff_lines(result.diff) if result.diff else [], err=True)

