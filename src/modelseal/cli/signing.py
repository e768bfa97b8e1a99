"""The `sign` and `verify` commands: argument parsing, output and exit codes.

argparse -> `app.sign` / `app.verify` -> `console`. Stores and registry references are
handed to `cli.stores` (which never imports this module). Nothing heavy is imported at
module level: `modelseal --version` and `modelseal check` never load Sigstore.
"""

from __future__ import annotations

import argparse

from modelseal.cli import options
from modelseal.errors import EXIT_FAILED, EXIT_OK, UsageError

_SIGN_EXAMPLES = """\
  modelseal sign models/bert --method key --key signing-key.pem
  modelseal sign models/bert --method certificate --key key.pem --cert cert.pem --chain ca.pem
  modelseal sign --method sigstore          # every model in .modelseal.yaml, keyless (CI)
  modelseal sign models/bert --method key --key key.pem --update-manifest"""

_VERIFY_EXAMPLES = """\
  modelseal verify models/bert --key signing-key-pub.pem
  modelseal verify models/bert --cert-chain ca-cert.pem
  modelseal verify models/bert --identity alice@example.com --issuer https://accounts.google.com
  modelseal verify --repository acme/models --workflow release.yml --ref main
  modelseal verify models/bert --format json --strict --offline"""


def configure(name: str, sub: argparse.ArgumentParser) -> None:
    {"sign": _configure_sign, "verify": _configure_verify}[name](sub)


def _configure_sign(sign: argparse.ArgumentParser) -> None:
    options.runs(sign, run_sign, _SIGN_EXAMPLES)
    options.add_model_options(sign)
    options.add_sign_options(sign)
    options.add_sign_store_options(sign)


def _configure_verify(verify: argparse.ArgumentParser) -> None:
    options.runs(verify, run_verify, _VERIFY_EXAMPLES)
    options.add_model_options(verify)
    options.add_policy_options(verify)
    options.add_verify_options(verify)
    verify.add_argument("--allow-unsigned", action="store_true",
                        help="a model with no signature at all passes with a warning "
                             "(default: it fails); never under a strict policy")
    options.add_base_options(verify)
    options.add_format(verify)
    options.add_verify_store_options(verify)


# --- sign --------------------------------------------------------------------------------


def run_sign(args: argparse.Namespace) -> int:
    from modelseal import console
    from modelseal.app import sign
    from modelseal.cli import stores as cli_stores

    if cli_stores.store_requested(args):
        return cli_stores.run_sign_store(args)
    signer = sign.signer_for(options.signer_request(args))
    choice = sign.SignOptions(signature=args.signature, update_manifest=args.update_manifest,
                              progress=args.progress)
    try:
        signed = sign.sign_directories(options.model_request(args), signer, choice)
    except sign.StaleModels as exc:
        console.print_stale(exc.statuses)
        raise
    for done in signed:
        console.print_signed(done.model, done.method)
    return EXIT_OK


# --- verify ------------------------------------------------------------------------------


def run_verify(args: argparse.Namespace) -> int:
    from modelseal import console
    from modelseal.app import verify
    from modelseal.cli import stores as cli_stores

    if args.allow_unsigned and args.strict:
        raise UsageError("--allow-unsigned and --strict contradict each other; pass one")
    if cli_stores.store_requested(args):
        return cli_stores.run_verify_store(args)
    request = verify.VerifyRequest(
        source=options.policy_source(args), policy=options.policy_request(args),
        ignore_unsigned_files=args.ignore_unsigned_files, offline=args.offline,
        trust_config=args.trust_config, progress=args.progress,
        allow_unsigned=args.allow_unsigned)
    outcome = verify.verify_directories(options.model_request(args), request)
    for notice in outcome.notices:
        console.notice(notice)
    if args.format == "json":
        console.print_json(console.verify_json(outcome.results))
    else:
        console.print_verify(outcome.results)
    return EXIT_OK if outcome.ok else EXIT_FAILED
