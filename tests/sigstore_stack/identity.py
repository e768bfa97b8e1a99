"""Map verified token claims to a certificate identity, the way Fulcio does.

The CI flavour is chosen from the claims (the stack has one issuer for all):
``job_workflow_ref`` means GitHub Actions, ``ci_config_ref_uri`` means GitLab CI,
otherwise an ``email`` claim gives an email identity.

Extension encodings follow Fulcio: the legacy ``1.3.6.1.4.1.57264.1.1``-``.6``
values are raw UTF-8 bytes, ``.8`` onwards are DER UTF8Strings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cryptography import x509

from .encoding import der_utf8_string

FULCIO_OID = "1.3.6.1.4.1.57264.1"
GITHUB_URL = "https://github.com/"
GITLAB_URL = "https://gitlab.com/"

# Extension number -> claim template; "{name}" placeholders are claims.
GITHUB_V2: dict[int, str] = {
    9: GITHUB_URL + "{job_workflow_ref}",
    10: "{job_workflow_sha}",
    11: "{runner_environment}",
    12: GITHUB_URL + "{repository}",
    13: "{sha}",
    14: "{ref}",
    15: "{repository_id}",
    16: GITHUB_URL + "{repository_owner}",
    17: "{repository_owner_id}",
    18: GITHUB_URL + "{workflow_ref}",
    19: "{workflow_sha}",
    20: "{event_name}",
    21: GITHUB_URL + "{repository}/actions/runs/{run_id}/attempts/{run_attempt}",
    22: "{repository_visibility}",
}
GITHUB_LEGACY: dict[int, str] = {
    2: "{event_name}",
    3: "{sha}",
    4: "{workflow}",
    5: "{repository}",
    6: "{ref}",
}
GITLAB_V2: dict[int, str] = {
    9: "https://{ci_config_ref_uri}",
    10: "{ci_config_sha}",
    11: "{runner_environment}",
    12: GITLAB_URL + "{project_path}",
    13: "{sha}",
    14: "{ref_path}",
    15: "{project_id}",
    16: GITLAB_URL + "{namespace_path}",
    17: "{namespace_id}",
    18: "https://{ci_config_ref_uri}",
    19: "{ci_config_sha}",
    20: "{pipeline_source}",
    21: GITLAB_URL + "{project_path}/-/jobs/{job_id}",
    22: "{project_visibility}",
}


class IdentityError(Exception):
    """The claims do not describe an identity the stack can certify."""


@dataclass(frozen=True)
class CertIdentity:
    """What goes into a leaf certificate: the SAN and the Fulcio extensions."""

    san: x509.GeneralName
    extensions: list[x509.UnrecognizedExtension]

    @property
    def value(self) -> str:
        """The SAN as a string (the identity verifiers match on)."""
        return str(self.san.value)


def fulcio_oid(number: int) -> x509.ObjectIdentifier:
    """OID ``1.3.6.1.4.1.57264.1.<number>``."""
    return x509.ObjectIdentifier(f"{FULCIO_OID}.{number}")


def _render(template: str, claims: dict[str, Any]) -> str | None:
    """Fill a template from claims; ``None`` when a claim is missing or empty."""
    try:
        value = template.format_map({k: str(v) for k, v in claims.items() if v != ""})
    except KeyError:
        return None
    return value


def _extensions(
    claims: dict[str, Any], v2: dict[int, str], legacy: dict[int, str]
) -> list[x509.UnrecognizedExtension]:
    """Build issuer + legacy (raw) + v2 (DER) extensions for the templates given."""
    issuer = str(claims["iss"])
    out = [x509.UnrecognizedExtension(fulcio_oid(1), issuer.encode())]
    for number, template in legacy.items():
        if (value := _render(template, claims)) is not None:
            out.append(x509.UnrecognizedExtension(fulcio_oid(number), value.encode()))
    out.append(x509.UnrecognizedExtension(fulcio_oid(8), der_utf8_string(issuer)))
    for number, template in v2.items():
        if (value := _render(template, claims)) is not None:
            out.append(x509.UnrecognizedExtension(fulcio_oid(number), der_utf8_string(value)))
    return out


def _require(claims: dict[str, Any], names: tuple[str, ...]) -> None:
    missing = [n for n in names if not claims.get(n)]
    if missing:
        raise IdentityError(f"token is missing required claims: {', '.join(missing)}")


def identity_from_claims(claims: dict[str, Any]) -> CertIdentity:
    """Choose the SAN and extensions for already-verified ``claims``."""
    if "job_workflow_ref" in claims:
        _require(claims, ("job_workflow_ref", "repository", "ref", "sha"))
        san: x509.GeneralName = x509.UniformResourceIdentifier(
            GITHUB_URL + str(claims["job_workflow_ref"])
        )
        return CertIdentity(san, _extensions(claims, GITHUB_V2, GITHUB_LEGACY))
    if "ci_config_ref_uri" in claims:
        _require(claims, ("ci_config_ref_uri", "project_path", "ref"))
        san = x509.UniformResourceIdentifier(f"https://{claims['ci_config_ref_uri']}")
        return CertIdentity(san, _extensions(claims, GITLAB_V2, {}))
    if "email" in claims:
        if claims.get("email_verified") is not True:
            raise IdentityError("token email is not verified (email_verified != true)")
        return CertIdentity(x509.RFC822Name(str(claims["email"])), _extensions(claims, {}, {}))
    raise IdentityError("token has no GitHub, GitLab or email identity claims")
