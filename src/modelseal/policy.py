"""Who may sign a model: identities, CI provenance, keys, certificate roots, time, strictness.

A `Policy` comes from the `policy:` section of `.modelseal.yaml` and from command-line
flags (flags win). It is applied after a signature has been verified
cryptographically: `check_signer` matches what a Fulcio certificate says about the
signer (`SignerFacts`) against the allowed signers, and `check_not_before` rejects
signatures made before a cut-off (the revocation lever for keyless signing).
Reading those facts from a certificate is fulcio.py's job; loading the keys and roots
a policy names is keys.py's.

Signer rules apply to Sigstore keyless signatures. Key signatures are governed by the
trusted public keys, certificate signatures by the trusted certificate roots.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

from modelseal.config import PolicyConfig, SignerRule
from modelseal.errors import CheckFailed, UsageError
from modelseal.fulcio import SignerFacts, uri_path
from modelseal.signer import format_time

GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
DEFAULT_GITLAB_HOST = "gitlab.com"
DEFAULT_GITLAB_CONFIG = ".gitlab-ci.yml"


class PolicyViolation(CheckFailed):
    """A verified signature was made by someone, or at a time, the policy does not allow."""


@dataclass(frozen=True)
class Policy:
    """The effective policy for one verification run.

    ``signers``: allowed keyless signers (any one may match; empty means none was
    configured). ``keys``/``certificate_roots``: PEM files trusted for the key and
    certificate methods. ``not_before``: signatures made earlier are rejected.
    ``strict``: a model without a signature fails instead of warning.
    """

    signers: tuple[SignerRule, ...] = ()
    keys: tuple[Path, ...] = ()
    certificate_roots: tuple[Path, ...] = ()
    not_before: datetime | None = None
    strict: bool = False

    @property
    def trusts_nobody(self) -> bool:
        """No key, root or keyless signer is configured: nothing can verify anything."""
        return not (self.signers or self.keys or self.certificate_roots)

    @classmethod
    def from_config(cls, config: PolicyConfig) -> Policy:
        return cls(
            signers=tuple(validate_rule(rule, "policy.signers") for rule in config.signers),
            keys=config.keys,
            certificate_roots=config.certificate_roots,
            not_before=(parse_time(config.not_before, "policy.not_before")
                        if config.not_before else None),
            strict=config.strict,
        )


@dataclass(frozen=True)
class PolicyFlags:
    """Policy options given on the command line; any that is set replaces the config's."""

    identity: str | None = None
    identity_regex: str | None = None
    issuer: str | None = None
    repository: str | None = None
    workflow: str | None = None
    ref: str | None = None
    gitlab_project: str | None = None
    gitlab_host: str | None = None
    keys: tuple[Path, ...] = ()
    certificate_roots: tuple[Path, ...] = ()
    not_before: str | None = None
    strict: bool = False

    def signer_rule(self) -> SignerRule | None:
        """The one allowed signer the flags describe, or None when they describe none."""
        anchors = (self.identity, self.identity_regex, self.repository, self.gitlab_project)
        qualifiers = (self.issuer, self.workflow, self.ref, self.gitlab_host)
        if not any(anchors):
            if any(qualifiers):
                raise UsageError("--issuer, --workflow, --ref and --gitlab-host narrow a signer: "
                                 "also pass --identity, --identity-regex, --repository or "
                                 "--gitlab-project")
            return None
        if self.identity and self.identity_regex:
            raise UsageError("pass either --identity or --identity-regex, not both")
        rule = SignerRule(self.identity, self.identity_regex, self.issuer, self.repository,
                          self.workflow, self.ref, self.gitlab_project, self.gitlab_host)
        return validate_rule(rule, "command line")


def build_policy(config: PolicyConfig | None, flags: PolicyFlags = PolicyFlags()) -> Policy:
    """The config's policy, with the flags taking its place.

    Who is trusted (signers, keys, certificate roots) is replaced as a whole when any
    of those flags is given: in CI the config comes from the change under review, so
    a flag policy must not be widened by keys or roots that the change itself added.
    """
    base = Policy.from_config(config) if config else Policy()
    rule = flags.signer_rule()
    if rule or flags.keys or flags.certificate_roots:
        base = replace(base, signers=(), keys=(), certificate_roots=())
    return Policy(
        signers=(rule,) if rule else base.signers,
        keys=flags.keys or base.keys,
        certificate_roots=flags.certificate_roots or base.certificate_roots,
        not_before=parse_time(flags.not_before, "--not-before") if flags.not_before
        else base.not_before,
        strict=flags.strict or base.strict,
    )


