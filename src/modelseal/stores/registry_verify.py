"""Verify a registry model against every candidate bundle until one satisfies the policy.

LocalAI's installer tries only the first bundle it finds; here each candidate is
checked in turn (signature, policy, files) with one `Verifier`, so keys and the
Sigstore trusted root load once. The first that passes wins; the others' reasons are
kept so the user learns why they did not. With no candidate at all the result is a
failure whatever the policy's strictness: a registry model is verified to be pulled,
and an unsigned one must not be.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from modelseal.config import HashOptions
from modelseal.stores.referrers import Candidate
from modelseal.stores.remote import RemoteModel
from modelseal.targets import ModelTarget
from modelseal.verifying import (
    CHECK_BUNDLE,
    CHECK_FILES,
    CHECK_POLICY,
    CHECK_SIGNATURE,
    STATUS_FAILED,
    STATUS_UNSIGNED,
    STATUS_VERIFIED,
    VerificationResult,
    Verifier,
    VerifyOptions,
)

# how far a failed candidate got: the furthest one explains the failure best
_PROGRESS = {CHECK_BUNDLE: 0, CHECK_SIGNATURE: 1, CHECK_POLICY: 2, CHECK_FILES: 3}


@dataclass(frozen=True)
class Outcome:
    candidate: Candidate
    result: VerificationResult | None  # None when the bundle could not be fetched

    @property
    def message(self) -> str:
        if self.result is None:
            return f"bundle: {self.candidate.error}"
        return self.result.message

    @property
    def verified(self) -> bool:
        return self.result is not None and self.result.status == STATUS_VERIFIED


@dataclass(frozen=True)
class RegistryVerification:
    result: VerificationResult
    outcomes: tuple[Outcome, ...]
    notices: tuple[str, ...]

    @property
    def winner(self) -> Outcome | None:
        return next((o for o in self.outcomes if o.verified), None)


def verify_candidates(model: RemoteModel, candidates: list[Candidate],
                      options: VerifyOptions) -> RegistryVerification:
    verifier = Verifier(replace(options, signature=None))
    outcomes: list[Outcome] = []
    with tempfile.TemporaryDirectory(prefix="modelseal-registry-") as tmp:
        for number, candidate in enumerate(candidates):
            if candidate.data is None:
                outcomes.append(Outcome(candidate, None))
                continue
            folder = Path(tmp) / str(number)
            folder.mkdir()
            (folder / "model.sig").write_bytes(candidate.data)
            target = ModelTarget(folder, HashOptions(), label=model.pinned)
            result = verifier.verify(target, model.verifying_layer(candidate.layer))
            outcomes.append(Outcome(candidate, replace(result,
                                                       signature_path=Path(candidate.source))))
            if result.status == STATUS_VERIFIED:
                break
    return RegistryVerification(_overall(model, outcomes, options), tuple(outcomes),
                                tuple(verifier.notices))


def _overall(model: RemoteModel, outcomes: list[Outcome],
             options: VerifyOptions) -> VerificationResult:
    target = ModelTarget(Path(model.pinned), HashOptions(), label=model.pinned)
    for outcome in outcomes:
        if outcome.verified:
            assert outcome.result is not None
            return outcome.result
    if not outcomes:
        return VerificationResult(target, Path("-"), STATUS_UNSIGNED,
                                  "not signed: no OMS bundle is attached as a referrer (API or "
                                  "tag schema) or carried as a layer", True)
    checked = [o.result for o in outcomes if o.result is not None]
    if not checked:
        return VerificationResult(target, Path(outcomes[0].candidate.source), STATUS_FAILED,
                                  f"bundle: no attached bundle could be read "
                                  f"({outcomes[0].message})", True, CHECK_BUNDLE)
    best = max(checked, key=lambda r: _PROGRESS.get(r.failed_check or "", 0))
    return replace(best, strict=True)
