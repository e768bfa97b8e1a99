"""`modelseal verify`: signatures, file checks, strictness, JSON, and hostile input."""

from __future__ import annotations

import base64
import json
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from modelseal.bundle import MAX_BUNDLE_BYTES, BundleError, parse_bundle
from modelseal.config import HashOptions
from modelseal.engine import check_target, refresh_target
from modelseal.policy import Policy
from modelseal.signing import KeySigner, prepare, sign_models, write_signed
from modelseal.targets import ModelTarget
from modelseal.verifying import (
    CHECK_FILES,
    STATUS_FAILED,
    STATUS_UNSIGNED,
    STATUS_VERIFIED,
    VerifyOptions,
    verify_target,
)
from tests.signing_support import (
    NOW,
    bundle_json,
    key_signed_bundle,
    make_pki,
    run_cli,
    statement_bytes,
    write_private_key,
    write_public_key,
)

IBM = ["--identity", "stefanb@us.ibm.com", "--issuer", "https://sigstore.verify.ibm.com/oauth2",
       "--offline"]


class Signed:
    """A model signed with a fresh P-256 key."""

    def __init__(self, root: Path, tmp: Path) -> None:
        self.root = root
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.public = write_public_key(tmp / "signer.pub", self.key)
        target = ModelTarget(root, HashOptions())
        refresh_target(target)
        model = prepare(target)
        write_signed(model, sign_models([model], KeySigner(self.key))[0])

    @property
    def sig(self) -> Path:
        return self.root / "model.sig"

    def verify(self, capsys: Any, *extra: str) -> tuple[int, str, str]:
        return run_cli(["verify", str(self.root), "--key", str(self.public), *extra], capsys)

    def resign(self, payload: bytes) -> None:
        """Replace the bundle with a valid signature over any payload."""
        self.sig.write_bytes(key_signed_bundle(self.key, payload))


@pytest.fixture
def signed(tiny_model: Path, tmp_path: Path) -> Signed:
    return Signed(tiny_model, tmp_path)


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*"))}


def assert_one_line_error(code: int, err: str, *needles: str) -> None:
    assert code != 0
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("modelseal: error: ")
    for needle in needles:
        assert needle in lines[0]


def test_verified(signed: Signed, capsys: Any) -> None:
    code, out, err = signed.verify(capsys)
    assert code == 0, err
    assert "verified (4 files" in out


# --- bad bundles: each a one-line error, exit 1, nothing written ----------------------


