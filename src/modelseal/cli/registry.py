"""Command line for models in registries: `verify/sign oci://REF`, `attach`, `push`.

`verify` and `sign` hand a PATH that is an ``oci://`` or ``ollama://`` reference to
`run_verify_registry` / `run_sign_registry` (through cli_stores); `attach` and `push`
are commands of their own. Registry code is imported only when used.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelseal.app import policies
from modelseal.cli import options
from modelseal.errors import EXIT_FAILED, EXIT_OK, UsageError
from modelseal.words import plural

if TYPE_CHECKING:
    from modelseal.report.model import ModelReport
    from modelseal.stores.ociref import RegistryRef
    from modelseal.stores.registry import RegistryClient
    from modelseal.stores.registry_verify import RegistryVerification
    from modelseal.stores.remote import RemoteModel
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
    from modelseal.stores.ociref import is_registry_reference

    return any(is_registry_reference(str(path)) for path in getattr(args, "paths", None) or ())


def _one_reference(args: argparse.Namespace) -> RegistryRef:
    from modelseal.stores import ociref

    if len(args.paths) != 1:
        raise UsageError("give one registry reference (oci://...) and no other PATH")
    return ociref.parse(args.paths[0])


def _client(args: argparse.Namespace, ref: RegistryRef) -> RegistryClient:
    from modelseal.stores.registry import RegistryClient, Transport

    if args.ca_file is not None and not args.ca_file.is_file():
        raise UsageError(f"--ca-file {args.ca_file} does not exist")
    transport = Transport(ca_file=args.ca_file, insecure_hosts=tuple(args.insecure_registry))
    return RegistryClient(ref.host, transport)


# --- verify --------------------------------------------------------------------------------


def run_verify_registry(args: argparse.Namespace) -> int:
    """`verify oci://REF`: pin, find every bundle, verify until one passes, maybe pull."""
    from modelseal import verifying

    ref = _one_reference(args)
    with policies.policy_folder() as folder:  # policy files read from --base live here
        config = policies.policy_config(options.policy_source(args), folder)
        verify_options = verifying.VerifyOptions(
            policy=policies.verify_policy(options.policy_request(args), args.base,
                                          config, folder),
            ignore_unsigned_files=args.ignore_unsigned_files, offline=args.offline,
            trust_config=args.trust_config, progress=args.progress)
        model, outcome = verify_reference(args, ref, verify_options)
    for notice in outcome.notices:
        print(f"modelseal: notice: {notice}", file=sys.stderr)
    pulled = _pull(args, model, outcome) if outcome.result.ok and args.pull else None
    if args.format == "json":
        _print_json(model, outcome, pulled)
    else:
        _print_text(model, outcome, pulled)
    return EXIT_OK if outcome.result.ok else EXIT_FAILED


def verify_reference(args: argparse.Namespace, ref: RegistryRef, verify_options: VerifyOptions
                     ) -> tuple[RemoteModel, RegistryVerification]:
    """Pin ``ref``, find its candidate bundles (or take --signature) and verify them with
    ``verify_options`` plus --ignore: what `verify oci://` and `report oci://` both do."""
    from dataclasses import replace

    from modelseal.stores import referrers, registry_verify, remote

    client = _client(args, ref)
    model = remote.open_reference(client, ref)
    if args.signature is not None:
        candidates = [_local_candidate(args.signature)]
    else:
        candidates = referrers.find_candidates(client, ref.repository, model.subjects,
                                               model.signature)
    verify_options = replace(verify_options, ignore=tuple(args.ignore))
    return model, registry_verify.verify_candidates(model, candidates, verify_options)


def _local_candidate(path: Path) -> Any:
    from modelseal.bundle import MAX_BUNDLE_BYTES
    from modelseal.stores.referrers import Candidate
    from modelseal.untrusted import UnsafeFile, read_regular_file

    try:
        return Candidate(str(path), read_regular_file(path, MAX_BUNDLE_BYTES))
    except FileNotFoundError:
        raise UsageError(f"--signature {path} does not exist") from None
    except (UnsafeFile, OSError) as exc:
        raise UsageError(f"--signature {path}: {exc}") from None


def _pull(args: argparse.Namespace, model: RemoteModel, outcome: RegistryVerification
          ) -> tuple[Path, int]:
    from modelseal.stores import remote

    winner = outcome.winner
    assert winner is not None and winner.result is not None and winner.candidate.data
    signed = winner.result.signed_manifest
    assert signed is not None
    written = remote.pull(model.verifying_layer(winner.candidate.layer), signed,
                          winner.candidate.data, Path(args.pull), tuple(args.ignore))
    return Path(args.pull), len(written)


def _print_text(model: RemoteModel, outcome: RegistryVerification,
                pulled: tuple[Path, int] | None) -> None:
    from modelseal import console
    from modelseal.errors import printable

    console.print_verify([outcome.result])
    winner = outcome.winner
    for item in outcome.outcomes:
        if item is winner:
            print(f"  signature: {printable(item.candidate.source)}")
        else:
            print(f"modelseal: note: {model.pinned}: candidate {printable(item.candidate.source)}"
                  f" did not pass: {printable(item.message)}", file=sys.stderr)
    if winner is None:
        return
    if pulled is not None:
        print(f"  pulled {plural(pulled[1], 'verified file')} into {pulled[0]}")
    else:
        print(f"  pull by digest: {model.pinned}")


def _print_json(model: RemoteModel, outcome: RegistryVerification,
                pulled: tuple[Path, int] | None) -> None:
    from modelseal import console

    document = console.verify_json([outcome.result])
    entry = document["models"][0]
    winner = outcome.winner
    entry["reference"] = model.pinned
    entry["signature_source"] = winner.candidate.source if winner else None
    entry["candidates"] = [{"source": o.candidate.source, "verified": o.verified,
                            "message": o.message} for o in outcome.outcomes]
    entry["pulled_to"] = str(pulled[0]) if pulled else None
    document["bytes_fetched"] = model.client.bytes_fetched
    console.print_json(document, out=sys.stdout)


# --- export ----------------------------------------------------------------------------------


def run_export_registry(args: argparse.Namespace) -> int:
    """`export` of a registry model: its raw layers as described, or its SignatureInfo."""
    from modelseal import console
    from modelseal.stores import ociref, remote

    ref = ociref.parse(args.path)
    model = remote.open_reference(_client(args, ref), ref)
    if args.format == "ollama-signature":
        return _export_signature(args, model)
    if args.format == "cncf-annotations":
        files = [{"filepath": f.name, "annotations": dict(f.annotations)} for f in model.files]
        document: dict[str, Any] = {"files": files}
    else:
        document = {"layers": [{"mediaType": f.media_type, "digest": f.digest, "size": f.size,
                                "annotations": dict(f.annotations)} for f in model.files]}
    console.print_json({"version": console.JSON_SCHEMA_VERSION, "reference": model.pinned,
                        **document}, out=sys.stdout)
    return EXIT_OK


def _export_signature(args: argparse.Namespace, model: RemoteModel) -> int:
    from modelseal import console, verifying
    from modelseal.stores import export, referrers, registry_verify
    from modelseal.targets import load_nearest_config

    candidates = ([_local_candidate(args.signature)] if args.signature is not None else
                  referrers.find_candidates(model.client, model.ref.repository, model.subjects,
                                            model.signature))
    config = load_nearest_config(Path.cwd(), args.config)
    policy = policies.effective_policy(options.policy_request(args).flags, config)
    verify_options = verifying.VerifyOptions(policy=policy,
                                             offline=args.offline,
                                             trust_config=args.trust_config, progress=False)
    result = registry_verify.verify_candidates(model, candidates, verify_options).result
    if result.signature is None:
        raise UsageError(f"{model.pinned}: {result.message}")
    console.print_json(export.signature_info(result.signature), out=sys.stdout)
    return EXIT_OK if result.signature.verified else EXIT_FAILED


# --- sign, attach, push --------------------------------------------------------------------


def run_sign_registry(args: argparse.Namespace) -> int:
    """`sign oci://REF`: a statement from the pinned manifest, signed, attached as a referrer."""
    from modelseal.app.sign import sign_bytes, signer_for
    from modelseal.fsio import atomic_write_bytes
    from modelseal.manifest import Serialization
    from modelseal.stores import referrers, remote
    from modelseal.walk import ALWAYS_IGNORED

    ref = _one_reference(args)
    signer = signer_for(options.signer_request(args))
    client = _client(args, ref)
    model = remote.open_reference(client, ref)
    # recorded as directory signing records them, so the same statement verifies a
    # directory copy with its model.sig and model.manifest.json beside the files
    ignore_paths = tuple(sorted({*ALWAYS_IGNORED, *(p.strip("/") for p in args.ignore)}))
    manifest = model.manifest(Serialization(ignore_paths=ignore_paths))
    bundle = sign_bytes(signer, manifest.to_json().encode("utf-8"))
    if args.signature is not None:
        atomic_write_bytes(args.signature, bundle)
    attached = referrers.attach(client, ref.repository, model.descriptor, bundle)
    resources = plural(len(manifest.resources), "resource")
    print(f"{model.pinned}: signed ({signer.method}, {resources}, "
          f"sha256:{manifest.root_digest[:16]}...) -> referrer {attached.digest} "
          f"({attached.via})")
    return EXIT_OK


def run_attach(args: argparse.Namespace) -> int:
    from modelseal.stores import ociref, referrers, remote

    ref = ociref.parse(args.reference)
    bundle = _local_candidate(args.signature).data
    _check_bundle(args.signature)
    client = _client(args, ref)
    subject = remote.pin(client, ref)
    attached = referrers.attach(client, ref.repository, subject, bundle)
    print(f"{ref.pinned(subject['digest'])}: attached {args.signature} as referrer "
          f"{attached.digest} ({attached.via})")
    return EXIT_OK


def _check_bundle(path: Path) -> None:
    """Refuse to publish a file that is not an OMS bundle at all."""
    from modelseal.bundle import read_bundle_file

    read_bundle_file(path).statement()


def run_push(args: argparse.Namespace) -> int:
    from modelseal.stores import ociref, publish

    ref = ociref.parse(args.reference)
    if ref.digest is not None or ref.scheme != ociref.OCI_SCHEME:
        raise UsageError("push needs oci://HOST/REPO[:TAG] (a tag, not a digest)")
    client = _client(args, ref)
    pushed = publish.push_directory(client, ref, args.path, config_path=args.config)
    print(f"{pushed.pinned}: pushed {plural(pushed.layers, 'file layer')} as {ref.label}")
    if pushed.attached is not None:
        print(f"  attached {pushed.signature} as referrer {pushed.attached.digest} "
              f"({pushed.attached.via})")
    else:
        print("  no signature beside the model: the artifact is unsigned (sign it with "
              f"`modelseal sign {ref.label} ...`)")
    return EXIT_OK


# --- report --------------------------------------------------------------------------------


def report_references(args: argparse.Namespace, references: list[str],
                      verify_options: VerifyOptions, flags: list[str]
                      ) -> tuple[tuple[ModelReport, ...], list[str]]:
    """One report row per reference, verified as `verify oci://` does, and the notices.

    A registry that fails (auth, not found, digest mismatch) gives a failure row for
    that reference only, so the report still covers the other models.
    """
    from modelseal.errors import ModelsealError
    from modelseal.report.build import registry_error_report, registry_model_report
    from modelseal.report.escape import shell_command
    from modelseal.stores import ociref

    flags = [*flags, *(w for host in args.insecure_registry for w in ("--insecure-registry", host))]
    parsed = [ociref.parse(text) for text in references]  # a malformed one is a usage error
    rows: list[ModelReport] = []
    notices: list[str] = []
    for text, ref in zip(references, parsed, strict=True):
        try:
            model, outcome = verify_reference(args, ref, verify_options)
        except ModelsealError as exc:
            command = shell_command(["modelseal", "verify", text, *flags])
            rows.append(registry_error_report(text, str(exc), verify_command=command))
            continue
        notices += outcome.notices
        # an ollama:// reference has no digest form: it is checked again by its tag
        again = ref.label if ref.scheme == ociref.OLLAMA_SCHEME else ref.scheme + model.pinned
        command = shell_command(["modelseal", "verify", again, *flags])
        rows.append(registry_model_report(text, model.pinned, outcome.result,
                                          verify_command=command))
    return tuple(rows), notices
