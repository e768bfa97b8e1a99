"""The `verify` hook: after a merge, pull or checkout, verify the models that changed.

It runs at ``post-merge`` and ``post-checkout`` (and ``manual``), with the policy of
`.modelseal.yaml`. An unsigned or failing model is a warning, or a failure under
``strict`` (``policy.strict: true`` or ``--strict``). The merge has already
happened either way; the hook's job is to tell the person, with the reason.

This is the only hook that loads the signature code (cryptography, sigstore).
Verification is offline: the embedded Sigstore trusted root, no network on a pull.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from collections.abc import Sequence

from modelseal import console
from modelseal.errors import EXIT_FAILED, EXIT_OK, printable
from modelseal.gitrepo import NULL_REVISION, GitRepo
from modelseal.hooks import HookContext, models_for_paths, open_context
from modelseal.targets import ModelTarget
from modelseal.words import one_or_many, plural


def run(args: argparse.Namespace) -> int:
    """Verify the models between the two revisions; see the module docstring."""
    if os.environ.get("PRE_COMMIT_CHECKOUT_TYPE") == "0":
        return EXIT_OK  # a checkout of files, not of a branch: nothing was pulled
    with open_context([], config_path=args.config, all_models=True,
                      with_staged=False) as context:
        targets = context.touched if args.all else _changed_models(context, args)
        targets = [target for target in targets if target.path.exists()]
        if not targets:
            return EXIT_OK
        return _verify(context, targets, strict=args.strict)


def _changed_models(context: HookContext, args: argparse.Namespace) -> list[ModelTarget]:
    repo = context.repo
    if repo is None:
        return context.touched
    old, new = _revisions(repo, args)
    if old is None:
        return context.touched  # a fresh clone, or nothing to compare with: every model
    paths = [change.path for change in repo.changes_between(old, new)]
    if os.environ.get("PRE_COMMIT_IS_SQUASH_MERGE") == "1":
        paths += [change.path for change in repo.staged_changes()]
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
    from modelseal.policy import PolicyFlags, build_policy
    from modelseal.verifying import STATUS_VERIFIED, VerifyOptions, verify_targets

    config_policy = context.config.policy if context.config else None
    policy = build_policy(config_policy, PolicyFlags(strict=bool(strict)))
    options = VerifyOptions(policy=policy, offline=True, progress=False)
    results, notices = verify_targets(targets, options)
    for notice in notices:
        print(f"modelseal: notice: {printable(notice)}", file=sys.stderr)
    failed = [result for result in results if result.status != STATUS_VERIFIED]
    for result in results:
        name, message = printable(result.target.display), printable(result.message)
        if result.status == STATUS_VERIFIED:
            print(f"{name}: {message}", file=context.out)
            continue
        level = "error" if policy.strict else "warning"
        print(f"modelseal: {level}: {name}: {message}", file=sys.stderr)
        for line in console.diff_lines(result.diff) if result.diff else ():
            print(line, file=sys.stderr)
    if not failed:
        return EXIT_OK
    paths = printable(" ".join(shlex.quote(r.target.display) for r in failed))
    if policy.strict:
        them = one_or_many(len(failed), "it", "them")
        print(f"modelseal: {plural(len(failed), 'model')} did not verify under the strict "
              f"policy; do not use {them} until `modelseal verify {paths}` passes", file=sys.stderr)
        return EXIT_FAILED
    print(f"modelseal: {plural(len(failed), 'model')} did not verify (a warning: set "
          "policy.strict: true in .modelseal.yaml to fail instead)", file=sys.stderr)
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """``modelseal hook verify`` as a function (for tests and scripts)."""
    from modelseal.hooks import main as hooks_main

    return hooks_main(["verify", *(argv or [])])