def _tamper_payload(signed: Signed) -> None:
    data = bundle_json(signed.sig)
    statement = json.loads(base64.b64decode(data["dsseEnvelope"]["payload"]))
    statement["predicate"]["resources"][0]["digest"] = "0" * 64
    data["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    signed.sig.write_text(json.dumps(data))


def _tamper_signature(signed: Signed) -> None:
    data = bundle_json(signed.sig)
    sig = bytearray(base64.b64decode(data["dsseEnvelope"]["signatures"][0]["sig"]))
    sig[-1] ^= 0x01
    data["dsseEnvelope"]["signatures"][0]["sig"] = base64.b64encode(bytes(sig)).decode()
    signed.sig.write_text(json.dumps(data))


def _unknown_hint(signed: Signed) -> None:
    data = bundle_json(signed.sig)
    data["verificationMaterial"]["publicKey"]["hint"] = "ab" * 32
    signed.sig.write_text(json.dumps(data))


def _truncate(signed: Signed) -> None:
    signed.sig.write_bytes(signed.sig.read_bytes()[:200])


def _not_json(signed: Signed) -> None:
    signed.sig.write_text("this is not a bundle\n")


def _empty(signed: Signed) -> None:
    signed.sig.write_bytes(b"")


def _too_deep(signed: Signed) -> None:
    signed.sig.write_text("[" * 5000 + "]" * 5000)


def _two_signatures(signed: Signed) -> None:
    data = bundle_json(signed.sig)
    data["dsseEnvelope"]["signatures"] *= 2
    signed.sig.write_text(json.dumps(data))


def _wrong_payload_type(signed: Signed) -> None:
    data = bundle_json(signed.sig)
    data["dsseEnvelope"]["payloadType"] = "text/plain"
    signed.sig.write_text(json.dumps(data))


@pytest.mark.parametrize(("tamper", "needle"), [
    (_tamper_payload, "does not match the signed statement"),
    (_tamper_signature, "does not match the signed statement"),
    (_unknown_hint, "unknown key hint abab"),
    (_truncate, "not valid JSON"),
    (_not_json, "not valid JSON"),
    (_empty, "is empty"),
    (_too_deep, "nests deeper"),
    (_two_signatures, "2 signatures"),
    (_wrong_payload_type, "does not match the signed statement"),
])
def test_bad_bundle(signed: Signed, tamper: Any, needle: str, capsys: Any) -> None:
    tamper(signed)
    before = snapshot(signed.root)
    code, _, err = signed.verify(capsys)
    assert code == 1
    assert_one_line_error(code, err, needle)
    assert snapshot(signed.root) == before


def test_bundle_over_the_size_limit_is_not_parsed(signed: Signed, capsys: Any,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import json as json_module

    with signed.sig.open("wb") as stream:
        stream.write(b"{" + b" " * MAX_BUNDLE_BYTES + b"}")

    def forbidden(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("an oversized bundle must not be parsed")

    monkeypatch.setattr(json_module, "loads", forbidden)
    code, _, err = signed.verify(capsys)
    assert_one_line_error(code, err, "more than the 16777216")


def test_wrong_key(signed: Signed, tmp_path: Path, capsys: Any) -> None:
    other = write_public_key(tmp_path / "other.pub", ec.generate_private_key(ec.SECP256R1()))
    code, _, err = run_cli(["verify", str(signed.root), "--key", str(other)], capsys)
    assert_one_line_error(code, err, "unknown key hint", "other.pub")


def test_wrong_key_without_hint(signed: Signed, tmp_path: Path, capsys: Any) -> None:
    # older bundles embed the public key instead of a hint
    data = bundle_json(signed.sig)
    data["verificationMaterial"]["publicKey"] = {
        "rawBytes": base64.b64encode(signed.public.read_bytes()).decode()}
    signed.sig.write_text(json.dumps(data))
    assert signed.verify(capsys)[0] == 0
    other = write_public_key(tmp_path / "other.pub", ec.generate_private_key(ec.SECP256R1()))
    code, _, err = run_cli(["verify", str(signed.root), "--key", str(other)], capsys)
    assert_one_line_error(code, err, "none of the trusted public keys")


def test_hint_of_another_key_with_this_signature(signed: Signed, tmp_path: Path,
                                                 capsys: Any) -> None:
    other_key = ec.generate_private_key(ec.SECP256R1())
    other = write_public_key(tmp_path / "other.pub", other_key)
    data = bundle_json(signed.sig)
    replacement = json.loads(key_signed_bundle(other_key, b"{}"))
    data["verificationMaterial"] = replacement["verificationMaterial"]
    signed.sig.write_text(json.dumps(data))
    code, _, err = run_cli(["verify", str(signed.root), "--key", str(other)], capsys)
    assert_one_line_error(code, err, "does not match the signed statement")


def test_key_signature_without_keys(signed: Signed, capsys: Any) -> None:
    code, _, err = run_cli(["verify", str(signed.root)], capsys)
    assert_one_line_error(code, err, "--key PUB_PEM")


@pytest.mark.parametrize(("resources", "needle"), [
    ([{"name": "../escape", "algorithm": "sha256", "digest": "00" * 32}], "'..'"),
    ([{"name": "a/../../b", "algorithm": "sha256", "digest": "00" * 32}], "'..'"),
    ([{"name": "/etc/passwd", "algorithm": "sha256", "digest": "00" * 32}], "absolute"),
    ([{"name": "C:/x", "algorithm": "sha256", "digest": "00" * 32}], "absolute"),
    ([{"name": "a\\b", "algorithm": "sha256", "digest": "00" * 32}], "backslash"),
    ([{"name": "a\x00b", "algorithm": "sha256", "digest": "00" * 32}], "NUL"),
    ([{"name": "a", "algorithm": "sha256", "digest": "00" * 32},
      {"name": "a", "algorithm": "sha256", "digest": "11" * 32}], "duplicate resource"),
    ([{"name": "a", "algorithm": "sha256", "digest": "zz" * 32}], "hex digits"),
])
def test_hostile_resource_names(signed: Signed, resources: list[dict[str, str]], needle: str,
                                capsys: Any) -> None:
    signed.resign(statement_bytes(resources))
    before = snapshot(signed.root)
    code, _, err = signed.verify(capsys)
    assert_one_line_error(code, err, needle)
    assert snapshot(signed.root) == before


def test_unknown_hash_type(signed: Signed, capsys: Any) -> None:
    signed.resign(statement_bytes([{"name": "a", "algorithm": "md5", "digest": "00" * 16}],
                                  hash_type="md5"))
    code, _, err = signed.verify(capsys)
    assert_one_line_error(code, err, "unknown hash_type 'md5'")


def test_unknown_predicate_type(signed: Signed, capsys: Any) -> None:
    signed.resign(statement_bytes([], predicate_type="https://example.com/other/v1"))
    code, _, err = signed.verify(capsys)
    assert_one_line_error(code, err, "unknown predicateType")


def test_inconsistent_subject_digest(signed: Signed, capsys: Any) -> None:
    signed.resign(statement_bytes([{"name": "config.json", "algorithm": "sha256",
                                    "digest": "00" * 32}], subject_digest="11" * 32))
    code, _, err = signed.verify(capsys)
    assert_one_line_error(code, err, "subject digest")


# --- files ---------------------------------------------------------------------------


def test_changed_removed_added_files_are_listed(signed: Signed, capsys: Any) -> None:
    (signed.root / "config.json").write_text("{}")
    (signed.root / "tokenizer.json").unlink()
    (signed.root / "backdoor.py").write_text("import os")
    code, out, err = signed.verify(capsys)
    assert_one_line_error(code, err, "files differ from the signed manifest (3 files)")
    assert "modified  config.json" in out
    assert "removed   tokenizer.json" in out
    assert "added     backdoor.py" in out


def test_cache_is_never_trusted(signed: Signed, capsys: Any) -> None:
    # warm the stat cache, then change content but keep size and mtime
    assert not check_target(ModelTarget(signed.root, HashOptions())).stale
    weights = signed.root / "model.safetensors"
    st = weights.stat()
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    os.utime(weights, ns=(st.st_atime_ns, st.st_mtime_ns))
    code, out, _ = signed.verify(capsys)
    assert code == 1 and "modified  model.safetensors" in out


def test_ignore_and_ignore_unsigned_files(signed: Signed, capsys: Any) -> None:
    (signed.root / "notes.txt").write_text("local notes")
    assert signed.verify(capsys)[0] == 1
    assert signed.verify(capsys, "--ignore", "notes.txt")[0] == 0
    assert signed.verify(capsys, "--ignore-unsigned-files")[0] == 0
    (signed.root / "config.json").write_text("{}")
    code, out, _ = signed.verify(capsys, "--ignore-unsigned-files")
    assert code == 1 and "config.json" in out
    (signed.root / "config.json").unlink()
    code, out, _ = signed.verify(capsys, "--ignore-unsigned-files")
    assert code == 1 and "removed   config.json" in out


def test_ignore_unsigned_files_never_reads_outside(signed: Signed, tmp_path: Path,
                                                  capsys: Any) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("outside")
    (signed.root / "link").symlink_to(secret)
    statement = json.loads(statement_bytes([{"name": "link", "algorithm": "sha256",
                                              "digest": "00" * 32}]))
    statement["predicate"]["serialization"]["allow_symlinks"] = True
    signed.resign(json.dumps(statement).encode())
    code, _, err = signed.verify(capsys, "--ignore-unsigned-files")
    assert_one_line_error(code, err, "outside the model directory")
    code, _, err = signed.verify(capsys)
    assert_one_line_error(code, err, "outside the model directory")


def test_fifo_in_model_fails_without_hanging(signed: Signed, capsys: Any) -> None:
    os.mkfifo(signed.root / "pipe")
    code, _, err = signed.verify(capsys)
    assert_one_line_error(code, err, "FIFO")


def test_single_file_signature_against_a_directory(tmp_path: Path, capsys: Any) -> None:
    weights = tmp_path / "w.bin"
    weights.write_bytes(b"w" * 100)
    key = write_private_key(tmp_path / "k.pem", ec.generate_private_key(ec.SECP256R1()))
    assert run_cli(["sign", str(weights), "--method", "key", "--key", str(key),
                    "--update-manifest"], capsys)[0] == 0
    pub = write_public_key(tmp_path / "k.pub",
                           __import__("modelseal.keys").keys.load_private_key(key))
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "w.bin").write_bytes(b"w" * 100)
    code, _, err = run_cli(["verify", str(folder), "--key", str(pub), "--signature",
                            str(tmp_path / "w.bin.sig")], capsys)
    assert_one_line_error(code, err, "single file")


# --- unsigned, strict, JSON ----------------------------------------------------------------


def test_unsigned_fails_unless_allowed(tiny_model: Path, tmp_path: Path, capsys: Any) -> None:
    code, _, err = run_cli(["verify", str(tiny_model)], capsys)
    assert code == 1 and "modelseal: error:" in err and "unsigned: no signature" in err
    code, _, err = run_cli(["verify", str(tiny_model), "--allow-unsigned"], capsys)
    assert code == 0 and "modelseal: warning:" in err and "unsigned: no signature" in err
    code, _, err = run_cli(["verify", str(tiny_model), "--strict"], capsys)
    assert code == 1 and "modelseal: error:" in err
    (tmp_path / ".modelseal.yaml").write_text("models: [tiny-model]\npolicy:\n  strict: true\n")
    code, _, err = run_cli(["verify", str(tiny_model), "--allow-unsigned"], capsys)
    assert code == 1 and "unsigned" in err and "strict policy" in err


def test_json_output_on_success_and_failure(signed: Signed, capsys: Any) -> None:
    code, out, _ = signed.verify(capsys, "--format", "json")
    assert code == 0
    doc = json.loads(out)
    model = doc["models"][0]
    assert doc["ok"] is True and model["status"] == "verified" and model["method"] == "key"
    digest = __import__("hashlib").sha256(signed.sig.read_bytes()).hexdigest()
    assert model["signature"] == {"format": "oms-v1.0", "signature_uri": f"sha256:{digest}",
                                  "verified": True, "signer": model["signature"]["signer"],
                                  "signed_at": None}
    assert model["signer"]["key_hint"] in model["signature"]["signer"]
    (signed.root / "config.json").write_text("{}")
    code, out, _ = signed.verify(capsys, "--format", "json")
    model = json.loads(out)["models"][0]
    assert code == 1 and model["status"] == "failed" and model["failed_check"] == "files"
    assert model["signature"]["verified"] is False
    assert [m["path"] for m in model["diff"]["modified"]] == ["config.json"]


def test_api_results(signed: Signed, tiny_model: Path) -> None:
    options = VerifyOptions(Policy(keys=(signed.public,)))
    result = verify_target(ModelTarget(signed.root, HashOptions()), options)
    assert result.status == STATUS_VERIFIED and result.ok
    assert result.signer is not None and result.signer.method == "key"
    assert result.signed_manifest is not None
    (signed.root / "config.json").write_text("{}")
    result = verify_target(ModelTarget(signed.root, HashOptions()), options)
    assert result.status == STATUS_FAILED and result.failed_check == CHECK_FILES
    assert result.diff is not None and result.diff.modified == ("config.json",)
    signed.sig.unlink()
    result = verify_target(ModelTarget(signed.root, HashOptions()), options)
    assert result.status == STATUS_UNSIGNED and not result.ok
    assert verify_target(ModelTarget(signed.root, HashOptions()),
                         VerifyOptions(Policy(), allow_unsigned=True)).ok
    assert not verify_target(ModelTarget(signed.root, HashOptions()),
                             VerifyOptions(Policy(strict=True), allow_unsigned=True)).ok


# --- certificates -------------------------------------------------------------------------


def _cert_signed(tiny_model: Path, pki: Any, capsys: Any) -> None:
    refresh_target(ModelTarget(tiny_model, HashOptions()))
    from modelseal.signing import CertificateSigner

    model = prepare(ModelTarget(tiny_model, HashOptions()))
    signer = CertificateSigner(pki.leaf_key, pki.leaf, [pki.intermediate])
    write_signed(model, sign_models([model], signer)[0])


def test_untrusted_chain(tiny_model: Path, tmp_path: Path, capsys: Any) -> None:
    pki = make_pki(tmp_path / "pki")
    _cert_signed(tiny_model, pki, capsys)
    other = make_pki(tmp_path / "other")
    code, _, err = run_cli(["verify", str(tiny_model), "--cert-chain", str(other.root_pem)],
                           capsys)
    assert_one_line_error(code, err, "certificate chain is not trusted")
    assert run_cli(["verify", str(tiny_model), "--cert-chain", str(pki.root_pem)],
                   capsys)[0] == 0


def test_chain_expired_at_signing_time(tiny_model: Path, tmp_path: Path, capsys: Any) -> None:
    # the intermediate has expired (certificate bundles are checked at verification time)
    pki = make_pki(tmp_path / "pki", intermediate_not_after=NOW - timedelta(days=2))
    _cert_signed(tiny_model, pki, capsys)
    code, _, err = run_cli(["verify", str(tiny_model), "--cert-chain", str(pki.root_pem)],
                           capsys)
    assert_one_line_error(code, err, "not trusted at verification time")


def test_certificate_without_code_signing_usage(tiny_model: Path, tmp_path: Path,
                                                capsys: Any) -> None:
    # signing refuses such a leaf up front (verification refuses it too: see
    # tests/e2e/test_trust_certificates.py, which builds such bundles by hand)
    from modelseal.errors import UsageError
    from modelseal.signing import CertificateSigner

    pki = make_pki(tmp_path / "pki", code_signing=False)
    with pytest.raises(UsageError, match=r"cannot sign models.*digitalSignature"):
        CertificateSigner(pki.leaf_key, pki.leaf, [pki.intermediate])


def test_certificate_not_before(tiny_model: Path, tmp_path: Path, capsys: Any) -> None:
    pki = make_pki(tmp_path / "pki")
    _cert_signed(tiny_model, pki, capsys)
    args = ["verify", str(tiny_model), "--cert-chain", str(pki.root_pem)]
    assert run_cli([*args, "--not-before", "2020-01-01"], capsys)[0] == 0
    code, _, err = run_cli([*args, "--not-before", NOW.strftime("%Y-%m-%dT%H:%M:%SZ")], capsys)
    assert_one_line_error(code, err, "older than policy not_before", "certificate notBefore")


def test_key_signature_has_no_time_for_not_before(signed: Signed, capsys: Any) -> None:
    code, _, err = signed.verify(capsys, "--not-before", "2020-01-01")
    assert_one_line_error(code, err, "no trusted signing time")


# --- keyless (offline, against the production root embedded in sigstore) -----------------


def test_keyless_identity_not_matching(oms_fixtures: Path, capsys: Any) -> None:
    model = oms_fixtures / "v1.1.0-sigstore"
    code, _, err = run_cli(["verify", str(model), "--identity", "mallory@example.com",
                            "--issuer", "https://sigstore.verify.ibm.com/oauth2", "--offline"],
                           capsys)
    assert_one_line_error(code, err, "identity 'stefanb@us.ibm.com' does not match policy "
                                     "'mallory@example.com'")


def test_keyless_identity_regex_is_anchored(oms_fixtures: Path, capsys: Any) -> None:
    model = str(oms_fixtures / "v1.1.0-sigstore")
    issuer = ["--issuer", "https://sigstore.verify.ibm.com/oauth2", "--offline"]
    code, _, err = run_cli(["verify", model, "--identity-regex", "stefanb", *issuer], capsys)
    assert_one_line_error(code, err, "does not match policy regex")
    code, _, err = run_cli(["verify", model, "--identity-regex", r"stefanb@us\.ibm\.co",
                            *issuer], capsys)
    assert code == 1
    code, _, err = run_cli(["verify", model, "--identity-regex", r"[a-z]+@us\.ibm\.com",
                            *issuer], capsys)
    assert code == 0, err


def test_keyless_issuer_not_matching(oms_fixtures: Path, capsys: Any) -> None:
    code, _, err = run_cli(["verify", str(oms_fixtures / "v1.1.0-sigstore"), "--identity",
                            "stefanb@us.ibm.com", "--issuer", "https://accounts.google.com",
                            "--offline"], capsys)
    assert_one_line_error(code, err, "issuer 'https://sigstore.verify.ibm.com/oauth2' does not "
                                     "match policy 'https://accounts.google.com'")


def test_keyless_signature_older_than_not_before(oms_fixtures: Path, capsys: Any) -> None:
    model = str(oms_fixtures / "v1.1.0-sigstore")
    code, _, err = run_cli(["verify", model, *IBM, "--not-before", "2025-10-11"], capsys)
    assert_one_line_error(code, err, "2025-10-10T02:12:20Z", "Rekor integrated time",
                          "older than policy not_before 2025-10-11T00:00:00Z")
    assert run_cli(["verify", model, *IBM, "--not-before", "2025-10-09"], capsys)[0] == 0


def test_keyless_needs_a_signer_policy(oms_fixtures: Path, capsys: Any) -> None:
    code, _, err = run_cli(["verify", str(oms_fixtures / "v1.1.0-sigstore"), "--offline"],
                           capsys)
    assert_one_line_error(code, err, "no trusted signer configured", "say who may sign")


def test_keyless_tampered_fixture(oms_fixtures: Path, tmp_path: Path, capsys: Any) -> None:
    import shutil

    model = tmp_path / "model"
    shutil.copytree(oms_fixtures / "v1.1.0-sigstore", model)
    data = json.loads((model / "model.sig").read_text())
    statement = json.loads(base64.b64decode(data["dsseEnvelope"]["payload"]))
    statement["predicate"]["resources"][0]["digest"] = "0" * 64
    data["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    (model / "model.sig").write_text(json.dumps(data))
    code, _, err = run_cli(["verify", str(model), *IBM], capsys)
    assert_one_line_error(code, err, "Sigstore verification failed")


def test_keyless_without_tlog_entries_is_rejected() -> None:
    bundle = json.dumps({
        "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "verificationMaterial": {"certificate": {"rawBytes": "AAAA"}},
        "dsseEnvelope": {"payload": "e30=", "payloadType": "application/vnd.in-toto+json",
                         "signatures": [{"sig": "AAAA"}]},
    }).encode()
    with pytest.raises(BundleError, match="no transparency log entries"):
        parse_bundle(bundle)


def test_offline_fallback_notice(oms_fixtures: Path, capsys: Any) -> None:
    # no network here: without --offline the TUF refresh fails and the embedded root is used
    code, _, err = run_cli(["verify", str(oms_fixtures / "v1.1.0-sigstore"), *IBM[:-1]],
                           capsys)
    assert code == 0
    assert "modelseal: notice:" in err and "embedded" in err


def test_hostile_json_is_rejected_in_linear_time(signed: Signed, capsys: Any) -> None:
    import time

    for data in (b'"' + b'\\"' * 2_000_000, b"[]" * 2_000_000, b"[" * 3_000_000):
        signed.sig.write_bytes(data)
        started = time.monotonic()
        code, _, err = signed.verify(capsys)
        assert_one_line_error(code, err)
        assert time.monotonic() - started < 10
