"""The registry client for real: TLS with a private CA, htpasswd Basic auth, the token flow,
Docker config credentials and helpers, the referrers API, and credential-free redirects."""

from __future__ import annotations

import base64
import datetime
import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import run_modelseal
from tests.registry_helpers import key_pair, ok, pinned_digest, signed_model, verify_json
from tests.registry_proxy import TokenState, referrers_proxy, token_server
from tests.registry_server import (
    Registry,
    TokenAuth,
    bcrypt_htpasswd,
    make_tls,
    start_registry,
)

USER, PASSWORD = "publisher", "correct horse"


def docker_config(directory: Path, host: str, user: str, password: str) -> dict[str, str]:
    """An env with DOCKER_CONFIG holding `auths` for ``host``, as `docker login` writes it."""
    directory.mkdir(parents=True, exist_ok=True)
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    (directory / "config.json").write_text(json.dumps({"auths": {host: {"auth": auth}}}))
    return {"DOCKER_CONFIG": str(directory)}


@pytest.fixture(scope="module")
def tls_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Registry, Path]]:
    base = tmp_path_factory.mktemp("tls-registry")
    ca, cert, key = make_tls(base)
    htpasswd = base / "htpasswd"
    htpasswd.write_text(bcrypt_htpasswd(USER, PASSWORD))
    server = start_registry(base, tls=(cert, key), htpasswd=htpasswd, ca_file=ca)
    yield server, ca
    server.stop()


def test_tls_with_a_private_ca_and_basic_auth_from_the_docker_config(
        tls_registry: tuple[Registry, Path], tmp_path: Path) -> None:
    registry, ca = tls_registry
    private, public = key_pair(tmp_path)
    model = signed_model(tmp_path, private)
    env = docker_config(tmp_path / "docker", registry.host, USER, PASSWORD)
    reference = f"oci://{registry.host}/acme/private:v1"
    ok(run_modelseal(["push", str(model), reference, "--ca-file", str(ca)], env=env))
    result = ok(run_modelseal(["verify", reference, "--key", str(public), "--ca-file", str(ca),
                               "--pull", str(tmp_path / "out")], env=env))
    assert "verified (4 files" in result.stdout
    assert (tmp_path / "out" / "config.json").read_bytes() == \
        (model / "config.json").read_bytes()


def test_an_untrusted_certificate_is_not_downgraded_to_plain_http(
        tls_registry: tuple[Registry, Path], tmp_path: Path) -> None:
    registry, _ = tls_registry
    env = docker_config(tmp_path / "docker", registry.host, USER, PASSWORD)
    result = run_modelseal(["verify", f"oci://{registry.host}/acme/private:v1"], env=env)
    assert result.returncode == 2
    assert "TLS" in result.stderr and "--ca-file" in result.stderr


def test_a_wrong_password_is_a_clear_auth_error(tls_registry: tuple[Registry, Path],
                                                tmp_path: Path) -> None:
    registry, ca = tls_registry
    env = docker_config(tmp_path / "docker", registry.host, USER, "wrong")
    result = run_modelseal(["verify", f"oci://{registry.host}/acme/private:v1",
                            "--ca-file", str(ca)], env=env)
    assert result.returncode == 2
    assert result.stderr.startswith("modelseal: error: auth:")
    assert "refused the user name and password" in result.stderr
    assert "wrong" not in result.stderr  # the secret is never printed
    missing = run_modelseal(["verify", f"oci://{registry.host}/acme/private:v1",
                             "--ca-file", str(ca)], env={"DOCKER_CONFIG": str(tmp_path / "none")})
    assert missing.returncode == 2 and "asks for a user name and password" in missing.stderr


def test_a_credential_helper_supplies_the_password(tls_registry: tuple[Registry, Path],
                                                   tmp_path: Path) -> None:
    registry, ca = tls_registry
    config = tmp_path / "docker"
    config.mkdir()
    (config / "config.json").write_text(json.dumps({"credHelpers": {registry.host: "mstest"}}))
    helper = tmp_path / "bin" / "docker-credential-mstest"
    helper.parent.mkdir()
    answer = json.dumps({"Username": USER, "Secret": PASSWORD})
    helper.write_text(f"#!/bin/sh\n[ \"$1\" = get ] || exit 3\nread host\n"
                      f"[ \"$host\" = '{registry.host}' ] || exit 1\necho '{answer}'\n")
    helper.chmod(helper.stat().st_mode | stat.S_IXUSR)
    private, public = key_pair(tmp_path)
    model = signed_model(tmp_path, private)
    env = {"DOCKER_CONFIG": str(config), "PATH": f"{helper.parent}:{os.environ['PATH']}"}
    reference = f"oci://{registry.host}/acme/helper:v1"
    ok(run_modelseal(["push", str(model), reference, "--ca-file", str(ca)], env=env))
    ok(run_modelseal(["verify", reference, "--key", str(public), "--ca-file", str(ca)], env=env))


# --- the distribution token flow --------------------------------------------------------------


