"""Certificate authority of the stack: root + intermediate, and Fulcio-style leaves."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .ct import CTLog, sct_list_extension
from .encoding import key_id

LEAF_LIFETIME = dt.timedelta(minutes=10)
CA_LIFETIME = dt.timedelta(days=3650)


@dataclass(frozen=True)
class CertificateAuthority:
    """A two-level CA; the intermediate issues the short-lived signing certificates."""

    root_key: ec.EllipticCurvePrivateKey
    root_cert: x509.Certificate
    intermediate_key: ec.EllipticCurvePrivateKey
    intermediate_cert: x509.Certificate

    @property
    def organization(self) -> str:
        """Organisation name of the root, as written into the trusted root."""
        attrs = self.root_cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
        return str(attrs[0].value)

    @property
    def common_name(self) -> str:
        """Common name of the root, as written into the trusted root."""
        attrs = self.root_cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        return str(attrs[0].value)

    def chain(self) -> list[x509.Certificate]:
        """Issuer chain of a leaf, leaf-side first: [intermediate, root]."""
        return [self.intermediate_cert, self.root_cert]

    def chain_pem(self) -> list[str]:
        """The chain as PEM strings (the format Fulcio returns)."""
        return [c.public_bytes(serialization.Encoding.PEM).decode() for c in self.chain()]


def _serial() -> int:
    """A positive random serial number of at most 20 octets."""
    return secrets.randbits(159) | 1


def _name(org: str, cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def _ca_cert(
    subject: x509.Name,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Name,
    issuer_key: ec.EllipticCurvePrivateKey,
    not_before: dt.datetime,
    path_length: int,
) -> x509.Certificate:
    """Build one CA certificate (self-signed when issuer == subject)."""
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(_serial())
        .not_valid_before(not_before)
        .not_valid_after(not_before + CA_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), False
        )
    )
    return builder.sign(issuer_key, hashes.SHA256())


def create_ca(org: str, now: dt.datetime) -> CertificateAuthority:
    """Generate a fresh root + intermediate pair valid from an hour before ``now``."""
    not_before = now - dt.timedelta(hours=1)
    root_key = ec.generate_private_key(ec.SECP256R1())
    inter_key = ec.generate_private_key(ec.SECP256R1())
    root_name = _name(org, f"{org} root")
    inter_name = _name(org, f"{org} intermediate")
    root = _ca_cert(root_name, root_key, root_name, root_key, not_before, 1)
    inter = _ca_cert(inter_name, inter_key, root_name, root_key, not_before, 0)
    return CertificateAuthority(root_key, root, inter_key, inter)


def _leaf_builder(
    ca: CertificateAuthority,
    public_key: ec.EllipticCurvePublicKey,
    san: x509.GeneralName,
    extensions: list[x509.UnrecognizedExtension],
    not_before: dt.datetime,
) -> x509.CertificateBuilder:
    """Fulcio-shaped leaf: empty subject, critical SAN, code-signing EKU, OIDC extensions."""
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([]))
        .issuer_name(ca.intermediate_cert.subject)
        .public_key(public_key)
        .serial_number(_serial())
        .not_valid_before(not_before)
        .not_valid_after(not_before + LEAF_LIFETIME)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.intermediate_key.public_key()),
            False,
        )
        .add_extension(x509.SubjectAlternativeName([san]), critical=True)
    )
    for ext in extensions:
        builder = builder.add_extension(ext, critical=False)
    return builder


def issue_leaf(
    ca: CertificateAuthority,
    ct_log: CTLog,
    public_key: ec.EllipticCurvePublicKey,
    san: x509.GeneralName,
    extensions: list[x509.UnrecognizedExtension],
    now: dt.datetime,
) -> x509.Certificate:
    """Issue a 10-minute signing certificate with an embedded precertificate SCT.

    The TBS logged by the CT stand-in is the TBS of the final certificate
    without its SCT extension, which is exactly what verifiers reconstruct.
    """
    not_before = now.replace(microsecond=0)
    builder = _leaf_builder(ca, public_key, san, extensions, not_before)
    precert = builder.sign(ca.intermediate_key, hashes.SHA256())
    timestamp_ms = int(not_before.timestamp()) * 1000
    issuer_hash = key_id(ca.intermediate_key.public_key())
    sct = ct_log.sct_for_precert(precert.tbs_certificate_bytes, issuer_hash, timestamp_ms)
    final = builder.add_extension(sct_list_extension([sct]), critical=False).sign(
        ca.intermediate_key, hashes.SHA256()
    )
    if final.tbs_precertificate_bytes != precert.tbs_certificate_bytes:
        raise RuntimeError("precertificate TBS mismatch; SCT would not verify")
    return final
