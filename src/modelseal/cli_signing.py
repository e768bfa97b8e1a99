"""The `sign` and `verify` commands: argument parsing, output and exit codes.

Registered by cli.py. Nothing heavy is imported at module level: `modelseal --version`
and `modelseal check` never load cryptography-based signing code or Sigstore.
`add_policy_options` and `policy_from_args` are shared with other commands that take
the verify policy options (e.g. `report`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelseal import cli_options
from modelseal.errors import EXIT_FAILED, EXIT_OK, CheckFailed, UsageError, printable

if TYPE_CHECKING:
    from modelseal.config import Config
    from modelseal.policy import Policy
    from modelseal.signing import PreparedModel, Signer
    from modelseal.targets import ModelTarget
    from modelseal.verifying import VerificationResult

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


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `sign` and `verify` on the main parser's subcommands."""
    from modelseal import cli, cli_stores

    sign = cli._subparser(commands, "sign", "sign models: write model.sig (an OMS bundle)",
                          _SIGN_EXAMPLES, run_sign)
    _add_model_options(sign)
    _add_sign_options(sign)
    verify = cli._subparser(commands, "verify",
                            "verify models against their model.sig and a signer policy",
                            _VERIFY_EXAMPLES, run_verify)
    _add_model_options(verify)
    add_policy_options(verify)
    _add_verify_options(verify)
    verify.add_argument("--allow-unsigned", action="store_true",
                        help="a model with no signature at all passes with a warning "
                             "(default: it fails); never under a strict policy")
    _add_base_options(verify)
    cli._add_format(verify)
    cli_stores.add_store_options(sign, verify)