def validate_rule(rule: SignerRule, where: str) -> SignerRule:
    """Check a rule's regex and shorthand syntax up front, so mistakes are usage errors."""
    if rule.identity_regex is not None:
        try:
            re.compile(rule.identity_regex)
        except re.error as exc:
            raise UsageError(f"{where}: identity regex {rule.identity_regex!r} is invalid: "
                             f"{exc}") from None
    if rule.repository is not None and not re.fullmatch(r"[^/\s]+/[^/\s]+", rule.repository):
        raise UsageError(f"{where}: repository must be OWNER/REPO, not {rule.repository!r}")
    if rule.gitlab_project is not None and (
            not re.fullmatch(r"[^/\s]+(/[^/\s]+)+", rule.gitlab_project)):
        raise UsageError(f"{where}: gitlab project must be GROUP/PROJECT, not "
                         f"{rule.gitlab_project!r}")
    if expected_issuer(rule) is None:
        # an identity alone would accept a certificate from any OIDC issuer the trusted
        # Fulcio serves, including ones where anybody can claim that name
        raise UsageError(f"{where}: an identity needs its OIDC issuer too (--issuer or "
                         "'issuer:'), e.g. https://token.actions.githubusercontent.com")
    return rule


def parse_time(text: str, where: str) -> datetime:
    """An ISO 8601 date or date-time (UTC when no zone is given), or Unix seconds."""
    value = text.strip()
    if re.fullmatch(r"[0-9]{9,11}", value):
        return datetime.fromtimestamp(int(value), tz=timezone.utc)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise UsageError(f"{where}: {text!r} is not a time; use e.g. 2025-06-01 or "
                         "2025-06-01T12:00:00Z") from None
    return parsed.replace(tzinfo=timezone.utc) if parsed.tzinfo is None else parsed


def check_signer(policy: Policy, facts: SignerFacts) -> None:
    """Raise PolicyViolation unless some allowed signer matches ``facts``."""
    if not policy.signers:
        raise UsageError("no signer policy: a keyless signature proves who signed only when "
                         "you say who may sign (pass --identity or --identity-regex with "
                         "--issuer, or --repository, or set policy.signers in .modelseal.yaml)")
    reasons = []
    for rule in policy.signers:
        reason = rule_mismatch(rule, facts)
        if reason is None:
            return
        reasons.append(reason)
    if len(reasons) == 1:
        raise PolicyViolation(reasons[0])
    listed = "; ".join(f"signer {i}: {reason}" for i, reason in enumerate(reasons, 1))
    raise PolicyViolation(f"no allowed signer matches ({listed})")


def rule_mismatch(rule: SignerRule, facts: SignerFacts) -> str | None:
    """Why ``facts`` do not satisfy ``rule``, or None when they do."""
    checks = (_identity_mismatch, _issuer_mismatch, _gitlab_mismatch, _repository_mismatch,
              _workflow_mismatch, _ref_mismatch)
    for check in checks:
        reason = check(rule, facts)
        if reason is not None:
            return reason
    return None


def _identity_mismatch(rule: SignerRule, facts: SignerFacts) -> str | None:
    # a claim the rule names must be present: a missing identity is never "" (which a
    # permissive regex would match)
    if rule.identity is None and rule.identity_regex is None:
        return None
    identity = facts.identity
    if identity is None:
        wanted = rule.identity if rule.identity is not None else rule.identity_regex
        return f"the certificate names no identity (policy expects {wanted!r})"
    if rule.identity is not None and identity != rule.identity:
        return f"identity {identity!r} does not match policy {rule.identity!r}"
    if rule.identity_regex is not None and not re.fullmatch(rule.identity_regex, identity):
        return (f"identity {identity!r} does not match policy regex {rule.identity_regex!r} "
                "(matched in full)")
    return None


def expected_issuer(rule: SignerRule) -> str | None:
    """The issuer a rule demands: its own, else the CI provider's its shorthand implies."""
    if rule.issuer:
        return rule.issuer
    if rule.gitlab_project:
        return f"https://{rule.gitlab_host or DEFAULT_GITLAB_HOST}"
    if rule.repository or rule.workflow:
        return GITHUB_ISSUER
    return None


def _issuer_mismatch(rule: SignerRule, facts: SignerFacts) -> str | None:
    wanted = expected_issuer(rule)
    if wanted is not None and facts.issuer != wanted:
        return f"issuer {facts.issuer!r} does not match policy {wanted!r}"
    return None


