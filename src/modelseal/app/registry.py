"""Use cases for models in registries (``oci://`` and ``ollama://`` references).

`verify_registry` pins a reference, finds every candidate bundle, verifies them until
one passes and may then pull the verified files; `report_references` gives `report`
one row per reference the same way. `sign_reference`, `attach` and `push` publish;
`describe_reference` and `export_reference_signature` back `export`. Typed requests
in, plain data out; the caller prints.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelseal.app.stores import CNCF_ANNOTATIONS, SignatureExport, verify_options
from modelseal.errors import UsageError

if TYPE_CHECKING:
    from modelseal.app.verify import VerifyRequest
    from modelseal.report.model import ModelReport
    from modelseal.signing import Signer
    from modelseal.stores.ociref import RegistryRef
    from modelseal.stores.publish import Pushed
    from modelseal.stores.referrers import Candidate
    from modelseal.stores.registry import RegistryClient
    from modelseal.stores.registry_verify import RegistryVerification
    from modelseal.stores.remote import RemoteModel
    from modelseal.verifying import VerifyOptions


@dataclass(frozen=True)
class Access:
    """How to reach registries: `--ca-file` and the `--insecure-registry` hosts."""

    ca_file: Path | None = None
    insecure_hosts: tuple[str, ...] = ()


def is_reference(text: str) -> bool:
    """True when ``text`` names a registry model rather than a local path."""
    from modelseal.stores.ociref import is_registry_reference

    return is_registry_reference(text)


def one_reference(paths: Sequence[str]) -> RegistryRef:
    """The single reference `verify`/`sign` take in place of model PATHs."""
    from modelseal.stores import ociref

    if len(paths) != 1:
        raise UsageError("give one registry reference (oci://...) and no other PATH")
    return ociref.parse(paths[0])


def client_for(access: Access, ref: RegistryRef) -> RegistryClient:
    from modelseal.stores.registry import RegistryClient, Transport

    if access.ca_file is not None and not access.ca_file.is_file():
        raise UsageError(f"--ca-file {access.ca_file} does not exist")
    transport = Transport(ca_file=access.ca_file, insecure_hosts=access.insecure_hosts)
    return RegistryClient(ref.host, transport)


def local_candidate(path: Path) -> Candidate:
    """A bundle file the user names (`--signature`), read as a candidate."""
    from modelseal.bundle import MAX_BUNDLE_BYTES
    from modelseal.stores.referrers import Candidate
    from modelseal.untrusted import UnsafeFile, read_regular_file

    try:
        return Candidate(str(path), read_regular_file(path, MAX_BUNDLE_BYTES))
    except FileNotFoundError:
        raise UsageError(f"--signature {path} does not exist") from None
    except (UnsafeFile, OSError) as exc:
        raise UsageError(f"--signature {path}: {exc}") from None


def _candidates(model: RemoteModel, signature: Path | None) -> list[Candidate]:
    """--signature's bundle, else every bundle attached to (or inside) the artifact."""
    from modelseal.stores import referrers

    if signature is not None:
        return [local_candidate(signature)]
    return referrers.find_candidates(model.client, model.ref.repository, model.subjects,
                                     model.signature)


# --- verify ----------------------------------------------------------------------------


def verify_reference(ref: RegistryRef, access: Access, options: VerifyOptions, *,
                     signature: Path | None = None, ignore: Sequence[str] = ()
                     ) -> tuple[RemoteModel, RegistryVerification]:
    """Pin ``ref``, find its candidate bundles (or take ``signature``) and verify them
    with ``options`` plus ``ignore``: what `verify oci://` and `report oci://` both do."""
    from modelseal.stores import registry_verify, remote

    model = remote.open_reference(client_for(access, ref), ref)
    candidates = _candidates(model, signature)
    options = replace(options, ignore=tuple(ignore))
    return model, registry_verify.verify_candidates(model, candidates, options)


@dataclass(frozen=True)
class ReferenceVerification:
    """`verify oci://REF`: the model as pinned and every candidate's outcome."""

    model: RemoteModel
    outcome: RegistryVerification

    @property
    def pinned(self) -> str:
        """``HOST/REPO@sha256:...``: what to pull once verified."""
        return self.model.pinned

    @property
    def ok(self) -> bool:
        return self.outcome.result.ok

    @property
    def bytes_fetched(self) -> int:
        return self.model.client.bytes_fetched


def verify_registry(paths: Sequence[str], access: Access, request: VerifyRequest, *,
                    signature: Path | None = None, ignore: Sequence[str] = ()
                    ) -> ReferenceVerification:
    """Verify the one reference in ``paths`` against the policy ``request`` names."""
    ref = one_reference(paths)
    with verify_options(request) as options:
        model, outcome = verify_reference(ref, access, options, signature=signature,
                                          ignore=ignore)
    return ReferenceVerification(model, outcome)


@dataclass(frozen=True)
class Pulled:
    directory: Path
    files: int


def pull_verified(verified: ReferenceVerification, target: Path,
                  ignore: Sequence[str] = ()) -> Pulled:
    """Download exactly the files the winning signature verified into ``target`` (a new
    directory, written atomically)."""
    from modelseal.stores import remote

    winner = verified.outcome.winner
    if winner is None or winner.result is None or not winner.candidate.data:
        raise UsageError(f"{verified.pinned} did not verify; nothing to pull")
    signed = winner.result.signed_manifest
    assert signed is not None  # a verified result always records what was signed
    written = remote.pull(verified.model.verifying_layer(winner.candidate.layer), signed,
                          winner.candidate.data, target, tuple(ignore))
    return Pulled(target, len(written))


