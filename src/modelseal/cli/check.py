"""`manifest`, `check`, `digest` and `demo`: the commands that need no signing code."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import TYPE_CHECKING

from modelseal.cli import options
from modelseal.errors import EXIT_FAILED, EXIT_OK

if TYPE_CHECKING:
    from modelseal.engine import HashRun, ModelFailure


def configure(name: str, sub: argparse.ArgumentParser) -> None:
    {"demo": _configure_demo, "manifest": _configure_manifest, "check": _configure_check,
     "digest": _configure_digest}[name](sub)


def _configure_demo(sub: argparse.ArgumentParser) -> None:
    options.runs(sub, _run_demo, "  modelseal demo\n"
                 "  modelseal demo --keep   # keep the temp copy to explore")
    sub.add_argument("--keep", action="store_true", help="keep the temporary copy afterwards")


def _configure_manifest(sub: argparse.ArgumentParser) -> None:
    options.runs(sub, _run_manifest, "  modelseal manifest models/bert\n"
                 "  modelseal manifest          # every model in .modelseal.yaml")
    options.add_hashing_options(sub)
    options.add_format(sub)


def _configure_check(sub: argparse.ArgumentParser) -> None:
    options.runs(sub, _run_check, "  modelseal check\n  modelseal check models/bert --format json")
    options.add_hashing_options(sub)
    sub.add_argument("--base", metavar="REV",
                     help="a pull request's base: which models are checked and how they are "
                          "hashed come from the config at REV (unless --config names one)")
    sub.add_argument("--base-config", metavar="PATH",
                     help="with --base: the config to read from REV, as a repository path "
                          "(default: the nearest .modelseal.yaml there)")
    options.add_format(sub)


def _configure_digest(sub: argparse.ArgumentParser) -> None:
    options.runs(sub, _run_digest, "  modelseal digest models/bert\n  modelseal digest model.gguf "
                 "--format json")
    options.add_hashing_options(sub, paths=1)
    options.add_format(sub)


def _hash_run(args: argparse.Namespace) -> HashRun:
    from modelseal.engine import HashRun

    return HashRun(use_cache=not args.no_cache, progress=args.progress,
                   require_content=getattr(args, "require_content", False))


def _run_manifest(args: argparse.Namespace) -> int:
    from modelseal import console
    from modelseal.app import check

    result = check.refresh(options.model_request(args), _hash_run(args))
    if args.format == "json":
        console.print_json(console.statuses_json(result.statuses, failures=result.failures))
    else:
        console.print_refresh(result.statuses)
    return _report_failures(result.failures, EXIT_OK)


def _run_check(args: argparse.Namespace) -> int:
    from modelseal import console
    from modelseal.app import check

    result = check.check(options.model_request(args), _hash_run(args), base=args.base,
                         base_config=args.base_config)
    for notice in result.notices:
        console.notice(notice)
    if args.format == "json":
        console.print_json(console.statuses_json(result.statuses, result.untracked,
                                                 strict=result.strict,
                                                 failures=result.failures))
    else:
        console.print_check(result.statuses)
        console.print_untracked(result.untracked, strict=result.strict)
    return _report_failures(result.failures, EXIT_FAILED if result.failed else EXIT_OK)


def _report_failures(failures: Sequence[ModelFailure], code: int) -> int:
    """One error line per model that could not be handled; the worst exit code wins."""
    from modelseal import console

    for failure in failures:
        console.error(failure.message)
    return max([code, *(failure.exit_code for failure in failures)])


def _run_digest(args: argparse.Namespace) -> int:
    from modelseal import console
    from modelseal.app import check

    result = check.digest(options.model_request(args), _hash_run(args))
    if args.format == "json":
        console.print_json({"version": console.JSON_SCHEMA_VERSION,
                            "path": result.target.display, "digest": result.digest,
                            "files": result.files})
    else:
        console.say(result.digest)
    return EXIT_OK


def _run_demo(args: argparse.Namespace) -> int:
    from modelseal import demo

    return demo.run(keep=args.keep)