def _repository_mismatch(rule: SignerRule, facts: SignerFacts) -> str | None:
    if rule.repository is None:
        return None
    wanted = f"https://github.com/{rule.repository}"
    actual = facts.source_repository_uri
    if actual is None:
        return f"the certificate names no source repository (policy expects {rule.repository})"
    if actual.rstrip("/").casefold() != wanted.casefold():
        return f"repository {facts.repository or actual!r} does not match policy " \
               f"{rule.repository!r}"
    return None


def _workflow_mismatch(rule: SignerRule, facts: SignerFacts) -> str | None:
    if rule.workflow is None or rule.gitlab_project is not None:
        return None
    wanted = rule.workflow.strip("/")
    if "/" not in wanted:
        wanted = f".github/workflows/{wanted}"
    candidates = [uri for uri in (facts.build_config_uri, facts.build_signer_uri) if uri]
    if not candidates:
        return f"the certificate names no workflow (policy expects {wanted})"
    repositories = {r.casefold() for r in (facts.repository, rule.repository) if r}
    for uri in candidates:
        path = uri_path(uri)
        owner_repo, _, inside_repo = path.partition("/.github/")
        # a workflow file only counts in the signing repository itself: a reusable
        # workflow of the same name in another repository must not satisfy the rule
        if wanted == path or (owner_repo.casefold() in repositories
                              and wanted == f".github/{inside_repo}"):
            return None
    return f"workflow {facts.workflow!r} does not match policy, expected {wanted!r}"


def ref_matches(wanted: str, actual: str | None) -> bool:
    """``main`` matches ``refs/heads/main`` and ``v1`` matches ``refs/tags/v1``."""
    if actual is None:
        return False
    if wanted.startswith("refs/"):
        return actual == wanted
    return actual in (wanted, f"refs/heads/{wanted}", f"refs/tags/{wanted}")


def _ref_mismatch(rule: SignerRule, facts: SignerFacts) -> str | None:
    if rule.ref is None:
        return None
    if facts.source_repository_ref is None:
        return f"the certificate names no ref (policy expects {rule.ref})"
    if not ref_matches(rule.ref, facts.source_repository_ref):
        return f"ref {facts.source_repository_ref!r} does not match policy {rule.ref!r}"
    return None


def gitlab_identity_pattern(rule: SignerRule) -> str:
    """The anchored regex a GitLab CI identity must match for ``rule``."""
    host = rule.gitlab_host or DEFAULT_GITLAB_HOST
    config = (rule.workflow or DEFAULT_GITLAB_CONFIG).strip("/")
    ref = r"refs/[^@]+" if rule.ref is None else (
        re.escape(rule.ref) if rule.ref.startswith("refs/")
        else f"refs/(?:heads|tags)/{re.escape(rule.ref)}")
    return (f"https://{re.escape(host)}/{re.escape(str(rule.gitlab_project))}//"
            f"{re.escape(config)}@{ref}")


def _gitlab_mismatch(rule: SignerRule, facts: SignerFacts) -> str | None:
    if rule.gitlab_project is None:
        return None
    host = rule.gitlab_host or DEFAULT_GITLAB_HOST
    if facts.identity is None:
        return f"the certificate names no identity (policy expects project {rule.gitlab_project})"
    identity = facts.identity
    if not re.fullmatch(gitlab_identity_pattern(rule), identity):
        config = rule.workflow or DEFAULT_GITLAB_CONFIG
        ref = rule.ref or "REF"
        return (f"identity {identity!r} does not match policy "
                f"'https://{host}/{rule.gitlab_project}//{config}@{ref}'")
    wanted = f"https://{host}/{rule.gitlab_project}"
    actual = facts.source_repository_uri
    # the identity names where the CI configuration lives, which another project can
    # provide: only the source repository claim says which project ran
    if actual is None:
        return f"the certificate names no source repository (policy expects {wanted})"
    if actual.rstrip("/").casefold() != wanted.casefold():
        return f"repository {actual!r} does not match policy {wanted!r}"
    return None


def check_not_before(policy: Policy, signed_at: datetime | None, how: str) -> None:
    """Reject a signature made before ``policy.not_before``; ``how`` names the time source."""
    if policy.not_before is None:
        return
    limit = format_time(policy.not_before)
    if signed_at is None:
        raise PolicyViolation(f"the policy rejects signatures made before {limit}, but this "
                              f"signature carries no trusted signing time ({how})")
    if signed_at < policy.not_before:
        raise PolicyViolation(f"signature made at {format_time(signed_at)} ({how}) is older "
                              f"than policy not_before {limit}")
