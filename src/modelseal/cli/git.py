"""Argument parsing for `init`, `install-hooks` and `hook` (listed in modelseal.cli).

Nothing heavy is imported here: GitPython and the engine load inside the handlers.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from modelseal.cli import options

_INIT_EXAMPLES = """\
  modelseal init                       find models here, write .modelseal.yaml, print hooks
  modelseal init --write-precommit     also add the hooks to .pre-commit-config.yaml
  modelseal init --remote              hooks from the published repository at this version"""

_INSTALL_EXAMPLES = """\
  modelseal install-hooks              plain git hooks: pre-commit and post-merge
  modelseal install-hooks --hook pre-commit --force
  modelseal install-hooks --hook post-checkout   verify after branch switches too"""

_HOOK_EXAMPLES = """\
  modelseal hook manifest [FILE...]    regenerate touched manifests (exit 1 if one was written)
  modelseal hook check [FILE...]       read-only: exit 1 with the diff when one is stale
  modelseal hook verify [--strict]     verify the models a merge or checkout changed"""


def configure(name: str, sub: argparse.ArgumentParser) -> None:
    {"init": _configure_init, "install-hooks": _configure_install_hooks,
     "hook": _configure_hook}[name](sub)


def _configure_init(init: argparse.ArgumentParser) -> None:
    options.runs(init, _run_init, _INIT_EXAMPLES)
    init.add_argument("directory", nargs="?", type=Path, default=Path("."), metavar="DIR",
                      help="where to look for models and write the config (default: .)")
    init.add_argument("--write-precommit", action="store_true",
                      help="merge the hooks into .pre-commit-config.yaml instead of printing "
                           "them")
    init.add_argument("--remote", action="store_true",
                      help="fetch the hooks from the published modelseal repository (needs "
                           "the network once) instead of `repo: local`, which runs the "
                           "modelseal installed on PATH")
    init.add_argument("--hooks-repo", metavar="URL",
                      help="with --remote: the `repo:` of the hooks (default: the modelseal "
                           "repository)")
    init.add_argument("--rev", metavar="REV", help="with --remote: the `rev:` of the hooks "
                      "(default: the tag of the installed version)")


def _configure_install_hooks(install: argparse.ArgumentParser) -> None:
    options.runs(install, _run_install_hooks, _INSTALL_EXAMPLES)
    install.add_argument("--hook", dest="hooks", action="append",
                         choices=("pre-commit", "post-merge", "post-checkout"),
                         help="install only this hook (repeatable; default: pre-commit and "
                              "post-merge; post-checkout verifies after branch switches)")
    install.add_argument("--force", action="store_true",
                         help="replace a hook modelseal did not write (it is kept as "
                              "HOOK.pre-modelseal)")


def _configure_hook(hook: argparse.ArgumentParser) -> None:
    options.runs(hook, _run_hook, _HOOK_EXAMPLES)
    hook.add_argument("hook_args", nargs=argparse.REMAINDER, metavar="HOOK [ARGS...]",
                      help="manifest, check or verify, then its arguments (see "
                           "`modelseal hook manifest --help`)")


def _run_init(args: argparse.Namespace) -> int:
    from modelseal import init
    from modelseal.errors import UsageError

    if (args.hooks_repo or args.rev) and not args.remote:
        raise UsageError("--hooks-repo and --rev choose the remote hooks; add --remote")
    hooks_repo = (args.hooks_repo or init.HOOKS_REPO) if args.remote else None
    return init.run_init(args.directory, write_precommit=args.write_precommit,
                         hooks_repo=hooks_repo, rev=args.rev)


def _run_install_hooks(args: argparse.Namespace) -> int:
    from modelseal import init

    return init.run_install_hooks(Path.cwd(), hooks=args.hooks, force=args.force)


def _run_hook(args: argparse.Namespace) -> int:
    from modelseal import hooks

    return hooks.main(args.hook_args)
