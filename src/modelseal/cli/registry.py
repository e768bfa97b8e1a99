"""Command line for models in registries: `verify/sign oci://REF`, `attach`, `push`.

`verify` and `sign` hand a PATH that is an ``oci://`` or ``ollama://`` reference to
`run_verify_registry` / `run_sign_registry` (through cli/stores.py), `export` hands
one to `run_export_registry`; `attach` and `push` are commands of their own.
argparse -> `app.registry` -> console; registry code is imported only when used.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelseal.cli import options
from modelseal.errors import EXIT_FAILED, EXIT_OK, printable
from modelseal.words import plural

if TYPE_CHECKING:
    from modelseal.app.registry import Access, Pulled, ReferenceVerification
    from modelseal.app.verify import VerifyRequest
    from modelseal.report.model import ModelReport
    from modelseal.verifying import VerifyOptions

_ATTACH_EXAMPLES = """\
  modelseal attach oci://registry.example/acme/bert:v1 --signature models/bert/model.sig
  modelseal attach oci://127.0.0.1:5000/acme/bert@sha256:<hex>   # ./model.sig"""

_PUSH_EXAMPLES = """\
  modelseal push models/bert oci://registry.example/acme/bert:v1
  modelseal push models/bert oci://127.0.0.1:5000/acme/bert:v1   # loopback: plain HTTP"""


def configure(name: str, sub: argparse.ArgumentParser) -> None:
    {"attach": _configure_attach, "push": _configure_push}[name](sub)


def _configure_attach(attach: argparse.ArgumentParser) -> None:
    options.runs(attach, run_attach, _ATTACH_EXAMPLES)
    attach.add_argument("reference", metavar="oci://REF", help="the model artifact")
    attach.add_argument("--signature", type=Path, default=Path("model.sig"), metavar="FILE",
                        help="the bundle to attach (default: model.sig)")
    options.add_transport_options(attach)


def _configure_push(push: argparse.ArgumentParser) -> None:
    options.runs(push, run_push, _PUSH_EXAMPLES)
    push.add_argument("path", metavar="DIR", help="model directory or single model file")
    push.add_argument("reference", metavar="oci://REF", help="where to push (REPO:TAG)")
    push.add_argument("--config", type=Path, metavar="FILE",
                      help=".modelseal.yaml to use (default: the nearest one)")
    options.add_transport_options(push)


def registry_paths(args: argparse.Namespace) -> bool:
    """True when the command's PATHs name a registry model."""
    from modelseal.app.registry import is_reference

    return any(is_reference(str(path)) for path in getattr(args, "paths", None) or ())


def access(args: argparse.Namespace) -> Access:
    """The registry options (see `options.add_transport_options`) as typed data."""
    from modelseal.app.registry import Access

    return Access(ca_file=args.ca_file, insecure_hosts=tuple(args.insecure_registry))


def verify_request(args: argparse.Namespace) -> VerifyRequest:
    """The policy and verify options of a store or registry model, as typed data
    (`export` has no --ignore-unsigned-files or progress options, and shows no bar)."""
    from modelseal.app.verify import VerifyRequest

    return VerifyRequest(source=options.policy_source(args),
                         policy=options.policy_request(args),
                         ignore_unsigned_files=getattr(args, "ignore_unsigned_files", False),
                         offline=args.offline, trust_config=args.trust_config,
                         progress=getattr(args, "progress", False))


# --- verify --------------------------------------------------------------------------------


def run_verify_registry(args: argparse.Namespace) -> int:
    """`verify oci://REF`: pin, find every bundle, verify until one passes, maybe pull."""
    from modelseal import console
    from modelseal.app import registry

    verified = registry.verify_registry([str(p) for p in args.paths], access(args),
                                        verify_request(args), signature=args.signature,
                                        ignore=args.ignore)
    for notice in verified.outcome.notices:
        console.notice(notice)
    pulled = None
    if verified.ok and args.pull:  # only once verified: exactly the files the signature lists
        pulled = registry.pull_verified(verified, Path(args.pull), args.ignore)
    if args.format == "json":
        _print_json(verified, pulled)
    else:
        _print_text(verified, pulled)
    return EXIT_OK if verified.ok else EXIT_FAILED


