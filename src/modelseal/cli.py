"""Command line: argument parsing and exit codes. The work happens in the modules.

Heavy modules (sigstore, git) are imported inside the commands that need them, so
`modelseal --version` and a manifest check start fast.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from modelseal import (
    __version__,
    cli_action,
    cli_git,
    cli_keys,
    cli_options,
    cli_report,
    cli_signing,
    cli_stores,
)
from modelseal.errors import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    ModelsealError,
    UsageError,
    printable,
)

if TYPE_CHECKING:
    from modelseal.config import Config
    from modelseal.engine import HashRun, ManifestStatus, ModelFailure
    from modelseal.targets import ModelTarget

Handler = Callable[[argparse.Namespace], int]

_EPILOG = """\
examples:
  modelseal demo                      walk through the main job on a bundled example
  modelseal manifest models/bert      write or refresh models/bert/model.manifest.json
  modelseal check                     exit 1 with a diff if any configured model is stale
  modelseal digest models/bert        print sha256:<root digest>, as OMS tools compute it

exit status: 0 all good, 1 the thing checked is not OK, 2 usage, config or input error
"""


def _formatter(prog: str) -> argparse.HelpFormatter:
    return argparse.RawDescriptionHelpFormatter(prog, max_help_position=32)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="modelseal",
        description="Keep ML model directories honest: manifests, OMS signatures, CI checks.",
        epilog=_EPILOG,
        formatter_class=_formatter,
    )
    parser.add_argument("--version", action="version", version=f"modelseal {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for register in (_add_demo, _add_manifest, _add_check, _add_digest):
        register(commands)
    cli_signing.add_commands(commands)
    cli_keys.add_commands(commands)
    cli_stores.add_commands(commands)
    cli_git.add_commands(commands)
    cli_action.add_commands(commands)
    cli_report.add_commands(commands)
    return parser


def _subparser(commands: argparse._SubParsersAction[argparse.ArgumentParser], name: str,
               summary: str, examples: str, handler: Handler) -> argparse.ArgumentParser:
    sub = commands.add_parser(name, help=summary, description=summary,
                              epilog=f"examples:\n{examples}", formatter_class=_formatter)
    sub.set_defaults(handler=handler)
    sub.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                     help="show tracebacks on errors")
    return sub


def _add_hashing_options(sub: argparse.ArgumentParser, *, paths: str | int = "*") -> None:
    every = " (default: every model in .modelseal.yaml)" if paths == "*" else ""
    sub.add_argument("paths", nargs=paths, metavar="PATH",
                     help=f"model directory or single model file{every}")
    cli_options.add_config_option(sub)
    cli_options.add_cache_options(sub)
    cli_options.add_progress_options(sub)


def _add_format(sub: argparse.ArgumentParser, choices: Sequence[str] = ("text", "json")) -> None:
    sub.add_argument("--format", choices=choices, default=choices[0],
                     help=f"output format (default: {choices[0]})")


def _add_demo(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sub = _subparser(commands, "demo", "run the main job on a copy of the bundled example model",
                     "  modelseal demo\n  modelseal demo --keep   # keep the temp copy to explore",
                     _run_demo)
    sub.add_argument("--keep", action="store_true", help="keep the temporary copy afterwards")


def _add_manifest(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sub = _subparser(commands, "manifest", "write or refresh model.manifest.json",
                     "  modelseal manifest models/bert\n  modelseal manifest          "
                     "# every model in .modelseal.yaml", _run_manifest)
    _add_hashing_options(sub)
    _add_format(sub)


def _add_check(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sub = _subparser(commands, "check", "exit 1 with a diff when a manifest is missing or stale",
                     "  modelseal check\n  modelseal check models/bert --format json",
                     _run_check)
    _add_hashing_options(sub)
    sub.add_argument("--base", metavar="REV",
                     help="a pull request's base: which models are checked and how they are "
                          "hashed come from the config at REV (unless --config names one)")
    sub.add_argument("--base-config", metavar="PATH",
                     help="with --base: the config to read from REV, as a repository path "
                          "(default: the nearest .modelseal.yaml there)")
    _add_format(sub)


def _add_digest(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sub = _subparser(commands, "digest", "print the model's root digest (sha256:<hex>)",
                     "  modelseal digest models/bert\n  modelseal digest model.gguf "
                     "--format json", _run_digest)
    _add_hashing_options(sub, paths=1)
    _add_format(sub)


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
    import tempfile
    from pathlib import Path

    from modelseal.basepolicy import trusted_targets

    with tempfile.TemporaryDirectory(prefix="modelseal-policy-") as folder:
        models, side = trusted_targets(args.paths, args.base, Path(folder),
                                       args.base_config)
    for notice in side.notices:
        print(f"modelseal: notice: {printable(notice)}", file=sys.stderr)
    return models, side.config


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


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return handler(args)
    except ModelsealError as exc:
        if args.debug:
            raise
        print(f"modelseal: error: {printable(exc)}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("modelseal: interrupted; nothing was left half-written", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_FAILED
    except OSError as exc:
        if args.debug:
            raise
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"modelseal: error: {printable(f'{exc.strerror or exc}{where}')}",
              file=sys.stderr)
        return EXIT_USAGE