def _add_model_options(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("paths", nargs="*", metavar="PATH",
                     help="model directory or single model file, or a registry model "
                          "oci://HOST[:PORT]/REPO[:TAG|@sha256:DIGEST] or ollama://... "
                          "(verify, sign: one reference alone; report: any, beside local "
                          "paths) (default: every model in .modelseal.yaml)")
    cli_options.add_config_option(sub)
    sub.add_argument("--signature", type=Path, metavar="FILE",
                     help="bundle path (default: model.sig in the model, or FILE.sig beside a "
                          "single-file model); only with one model")
    sub.add_argument("--ignore", action="append", default=[], metavar="RELPATH",
                     help="also skip this path inside the model (repeatable)")
    cli_options.add_progress_options(sub)


def _add_sign_options(sub: argparse.ArgumentParser) -> None:
    from modelseal.signing_methods import method_names, methods_help

    sub.add_argument("--method", required=True, choices=method_names(), help=methods_help())
    sub.add_argument("--key", type=Path, metavar="PRIV_PEM",
                     help="PEM EC private key (P-256, P-384 or P-521); key and certificate")
    sub.add_argument("--password-env", metavar="VAR",
                     help="environment variable holding the private key's password")
    sub.add_argument("--cert", type=Path, metavar="CERT_PEM",
                     help="signing certificate matching --key (certificate method)")
    sub.add_argument("--chain", type=Path, action="append", default=[], metavar="PEM",
                     help="intermediate certificates to include, leaf-to-root order (repeatable)")
    sub.add_argument("--identity-token", metavar="TOKEN",
                     help="OIDC identity token (default: $SIGSTORE_ID_TOKEN, then ambient CI "
                          "credentials, then a browser sign-in on a terminal)")
    sub.add_argument("--trust-config", type=Path, metavar="JSON",
                     help="Sigstore client trust config of a private instance")
    sub.add_argument("--staging", action="store_true",
                     help="use the Sigstore staging instance (testing only)")
    sub.add_argument("--update-manifest", action="store_true",
                     help="write a missing or stale model.manifest.json instead of refusing")


def add_policy_options(sub: argparse.ArgumentParser) -> None:
    """The signer-policy options of `verify`; any given replaces the config's value."""
    group = sub.add_argument_group("policy (flags replace the policy: section of .modelseal.yaml)")
    group.add_argument("--key", dest="policy_keys", type=Path, action="append", default=[],
                       metavar="PUB_PEM", help="trusted public key (repeatable)")
    group.add_argument("--cert-chain", type=Path, action="append", default=[], metavar="ROOT_PEM",
                       help="trusted root certificate(s) for certificate signatures (repeatable)")
    who = group.add_mutually_exclusive_group()
    who.add_argument("--identity", metavar="ID",
                     help="exact signer identity (e-mail or URI in the certificate)")
    who.add_argument("--identity-regex", metavar="RE",
                     help="signer identity regex, matched against the whole identity")
    group.add_argument("--issuer", metavar="URL", help="OIDC issuer of the signer's identity")
    group.add_argument("--repository", metavar="OWNER/REPO",
                       help="GitHub repository the signing workflow ran in")
    group.add_argument("--workflow", metavar="PATH",
                       help="workflow file that signed (e.g. release.yml or "
                            ".github/workflows/release.yml; GitLab: the CI config path)")
    group.add_argument("--ref", metavar="REF", help="git ref the workflow ran on (e.g. main, "
                                                    "refs/tags/v1.0)")
    group.add_argument("--gitlab-project", metavar="GROUP/PROJECT",
                       help="GitLab project whose CI signed")
    group.add_argument("--gitlab-host", metavar="HOST", help="GitLab host (default: gitlab.com)")
    group.add_argument("--not-before", metavar="TIME",
                       help="reject signatures made before TIME (e.g. 2025-06-01T00:00:00Z)")
    group.add_argument("--strict", action="store_true",
                       help="an unsigned model fails (report: instead of warning; verify "
                            "fails on one anyway, unless --allow-unsigned)")


def _add_verify_options(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--offline", action="store_true",
                     help="do not refresh the Sigstore trusted root; use the embedded one")
    sub.add_argument("--trust-config", type=Path, metavar="JSON",
                     help="Sigstore trust config or trusted root of a private instance")
    sub.add_argument("--ignore-unsigned-files", action="store_true",
                     help="check only the files the signature lists")


def add_trusted_list_options(group: argparse._ArgumentGroup) -> None:
    """--key-list and --cert-chain-list: the CI inputs' form of --key and --cert-chain."""
    group.add_argument("--key-list", action="append", default=[], metavar="LIST",
                       help="trusted public keys, one per line: inline PEM blocks, or paths "
                            "read from the --base revision (the work tree without --base); "
                            "like --key, replaces the config's trusted signers")
    group.add_argument("--cert-chain-list", action="append", default=[], metavar="LIST",
                       help="trusted root certificates, in the same form as --key-list")


def _add_base_options(sub: argparse.ArgumentParser) -> None:
    group = sub.add_argument_group("pull request base (the policy from the trusted side)")
    group.add_argument("--base", metavar="REV",
                       help="read the config (policy, models) and the key and root files it "
                            "names from REV, not from the work tree (unless --config names a "
                            "file)")
    group.add_argument("--base-config", metavar="PATH",
                       help="with --base: the config to read from REV, as a repository path")
    add_trusted_list_options(group)


@contextmanager
def policy_folder() -> Iterator[Path]:
    """A private folder for policy files read from git, kept while models are verified."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="modelseal-policy-") as folder:
        yield Path(folder)


def check_base_options(args: argparse.Namespace) -> None:
    if getattr(args, "base_config", None) and (args.base is None or args.config):
        raise UsageError("--base-config names the config at the --base revision: use it with "
                         "--base and without --config")


def policy_config(args: argparse.Namespace, folder: Path) -> Config | None:
    """The config whose policy applies when no model PATH resolves one (stores,
    registries): from --base when given (see `modelseal.basepolicy`), else as usual."""
    from modelseal.targets import load_nearest_config

    check_base_options(args)
    if getattr(args, "base", None) is None or args.config:
        return load_nearest_config(Path.cwd(), args.config)
    from modelseal.basepolicy import read_trusted_side

    side = read_trusted_side(Path.cwd(), args.base, folder, config_path=args.base_config,
                             find_head_models=False)
    return side.config


def with_listed_files(args: argparse.Namespace, folder: Path
                      ) -> tuple[argparse.Namespace, list[str], list[str]]:
    """``args`` with --key-list/--cert-chain-list added to --key/--cert-chain, the
    `verify` flags naming the listed paths (inline PEM has no path to name), and the
    listed paths."""
    from modelseal.basepolicy import materialize_pem_list

    keys, roots = list(args.policy_keys), list(args.cert_chain)
    flags: list[str] = []
    listed: list[str] = []
    for texts, what, into, flag in ((getattr(args, "key_list", []), "public key", keys,
                                     "--key"),
                                    (getattr(args, "cert_chain_list", []), "certificate root",
                                     roots, "--cert-chain")):
        for text in texts:
            files, named = materialize_pem_list(text, what, folder, Path.cwd(),
                                                getattr(args, "base", None))
            into.extend(files)
            listed += named
            flags += [word for path in named for word in (flag, path)]
    updated = argparse.Namespace(**{**vars(args), "policy_keys": keys, "cert_chain": roots})
    return updated, flags, listed


def verify_policy(args: argparse.Namespace, config: Config | None, folder: Path) -> Policy:
    """`policy_from_args` with the --key-list/--cert-chain-list files added."""
    return policy_from_args(with_listed_files(args, folder)[0], config)


def policy_from_args(args: argparse.Namespace, config: Config | None) -> Policy:
    """The effective policy: the config's `policy:` section with the given flags on top."""
    from modelseal.policy import PolicyFlags, build_policy

    flags = PolicyFlags(
        identity=args.identity, identity_regex=args.identity_regex, issuer=args.issuer,
        repository=args.repository, workflow=args.workflow, ref=args.ref,
        gitlab_project=args.gitlab_project, gitlab_host=args.gitlab_host,
        keys=tuple(args.policy_keys), certificate_roots=tuple(args.cert_chain),
        not_before=args.not_before, strict=args.strict)
    return build_policy(config.policy if config else None, flags)


def _targets(args: argparse.Namespace) -> tuple[list[ModelTarget], Config | None]:

    from modelseal import targets

    models, config = targets.resolve_targets(args.paths, config_path=args.config)
    if args.signature is not None and len(models) != 1:
        raise UsageError("--signature names one bundle; pass exactly one model path with it")
    if args.ignore:
        models = [m.with_ignores(tuple(args.ignore)) for m in models]
    return models, config


# The same options and model selection for other commands (cli_report: report, comment).
add_model_options = _add_model_options
add_verify_options = _add_verify_options
resolve_models = _targets


# --- sign --------------------------------------------------------------------------------


def run_sign(args: argparse.Namespace) -> int:
    from modelseal import cli_stores, signing

    if cli_stores.store_requested(args):
        return cli_stores.run_sign_store(args)
    signer = _signer(args)
    models, _ = _targets(args)
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
    from modelseal import cli_stores, verifying

    if args.allow_unsigned and args.strict:
        raise UsageError("--allow-unsigned and --strict contradict each other; pass one")
    if cli_stores.store_requested(args):
        return cli_stores.run_verify_store(args)
    with policy_folder() as folder:
        models, config = _verify_targets(args, folder)
        options = verifying.VerifyOptions(
            policy=verify_policy(args, config, folder), signature=args.signature,
            ignore_unsigned_files=args.ignore_unsigned_files, offline=args.offline,
            trust_config=args.trust_config, progress=args.progress,
            allow_unsigned=args.allow_unsigned)
        results, notices = verifying.verify_targets(models, options)
    for notice in notices:
        print(f"modelseal: notice: {printable(notice)}", file=sys.stderr)
    if args.format == "json":
        from modelseal import console

        console.print_json(verify_json(results), sys.stdout)
    else:
        print_verify(results)
    return EXIT_OK if all(result.ok for result in results) else EXIT_FAILED


def _verify_targets(args: argparse.Namespace, folder: Path
                    ) -> tuple[list[ModelTarget], Config | None]:
    """`_targets`, or with --base the models and config of the base revision."""
    check_base_options(args)
    if args.base is None or args.config:
        return _targets(args)
    models, config, _ = base_targets(args, folder)
    return models, config


def base_targets(args: argparse.Namespace, folder: Path
                 ) -> tuple[list[ModelTarget], Config | None, tuple[str, ...]]:
    """Targets, config and the repository paths of the policy files read, all from the
    --base revision (see `modelseal.basepolicy`); `verify` and `report` share it."""
    from modelseal.basepolicy import trusted_targets

    models, side = trusted_targets(args.paths, args.base, folder, args.base_config)
    for notice in side.notices:
        print(f"modelseal: notice: {printable(notice)}", file=sys.stderr)
    if args.signature is not None and len(models) != 1:
        raise UsageError("--signature names one bundle; pass exactly one model path with it")
    if args.ignore:
        models = [model.with_ignores(tuple(args.ignore)) for model in models]
    return models, side.config, side.watched


def verify_json(results: list[VerificationResult]) -> dict[str, Any]:
    """The `verify --format json` document."""
    from modelseal.console import JSON_SCHEMA_VERSION

    return {"version": JSON_SCHEMA_VERSION, "ok": all(r.ok for r in results),
            "models": [r.to_json() for r in results]}


def print_verify(results: list[VerificationResult]) -> None:
    """Text output: one line per model (failures on stderr), then what changed."""
    from modelseal import console
    from modelseal.verifying import STATUS_UNSIGNED, STATUS_VERIFIED

    for result in results:
        name, message = printable(result.target.display), printable(result.message)
        if result.status == STATUS_VERIFIED:
            print(f"{name}: {message}{printable(_signer_details(result))}")
            for warning in result.warnings:
                print(f"modelseal: warning: {name}: {printable(warning)}", file=sys.stderr)
        elif result.status == STATUS_UNSIGNED:
            print(_unsigned_line(result), file=sys.stderr)
        else:
            print(f"modelseal: error: {name}: {message}", file=sys.stderr)
            if result.diff is not None:
                for line in console.diff_lines(result.diff):
                    print(line)


def _unsigned_line(result: VerificationResult) -> str:
    """An unsigned model fails `verify` unless --allow-unsigned accepted it."""
    name, message = printable(result.target.display), printable(result.message)
    if result.ok:
        return f"modelseal: warning: {name}: {message} (accepted by --allow-unsigned)"
    hint = ("the strict policy fails unsigned models" if result.strict else
            "sign it, or pass --allow-unsigned to accept unsigned models")
    return f"modelseal: error: {name}: {message}; {hint}"


def _signer_details(result: VerificationResult) -> str:
    from modelseal.signer import format_time

    signer = result.signer
    if signer is None:
        return ""
    parts = [signer.method]
    if signer.issuer:
        parts.append(f"issuer {signer.issuer}")
    if result.signed_at is not None:
        parts.append(f"signed {format_time(result.signed_at)}")
    if signer.rekor_log_index is not None:
        parts.append(f"rekor log index {signer.rekor_log_index}")
    return f" [{', '.join(parts)}]"
