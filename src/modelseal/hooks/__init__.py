"""Git hook entry points, for the pre-commit framework and for plain git hooks.

``main(argv) -> int`` in the pre-commit style, one sub-command per hook:

- ``manifest [FILE...]``: regenerate the manifest of every model the files (and the
  staged changes, deletions included) touch; exit 1 whenever a manifest was written
  or is not staged, printing what changed and the ``git add`` to run.
- ``check [FILE...]``: the same selection, read-only; exit 1 with the diff.
- ``verify``: after a merge or checkout, verify the signatures of the models that
  changed, with the repository's policy.

Each hook lives in its own module (`hooks.manifest`, `hooks.verify`), loaded only
when it runs: only `verify` loads the signature code. What the hooks work on (the
repository, the models touched, the once-per-run record) is in `hooks.context`.
Run as ``python -I -m modelseal.hooks HOOK ...`` (see `.pre-commit-hooks.yaml`).
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable, Sequence

from modelseal.arguments import add_cache_options, add_config_option
from modelseal.errors import ModelsealError

# hook -> (module under modelseal.hooks, its function taking the parsed arguments)
_HOOKS = {"manifest": ("manifest", "run_manifest"), "check": ("manifest", "run_check"),
          "verify": ("verify", "run")}


def main(argv: Sequence[str] | None = None) -> int:
    """Run one hook: ``manifest``, ``check`` or ``verify`` (see the module docstring)."""
    from modelseal import console

    args = build_parser().parse_args(argv)
    module, function = _HOOKS[args.hook]
    run: Callable[[argparse.Namespace], int] = getattr(
        importlib.import_module(f"modelseal.hooks.{module}"), function)
    try:
        return run(args)
    except ModelsealError as exc:
        console.error(exc)
        return exc.exit_code


def build_parser(prog: str = "modelseal hook") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description="git hook entry points")
    hooks = parser.add_subparsers(dest="hook", metavar="HOOK", required=True)
    for name, summary in (
        ("manifest", "regenerate the manifests of the models the changes touch"),
        ("check", "fail with a diff when a touched model's manifest is stale"),
    ):
        sub = hooks.add_parser(name, help=summary, description=summary)
        sub.add_argument("files", nargs="*", metavar="FILE",
                         help="changed files, as pre-commit passes them; staged changes "
                              "(deletions included) are always added")
        sub.add_argument("--all", action="store_true",
                         help="every model in .modelseal.yaml, whatever changed")
        add_config_option(sub)
        add_cache_options(sub)
    verify = hooks.add_parser("verify", help="verify signatures of the models a merge or "
                              "checkout changed", description="verify the signatures of the "
                              "models a merge or checkout changed, with the repository policy")
    verify.add_argument("--all", action="store_true", help="verify every configured model")
    add_config_option(verify)
    verify.add_argument("--strict", action="store_true", default=None,
                        help="fail on unsigned models too; a model that does not verify "
                             "always fails (default: the policy's 'strict')")
    verify.add_argument("--from-ref", help="old revision (default: $PRE_COMMIT_FROM_REF, "
                        "else ORIG_HEAD)")
    verify.add_argument("--to-ref", help="new revision (default: $PRE_COMMIT_TO_REF, else HEAD)")
    return parser
