"""Claim sets that look like real CI identity tokens (GitHub Actions, GitLab CI, email).

Every builder takes ``overrides``: extra or replacement claims; an override
whose value is ``None`` removes that claim (to test missing-claim handling).
"""

from __future__ import annotations

import hashlib
import secrets
import time
from typing import Any

Claims = dict[str, Any]

DEFAULT_AUDIENCE = "sigstore"
DEFAULT_LIFETIME = 600


def stable_number(*parts: str) -> str:
    """A deterministic numeric id (as GitHub/GitLab send ids: decimal strings)."""
    digest = hashlib.sha256("\0".join(parts).encode()).digest()
    return str(int.from_bytes(digest[:6], "big"))


def stable_sha(*parts: str) -> str:
    """A deterministic 40-hex commit-like digest."""
    return hashlib.sha1("\0".join(parts).encode()).hexdigest()


def time_claims(expires_in: int, now: int | None = None) -> Claims:
    """``iat``/``nbf``/``exp``; a negative ``expires_in`` gives an already expired token."""
    now = int(time.time()) if now is None else now
    issued = now if expires_in > 0 else now + expires_in - 300
    return {"iat": issued, "nbf": issued, "exp": now + expires_in}


def _finish(
    claims: Claims,
    issuer: str,
    audience: str | list[str],
    expires_in: int,
    overrides: dict[str, Any],
) -> Claims:
    """Add registered claims, then apply ``overrides`` (``None`` deletes a claim)."""
    claims = {"iss": issuer, "aud": audience, "jti": secrets.token_hex(16), **claims}
    claims.update(time_claims(expires_in))
    for name, value in overrides.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    return claims


def github_claims(
    repo: str,
    workflow: str,
    ref: str,
    *,
    issuer: str,
    audience: str | list[str] = DEFAULT_AUDIENCE,
    expires_in: int = DEFAULT_LIFETIME,
    **overrides: Any,
) -> Claims:
    """Claims shaped like a GitHub Actions OIDC token for ``repo``'s ``workflow`` at ``ref``.

    ``workflow`` is the path inside the repository, e.g. ``.github/workflows/sign.yml``.
    """
    owner = repo.split("/", 1)[0]
    sha = str(overrides.get("sha") or stable_sha(repo, ref))
    workflow_ref = f"{repo}/{workflow}@{ref}"
    ref_type = "tag" if ref.startswith("refs/tags/") else "branch"
    base = {
        "sub": f"repo:{repo}:ref:{ref}",
        "ref": ref,
        "ref_type": ref_type,
        "ref_protected": "false",
        "sha": sha,
        "repository": repo,
        "repository_id": stable_number("repo", repo),
        "repository_owner": owner,
        "repository_owner_id": stable_number("owner", owner),
        "repository_visibility": "public",
        "actor": owner,
        "actor_id": stable_number("owner", owner),
        "workflow": workflow.rsplit("/", 1)[-1].rsplit(".", 1)[0],
        "workflow_ref": workflow_ref,
        "workflow_sha": sha,
        "job_workflow_ref": workflow_ref,
        "job_workflow_sha": sha,
        "event_name": "push",
        "head_ref": "",
        "base_ref": "",
        "run_id": stable_number("run", repo, ref),
        "run_number": "1",
        "run_attempt": "1",
        "runner_environment": "github-hosted",
    }
    return _finish(base, issuer, audience, expires_in, overrides)


def _gitlab_ref(ref: str) -> tuple[str, str]:
    """Split ``refs/heads/main`` into GitLab's (``ref``, ``ref_type``) pair."""
    for prefix, kind in (("refs/heads/", "branch"), ("refs/tags/", "tag")):
        if ref.startswith(prefix):
            return ref[len(prefix) :], kind
    return ref, "branch"


def gitlab_claims(
    project: str,
    ref: str,
    *,
    issuer: str,
    audience: str | list[str] = DEFAULT_AUDIENCE,
    expires_in: int = DEFAULT_LIFETIME,
    config_path: str = ".gitlab-ci.yml",
    host: str = "gitlab.com",
    **overrides: Any,
) -> Claims:
    """Claims shaped like a GitLab CI ``id_tokens`` token for ``project`` at ``ref``.

    As on gitlab.com, ``ci_config_ref_uri`` carries the host:
    ``gitlab.com/GROUP/PROJECT//.gitlab-ci.yml@refs/heads/main``.
    """
    namespace = project.rsplit("/", 1)[0]
    short_ref, ref_type = _gitlab_ref(ref)
    full_ref = f"refs/{'heads' if ref_type == 'branch' else 'tags'}/{short_ref}"
    sha = str(overrides.get("sha") or stable_sha(project, ref))
    base = {
        "sub": f"project_path:{project}:ref_type:{ref_type}:ref:{short_ref}",
        "namespace_id": stable_number("ns", namespace),
        "namespace_path": namespace,
        "project_id": stable_number("project", project),
        "project_path": project,
        "project_visibility": "public",
        "user_id": "1",
        "user_login": namespace.split("/", 1)[0],
        "user_access_level": "maintainer",
        "pipeline_id": stable_number("pipeline", project, ref),
        "pipeline_source": "push",
        "job_id": stable_number("job", project, ref),
        "ref": short_ref,
        "ref_type": ref_type,
        "ref_path": full_ref,
        "ref_protected": "true",
        "runner_id": "1",
        "runner_environment": "gitlab-hosted",
        "sha": sha,
        "ci_config_ref_uri": f"{host}/{project}//{config_path}@{full_ref}",
        "ci_config_sha": sha,
    }
    return _finish(base, issuer, audience, expires_in, overrides)


def email_claims(
    email: str,
    *,
    issuer: str,
    audience: str | list[str] = DEFAULT_AUDIENCE,
    expires_in: int = DEFAULT_LIFETIME,
    **overrides: Any,
) -> Claims:
    """Claims of a plain interactive-login token carrying a verified ``email``."""
    base = {"sub": stable_number("user", email), "email": email, "email_verified": True}
    return _finish(base, issuer, audience, expires_in, overrides)


def github_identity(repo: str, workflow: str, ref: str) -> str:
    """The certificate SAN Fulcio issues for a GitHub workflow identity."""
    return f"https://github.com/{repo}/{workflow}@{ref}"


def gitlab_identity(project: str, ref: str, config_path: str = ".gitlab-ci.yml") -> str:
    """The certificate SAN Fulcio issues for a GitLab CI identity on gitlab.com."""
    short_ref, ref_type = _gitlab_ref(ref)
    full_ref = f"refs/{'heads' if ref_type == 'branch' else 'tags'}/{short_ref}"
    return f"https://gitlab.com/{project}//{config_path}@{full_ref}"