def _print_text(verified: ReferenceVerification, pulled: Pulled | None) -> None:
    from modelseal import console

    outcome = verified.outcome
    console.print_verify([outcome.result])
    winner = outcome.winner
    for item in outcome.outcomes:
        if item is winner:
            console.say(f"  signature: {printable(item.candidate.source)}")
        else:
            console.say(f"modelseal: note: {verified.pinned}: candidate "
                        f"{printable(item.candidate.source)} did not pass: "
                        f"{printable(item.message)}", err=True)
    if winner is None:
        return
    if pulled is not None:
        console.say(f"  pulled {plural(pulled.files, 'verified file')} into {pulled.directory}")
    else:
        console.say(f"  pull by digest: {verified.pinned}")


def _print_json(verified: ReferenceVerification, pulled: Pulled | None) -> None:
    from modelseal import console

    outcome = verified.outcome
    document = console.verify_json([outcome.result])
    entry = document["models"][0]
    winner = outcome.winner
    entry["reference"] = verified.pinned
    entry["signature_source"] = winner.candidate.source if winner else None
    entry["candidates"] = [{"source": o.candidate.source, "verified": o.verified,
                            "message": o.message} for o in outcome.outcomes]
    entry["pulled_to"] = str(pulled.directory) if pulled else None
    document["bytes_fetched"] = verified.bytes_fetched
    console.print_json(document)


def report_references(args: argparse.Namespace, references: list[str],
                      verify_options: VerifyOptions, flags: list[str]
                      ) -> tuple[tuple[ModelReport, ...], list[str]]:
    """`report`'s rows for its registry references (see `app.registry.report_references`),
    with the registry options, --signature and --ignore read from ``args``."""
    from modelseal.app import registry

    return registry.report_references(references, access(args), verify_options, flags,
                                      signature=args.signature, ignore=args.ignore)


# --- export ----------------------------------------------------------------------------------


def run_export_registry(args: argparse.Namespace) -> int:
    """`export` of a registry model: its raw layers as described, or its SignatureInfo."""
    from modelseal import console
    from modelseal.app import registry
    from modelseal.app.stores import OLLAMA_SIGNATURE
    if args.format == OLLAMA_SIGNATURE:
        exported = registry.export_reference_signature(
            args.path, access(args), verify_request(args), signature=args.signature)
        console.print_json(exported.info)
        return EXIT_OK if exported.verified else EXIT_FAILED
    document: dict[str, Any] = registry.describe_reference(args.path, access(args),
                                                           args.format)
    console.print_json({"version": console.JSON_SCHEMA_VERSION, **document})
    return EXIT_OK


# --- sign, attach, push --------------------------------------------------------------------


def run_sign_registry(args: argparse.Namespace) -> int:
    """`sign oci://REF`: a statement from the pinned manifest, signed, attached as a referrer."""
    from modelseal import console
    from modelseal.app import registry, sign

    ref = registry.one_reference([str(p) for p in args.paths])
    signer = sign.signer_for(options.signer_request(args))
    signed = registry.sign_reference(ref, access(args), signer, ignore=args.ignore,
                                     signature=args.signature)
    console.say(f"{signed.pinned}: signed ({signed.method}, "
                f"{plural(signed.resources, 'resource')}, sha256:{signed.root_digest[:16]}...) "
                f"-> referrer {signed.referrer} ({signed.via})")
    return EXIT_OK


def run_attach(args: argparse.Namespace) -> int:
    from modelseal import console
    from modelseal.app import registry

    attached = registry.attach(args.reference, access(args), args.signature)
    console.say(f"{attached.pinned}: attached {args.signature} as referrer {attached.referrer} "
                f"({attached.via})")
    return EXIT_OK


def run_push(args: argparse.Namespace) -> int:
    from modelseal import console
    from modelseal.app import registry

    label = registry.one_reference([args.reference]).label  # as the user would write it
    pushed = registry.push(args.path, args.reference, access(args), args.config)
    console.say(f"{pushed.pinned}: pushed {plural(pushed.layers, 'file layer')} as {label}")
    if pushed.attached is not None:
        console.say(f"  attached {pushed.signature} as referrer {pushed.attached.digest} "
                    f"({pushed.attached.via})")
    else:
        console.say("  no signature beside the model: the artifact is unsigned (sign it with "
                    f"`modelseal sign {label} ...`)")
    return EXIT_OK
