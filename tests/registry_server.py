"""A real OCI registry for tests: Debian's `docker-registry` (the CNCF distribution registry).

`start_registry` runs `docker-registry serve CONFIG` on 127.0.0.1 with a port the
kernel picked and a temp storage directory, optionally with TLS and htpasswd basic
auth, and waits until `/v2/` answers. Each pytest(-xdist) worker process starts its
own through the session fixture, so no port is shared. Also here: a self-signed CA
and server certificate made with `cryptography`, and bcrypt htpasswd lines (glibc's
libxcrypt through the stdlib `crypt` module, the only format the registry accepts).
"""

from __future__ import annotations

import datetime
import ipaddress
import shutil
import socket
import subprocess
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import requests

STARTUP_SECONDS = 20


@dataclass
class Registry:
    host: str  # 127.0.0.1:PORT
    storage: Path
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def blob_file(self, digest: str) -> Path:
        """Where the registry keeps a blob (or a manifest) on disk: for tamper tests."""
        hexdigest = digest.split(":", 1)[1]
        return (self.storage / "docker" / "registry" / "v2" / "blobs" / "sha256" /
                hexdigest[:2] / hexdigest / "data")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class TokenAuth:
    """`auth: token` settings: the realm that issues JWTs and the certificates they chain to."""

    realm: str
    service: str
    issuer: str
    root_bundle: Path


def _config(storage: Path, port: int, tls: tuple[Path, Path] | None,
            htpasswd: Path | None, token: TokenAuth | None) -> str:
    lines = ["version: 0.1", "log:", "  level: warn", "  accesslog:", "    disabled: true",
             "storage:", "  filesystem:", f"    rootdirectory: {storage}",
             "  delete:", "    enabled: true", "http:", f"  addr: 127.0.0.1:{port}"]
    if tls is not None:
        lines += ["  tls:", f"    certificate: {tls[0]}", f"    key: {tls[1]}"]
    if htpasswd is not None:
        lines += ["auth:", "  htpasswd:", "    realm: modelseal-tests", f"    path: {htpasswd}"]
    if token is not None:
        lines += ["auth:", "  token:", f"    realm: {token.realm}", f"    service: {token.service}",
                  f"    issuer: {token.issuer}", f"    rootcertbundle: {token.root_bundle}"]
    return "\n".join(lines) + "\n"


def start_registry(base: Path, *, tls: tuple[Path, Path] | None = None,
                   htpasswd: Path | None = None, ca_file: Path | None = None,
                   token: TokenAuth | None = None) -> Registry:
    """Start a registry under ``base``; retried on a new port if the first is taken."""
    program = shutil.which("docker-registry")
    if program is None:
        raise RuntimeError("docker-registry is not installed (apt-get install docker-registry;"
                           " .ci/run installs it)")
    last_error = ""
    for attempt in range(3):
        port = free_port()
        storage = base / f"storage-{attempt}"
        storage.mkdir(parents=True)
        config = base / f"config-{attempt}.yml"
        config.write_text(_config(storage, port, tls, htpasswd, token))
        log = base / f"registry-{attempt}.log"
        with log.open("wb") as out:
            process = subprocess.Popen([program, "serve", str(config)], stdout=out,
                                       stderr=subprocess.STDOUT)
        registry = Registry(f"127.0.0.1:{port}", storage, process, log)
        if _wait_ready(registry, "https" if tls else "http", ca_file):
            return registry
        registry.stop()
        last_error = log.read_text(errors="replace")[-2000:]
    raise RuntimeError(f"docker-registry did not start: {last_error}")


def _wait_ready(registry: Registry, scheme: str, ca_file: Path | None) -> bool:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if registry.process.poll() is not None:
            return False
        try:
            response = requests.get(f"{scheme}://{registry.host}/v2/", timeout=2,
                                    verify=str(ca_file) if ca_file else True)
            if response.status_code in (200, 401):
                return True
        except requests.exceptions.RequestException:
            pass
        time.sleep(0.1)
    return False


def bcrypt_htpasswd(user: str, password: str) -> str:
    """One htpasswd line with a bcrypt hash."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt  # libxcrypt's bcrypt; Python 3.13 drops the module

        hashed = crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH))
    return f"{user}:{hashed}\n"


def make_tls(directory: Path) -> tuple[Path, Path, Path]:
    """(ca.pem, server cert, server key): a CA and a certificate for 127.0.0.1."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "modelseal test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                       False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                         critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    ca_path, cert_path, key_path = (directory / "ca.pem", directory / "server.pem",
                                    directory / "server-key.pem")
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return ca_path, cert_path, key_path
