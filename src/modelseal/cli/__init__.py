"""Command line: argparse -> the use cases -> output; exit codes.

Commands are listed in one table. A command's module (and what it imports) is loaded
only when that command runs, so `modelseal --version` and `modelseal check` start fast
and never load Sigstore.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from modelseal import console
from modelseal._version import __version__
from modelseal.cli.options import Handler, command_parser, formatter
from modelseal.errors import EXIT_FAILED, EXIT_USAGE, ModelsealError

# command -> (the module under modelseal.cli that configures and runs it, one-line summary)
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("check", "run the main job on a copy of the bundled example model"),
    "manifest": ("check", "write or refresh model.manifest.json"),
    "check": ("check", "exit 1 with a diff when a manifest is missing or stale"),
    "digest": ("check", "print the model's root digest (sha256:<hex>)"),
    "sign": ("signing", "sign models: write model.sig (an OMS bundle)"),
    "verify": ("signing", "verify models against their model.sig and a signer policy"),
    "keygen": ("keys", "write an EC P-256 key pair for `sign --method key`"),
    "attach": ("registry", "attach an OMS bundle to a model in a registry (an OCI referrer)"),
    "push": ("registry", "push a model directory as a ModelPack artifact (and its model.sig)"),
    "export": ("stores", "describe a model for packaging tools and runtimes (JSON on stdout)"),
    "init": ("git", "find model directories, write .modelseal.yaml and set up the "
                    "pre-commit hooks"),
    "install-hooks": ("git", "install plain git hooks (for repos without the pre-commit "
                             "framework)"),
    "hook": ("git", "git hook entry points (used by .pre-commit-hooks.yaml and hooks/)"),
    "action": ("action", "run one step of the modelseal GitHub Action"),
    "report": ("report", "summarise signatures and changes: PR comment, text, JSON, JUnit"),
    "comment": ("report", "post or update the report as one sticky PR/MR comment"),
}

_EPILOG = """\
examples:
  modelseal demo                      walk through the main job on a bundled example
  modelseal manifest models/bert      write or refresh models/bert/model.manifest.json
  modelseal check                     exit 1 with a diff if any configured model is stale
  modelseal digest models/bert        print sha256:<root digest>, as OMS tools compute it

exit status: 0 all good, 1 the thing checked is not OK, 2 usage, config or input error
"""


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser; with `only`, just that command's options are built (the others are
    listed by name and summary, which is all `--help` shows of them)."""
    parser = argparse.ArgumentParser(
        prog="modelseal",
        description="Keep ML model directories honest: manifests, OMS signatures, CI checks.",
        epilog=_EPILOG,
        formatter_class=formatter,
    )
    parser.add_argument("--version", action="version", version=f"modelseal {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, summary) in COMMANDS.items():
        sub = command_parser(commands, name, summary)
        if only is None or name == only:
            importlib.import_module(f"modelseal.cli.{module}").configure(name, sub)
    return parser


def _command_in(argv: Sequence[str]) -> str | None:
    """The command argv names: its first word that is not a top-level option."""
    word = next((word for word in argv if not word.startswith("-")), None)
    return word if word in COMMANDS else None


def main(argv: Sequence[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(only=_command_in(words) or "")
    args = parser.parse_args(words)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return handler(args)
    except ModelsealError as exc:
        if args.debug:
            raise
        console.error(exc)
        return exc.exit_code
    except KeyboardInterrupt:
        console.say("modelseal: interrupted; nothing was left half-written", err=True)
        return 130
    except BrokenPipeError:
        return EXIT_FAILED
    except OSError as exc:
        if args.debug:
            raise
        where = f" ({exc.filename})" if exc.filename else ""
        console.error(f"{exc.strerror or exc}{where}")
        return EXIT_USAGE
