"""Registry references, challenges and Docker config entries (no network), and ORAS layer rules."""

from __future__ import annotations

import base64
import json

import pytest

from modelseal.errors import UsageError
from modelseal.stores import oci
from modelseal.stores.ociref import parse
from modelseal.stores.registry_auth import credentials_for, parse_challenge

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(("text", "host", "repository", "tag", "digest"), [
    ("oci://registry.example/acme/bert", "registry.example", "acme/bert", None, None),
    ("oci://127.0.0.1:5000/acme/bert:v1.0", "127.0.0.1:5000", "acme/bert", "v1.0", None),
    (f"oci://registry.example/a/b/c@{DIGEST}", "registry.example", "a/b/c", None, DIGEST),
    (f"oci://[::1]:5000/m:t@{DIGEST}", "[::1]:5000", "m", "t", DIGEST),
    ("ollama://127.0.0.1:11434/library/tiny:latest", "127.0.0.1:11434", "library/tiny",
     "latest", None),
])
def test_references_parse(text: str, host: str, repository: str, tag: str | None,
                          digest: str | None) -> None:
    ref = parse(text)
    assert (ref.host, ref.repository, ref.tag, ref.digest) == (host, repository, tag, digest)
    assert ref.reference == (digest or tag or "latest")
    assert ref.pinned(DIGEST) == f"{host}/{repository}@{DIGEST}"


@pytest.mark.parametrize(("text", "why"), [
    ("oci://registry.example", "host name and a repository"),
    ("oci://user:pw@registry.example/acme/x", "host name"),
    ("oci://registry.example/Acme/x", "lowercase"),
    ("oci://registry.example/acme/../x", "lowercase"),
    ("oci://registry.example/acme/x?y=1", "lowercase"),
    ("oci://registry.example/acme/x:bad/tag", "lowercase"),
    ("oci://registry.example/acme/x@sha256:abc", "64 lowercase hex"),
    ("oci://registry.example:99999/acme/x", "out of range"),
    ("ollama://registry.example/tiny", "NAMESPACE/MODEL"),
])
def test_bad_references_are_usage_errors(text: str, why: str) -> None:
    with pytest.raises(UsageError, match=why):
        parse(text)


def test_challenges_parse_quoted_and_bare_values() -> None:
    challenge = parse_challenge('Bearer realm="https://auth.example/token",'
                                'service="registry.example",scope="repository:a/b:pull,push"')
    assert challenge.scheme == "bearer"
    assert challenge.params == {"realm": "https://auth.example/token",
                                "service": "registry.example",
                                "scope": "repository:a/b:pull,push"}
    assert parse_challenge('Basic realm=x').params == {"realm": "x"}


def test_docker_config_auths_match_any_key_form() -> None:
    auth = base64.b64encode(b"alice:s3:cret").decode()
    for key in ("registry.example:5000", "https://registry.example:5000",
                "https://registry.example:5000/v1/"):
        found = credentials_for("registry.example:5000", {"auths": {key: {"auth": auth}}})
        assert found is not None and (found.username, found.password) == ("alice", "s3:cret")
        assert "s3:cret" not in repr(found)
    assert credentials_for("other.example", {"auths": {"registry.example": {"auth": auth}}}) \
        is None
    with pytest.raises(UsageError, match="not base64"):
        credentials_for("registry.example", {"auths": {"registry.example": {"auth": "%%"}}})
    with pytest.raises(UsageError, match="not on PATH"):
        credentials_for("registry.example", json.loads('{"credsStore": "absent-helper-x"}'))


@pytest.mark.parametrize(("media_type", "annotations", "kind", "path"), [
    # ORAS types a plain file as tar: the title without the unpack mark means raw
    ("application/vnd.oci.image.layer.v1.tar", {oci.TITLE: "w.bin"}, oci.RAW, "w.bin"),
    ("application/x-anything", {oci.TITLE: "w.bin"}, oci.RAW, "w.bin"),
    ("application/vnd.oci.image.layer.v1.tar+gzip",
     {oci.TITLE: "dir", oci.ORAS_UNPACK: "true"}, "tar+gzip", None),
    # ModelPack's filepath wins, and its media type decides
    ("application/vnd.cncf.model.weight.v1.tar",
     {oci.TITLE: "x", "org.cncf.model.filepath": "w.bin"}, "tar", "w.bin"),
    # a file ORAS writes under its title is a file, whatever its type claims
    ("application/vnd.oci.empty.v1+json", {oci.TITLE: "w.bin"}, oci.RAW, "w.bin"),
    ("application/vnd.dev.sigstore.bundle.v0.3+json", {oci.TITLE: "model.sig"}, oci.RAW,
     "model.sig"),
    ("application/vnd.oci.empty.v1+json", {"org.cncf.model.filepath": "w.bin"}, oci.RAW,
     "w.bin"),
    ("application/vnd.oci.empty.v1+json", {}, oci.SKIP, None),
])
def test_layer_classification(media_type: str, annotations: dict[str, str], kind: str,
                              path: str | None) -> None:
    layer = {"mediaType": media_type, "annotations": annotations}
    assert oci.classify_layer(layer, media_type, "layer 0") == (kind, path)


def test_a_title_cannot_escape_the_model() -> None:
    from modelseal.stores.common import StoreError

    layer = {"mediaType": "application/vnd.oci.image.layer.v1.tar",
             "annotations": {oci.TITLE: "../../etc/passwd"}}
    with pytest.raises(StoreError):
        oci.classify_layer(layer, layer["mediaType"], "layer 0")


def test_manifest_reads_are_bounded_and_digest_checked() -> None:
    """A hostile registry: a 5 MiB manifest, and one whose bytes differ from its digest."""
    import hashlib
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from modelseal.stores.registry import RegistryClient, RegistryError

    huge = b'{"layers": "' + b"x" * (5 * 1024 * 1024) + b'"}'
    honest = b'{"schemaVersion": 2}'

    class Hostile(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            body = huge if "huge" in self.path else honest
            self.send_response(200)
            self.send_header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
            if "nolength" not in self.path:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            self.close_connection = True

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hostile)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        client = RegistryClient(f"127.0.0.1:{server.server_address[1]}")
        for repository in ("huge/a", "huge/nolength"):
            with pytest.raises(RegistryError, match="allowed"):
                client.manifest(repository, "v1")
        assert client.bytes_fetched < 4 * 1024 * 1024 + 128 * 1024
        with pytest.raises(RegistryError, match="advertises"):
            client.manifest("small/a", "v1", size=5 * 1024 * 1024)
        wrong = "sha256:" + hashlib.sha256(b"other").hexdigest()
        with pytest.raises(RegistryError, match="digest mismatch"):
            client.manifest("small/a", wrong)
        assert client.manifest("small/a", "v1").digest == \
            "sha256:" + hashlib.sha256(honest).hexdigest()
    finally:
        server.shutdown()
        server.server_close()
