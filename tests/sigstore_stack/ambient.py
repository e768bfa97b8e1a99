"""Environment variables that make ambient credential detection (the ``id`` package) use the stack.

GitHub: ``GITHUB_ACTIONS`` + ``ACTIONS_ID_TOKEN_REQUEST_URL`` (the stack's
``/github/token`` endpoint) + ``ACTIONS_ID_TOKEN_REQUEST_TOKEN`` (the encoded
:class:`TokenSpec`, see ``profiles.py``); the JWT is minted on request.
GitLab: ``GITLAB_CI`` + ``<AUDIENCE>_ID_TOKEN`` holding an already minted JWT.
The usual descriptive CI variables are added, consistent with the claims.
"""

from __future__ import annotations

import re

from .profiles import TokenSpec


def _github_env(spec: TokenSpec, token_url: str) -> dict[str, str]:
    claims = spec.build(issuer="")
    return {
        "GITHUB_ACTIONS": "true",
        "CI": "true",
        "ACTIONS_ID_TOKEN_REQUEST_URL": token_url,
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN": spec.to_request_token(),
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_REPOSITORY": str(claims["repository"]),
        "GITHUB_REPOSITORY_OWNER": str(claims["repository_owner"]),
        "GITHUB_REF": str(claims["ref"]),
        "GITHUB_SHA": str(claims["sha"]),
        "GITHUB_WORKFLOW_REF": str(claims["workflow_ref"]),
        "GITHUB_EVENT_NAME": str(claims["event_name"]),
        "GITHUB_RUN_ID": str(claims["run_id"]),
        "GITHUB_RUN_ATTEMPT": str(claims["run_attempt"]),
        "RUNNER_ENVIRONMENT": str(claims["runner_environment"]),
    }


def gitlab_token_variable(audience: str) -> str:
    """Name of the variable the ``id`` package reads for ``audience`` (``SIGSTORE_ID_TOKEN``)."""
    return re.sub(r"[^A-Z0-9_]|^[^A-Z_]", "_", audience.upper()) + "_ID_TOKEN"


def _gitlab_env(spec: TokenSpec, token: str) -> dict[str, str]:
    claims = spec.build(issuer="")
    audience = spec.audience if isinstance(spec.audience, str) else spec.audience[0]
    return {
        "GITLAB_CI": "true",
        "CI": "true",
        gitlab_token_variable(audience): token,
        "CI_SERVER_URL": "https://gitlab.com",
        "CI_PROJECT_PATH": str(claims["project_path"]),
        "CI_PROJECT_NAMESPACE": str(claims["namespace_path"]),
        "CI_COMMIT_SHA": str(claims["sha"]),
        "CI_COMMIT_REF_NAME": str(claims["ref"]),
        "CI_PIPELINE_ID": str(claims["pipeline_id"]),
        "CI_PIPELINE_SOURCE": str(claims["pipeline_source"]),
        "CI_JOB_ID": str(claims["job_id"]),
    }


def ambient_env(spec: TokenSpec, token_url: str, token: str | None = None) -> dict[str, str]:
    """Ambient CI variables for ``spec``; GitLab needs the minted ``token``."""
    if spec.kind == "github":
        return _github_env(spec, token_url)
    if spec.kind == "gitlab" and token is not None:
        return _gitlab_env(spec, token)
    raise ValueError(f"no ambient environment for {spec.kind} (GitLab needs a token)")