def report_references(references: Sequence[str], access: Access, options: VerifyOptions,
                      flags: Sequence[str], *, signature: Path | None = None,
                      ignore: Sequence[str] = ()) -> tuple[tuple[ModelReport, ...], list[str]]:
    """One report row per reference, verified as `verify oci://` does, and the notices.

    A registry that fails (auth, not found, digest mismatch) gives a failure row for
    that reference only, so the report still covers the other models. ``flags`` are
    the policy flags each row's `verify` command repeats.
    """
    from modelseal.errors import ModelsealError
    from modelseal.report.build import registry_error_report, registry_model_report
    from modelseal.report.escape import shell_command
    from modelseal.stores import ociref

    flags = [*flags, *(w for host in access.insecure_hosts for w in ("--insecure-registry", host))]
    parsed = [ociref.parse(text) for text in references]  # a malformed one is a usage error
    rows: list[ModelReport] = []
    notices: list[str] = []
    for text, ref in zip(references, parsed, strict=True):
        try:
            model, outcome = verify_reference(ref, access, options, signature=signature,
                                              ignore=ignore)
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


# --- export ----------------------------------------------------------------------------


def describe_reference(text: str, access: Access, export_format: str) -> dict[str, Any]:
    """The `export` document of a registry model: its layers as the manifest describes
    them (``files`` with annotations, or ``layers``), with the pinned ``reference``."""
    from modelseal.stores import ociref, remote

    ref = ociref.parse(text)
    model = remote.open_reference(client_for(access, ref), ref)
    if export_format == CNCF_ANNOTATIONS:
        files = [{"filepath": f.name, "annotations": dict(f.annotations)} for f in model.files]
        return {"reference": model.pinned, "files": files}
    return {"reference": model.pinned,
            "layers": [{"mediaType": f.media_type, "digest": f.digest, "size": f.size,
                        "annotations": dict(f.annotations)} for f in model.files]}


def export_reference_signature(text: str, access: Access, request: VerifyRequest, *,
                               signature: Path | None = None) -> SignatureExport:
    """The SignatureInfo of the registry model's signature that verifies (else of the
    best candidate), and whether it verified."""
    from modelseal.stores import export, ociref, registry_verify, remote

    ref = ociref.parse(text)
    model = remote.open_reference(client_for(access, ref), ref)
    candidates = _candidates(model, signature)
    with verify_options(request) as options:
        result = registry_verify.verify_candidates(model, candidates, options).result
    if result.signature is None:
        raise UsageError(f"{model.pinned}: {result.message}")
    return SignatureExport(export.signature_info(result.signature), result.signature.verified)


# --- sign, attach, push ----------------------------------------------------------------


@dataclass(frozen=True)
class SignedReference:
    """`sign oci://REF`: the pinned model, how it was signed and the referrer pushed."""

    pinned: str
    method: str
    resources: int
    root_digest: str
    referrer: str
    via: str


def sign_reference(ref: RegistryRef, access: Access, signer: Signer, *,
                   ignore: Sequence[str] = (), signature: Path | None = None
                   ) -> SignedReference:
    """A statement from the pinned manifest, signed, attached as a referrer (and
    written to ``signature`` when given)."""
    from modelseal.app.sign import sign_bytes
    from modelseal.fsio import atomic_write_bytes
    from modelseal.manifest import Serialization
    from modelseal.stores import referrers, remote
    from modelseal.walk import ALWAYS_IGNORED

    client = client_for(access, ref)
    model = remote.open_reference(client, ref)
    # recorded as directory signing records them, so the same statement verifies a
    # directory copy with its model.sig and model.manifest.json beside the files
    ignore_paths = tuple(sorted({*ALWAYS_IGNORED, *(p.strip("/") for p in ignore)}))
    manifest = model.manifest(Serialization(ignore_paths=ignore_paths))
    bundle = sign_bytes(signer, manifest.to_json().encode("utf-8"))
    if signature is not None:
        atomic_write_bytes(signature, bundle)
    attached = referrers.attach(client, ref.repository, model.descriptor, bundle)
    return SignedReference(model.pinned, signer.method, len(manifest.resources),
                           manifest.root_digest, attached.digest, attached.via)


@dataclass(frozen=True)
class AttachedBundle:
    """`attach`: the pinned model and the referrer now pointing at it."""

    pinned: str
    referrer: str
    via: str


def attach(text: str, access: Access, signature: Path) -> AttachedBundle:
    """Attach the OMS bundle at ``signature`` to the model ``text`` names."""
    from modelseal.bundle import read_bundle_file
    from modelseal.stores import ociref, referrers, remote

    ref = ociref.parse(text)
    bundle = local_candidate(signature).data
    assert bundle is not None
    read_bundle_file(signature).statement()  # refuse to publish what is not an OMS bundle
    client = client_for(access, ref)
    subject = remote.pin(client, ref)
    attached = referrers.attach(client, ref.repository, subject, bundle)
    return AttachedBundle(ref.pinned(subject["digest"]), attached.digest, attached.via)


def push(path: str, text: str, access: Access, config: Path | None = None) -> Pushed:
    """Push the model directory ``path`` as a ModelPack artifact tagged ``text`` (and
    its model.sig, when there is one, as a referrer)."""
    from modelseal.stores import ociref, publish

    ref = ociref.parse(text)
    if ref.digest is not None or ref.scheme != ociref.OCI_SCHEME:
        raise UsageError("push needs oci://HOST/REPO[:TAG] (a tag, not a digest)")
    return publish.push_directory(client_for(access, ref), ref, path, config_path=config)
