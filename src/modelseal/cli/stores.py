"""Command line for models in stores: `export`, and the store options of `sign`/`verify`.

`verify --oci-layout/--dmr/--hf-cache/--ollama` and `sign --ollama` (one option per
store in `stores.catalog`) are added to the commands cli/signing.py defines, which
hands such runs to `run_verify_store` / `run_sign_store`; a registry reference among
the PATHs goes on to cli/registry.py. argparse -> `app.stores` -> console; store code
is imported only when used.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from modelseal.app.stores import EXPORT_FORMATS, OLLAMA_SIGNATURE
from modelseal.cli import options
from modelseal.errors import EXIT_FAILED, EXIT_OK, UsageError
from modelseal.words import plural

if TYPE_CHECKING:
    from modelseal.stores.catalog import StoreSpec

_EXPORT_EXAMPLES = """\
  modelseal export --format cncf-annotations models/bert
  modelseal export --format oci-descriptors models/bert > layers.json
  modelseal export --format oci-descriptors oci://registry.example/acme/bert:v1
  modelseal export --format ollama-signature --ollama llama3.2:1b --signature llama.sig \\
      --key signer-pub.pem"""


def configure(name: str, sub: argparse.ArgumentParser) -> None:
    """`export`'s options."""
    options.runs(sub, run_export, _EXPORT_EXAMPLES)
    sub.add_argument("path", nargs="?", metavar="PATH",
                     help="model directory or single file (cncf-annotations, oci-descriptors),"
                          " or a registry model oci://REF or ollama://REF (every format)")
    sub.add_argument("--format", required=True, choices=EXPORT_FORMATS,
                     help="cncf-annotations: ModelPack layer annotations per file; "
                          "oci-descriptors: OCI layer descriptors per file; ollama-signature: "
                          "the SignatureInfo of an Ollama model's signature")
    options.add_config_option(sub)
    sub.add_argument("--ollama", metavar="NAME[:TAG]", help="Ollama model (ollama-signature)")
    sub.add_argument("--signature", type=Path, metavar="FILE",
                     help="the model's OMS bundle (ollama-signature)")
    options.add_policy_options(sub)
    sub.add_argument("--offline", action="store_true",
                     help="do not refresh the Sigstore trusted root; use the embedded one")
    sub.add_argument("--trust-config", type=Path, metavar="JSON",
                     help="Sigstore trust config or trusted root of a private instance")
    options.add_transport_options(sub)


def _store(args: argparse.Namespace) -> StoreSpec | None:
    """The store option given (`--oci-layout DIR:TAG`, ...), if any."""
    from modelseal.stores import catalog

    return catalog.chosen(vars(args))


def store_requested(args: argparse.Namespace) -> bool:
    """True when `sign`/`verify` is about a store or registry model, not a directory."""
    from modelseal.cli import registry as cli_registry

    return _store(args) is not None or cli_registry.registry_paths(args) or \
        getattr(args, "pull", None) is not None


def _no_paths(args: argparse.Namespace) -> None:
    from modelseal.stores import catalog

    if args.paths:
        raise UsageError(f"give either model PATHs or one store option "
                         f"({catalog.options_text()}), not both")


def run_verify_store(args: argparse.Namespace) -> int:
    """`verify` of a model in a store: bundle -> signature -> policy -> blobs re-hashed."""
    from modelseal import console
    from modelseal.app import stores
    from modelseal.cli import registry as cli_registry

    where = _store(args)
    if cli_registry.registry_paths(args) and where is None:
        return cli_registry.run_verify_registry(args)
    if args.pull is not None:
        raise UsageError("--pull is for registry models (verify oci://REF --pull DIR)")
    _no_paths(args)
    assert where is not None  # store_requested: a store option, a reference or --pull
    verified = stores.verify_store(where, cli_registry.verify_request(args), args.signature,
                                   ignore=args.ignore)
    for notice in verified.notices:
        console.notice(notice)
    if args.format == "json":
        console.print_json(console.verify_json([verified.result]))
    else:
        console.print_verify([verified.result])
    return EXIT_OK if verified.result.ok else EXIT_FAILED


def run_sign_store(args: argparse.Namespace) -> int:
    """`sign --ollama`: an OMS statement over the store's blobs, written to --signature."""
    from modelseal import console
    from modelseal.app import sign, stores
    from modelseal.cli import registry as cli_registry
    from modelseal.stores import catalog

    where = catalog.chosen(vars(args), catalog.signable())
    if cli_registry.registry_paths(args) and where is None:
        return cli_registry.run_sign_registry(args)
    _no_paths(args)
    assert where is not None  # store_requested: a store option or a reference
    if args.signature is None:
        raise UsageError(f"sign {where.kind.option} needs --signature FILE ({where.kind.title} "
                         "has no place for a signature)")
    signer = sign.signer_for(options.signer_request(args))
    signed = stores.sign_store(where, signer, args.signature, ignore=args.ignore,
                               progress=args.progress)
    console.say(f"{signed.label}: signed ({signed.method}, "
                f"{plural(signed.resources, 'resource')}, sha256:{signed.root_digest[:16]}...)"
                f" -> {signed.signature}")
    return EXIT_OK


def run_export(args: argparse.Namespace) -> int:
    from modelseal import console
    from modelseal.app import stores
    from modelseal.cli import registry as cli_registry

    if args.path is not None and cli_registry.registry_paths(argparse.Namespace(
            paths=[args.path])):
        return cli_registry.run_export_registry(args)
    if args.format == OLLAMA_SIGNATURE:
        return _export_ollama_signature(args)
    if args.path is None:
        raise UsageError(f"--format {args.format} needs a model PATH")
    document = stores.describe_files(args.path, args.format, args.config)
    console.print_json({"version": console.JSON_SCHEMA_VERSION, **document})
    return EXIT_OK


def _export_ollama_signature(args: argparse.Namespace) -> int:
    from modelseal import console
    from modelseal.app import stores
    from modelseal.cli import registry as cli_registry
    from modelseal.stores import catalog

    if not args.ollama or args.signature is None:
        raise UsageError("--format ollama-signature needs --ollama NAME[:TAG] and --signature FILE")
    where = catalog.StoreSpec(catalog.by_name("ollama"), args.ollama)
    exported = stores.export_store_signature(where, args.signature,
                                             cli_registry.verify_request(args))
    console.print_json(exported.info)
    return EXIT_OK if exported.verified else EXIT_FAILED

