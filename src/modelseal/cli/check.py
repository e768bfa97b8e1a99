"""`manifest`, `check`, `digest` and `demo`: the commands that need no signing code."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from modelseal.cli import options
from modelseal.errors import EXIT_FAILED, EXIT_OK, UsageError, printable

if TYPE_CHECKING:
    from modelseal.config import Config
    from modelseal.engine import HashRun, ManifestStatus, ModelFailure
    from modelseal.targets import ModelTarget


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
    from modelseal import console, engine, targets

    models, _ = targets.resolve_targets(args.paths, config_path=args.config)
    results = engine.refresh_all(models, _hash_run(args))
    statuses, failures = _split(results)
    if args.format == "json":
        console.print_json(console.statuses_json(statuses, failures=failures))
    else:
        console.print_refresh(statuses)
    return _report_failures(failures, EXIT_OK)


def _run_check(args: argparse.Namespace) -> int:
    from modelseal import console, engine, targets, weights

    if args.base_config and (args.base is None or args.config):
        raise UsageError("--base-config names the config at the --base revision: use it with "
                         "--base and without --config")
    if args.base is not None and args.config is None:
        models, config = _models_at_base(args)
    else:
        models, config = targets.resolve_targets(args.paths, config_path=args.config)
    statuses, failures = _split(engine.check_all(models, _hash_run(args)))
    # with no PATH the whole repository is checked: weights no model covers are named too
    untracked = ({} if args.paths or config is None
                 else weights.untracked_weight_dirs(config.root, [m.path for m in models]))
    strict = bool(config and config.policy.strict)
    if args.format == "json":
        console.print_json(console.statuses_json(statuses, untracked, strict=strict,
                                                 failures=failures))
    else:
        console.print_check(statuses)
        console.print_untracked(untracked, strict=strict)
    failed = any(status.stale for status in statuses) or (strict and bool(untracked))
    return _report_failures(failures, EXIT_FAILED if failed else EXIT_OK)


def _split(results: Sequence[ManifestStatus | ModelFailure]
           ) -> tuple[list[ManifestStatus], list[ModelFailure]]:
    from modelseal.engine import ModelFailure

    failures = [result for result in results if isinstance(result, ModelFailure)]
    return [r for r in results if not isinstance(r, ModelFailure)], failures


def _report_failures(failures: Sequence[ModelFailure], code: int) -> int:
    """One error line per model that could not be handled; the worst exit code wins."""
    for failure in failures:
        print(f"modelseal: error: {printable(failure.message)}", file=sys.stderr)
    return max([code, *(failure.exit_code for failure in failures)])


def _models_at_base(args: argparse.Namespace) -> tuple[list[ModelTarget], Config | None]:
    """`check --base REV`: the models and their hashing options from the config at REV."""
    from modelseal.app import policies, selection

    with policies.policy_folder() as folder:
        chosen = selection.base_models(selection.ModelRequest(paths=tuple(args.paths)),
                                       args.base, folder, args.base_config)
    for notice in chosen.notices:
        print(f"modelseal: notice: {printable(notice)}", file=sys.stderr)
    return chosen.models, chosen.config


def _run_digest(args: argparse.Namespace) -> int:
    from modelseal import console, engine, targets

    models, _ = targets.resolve_targets(args.paths, config_path=args.config)
    scan = engine.scan_target(models[0], _hash_run(args))
    digest = f"sha256:{scan.manifest.root_digest}"
    if args.format == "json":
        console.print_json({"version": console.JSON_SCHEMA_VERSION, "path": models[0].display,
                            "digest": digest, "files": len(scan.listing.files)})
    else:
        print(digest)
    return EXIT_OK


def _run_demo(args: argparse.Namespace) -> int:
    from modelseal import demo

    return demo.run(keep=args.keep)
