"""The `sign` and `verify` commands: argument parsing, output and exit codes.

Registered by cli.py. Nothing heavy is imported at module level: `modelseal --version`
and `modelseal check` never load cryptography-based signing code or Sigstore.
`add_policy_options` and `policy_from_args` are shared with other commands that take
the verify policy options (e.g. `report`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelseal.app import policies
from modelseal.cli import options
from modelseal.errors import EXIT_FAILED, EXIT_OK, CheckFailed, UsageError, printable

if TYPE_CHECKING:
    from modelseal.config import Config
    from modelseal.signing import PreparedModel, Signer
    from modelseal.targets import ModelTarget

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
    from modelseal import signing
    from modelseal.cli import stores as cli_stores

    if cli_stores.store_requested(args):
        return cli_stores.run_sign_store(args)
    signer = _signer(args)
    from modelseal.app import selection

    models = selection.work_tree_models(options.model_request(args)).models
    prepared, stale = [], []
    for model in models:
        try:
            prepared.append(signing.prepare(model, signature_path=args.signature,
                                            update_manifest=args.update_manifest,
                                            progress=args.progress))
        except signing.StaleManifest as exc:
            stale.append(exc)
    if stale:
        _print_stale(stale)
        if len(stale) == 1:
            raise CheckFailed(str(stale[0]))
        names = ", ".join(exc.status.target.display for exc in stale)
        raise CheckFailed(f"{len(stale)} manifests are stale ({names}); run `modelseal manifest`"
                          " and commit them, or pass --update-manifest")
    bundles = signing.sign_models(prepared, signer)
    for ready, bundle in zip(prepared, bundles, strict=True):
        signing.write_signed(ready, bundle)
        _print_signed(ready, signer)
    return EXIT_OK


def _signer(args: argparse.Namespace) -> Signer:
    from modelseal.signing_methods import SignerRequest, build_signer

    return build_signer(args.method, SignerRequest(
        key=args.key, password_env=args.password_env, cert=args.cert, chain=tuple(args.chain),
        identity_token=args.identity_token, trust_config=args.trust_config,
        staging=args.staging))


def _print_stale(stale: list[Any]) -> None:
    from modelseal import console

    for exc in stale:
        status = exc.status
        print(f"{printable(status.target.display)}: manifest is stale "
              f"({console.files_differ(status.diff.changed_files)})")
        for line in console.diff_lines(status.diff):
            print(line)


def _print_signed(model: PreparedModel, signer: Signer) -> None:
    from modelseal import console

    name = printable(model.target.display)
    manifest = printable(model.target.manifest_path)
    if model.write_manifest and model.status.missing:
        print(f"{name}: wrote {manifest} (there was no manifest; commit it with model.sig)")
    elif model.write_manifest:
        print(f"{name}: updated {manifest}")
        for line in console.diff_lines(model.status.diff):
            print(line)
    digest = model.status.current.root_digest
    print(f"{name}: signed ({signer.method}, sha256:{digest[:16]}...) -> "
          f"{printable(model.signature_path)}")


# --- verify ------------------------------------------------------------------------------


def run_verify(args: argparse.Namespace) -> int:
    from modelseal import verifying
    from modelseal.cli import stores as cli_stores

    if args.allow_unsigned and args.strict:
        raise UsageError("--allow-unsigned and --strict contradict each other; pass one")
    if cli_stores.store_requested(args):
        return cli_stores.run_verify_store(args)
    with policies.policy_folder() as folder:
        models, config = _verify_targets(args, folder)
        verify_options = verifying.VerifyOptions(
            policy=policies.verify_policy(options.policy_request(args), args.base, config,
                                          folder), signature=args.signature,
            ignore_unsigned_files=args.ignore_unsigned_files, offline=args.offline,
            trust_config=args.trust_config, progress=args.progress,
            allow_unsigned=args.allow_unsigned)
        results, notices = verifying.verify_targets(models, verify_options)
    from modelseal import console

    for notice in notices:
        print(f"modelseal: notice: {printable(notice)}", file=sys.stderr)
    if args.format == "json":
        console.print_json(console.verify_json(results), sys.stdout)
    else:
        console.print_verify(results)
    return EXIT_OK if all(result.ok for result in results) else EXIT_FAILED


def _verify_targets(args: argparse.Namespace, folder: Path
                    ) -> tuple[list[ModelTarget], Config | None]:
    """The models named, or with --base the models and config of the base revision."""
    from modelseal.app import selection

    options.policy_source(args).check()
    request = options.model_request(args)
    if args.base is None or args.config:
        chosen = selection.work_tree_models(request)
    else:
        chosen = selection.base_models(request, args.base, folder, args.base_config)
    for notice in chosen.notices:
        print(f"modelseal: notice: {printable(notice)}", file=sys.stderr)
    return chosen.models, chosen.config
