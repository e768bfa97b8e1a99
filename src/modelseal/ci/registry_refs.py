"""Registry models in the action's `paths`: `oci://` and `ollama://` references.

The verify and report steps hand local paths to `modelseal report` as before and
verify each reference with `modelseal verify REF --format json` and the same policy
inputs; a reference that does not verify fails the step. The job summary gets one row
per reference, with the pinned `HOST/REPO@sha256:...` to pull.

The sign step checks each reference with the policy it uses for local models (this
workflow's identity unless the inputs name a signer); one that already verifies is
kept, any other is signed keyless with `modelseal sign REF --method sigstore`, which
attaches the bundle as a referrer of the manifest.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from modelseal import console
from modelseal.ci import commands
from modelseal.ci.inputs import ActionInputs
from modelseal.errors import EXIT_FAILED, EXIT_OK
from modelseal.report.escape import code_span, markdown_text
from modelseal.stores.ociref import OCI_SCHEME as OCI
from modelseal.stores.ociref import is_registry_reference

if TYPE_CHECKING:
    from modelseal.ci.step import Step


def split_paths(paths: Sequence[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(local paths, registry references), each in the given order."""
    refs = tuple(p for p in paths if is_registry_reference(p))
    return tuple(p for p in paths if not is_registry_reference(p)), refs


def verify_argv(inputs: ActionInputs, reference: str, base: str | None = None) -> list[str]:
    """`verify REF`; with a base (a pull request), the policy from the base commit."""
    return ["verify", *commands.config_args(inputs, base), *commands.base_args(base),
            *commands.policy_args(inputs.policy), *commands.trusted_file_args(inputs.policy),
            *commands.trust_args(inputs), "--no-progress", "--format", "json",
            *commands.path_args([reference])]


@dataclass(frozen=True)
class RegistryResult:
    reference: str
    ok: bool
    pinned: str
    message: str


def verify_references(step: Step, references: Sequence[str],
                      base: str | None = None) -> list[RegistryResult]:
    return [_verify_one(step, reference, base) for reference in references]


def _verify_one(step: Step, reference: str, base: str | None) -> RegistryResult:
    done = step.modelseal(verify_argv(step.inputs, reference, base), capture=True)
    model = _first_model(done.stdout)
    if model is None:
        return RegistryResult(reference, False, "", "could not be verified (see the log above)")
    ok = done.returncode == EXIT_OK and model.get("ok") is True
    return RegistryResult(reference, ok, str(model.get("reference") or ""),
                          str(model.get("message") or ""))


def _first_model(stdout: str) -> dict[str, Any] | None:
    try:
        document = json.loads(stdout) if stdout.strip() else None
    except ValueError:
        return None
    models = document.get("models") if isinstance(document, dict) else None
    first = models[0] if isinstance(models, list) and models else None
    return first if isinstance(first, dict) else None


def summary(results: Sequence[RegistryResult]) -> str:
    """The job summary section: one row per reference (untrusted text escaped)."""
    rows = [f"| {code_span(r.reference)} | {'verified' if r.ok else 'FAILED'} | "
            f"{code_span(r.pinned) if r.pinned else '-'} | {markdown_text(r.message)} |"
            for r in results]
    return "\n".join(["## modelseal: registry models", "",
                      "| reference | result | pull by digest | details |", "|---|---|---|---|",
                      *rows]) + "\n"


# --- sign ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RegistrySigning:
    """One reference the sign step handled: kept (already signed) or signed now."""

    reference: str
    pinned: str
    signed_now: bool


class SigningFailed(Exception):
    """A reference could not be checked or signed; ``exit_code`` is the step's status."""

    def __init__(self, reference: str, exit_code: int) -> None:
        super().__init__(reference)
        self.reference = reference
        self.exit_code = exit_code


def sign_references(step: Step, presign: ActionInputs,
                    references: Sequence[str]) -> list[RegistrySigning]:
    """Sign every reference whose attached signature does not pass ``presign``'s policy."""
    return [_sign_one(step, presign, reference) for reference in references]


def _sign_one(step: Step, presign: ActionInputs, reference: str) -> RegistrySigning:
    checked = step.modelseal(commands.verify_argv(replace(presign, paths=(reference,))),
                             capture=True)
    model = _first_model(checked.stdout)
    if checked.returncode not in (EXIT_OK, EXIT_FAILED) or model is None:
        raise SigningFailed(reference, checked.returncode or EXIT_FAILED)
    pinned = str(model.get("reference") or "")
    if checked.returncode == EXIT_OK and model.get("ok") is True:
        console.say(f"{reference}: signature already verifies ({pinned}); not re-signing")
        return RegistrySigning(reference, pinned, False)
    # sign exactly the manifest just checked: an oci:// tag could move in between
    target = OCI + pinned if reference.startswith(OCI) and "@sha256:" in pinned else reference
    signed = step.modelseal(commands.sign_argv(step.inputs, [target]))
    if signed.returncode != EXIT_OK:
        raise SigningFailed(reference, signed.returncode)
    return RegistrySigning(reference, pinned, True)


def sign_summary(results: Sequence[RegistrySigning]) -> str:
    """The sign step's registry section: one row per reference."""
    rows = [f"| {code_span(r.reference)} | {'signed now' if r.signed_now else 'unchanged, kept'}"
            f" | {code_span(r.pinned) if r.pinned else '-'} |" for r in results]
    return "\n".join(["## modelseal: registry signatures", "",
                      "Signatures are attached to the manifest as OCI referrers.", "",
                      "| reference | result | manifest |", "|---|---|---|", *rows]) + "\n"
