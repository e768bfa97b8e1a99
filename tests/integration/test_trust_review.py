"""An attacker's review of the trust boundary: holes found in the registry client and pull.

Each test sets up what a hostile party controls (a registry's answers, an artifact's
layers) on 127.0.0.1 and checks that modelseal does not give in.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from modelseal.stores.registry import RegistryClient, RegistryUnavailable, Transport
from modelseal.stores.registry_auth import Credentials
from tests.registry_server import make_tls

# --- a registry that speaks TLS and plain HTTP on one port ---------------------------------


@dataclass
class Seen:
    requests: list[tuple[bool, str, str, str | None]] = field(default_factory=list)


class _DualServer(ThreadingHTTPServer):
    """Peeks at the first byte: a TLS ClientHello is answered over TLS, anything else plain."""

    daemon_threads = True
    tls: ssl.SSLContext

    def get_request(self) -> tuple[Any, Any]:
        sock, address = self.socket.accept()
        sock.settimeout(5)
        if sock.recv(1, socket.MSG_PEEK) == b"\x16":
            sock = self.tls.wrap_socket(sock, server_side=True)
        return sock, address


def _upload_handler(seen: Seen) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _reply(self, status: int, headers: dict[str, str] | None = None) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def _record(self) -> bool:
            tls = isinstance(self.connection, ssl.SSLSocket)
            auth = self.headers.get("Authorization")
            seen.requests.append((tls, self.command, self.path, auth))
            if auth is None and self.path != "/v2/":
                self._reply(401, {"WWW-Authenticate": 'Basic realm="test"'})
                return False
            return True

        def do_GET(self) -> None:
            if self._record():
                self._reply(200)

        def do_HEAD(self) -> None:
            if self._record():
                self._reply(404)

        def do_POST(self) -> None:
            if self._record():
                port = self.server.server_address[1]
                # a TLS-terminating proxy that forgot X-Forwarded-Proto answers like this
                self._reply(202, {"Location": f"http://127.0.0.1:{port}/v2/m/blobs/uploads/u1"})

        def do_PUT(self) -> None:
            if self._record():
                self._reply(201)

    return Handler


@contextmanager
def dual_protocol_registry(directory: Path) -> Iterator[tuple[str, Path, Seen]]:
    ca, cert, key = make_tls(directory)
    seen = Seen()
    server = _DualServer(("127.0.0.1", 0), _upload_handler(seen))
    server.tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.tls.load_cert_chain(cert, key)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}", ca, seen
    finally:
        server.shutdown()
        server.server_close()


def test_trust_review_an_upload_location_never_downgrades_https_to_plain_http(
        tmp_path: Path) -> None:
    """The registry speaks TLS, so credentials and blobs must never travel in clear.

    A `Location: http://same-host/...` on a blob upload (as a TLS-terminating proxy
    gives) must not make the client PUT the blob with the Authorization header over
    plain HTTP, where anyone on the path reads the password.
    """
    with dual_protocol_registry(tmp_path) as (host, ca, seen):
        client = RegistryClient(host, Transport(ca_file=ca, timeout=5),
                                credentials=lambda _: Credentials("alice", "s3cret"))
        assert client.base_url() == f"https://{host}"
        with pytest.raises(RegistryUnavailable):
            client.push_blob("m", "sha256:" + "0" * 64, b"weights")
    in_clear = [(method, path, auth) for tls, method, path, auth in seen.requests if not tls]
    assert in_clear == [], f"sent over plain HTTP: {in_clear}"


# --- a registry that answers one byte at a time ----------------------------------------------


def _drip_handler(body: bytes, pause: float) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                for byte in body:  # each byte well inside the socket timeout
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(pause)
            except OSError:
                pass  # the client gave up, as it should

    return Handler


@contextmanager
def drip_registry(body: bytes, pause: float) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _drip_handler(body, pause))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_trust_review_a_registry_dripping_a_manifest_cannot_hold_the_client(
        tmp_path: Path) -> None:
    """The timeout bounds a whole manifest read, not only the wait for each byte.

    A hostile registry that sends a byte every 0.3 s never trips a 1 s socket
    timeout; without a deadline on the read, a 4 MiB manifest at that pace holds a
    CI job for two weeks.
    """
    body = b'{"schemaVersion": 2, "layers": []}'  # 35 bytes: over 10 s at this pace
    with drip_registry(body, 0.3) as host:
        client = RegistryClient(host, Transport(timeout=1.0), credentials=lambda _: None)
        start = time.monotonic()
        with pytest.raises(RegistryUnavailable, match="took longer"):
            client.manifest("m", "latest")
        assert time.monotonic() - start < 4.0



def test_trust_review_a_registry_dripping_a_bundle_cannot_hold_the_client() -> None:
    """Bundles are small too: their download has the same deadline as a manifest."""
    import hashlib

    body = b'{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json"}'
    digest = "sha256:" + hashlib.sha256(body).hexdigest()
    with drip_registry(body, 0.3) as host:
        client = RegistryClient(host, Transport(timeout=1.0), credentials=lambda _: None)
        start = time.monotonic()
        with pytest.raises(RegistryUnavailable, match="took longer"):
            client.blob_bytes("m", digest, len(body), 1 << 20, "bundle")
        assert time.monotonic() - start < 4.0

# --- pull writes only what verified ------------------------------------------------------------


def test_trust_review_a_single_file_pull_writes_no_layer_the_check_skipped(
        registry: Any, tmp_path: Path) -> None:
    """A single-file signature by the reference signer records the git paths as ignored.

    An attacker adds a layer titled `.gitattributes` to the artifact (and attaches the
    same bundle to the new manifest: one signature across packagings). verify rightly
    skips the ignored name, but `--pull` must then not write it either: the consumer
    gets exactly the bytes that verified.
    """
    import json

    import model_signing

    from modelseal.stores.ociref import parse
    from modelseal.stores.registry import sha256_digest
    from tests.conftest import run_modelseal
    from tests.registry_helpers import key_pair, ok

    private, public = key_pair(tmp_path)
    weights = tmp_path / "tiny.gguf"
    weights.write_bytes(b"GGUF" + bytes(range(256)) * 40 + tmp_path.name.encode())
    bundle = tmp_path / "tiny.gguf.sig"
    model_signing.signing.Config().use_elliptic_key_signer(private_key=private).sign(
        weights, bundle)
    reference = f"oci://{registry.host}/acme/single-extra:v1"
    ok(run_modelseal(["push", str(weights), reference]))
    ref = parse(reference)
    client = RegistryClient(ref.host)
    manifest = json.loads(client.manifest(ref.repository, "v1").data)
    payload = b"*.gguf filter=lfs diff=lfs merge=lfs -text\n# not verified\n"
    client.push_blob(ref.repository, sha256_digest(payload), payload)
    manifest["layers"].append({"mediaType": "application/vnd.oci.image.layer.v1.tar",
                               "digest": sha256_digest(payload), "size": len(payload),
                               "annotations": {"org.opencontainers.image.title":
                                               ".gitattributes"}})
    client.push_manifest(ref.repository, "v1", json.dumps(manifest).encode(),
                         manifest["mediaType"])
    ok(run_modelseal(["attach", reference, "--signature", str(bundle)]))
    target = tmp_path / "pulled"
    ok(run_modelseal(["verify", reference, "--key", str(public), "--pull", str(target)]))
    assert sorted(p.name for p in target.iterdir()) == ["tiny.gguf", "tiny.gguf.sig"]


# --- the certificate method and signer rules -------------------------------------------------


def test_trust_review_an_identity_rule_is_not_silently_dropped_for_certificate_bundles(
        tiny_model: Path, tmp_path: Path, capsys: Any) -> None:
    """A user who says who may sign must not get a pass for anyone else under the root.

    The leaf is signer@example.com; the policy names release@example.com. Any holder
    of a code-signing certificate from the same (often corporate) CA would pass.
    """
    import json

    from tests.e2e.test_trust_certificates import Leaf, certificate_signed
    from tests.signing_support import run_cli

    root = certificate_signed(tiny_model, tmp_path, Leaf())
    code, out, _ = run_cli(["verify", str(tiny_model), "--cert-chain", str(root),
                            "--identity", "release@example.com",
                            "--issuer", "https://accounts.example.com", "--format", "json"],
                           capsys)
    model = json.loads(out)["models"][0]
    assert model["status"] != "verified" and "release@example.com" in model["message"]
    assert code == 1
    # without signer rules the trusted root alone decides, as before
    assert run_cli(["verify", str(tiny_model), "--cert-chain", str(root)], capsys)[0] == 0


# --- descriptors name content by digest only ---------------------------------------------


def test_trust_review_a_referrer_or_blob_named_by_a_tag_is_refused_before_any_request(
        ) -> None:
    """A registry's referrer list is untrusted: a descriptor whose "digest" is a tag or a
    path would fetch something unpinned, so it is refused without a request."""
    from modelseal.errors import ModelsealError
    from modelseal.stores import referrers
    from modelseal.stores.registry import RegistryClient

    client = RegistryClient("127.0.0.1:9")  # discard port: any request would fail differently
    for digest in ("latest", "sha256:../../v2/other/manifests/latest", None):
        candidate = referrers._referrer(client, "acme/model", "sha256:" + "0" * 64,
                                        {"digest": digest}, referrers.VIA_API)
        assert candidate.error is not None and "digest" in candidate.error, candidate
    with pytest.raises(ModelsealError, match="not a sha256/sha512 digest"):
        client.blob_bytes("acme/model", "latest", 10, 100, "bundle")
    assert client.bytes_fetched == 0