def _jwt_signer(directory: Path) -> tuple[bytes, bytes, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "modelseal test token signer")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    bundle = directory / "token-root.pem"
    bundle.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return key_pem, cert.public_bytes(serialization.Encoding.DER), bundle


def test_bearer_token_flow_against_a_registry_with_token_auth(tmp_path: Path) -> None:
    key_pem, cert_der, bundle = _jwt_signer(tmp_path)
    state = TokenState(f"{USER}:{PASSWORD}", key_pem, cert_der, "modelseal-issuer",
                       "modelseal-registry")
    with token_server(state) as realm:
        registry = start_registry(tmp_path / "token-registry", token=TokenAuth(
            realm, state.service, state.issuer, bundle))
        try:
            private, public = key_pair(tmp_path)
            model = signed_model(tmp_path, private)
            env = docker_config(tmp_path / "docker", registry.host, USER, PASSWORD)
            reference = f"oci://{registry.host}/acme/token:v1"
            ok(run_modelseal(["push", str(model), reference], env=env))
            ok(run_modelseal(["verify", reference, "--key", str(public)], env=env))
            scopes = {scope for r in state.requests for scope in r["query"].get("scope", [])}
            assert "repository:acme/token:pull,push" in scopes
            assert "repository:acme/token:pull" in scopes
            assert all(r["basic"] for r in state.requests)
            assert all(r["query"]["service"] == [state.service] for r in state.requests)
            env = docker_config(tmp_path / "docker2", registry.host, USER, "wrong")
            bad = run_modelseal(["verify", reference, "--key", str(public)], env=env)
            assert bad.returncode == 2
            assert "auth: the token service" in bad.stderr and "refused" in bad.stderr
            # an identity token (OAuth refresh token) from `docker login` is exchanged too
            state.refresh_token = "refresh-" + "r" * 20
            config = tmp_path / "docker3"
            config.mkdir()
            (config / "config.json").write_text(json.dumps(
                {"auths": {registry.host: {"identitytoken": state.refresh_token}}}))
            ok(run_modelseal(["verify", reference, "--key", str(public)],
                             env={"DOCKER_CONFIG": str(config)}))
            assert any(r.get("grant") == "refresh_token" for r in state.requests)
        finally:
            registry.stop()


# --- the referrers API and redirects ------------------------------------------------------------


def test_attach_and_verify_through_the_referrers_api(registry: Registry, tmp_path: Path) -> None:
    private, public = key_pair(tmp_path)
    model = signed_model(tmp_path, private)
    with referrers_proxy(registry.host) as (host, state):
        reference = f"oci://{host}/acme/api:v1"
        pushed = ok(run_modelseal(["push", str(model), reference]))
        assert "(referrers API)" in pushed.stdout
        digest = pinned_digest(pushed.stdout)
        code, doc = verify_json(reference, "--key", str(public))
        assert code == 0, doc
        assert doc["models"][0]["signature_source"].endswith("(referrers API)")
        assert state.referrer_requests >= 1
    # no fallback index was written: the registry indexed the referrer itself
    fallback = requests.get(f"http://{registry.host}/v2/acme/api/manifests/"
                            f"sha256-{digest[7:]}", timeout=10)
    assert fallback.status_code == 404


def test_blob_redirects_do_not_carry_the_registry_credentials(registry: Registry,
                                                             tmp_path: Path) -> None:
    private, public = key_pair(tmp_path)
    model = signed_model(tmp_path, private)
    with referrers_proxy(registry.host, redirect_blobs=True,
                         basic_auth=f"{USER}:{PASSWORD}") as (host, state):
        env = docker_config(tmp_path / "docker", host, USER, PASSWORD)
        reference = f"oci://{host}/acme/redirected:v1"
        ok(run_modelseal(["push", str(model), reference], env=env))
        ok(run_modelseal(["verify", reference, "--key", str(public), "--pull",
                          str(tmp_path / "out")], env=env))
        assert (tmp_path / "out" / "model.safetensors").read_bytes() == \
            (model / "model.safetensors").read_bytes()
        assert state.storage_saw_authorization  # the blobs came through the redirect
        assert not any(state.storage_saw_authorization)


def test_plain_http_only_for_loopback_or_listed_hosts() -> None:
    from modelseal.net import TransportError
    from modelseal.stores.registry import RegistryClient, Transport

    assert RegistryClient("registry.example").base_url() == "https://registry.example"
    assert RegistryClient("registry.example:5000").base_url() == "https://registry.example:5000"
    client = RegistryClient("registry.example", Transport(insecure_hosts=("other.example",)))
    assert not client._plain_http_allowed("registry.example")
    assert client._plain_http_allowed("other.example")
    assert client._plain_http_allowed("127.0.0.1:5000") and client._plain_http_allowed("[::1]")
    with pytest.raises(TransportError, match="not https"):
        client.session.check_redirect("http://storage.example/blob",
                                      plain_http_allowed=client._plain_http_allowed)
