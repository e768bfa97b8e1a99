"""Options several commands share, defined once so their names and help stay the same."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

# defined with the hooks' options, which must not import the CLI; re-exported here
from modelseal.arguments import add_cache_options as add_cache_options
from modelseal.arguments import add_config_option as add_config_option

if TYPE_CHECKING:
    from modelseal.app.policies import PolicyRequest, PolicySource
    from modelseal.app.selection import ModelRequest
    from modelseal.signing_methods import SignerRequest

Handler = Callable[[argparse.Namespace], int]


def add_progress_options(parser: argparse.ArgumentParser) -> None:
    bar = parser.add_mutually_exclusive_group()
    bar.add_argument("--progress", dest="progress", action="store_true", default=None,
                     help="always show a progress bar on stderr")
    bar.add_argument("--no-progress", dest="progress", action="store_false",
                     help="never show a progress bar")


def add_model_options(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("paths", nargs="*", metavar="PATH",
                     help="model directory or single model file, or a registry model "
                          "oci://HOST[:PORT]/REPO[:TAG|@sha256:DIGEST] or ollama://... "
                          "(verify, sign: one reference alone; report: any, beside local "
                          "paths) (default: every model in .modelseal.yaml)")
    add_config_option(sub)
    sub.add_argument("--signature", type=Path, metavar="FILE",
                     help="bundle path (default: model.sig in the model, or FILE.sig beside a "
                          "single-file model); only with one model")
    sub.add_argument("--ignore", action="append", default=[], metavar="RELPATH",
                     help="also skip this path inside the model (repeatable)")
    add_progress_options(sub)


def add_sign_options(sub: argparse.ArgumentParser) -> None:
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


def add_verify_options(sub: argparse.ArgumentParser) -> None:
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


def add_base_options(sub: argparse.ArgumentParser) -> None:
    group = sub.add_argument_group("pull request base (the policy from the trusted side)")
    group.add_argument("--base", metavar="REV",
                       help="read the config (policy, models) and the key and root files it "
                            "names from REV, not from the work tree (unless --config names a "
                            "file)")
    group.add_argument("--base-config", metavar="PATH",
                       help="with --base: the config to read from REV, as a repository path")
    add_trusted_list_options(group)


def add_verify_store_options(verify: argparse.ArgumentParser) -> None:
    """`verify --oci-layout/--dmr/--hf-cache/--ollama` (one per store in
    `stores.catalog`), `--pull` and the registry options."""
    from modelseal.stores import catalog

    group = verify.add_argument_group("models in stores (instead of PATH; re-hashed in place)")
    where = group.add_mutually_exclusive_group()
    for kind in catalog.STORES:
        where.add_argument(kind.option, metavar=kind.metavar, help=kind.help)
    verify.add_argument("--pull", type=Path, metavar="DIR",
                        help="with an oci:// PATH: once verified, download exactly the verified "
                             "files into DIR (a new directory, written atomically)")
    add_transport_options(verify)


def add_sign_store_options(sign: argparse.ArgumentParser) -> None:
    """`sign --ollama` (the stores `sign` can sign) and the registry options."""
    from modelseal.stores import catalog

    for kind in catalog.signable():
        sign.add_argument(kind.option, metavar=kind.metavar, help=kind.sign_help)
    add_transport_options(sign)


def add_transport_options(sub: argparse.ArgumentParser) -> None:
    group = sub.add_argument_group("registries (oci://HOST[:PORT]/REPO[:TAG|@sha256:DIGEST])")
    group.add_argument("--ca-file", type=Path, metavar="PEM",
                       help="CA certificate(s) that sign the registry's TLS certificate")
    group.add_argument("--insecure-registry", action="append", default=[], metavar="HOST",
                       help="allow plain HTTP to HOST[:PORT] (loopback hosts always may; "
                            "repeatable)")


def formatter(prog: str) -> argparse.HelpFormatter:
    return argparse.RawDescriptionHelpFormatter(prog, max_help_position=32)


def command_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser], name: str,
                   summary: str) -> argparse.ArgumentParser:
    """An empty sub-command parser; its module fills it in only when the command runs."""
    sub = commands.add_parser(name, help=summary, description=summary, formatter_class=formatter)
    sub.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                     help="show tracebacks on errors")
    return sub


def runs(sub: argparse.ArgumentParser, handler: Handler, examples: str) -> None:
    """Name the function that runs a sub-command and the examples its --help shows."""
    sub.set_defaults(handler=handler)
    sub.epilog = f"examples:\n{examples}"


def add_hashing_options(sub: argparse.ArgumentParser, *, paths: str | int = "*") -> None:
    every = " (default: every model in .modelseal.yaml)" if paths == "*" else ""
    sub.add_argument("paths", nargs=paths, metavar="PATH",
                     help=f"model directory or single model file{every}")
    add_config_option(sub)
    add_cache_options(sub)
    add_progress_options(sub)


def add_format(sub: argparse.ArgumentParser, choices: Sequence[str] = ("text", "json")) -> None:
    sub.add_argument("--format", choices=choices, default=choices[0],
                     help=f"output format (default: {choices[0]})")


def policy_source(args: argparse.Namespace) -> PolicySource:
    """Where the policy comes from: --config, --base and --base-config."""
    from modelseal.app.policies import PolicySource

    return PolicySource(config=getattr(args, "config", None), base=getattr(args, "base", None),
                        base_config=getattr(args, "base_config", None))


def policy_request(args: argparse.Namespace) -> PolicyRequest:
    """The policy options as typed data (see `add_policy_options`)."""
    from modelseal.app.policies import PolicyRequest
    from modelseal.policy import PolicyFlags

    flags = PolicyFlags(
        identity=args.identity, identity_regex=args.identity_regex, issuer=args.issuer,
        repository=args.repository, workflow=args.workflow, ref=args.ref,
        gitlab_project=args.gitlab_project, gitlab_host=args.gitlab_host,
        keys=tuple(args.policy_keys), certificate_roots=tuple(args.cert_chain),
        not_before=args.not_before, strict=args.strict)
    return PolicyRequest(flags, key_lists=tuple(getattr(args, "key_list", ())),
                         certificate_root_lists=tuple(getattr(args, "cert_chain_list", ())))


def model_request(args: argparse.Namespace) -> ModelRequest:
    """The model options as typed data (see `add_model_options`)."""
    from modelseal.app.selection import ModelRequest

    return ModelRequest(paths=tuple(str(path) for path in args.paths),
                        config=getattr(args, "config", None),
                        signature=getattr(args, "signature", None),
                        ignore=tuple(getattr(args, "ignore", ())))


def signer_request(args: argparse.Namespace) -> SignerRequest:
    """The signing options as typed data (see `add_sign_options`)."""
    from modelseal.signing_methods import SignerRequest

    return SignerRequest(method=args.method, key=args.key, password_env=args.password_env,
                         cert=args.cert, chain=tuple(args.chain),
                         identity_token=args.identity_token, trust_config=args.trust_config,
                         staging=args.staging)
