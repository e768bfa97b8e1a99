"""The `sigstore` method: keyless signing with a short-lived Fulcio certificate and a
Rekor transparency log entry, through the `sigstore` library.

`sigstore` is imported only inside functions, when keyless signing actually runs, so
loading this module (e.g. through the method registry) costs nothing at start-up.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from modelseal.errors import UsageError
from modelseal.signing.base import SigningError
from modelseal.signing_methods import SignerRequest

if TYPE_CHECKING:
    from sigstore.models import ClientTrustConfig
    from sigstore.oidc import IdentityToken

TOKEN_ENV = "SIGSTORE_ID_TOKEN"


def sigstore_trust_config(trust_config: Path | None, staging: bool) -> ClientTrustConfig:
    """The Sigstore instance to sign with: a private one, staging, or public production."""
    from sigstore.errors import Error as SigstoreError
    from sigstore.models import ClientTrustConfig

    if trust_config is not None and staging:
        raise UsageError("pass either --trust-config or --staging, not both")
    try:
        if trust_config is not None:
            return ClientTrustConfig.from_json(trust_config.read_text(encoding="utf-8"))
        return ClientTrustConfig.staging() if staging else ClientTrustConfig.production()
    except OSError as exc:
        raise UsageError(f"cannot read trust config {trust_config}: {exc.strerror}") from None
    except SigstoreError as exc:
        raise SigningError(f"cannot load the Sigstore trust configuration: {exc}") from None
    except ValueError as exc:
        raise UsageError(f"{trust_config} is not a Sigstore client trust config: "
                         f"{str(exc).splitlines()[0]}") from None


@dataclass(frozen=True)
class TokenSource:
    """Where the OIDC identity token comes from, in order of preference."""

    explicit: str | None = None
    interactive: bool | None = None  # None: only when stdin and stdout are terminals

    def obtain(self, trust_config: ClientTrustConfig) -> IdentityToken:
        """The token: explicit, $SIGSTORE_ID_TOKEN, ambient CI, then the browser flow."""
        from sigstore.oidc import IdentityError, IdentityToken, Issuer, detect_credential

        raw = self.explicit or os.environ.get(TOKEN_ENV)
        try:
            if not raw:
                raw = detect_credential()
            if raw:
                return IdentityToken(raw)
        except IdentityError as exc:
            # the message may describe the token but never contains it
            raise SigningError(f"the identity token is not usable: {_token_problem(exc)}") \
                from None
        interactive = self.interactive
        if interactive is None:
            interactive = sys.stdin.isatty() and sys.stdout.isatty()
        if not interactive:
            raise SigningError("no identity token: pass --identity-token, set "
                               f"{TOKEN_ENV}, or run in CI with OIDC enabled (GitHub Actions: "
                               "permissions: id-token: write)")
        try:
            issuer = Issuer(trust_config.signing_config.get_oidc_url())
            return issuer.identity_token()
        except IdentityError as exc:
            raise SigningError(f"interactive sign-in failed: {exc}") from None


def _token_problem(exc: Exception) -> str:
    """Why sigstore refused a token: it hides expiry and audience failures behind
    "malformed or missing claims", so name the JWT check that actually failed."""
    import jwt

    cause = exc.__cause__
    if isinstance(cause, jwt.ExpiredSignatureError):
        return "it has expired; request a fresh token (CI tokens live only minutes)"
    if isinstance(cause, jwt.InvalidAudienceError):
        return "its audience (aud) is not 'sigstore'; request the token for audience sigstore"
    if isinstance(cause, jwt.MissingRequiredClaimError):
        return f"it lacks the required {cause.claim!r} claim"
    if isinstance(cause, jwt.ImmatureSignatureError):
        return "it is not valid yet (issued in the future; check the clock)"
    detail = f" ({_sigstore_message(cause)})" if isinstance(cause, jwt.PyJWTError) else ""
    return f"{_sigstore_message(exc)}{detail}"


class SigstoreSigner:
    """Keyless signing: a short-lived Fulcio certificate and a Rekor log entry.

    The token and the certificate are only requested when `session` starts, after
    the models have been hashed.
    """

    method = "sigstore"

    def __init__(self, trust_config: ClientTrustConfig, tokens: TokenSource) -> None:
        self._trust_config = trust_config
        self._tokens = tokens
        self._signer: object | None = None

    def session(self) -> Iterator[None]:
        from sigstore.sign import SigningContext

        token = self._tokens.obtain(self._trust_config)
        try:
            context = SigningContext.from_trust_config(self._trust_config)
            with context.signer(token) as signer:
                self._signer = signer
                yield
        except _service_failures() as exc:
            raise SigningError(f"Sigstore signing failed: {_sigstore_message(exc)}") from None
        finally:
            self._signer = None

    def sign(self, payload: bytes) -> bytes:
        from sigstore.dsse import Statement
        from sigstore.sign import Signer as SigstoreInnerSigner

        signer = self._signer
        if not isinstance(signer, SigstoreInnerSigner):
            raise RuntimeError("SigstoreSigner.sign called outside a session")
        try:
            bundle = signer.sign_dsse(Statement(payload))
        except _service_failures() as exc:
            raise SigningError(f"Sigstore signing failed: {_sigstore_message(exc)}") from None
        return bundle.to_json().encode("utf-8")


def _service_failures() -> tuple[type[Exception], ...]:
    """What sigstore raises when Fulcio, Rekor or a timestamp authority refuse or fail.

    Besides its public ``Error`` it lets private client errors, its expiry exceptions
    and ``requests`` errors escape; each is a one-line signing failure, not a traceback.
    """
    import requests
    from sigstore._internal.fulcio.client import ExpiredCertificate, FulcioClientError
    from sigstore._internal.rekor import RekorClientError
    from sigstore._internal.timestamp import TimestampError
    from sigstore.errors import Error as SigstoreError
    from sigstore.oidc import ExpiredIdentity

    return (SigstoreError, FulcioClientError, RekorClientError, TimestampError,
            ExpiredCertificate, ExpiredIdentity, requests.RequestException)


def _sigstore_message(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    # FulcioClientError usually carries no text: the server's reason is in the response
    response = getattr(exc.__cause__, "response", None)
    if not text and response is not None:
        try:
            reason = str(response.json().get("message", ""))
        except ValueError:
            reason = response.text
        reason = " ".join(reason.split())[:300]
        service = type(exc).__name__.removesuffix("ClientError")
        text = f"{service} answered HTTP {response.status_code} ({response.url})" + (
            f": {reason}" if reason else "")
    return text or type(exc).__name__


def build(request: SignerRequest) -> SigstoreSigner:
    """A `SigstoreSigner` for the Sigstore instance and token source the request names."""
    trust = sigstore_trust_config(request.trust_config, request.staging)
    return SigstoreSigner(trust, TokenSource(request.identity_token))
