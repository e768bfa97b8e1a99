"""Signing models: the manifest statement, wrapped in a DSSE envelope, in an OMS bundle.

The flow per model is `prepare` (re-hash without the cache, refuse a stale manifest)
then a `Signer` turning the statement bytes into a bundle, then `write_signed` (the
manifest if asked, then `model.sig`, each atomically). All models are hashed before
any signer is asked for anything, so a Sigstore certificate (valid for minutes) is
requested only once the slow part is over.

Three signers: `KeySigner` (an EC private key), `CertificateSigner` (the key plus its
certificate chain) and `SigstoreSigner` (keyless, through the `sigstore` package,
imported only when used).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

from modelseal.bundle import (
    PAYLOAD_TYPE,
    build_bundle,
    certificate_material,
    key_material,
    pae,
)
from modelseal.engine import HashRun, ManifestStatus, check_target
from modelseal.errors import CheckFailed, ModelsealError, UsageError
from modelseal.fsio import atomic_write_bytes, atomic_write_text
from modelseal.policy import load_certificates, signing_certificate_problem
from modelseal.targets import ModelTarget

if TYPE_CHECKING:
    from sigstore.models import ClientTrustConfig
    from sigstore.oidc import IdentityToken

SUPPORTED_CURVES = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}
TOKEN_ENV = "SIGSTORE_ID_TOKEN"


class SigningError(ModelsealError):
    """Signing could not be done (key, certificate, identity token or Sigstore service)."""


class StaleManifest(CheckFailed):
    """The committed manifest does not match the files; ``status`` holds the diff."""

    def __init__(self, message: str, status: ManifestStatus) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class PreparedModel:
    """A model ready to sign: its fresh manifest and where its files will go."""

    target: ModelTarget
    status: ManifestStatus
    signature_path: Path
    write_manifest: bool

    @property
    def payload(self) -> bytes:
        """The DSSE payload: byte for byte the canonical `model.manifest.json`."""
        return self.status.current.to_json().encode("utf-8")


class Signer(Protocol):
    """Turns statement bytes into bundle bytes. ``session`` brackets a batch."""

    method: str

    def session(self) -> Iterator[None]: ...

    def sign(self, payload: bytes) -> bytes: ...


def prepare(target: ModelTarget, *, signature_path: Path | None = None,
            update_manifest: bool = False, progress: bool | None = None) -> PreparedModel:
    """Re-hash ``target`` (no cache) and check its manifest; raise StaleManifest if stale."""
    sig_path = signature_path or target.signature_path
    # a signature vouches for bytes, so an LFS pointer's claimed oid is not enough
    run = HashRun(use_cache=False, progress=progress, extra_ignored_files=(sig_path,),
                  require_content=True)
    status = check_target(target, run)
    if status.missing:
        # Nothing was reviewed yet, so there is nothing to contradict: write the manifest
        # of what is signed (as `model_signing sign` users expect a signature in one step).
        return PreparedModel(target, status, sig_path, write_manifest=True)
    if status.stale and not update_manifest:
        raise StaleManifest(f"{target.display}: manifest is stale; run `modelseal manifest "
                            f"{target.display}` and commit it, or pass --update-manifest",
                            status)
    return PreparedModel(target, status, sig_path, update_manifest and status.stale)


def write_signed(model: PreparedModel, bundle: bytes) -> None:
    """Write the refreshed manifest (when asked) and the bundle, each atomically."""
    if model.write_manifest:
        atomic_write_text(model.target.manifest_path, model.status.current.to_json())
    atomic_write_bytes(model.signature_path, bundle)


def sign_models(models: Sequence[PreparedModel], signer: Signer) -> list[bytes]:
    """Sign every prepared model in one signer session; nothing is written here."""
    with contextmanager(signer.session)():
        return [signer.sign(model.payload) for model in models]


# --- keys and certificates ---------------------------------------------------------


def curve_hash(key: ec.EllipticCurvePublicKey) -> hashes.HashAlgorithm:
    """The digest OMS pairs with an EC curve: P-256/SHA-256, P-384/SHA-384, P-521/SHA-512."""
    size = key.curve.key_size
    if size == 256:
        return hashes.SHA256()
    if size == 384:
        return hashes.SHA384()
    if size == 521:
        return hashes.SHA512()
    raise SigningError(f"EC curve {key.curve.name} is not supported by OMS "
                       "(use P-256, P-384 or P-521)")


def check_ec_key(key: object, where: str) -> ec.EllipticCurvePublicKey:
    """``key`` as a supported EC public key, or a clear error naming what it is."""
    if isinstance(key, ec.EllipticCurvePrivateKey):
        key = key.public_key()
    if isinstance(key, (ed25519.Ed25519PrivateKey, ed25519.Ed25519PublicKey,
                        ed448.Ed448PrivateKey, ed448.Ed448PublicKey)):
        raise UsageError(f"{where} is an Ed25519/Ed448 key, which is not supported by OMS; "
                         "use an EC key on P-256, P-384 or P-521")
    if isinstance(key, (rsa.RSAPrivateKey, rsa.RSAPublicKey)):
        raise UsageError(f"{where} is an RSA key, which is not supported by OMS; use an EC key "
                         "on P-256, P-384 or P-521")
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise UsageError(f"{where} is not an EC key; OMS signs with P-256, P-384 or P-521")
    if key.curve.name not in SUPPORTED_CURVES:
        raise UsageError(f"{where} uses curve {key.curve.name}, which is not supported by OMS "
                         "(use P-256, P-384 or P-521)")
    return key


def load_private_key(path: Path, password_env: str | None = None) -> ec.EllipticCurvePrivateKey:
    """Load a PEM EC private key; the password, if any, comes from the named env variable."""
    password: bytes | None = None
    if password_env is not None:
        value = os.environ.get(password_env)
        if value is None:
            raise UsageError(f"--password-env names {password_env}, but it is not set")
        password = value.encode("utf-8")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read private key {path}: {exc.strerror}") from None
    try:
        key = serialization.load_pem_private_key(data, password)
    except TypeError:
        hint = "pass --password-env VAR" if password is None else "it is not encrypted"
        raise UsageError(f"private key {path}: password problem ({hint})") from None
    except ValueError as exc:
        if password is not None and "password" in str(exc).lower():
            raise UsageError(f"private key {path}: wrong password (from ${password_env})") \
                from None
        raise UsageError(f"{path} is not a PEM private key (or the password is wrong)") \
            from None
    check_ec_key(key, f"private key {path}")
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key


def _ecdsa_sign(key: ec.EllipticCurvePrivateKey, payload: bytes) -> bytes:
    return key.sign(pae(payload, PAYLOAD_TYPE), ec.ECDSA(curve_hash(key.public_key())))


class KeySigner:
    """Signs with an EC private key; the bundle names the key by its hint."""

    method = "key"

    def __init__(self, key: ec.EllipticCurvePrivateKey) -> None:
        self._key = key

    def session(self) -> Iterator[None]:
        yield

    def sign(self, payload: bytes) -> bytes:
        return build_bundle(key_material(self._key.public_key()), payload,
                            _ecdsa_sign(self._key, payload))


class CertificateSigner:
    """Signs with an EC key whose certificate (and chain) go into the bundle."""

    method = "certificate"

    def __init__(self, key: ec.EllipticCurvePrivateKey, certificate: x509.Certificate,
                 chain: Sequence[x509.Certificate], *, where: str = "--cert") -> None:
        if certificate.public_key() != key.public_key():
            raise UsageError(f"{where}: the certificate's public key does not match the "
                             "private key")
        _check_usable_now(certificate, where)
        problem = signing_certificate_problem(certificate)
        if problem is not None:
            raise UsageError(f"{where}: this certificate cannot sign models ({problem}); "
                             "verification would refuse it")
        self._key = key
        self._chain = [certificate, *chain]

    @classmethod
    def from_files(cls, key: ec.EllipticCurvePrivateKey, cert_path: Path,
                   chain_paths: Sequence[Path]) -> CertificateSigner:
        certs = load_certificates([cert_path], "certificate")
        return cls(key, certs[0], load_certificates(chain_paths, "chain file"),
                   where=str(cert_path))

    def session(self) -> Iterator[None]:
        yield

    def sign(self, payload: bytes) -> bytes:
        der = [cert.public_bytes(serialization.Encoding.DER) for cert in self._chain]
        return build_bundle(certificate_material(der), payload, _ecdsa_sign(self._key, payload))


def _check_usable_now(certificate: x509.Certificate, where: str) -> None:
    from datetime import datetime, timezone

    now = datetime.now(timezone.utc)
    if now > certificate.not_valid_after_utc:
        raise UsageError(f"{where}: the signing certificate expired on "
                         f"{certificate.not_valid_after_utc:%Y-%m-%d}")
    if now < certificate.not_valid_before_utc:
        raise UsageError(f"{where}: the signing certificate is not valid before "
                         f"{certificate.not_valid_before_utc:%Y-%m-%d}")


# --- Sigstore keyless ----------------------------------------------------------------


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
