"""Token specifications shared by the ``token`` CLI, the fixture and the ambient endpoint.

GitHub ambient identity: the stack's token-request endpoint mimics GitHub's
``ACTIONS_ID_TOKEN_REQUEST_URL``. Its bearer *request token*
(``ACTIONS_ID_TOKEN_REQUEST_TOKEN``) is ``msst1.`` + base64url(JSON of a
:class:`TokenSpec`), so the identity travels inside the request token and the
server needs no registration step. The ``audience`` query parameter sent by the
client replaces the spec's audience, as on GitHub.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from . import claims as claim_sets
from .encoding import b64url, b64url_decode

REQUEST_TOKEN_PREFIX = "msst1."
Kind = Literal["github", "gitlab", "email"]
DEFAULT_WORKFLOW = ".github/workflows/sign.yml"
DEFAULT_REF = "refs/heads/main"


@dataclass(frozen=True)
class TokenSpec:
    """Who a token is for: ``target`` is OWNER/REPO, GROUP/PROJECT or an email address."""

    kind: Kind
    target: str
    ref: str = DEFAULT_REF
    workflow: str = DEFAULT_WORKFLOW
    audience: str | list[str] = claim_sets.DEFAULT_AUDIENCE
    expires_in: int = claim_sets.DEFAULT_LIFETIME
    claims: dict[str, Any] = field(default_factory=dict)

    def build(self, issuer: str, audience: str | list[str] | None = None) -> dict[str, Any]:
        """The full claim set for this spec, issued by ``issuer``."""
        common: dict[str, Any] = {
            "issuer": issuer,
            "audience": self.audience if audience is None else audience,
            "expires_in": self.expires_in,
            **self.claims,
        }
        if self.kind == "github":
            return claim_sets.github_claims(self.target, self.workflow, self.ref, **common)
        if self.kind == "gitlab":
            return claim_sets.gitlab_claims(self.target, self.ref, **common)
        return claim_sets.email_claims(self.target, **common)

    def identity(self) -> str:
        """The SAN a certificate for this spec carries (before claim overrides)."""
        if self.kind == "github":
            return claim_sets.github_identity(self.target, self.workflow, self.ref)
        if self.kind == "gitlab":
            return claim_sets.gitlab_identity(self.target, self.ref)
        return self.target

    def to_request_token(self) -> str:
        """Encode as a GitHub-style ``ACTIONS_ID_TOKEN_REQUEST_TOKEN``."""
        return REQUEST_TOKEN_PREFIX + b64url(json.dumps(asdict(self)).encode())

    @classmethod
    def from_request_token(cls, token: str) -> TokenSpec:
        """Decode a request token; raises ``ValueError`` if it is not one of ours."""
        if not token.startswith(REQUEST_TOKEN_PREFIX):
            raise ValueError("not a stack request token")
        data = json.loads(b64url_decode(token[len(REQUEST_TOKEN_PREFIX) :]))
        if not isinstance(data, dict) or data.get("kind") not in ("github", "gitlab", "email"):
            raise ValueError("request token does not describe a token spec")
        return cls(**data)
