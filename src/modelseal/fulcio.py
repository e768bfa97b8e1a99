"""What a Fulcio certificate says about its signer: the identity and the OIDC claims.

Fulcio copies claims of the signer's OIDC token (issuer, source repository, ref,
commit, workflow, run) into X.509 extensions under the OID arc
1.3.6.1.4.1.57264.1. `signer_facts` reads them into `SignerFacts`, which policies
(policy.py) match and reports show. The certificate is read as it is: whether it
chains to a trusted Fulcio CA is verification's job, done before these facts count.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from cryptography import x509

FULCIO_ARC = "1.3.6.1.4.1.57264.1."
OID_ISSUER_V1 = FULCIO_ARC + "1"
OID_GITHUB_SHA_V1 = FULCIO_ARC + "3"
OID_GITHUB_REPOSITORY_V1 = FULCIO_ARC + "5"
OID_GITHUB_REF_V1 = FULCIO_ARC + "6"
OID_ISSUER_V2 = FULCIO_ARC + "8"
OID_BUILD_SIGNER_URI = FULCIO_ARC + "9"
OID_SOURCE_REPOSITORY_URI = FULCIO_ARC + "12"
OID_SOURCE_REPOSITORY_DIGEST = FULCIO_ARC + "13"
OID_SOURCE_REPOSITORY_REF = FULCIO_ARC + "14"
OID_BUILD_CONFIG_URI = FULCIO_ARC + "18"
OID_RUN_INVOCATION_URI = FULCIO_ARC + "21"

# Fulcio's first extensions (.1 to .6) hold raw bytes; later ones a DER UTF8String.
_RAW_VALUE_OIDS = frozenset(FULCIO_ARC + str(number) for number in range(1, 7))


@dataclass(frozen=True)
class SignerFacts:
    """What a signing certificate says about the signer.

    ``identity`` is the certificate's subject alternative name (an e-mail address or
    a URI such as a GitHub workflow reference); the rest come from Fulcio's
    certificate extensions and are None when the certificate does not carry them.
    """

    identity: str | None = None
    issuer: str | None = None
    source_repository_uri: str | None = None
    source_repository_ref: str | None = None
    source_repository_digest: str | None = None
    build_signer_uri: str | None = None
    build_config_uri: str | None = None
    run_invocation_uri: str | None = None

    @property
    def repository(self) -> str | None:
        """``owner/repo`` (or ``group/project``) of the source repository, when known."""
        if not self.source_repository_uri:
            return None
        return urlsplit(self.source_repository_uri).path.strip("/") or None

    @property
    def workflow(self) -> str | None:
        """The CI configuration that ran (e.g. ``.github/workflows/release.yml``)."""
        uri = self.build_config_uri or self.build_signer_uri
        if not uri:
            return None
        path = uri_path(uri)
        repository = self.repository
        if repository and path.lower().startswith(repository.lower() + "/"):
            path = path[len(repository) + 1:]
        return path.lstrip("/")


def signer_facts(certificate: x509.Certificate) -> SignerFacts:
    """Read the identity and Fulcio extensions of ``certificate``."""
    values: dict[str, str] = {}
    for extension in certificate.extensions:
        oid = extension.oid.dotted_string
        if oid.startswith(FULCIO_ARC) and isinstance(extension.value, x509.UnrecognizedExtension):
            text = _extension_text(oid, extension.value.value)
            if text is not None:
                values[oid] = text
    issuer = values.get(OID_ISSUER_V2) or values.get(OID_ISSUER_V1)
    repository = values.get(OID_SOURCE_REPOSITORY_URI)
    if repository is None and OID_GITHUB_REPOSITORY_V1 in values:
        repository = f"https://github.com/{values[OID_GITHUB_REPOSITORY_V1]}"
    return SignerFacts(
        identity=certificate_identity(certificate),
        issuer=issuer,
        source_repository_uri=repository,
        source_repository_ref=values.get(OID_SOURCE_REPOSITORY_REF)
        or values.get(OID_GITHUB_REF_V1),
        source_repository_digest=values.get(OID_SOURCE_REPOSITORY_DIGEST)
        or values.get(OID_GITHUB_SHA_V1),
        build_signer_uri=values.get(OID_BUILD_SIGNER_URI),
        build_config_uri=values.get(OID_BUILD_CONFIG_URI),
        run_invocation_uri=values.get(OID_RUN_INVOCATION_URI),
    )


def certificate_identity(certificate: x509.Certificate) -> str | None:
    """The first e-mail, URI or other-name in the subject alternative names."""
    try:
        names = certificate.extensions.get_extension_for_class(
            x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return None
    for kind in (x509.RFC822Name, x509.UniformResourceIdentifier):
        found = names.get_values_for_type(kind)
        if found:
            return str(found[0])
    for other in names.get_values_for_type(x509.OtherName):
        text = _der_utf8(other.value)
        if text is not None:
            return text
    return None


def uri_path(uri: str) -> str:
    """The path of a CI URI without host and without the ``@ref`` suffix."""
    path = urlsplit(uri).path
    return path.split("@", 1)[0].strip("/")


def _extension_text(oid: str, raw: bytes) -> str | None:
    if oid in _RAW_VALUE_OIDS:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return None
    return _der_utf8(raw)


def _der_utf8(raw: bytes) -> str | None:
    """Decode a DER UTF8String (tag 0x0c), or None when ``raw`` is something else."""
    if len(raw) < 2 or raw[0] != 0x0C:
        return None
    length, offset = raw[1], 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or len(raw) < 2 + count:
            return None
        length, offset = int.from_bytes(raw[2:2 + count], "big"), 2 + count
    if len(raw) != offset + length:
        return None
    try:
        return raw[offset:].decode("utf-8")
    except UnicodeDecodeError:
        return None
