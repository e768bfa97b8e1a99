"""Command line for models in stores: `export`, and the store options of `sign`/`verify`.

`verify --oci-layout/--dmr/--hf-cache/--ollama` and `sign --ollama` are added to the
commands cli_signing.py defines (`add_store_options`), which hands such runs to
`run_verify_store` / `run_sign_store`. Store code is imported only when used.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelseal.app import policies
from modelseal.cli import options
from modelseal.errors import EXIT_FAILED, EXIT_OK, UsageError, printable
from modelseal.words import plural

if TYPE_CHECKING:
    from modelseal.signing import Signer
    from modelseal.stores.source import StoreModel
    from modelseal.targets import ModelTarget

STORE_OPTIONS = ("oci_layout", "dmr", "hf_cache", "ollama")
EXPORT_FORMATS = ("cncf-annotations", "oci-descriptors", "ollama-signature")

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


def store_requested(args: argparse.Namespace) -> bool:
    from modelseal.cli import registry as cli_registry

    return any(getattr(args, option, None) for option in STORE_OPTIONS) or \
        cli_registry.registry_paths(args) or getattr(args, "pull", None) is not None


def open_store(args: argparse.Namespace) -> StoreModel:
    """The store model the arguments name."""
    if getattr(args, "oci_layout", None):
        from modelseal.stores import oci

        return oci.open_layout(oci.Reference.parse(args.oci_layout))
    if getattr(args, "dmr", None):
        from modelseal.stores import dmr

        return dmr.open_model(args.dmr)
    if getattr(args, "hf_cache", None):
        from modelseal.stores import hfcache

        return hfcache.open_snapshot(args.hf_cache)
    from modelseal.stores import ollama

    return ollama.open_model(args.ollama)


def _store_target(model: StoreModel) -> ModelTarget:
    from modelseal.config import HashOptions
    from modelseal.targets import ModelTarget

    return ModelTarget(model.root, HashOptions(), label=model.label)


def _no_paths(args: argparse.Namespace) -> None:
    if args.paths:
        raise UsageError("give either model PATHs or one store option (--oci-layout, --dmr, "
                         "--hf-cache, --ollama), not both")


def run_verify_store(args: argparse.Namespace) -> int:
    """`verify` of a model in a store: bundle -> signature -> policy -> blobs re-hashed."""
    from modelseal import console, verifying
    from modelseal.cli import registry as cli_registry

    if cli_registry.registry_paths(args) and not any(getattr(args, o, None)
                                                     for o in STORE_OPTIONS):
        return cli_registry.run_verify_registry(args)
    if args.pull is not None:
        raise UsageError("--pull is for registry models (verify oci://REF --pull DIR)")
    _no_paths(args)
    model = open_store(args)
    signature = args.signature or model.signature
    if signature is None:
        raise UsageError(f"{model.label} carries no signature layer; pass --signature FILE")
    with policies.policy_folder() as folder:  # policy files read from --base live here
        config = policies.policy_config(options.policy_source(args), folder)
        verify_options = verifying.VerifyOptions(
            policy=policies.verify_policy(options.policy_request(args), args.base,
                                          config, folder), signature=signature,
            ignore=tuple(args.ignore), ignore_unsigned_files=args.ignore_unsigned_files,
            offline=args.offline, trust_config=args.trust_config, progress=args.progress)
        verifier = verifying.Verifier(verify_options)
        result = verifier.verify(_store_target(model), model)
    for notice in verifier.notices:
        print(f"modelseal: notice: {printable(notice)}", file=sys.stderr)
    if args.format == "json":
        console.print_json(console.verify_json([result]), out=sys.stdout)
    else:
        console.print_verify([result])
    return EXIT_OK if result.ok else EXIT_FAILED


def run_sign_store(args: argparse.Namespace) -> int:
    """`sign --ollama`: an OMS statement over the store's blobs, written to --signature."""
    from modelseal.app.sign import signer_for
    from modelseal.cli import registry as cli_registry
    from modelseal.fsio import atomic_write_bytes
    from modelseal.manifest import Serialization

    if cli_registry.registry_paths(args) and not args.ollama:
        return cli_registry.run_sign_registry(args)
    _no_paths(args)
    if args.signature is None:
        raise UsageError("sign --ollama needs --signature FILE (Ollama's store has no place "
                         "for a signature)")
    signer = signer_for(options.signer_request(args))
    model = open_store(args)
    serialization = Serialization(ignore_paths=tuple(sorted(args.ignore)))
    manifest = model.manifest(serialization, ignore=args.ignore, progress=args.progress)
    bundle = _sign_one(signer, manifest.to_json())
    atomic_write_bytes(args.signature, bundle)
    resources = plural(len(manifest.resources), "resource")
    print(printable(f"{model.label}: signed ({signer.method}, {resources}, "
                    f"sha256:{manifest.root_digest[:16]}...) -> {args.signature}"))
    return EXIT_OK


def _sign_one(signer: Signer, statement: str) -> bytes:
    from contextlib import contextmanager

    with contextmanager(signer.session)():
        bundle: bytes = signer.sign(statement.encode("utf-8"))
    return bundle


def run_export(args: argparse.Namespace) -> int:
    from modelseal import console
    from modelseal.cli import registry as cli_registry

    if args.path is not None and cli_registry.registry_paths(argparse.Namespace(
            paths=[args.path])):
        return cli_registry.run_export_registry(args)
    if args.format == "ollama-signature":
        return _export_ollama_signature(args)
    if args.path is None:
        raise UsageError(f"--format {args.format} needs a model PATH")
    entries, digests = _export_files(args)
    from modelseal.stores import export

    if args.format == "cncf-annotations":
        console.print_json({"version": console.JSON_SCHEMA_VERSION,
                            "files": export.cncf_annotations(entries)}, out=sys.stdout)
    else:
        console.print_json({"version": console.JSON_SCHEMA_VERSION,
                            "layers": export.oci_descriptors(entries, digests)}, out=sys.stdout)
    return EXIT_OK


def _export_files(args: argparse.Namespace) -> tuple[list[Any], dict[str, str]]:
    from modelseal import engine, targets
    from modelseal.hashing import HashSpec

    models, _ = targets.resolve_targets([args.path], config_path=args.config)
    listing = engine.list_target(models[0])
    digests: dict[str, str] = {}
    if args.format == "oci-descriptors":
        raw = engine.hash_listing(listing, HashSpec("sha256"), engine.HashRun(use_cache=False),
                                  label=models[0].display)
        digests = {name: f"sha256:{values[0].hex()}" for name, values in raw.items()}
    return list(listing.files), digests


def _export_ollama_signature(args: argparse.Namespace) -> int:
    from modelseal import console, verifying
    from modelseal.stores import export, ollama
    from modelseal.targets import load_nearest_config

    if not args.ollama or args.signature is None:
        raise UsageError("--format ollama-signature needs --ollama NAME[:TAG] and --signature FILE")
    model = ollama.open_model(args.ollama)
    config = load_nearest_config(Path.cwd(), args.config)
    policy = policies.effective_policy(options.policy_request(args).flags, config)
    verify_options = verifying.VerifyOptions(policy=policy,
                                             signature=args.signature, offline=args.offline,
                                             trust_config=args.trust_config, progress=False)
    result = verifying.Verifier(verify_options).verify(_store_target(model), model)
    if result.signature is None:
        raise UsageError(f"{model.label}: {result.message}")
    console.print_json(export.signature_info(result.signature), out=sys.stdout)
    return EXIT_OK if result.signature.verified else EXIT_FAILED
