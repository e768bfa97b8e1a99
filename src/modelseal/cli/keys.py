"""The `keygen` command: an EC P-256 key pair for `sign --method key`."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

from modelseal.cli import options
from modelseal.errors import EXIT_OK

_KEYGEN_EXAMPLES = """\
  modelseal keygen                                  # ./modelseal.key and ./modelseal.pub
  modelseal keygen --output-dir ~/.keys --name release
  MODELSEAL_KEY_PASSWORD=... modelseal keygen --password-env MODELSEAL_KEY_PASSWORD"""


def configure(name: str, sub: argparse.ArgumentParser) -> None:
    """`keygen`'s options."""
    options.runs(sub, run_keygen, _KEYGEN_EXAMPLES)
    sub.add_argument("--output-dir", type=Path, default=Path("."), metavar="DIR",
                     help="where to write the key pair (default: the current directory)")
    sub.add_argument("--name", default="modelseal", metavar="NAME",
                     help="file name stem: NAME.key (private) and NAME.pub (default: modelseal)")
    sub.add_argument("--password-env", metavar="VAR",
                     help="encrypt the private key with the password in this environment "
                          "variable (never pass a password on the command line)")
    sub.add_argument("--force", action="store_true",
                     help="replace an existing key pair of the same name")


def run_keygen(args: argparse.Namespace) -> int:
    from modelseal import console, keys

    password = keys.password_from_env(args.password_env)
    written = keys.write_key_pair(args.output_dir, args.name, password=password,
                                  force=args.force)
    state = "encrypted" if written.encrypted else "not encrypted"
    password_flag = f" --password-env {args.password_env}" if args.password_env else ""
    console.say_lines([
        f"wrote {written.private} (private key, mode 0600, {state}; keep it secret and out "
        "of git)",
        f"wrote {written.public} (public key: give this to verifiers)",
        "next:",
        f"  modelseal sign MODEL --method key --key {_quoted(written.private)}{password_flag}",
        f"  modelseal verify MODEL --key {_quoted(written.public)}"])
    return EXIT_OK


def _quoted(path: Path) -> str:
    return shlex.quote(str(path))
