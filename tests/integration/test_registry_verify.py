"""`verify oci://` against a real registry: three producers, failures, pinning, pulling."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from modelseal.words import plural
from tests.conftest import run_modelseal
from tests.registry_helpers import key_pair, ok, pinned_digest, signed_model, verify_json
from tests.registry_server import Registry


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path]:
    return key_pair(tmp_path)


def _push(registry: Registry, model: Path, repo: str) -> tuple[str, str]:
    reference = f"oci://{registry.host}/{repo}"
    result = ok(run_modelseal(["push", str(model), reference]))
    return reference, pinned_digest(result.stdout)


# --- producers ----------------------------------------------------------------------------


def test_push_then_verify_names_the_pin_and_fetches_no_blob(registry: Registry, tmp_path: Path,
                                                            keys: tuple[Path, Path]) -> None:
    model = signed_model(tmp_path, keys[0])
    reference, digest = _push(registry, model, "acme/pushed:v1")
    code, doc = verify_json(reference, "--key", str(keys[1]))
    assert code == 0, doc
    entry = doc["models"][0]
    assert entry["status"] == "verified"
    assert entry["reference"] == f"{registry.host}/acme/pushed@{digest}"
    assert entry["signature_source"].endswith("(tag schema)")
    # raw layers are checked from the manifest: only manifests and the bundle travel
    model_bytes = sum(p.stat().st_size for p in model.iterdir())
    assert doc["bytes_fetched"] < 16 * 1024 < model_bytes * 2
    text = ok(run_modelseal(["verify", reference, "--key", str(keys[1])]))
    assert f"pull by digest: {registry.host}/acme/pushed@{digest}" in text.stdout


def test_oras_push_with_title_annotations_verifies(registry: Registry, tmp_path: Path,
                                                   keys: tuple[Path, Path],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import oras.client

    model = signed_model(tmp_path, keys[0])
    monkeypatch.chdir(model)
    files = sorted(p.name for p in model.iterdir()
                   if p.name not in ("model.sig", "model.manifest.json"))
    client = oras.client.OrasClient(hostname=registry.host, insecure=True)
    client.push(target=f"{registry.host}/acme/oras:v1", files=files, quiet=True)
    manifest = client.get_manifest(f"{registry.host}/acme/oras:v1")
    # ORAS types files as tar although the blobs are raw: the case the title rule covers
    assert {layer["mediaType"] for layer in manifest["layers"]} == \
        {"application/vnd.oci.image.layer.v1.tar"}
    reference = f"oci://{registry.host}/acme/oras:v1"
    ok(run_modelseal(["attach", reference, "--signature", str(model / "model.sig")]))
    code, doc = verify_json(reference, "--key", str(keys[1]))
    assert code == 0, doc
    assert doc["models"][0]["message"].startswith(f"verified ({plural(len(files), 'file')}")


def test_skopeo_copy_of_a_layout_verifies_including_tar_layers(
        registry: Registry, tmp_path: Path, keys: tuple[Path, Path]) -> None:
    from tests.store_builders import OciOptions, build_oci_layout

    model = signed_model(tmp_path, keys[0])
    layout = build_oci_layout(model, tmp_path / "layout",
                              OciOptions(tag="v1", tar_gzip=("tokenizer.json",)))
    target = f"docker://{registry.host}/acme/skopeo:v1"
    subprocess.run(["skopeo", "copy", "--quiet", "--dest-tls-verify=false",
                    f"oci:{layout}:v1", target], check=True, capture_output=True, timeout=120)
    reference = f"oci://{registry.host}/acme/skopeo:v1"
    ok(run_modelseal(["attach", reference, "--signature", str(model / "model.sig")]))
    code, doc = verify_json(reference, "--key", str(keys[1]))
    assert code == 0, doc
    # the tar+gzip layer had to be streamed; the raw ones did not
    tar_layer = (model / "tokenizer.json").stat().st_size
    assert tar_layer // 4 < doc["bytes_fetched"] < tar_layer + 32 * 1024


def test_pull_writes_exactly_the_verified_files(registry: Registry, tmp_path: Path,
                                                keys: tuple[Path, Path]) -> None:
    model = signed_model(tmp_path, keys[0])
    reference, _ = _push(registry, model, "acme/pull:v1")
    target = tmp_path / "out" / "tiny"
    ok(run_modelseal(["verify", reference, "--key", str(keys[1]), "--pull", str(target)]))
    for name in ("model.safetensors", "config.json", "README.md", "tokenizer.json"):
        assert (target / name).read_bytes() == (model / name).read_bytes()
    assert not [p for p in target.parent.iterdir() if p.name.endswith(".partial")]
    ok(run_modelseal(["verify", str(target), "--key", str(keys[1])]))


# --- failures ------------------------------------------------------------------------------


def test_unsigned_artifact_fails_even_without_strict(registry: Registry, tmp_path: Path,
                                                     keys: tuple[Path, Path]) -> None:
    model = signed_model(tmp_path, keys[0])
    (model / "model.sig").unlink()
    reference, _ = _push(registry, model, "acme/unsigned:v1")
    result = run_modelseal(["verify", reference, "--key", str(keys[1])])
    assert result.returncode == 1
    assert "not signed: no OMS bundle is attached" in result.stderr


def test_tampered_layer_repushed_under_the_tag_names_the_file(
        registry: Registry, tmp_path: Path, keys: tuple[Path, Path]) -> None:
    model = signed_model(tmp_path, keys[0])
    reference, first = _push(registry, model, "acme/tamper:v1")
    signature = tmp_path / "model.sig"
    shutil.move(model / "model.sig", signature)
    with (model / "config.json").open("a") as handle:
        handle.write(" ")
    _, second = _push(registry, model, "acme/tamper:v1")
    assert second != first
    # the tag now names the new manifest, which carries no signature of its own
    unsigned = run_modelseal(["verify", reference, "--key", str(keys[1])])
    assert unsigned.returncode == 1 and "not signed" in unsigned.stderr
    # an attacker copies the old signature over: the changed file is named
    ok(run_modelseal(["attach", reference, "--signature", str(signature)]))
    result = run_modelseal(["verify", reference, "--key", str(keys[1])])
    assert result.returncode == 1
    assert "files differ" in result.stderr and "config.json" in result.stdout
    assert second in result.stderr


def test_untrusted_key_fails_at_the_signature_step(registry: Registry, tmp_path: Path,
                                                   keys: tuple[Path, Path]) -> None:
    model = signed_model(tmp_path, keys[0])
    reference, _ = _push(registry, model, "acme/untrusted:v1")
    _, other_public = key_pair(tmp_path, "other")
    code, doc = verify_json(reference, "--key", str(other_public))
    assert code == 1
    assert doc["models"][0]["failed_check"] == "signature"
    assert "unknown key hint" in doc["models"][0]["message"]


def test_two_bundles_where_only_the_second_satisfies_the_policy(
        registry: Registry, tmp_path: Path, keys: tuple[Path, Path]) -> None:
    other_private, _ = key_pair(tmp_path, "other")
    first = signed_model(tmp_path, other_private)
    second = shutil.copytree(first, tmp_path / "b" / first.name)
    ok(run_modelseal(["sign", str(second), "--method", "key", "--key", str(keys[0])]))
    reference, _ = _push(registry, first, "acme/two:v1")  # attaches the untrusted bundle
    ok(run_modelseal(["attach", reference, "--signature", str(second / "model.sig")]))
    code, doc = verify_json(reference, "--key", str(keys[1]))
    assert code == 0, doc
    candidates = doc["models"][0]["candidates"]
    assert [c["verified"] for c in candidates] == [False, True]
    assert "unknown key hint" in candidates[0]["message"]
    text = ok(run_modelseal(["verify", reference, "--key", str(keys[1])]))
    assert "did not pass: signature: unknown key hint" in text.stderr
    assert f"signature: referrer {candidates[1]['source'].split()[1]}" in text.stdout


def test_oversized_bundle_is_not_read(registry: Registry, tmp_path: Path,
                                      keys: tuple[Path, Path],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from modelseal.stores import referrers, remote
    from modelseal.stores.ociref import parse
    from modelseal.stores.registry import RegistryClient

    model = signed_model(tmp_path, keys[0])
    (model / "model.sig").unlink()
    reference, _ = _push(registry, model, "acme/oversized:v1")
    ref = parse(reference)
    client = RegistryClient(ref.host)
    pinned = remote.open_reference(client, ref)
    huge = b'{"padding": "' + b"x" * (16 * 1024 * 1024) + b'"}'
    # attach() refuses it, so build the referrer as a hostile publisher would (the CLI
    # runs in this process: only the attach sees the raised limit)
    with monkeypatch.context() as patched:
        patched.setattr(referrers, "MAX_BUNDLE_BYTES", len(huge) + 1)
        referrers.attach(client, ref.repository, pinned.descriptor, huge)
    code, doc = verify_json(reference, "--key", str(keys[1]))
    assert code == 1
    assert "more than the 16777216 allowed" in doc["models"][0]["candidates"][0]["message"]
    assert doc["bytes_fetched"] < 1024 * 1024


def test_manifest_that_does_not_match_its_digest_is_refused(
        registry: Registry, tmp_path: Path, keys: tuple[Path, Path]) -> None:
    model = signed_model(tmp_path, keys[0])
    reference, digest = _push(registry, model, "acme/mismatch:v1")
    stored = registry.blob_file(digest)
    document = json.loads(stored.read_bytes())
    document["annotations"] = {"swapped": "yes"}
    stored.write_bytes(json.dumps(document).encode())
    for ref in (reference, f"oci://{registry.host}/acme/mismatch@{digest}"):
        result = run_modelseal(["verify", ref, "--key", str(keys[1])])
        assert result.returncode == 1, result.stderr
        assert "digest mismatch" in result.stderr and digest in result.stderr


def test_tampered_blob_fails_the_pull_and_leaves_nothing(registry: Registry, tmp_path: Path,
                                                         keys: tuple[Path, Path]) -> None:
    model = signed_model(tmp_path, keys[0])
    reference, _ = _push(registry, model, "acme/badblob:v1")
    data = (model / "model.safetensors").read_bytes()
    from hashlib import sha256

    stored = registry.blob_file(f"sha256:{sha256(data).hexdigest()}")
    stored.write_bytes(bytes([data[0] ^ 1]) + data[1:])
    target = tmp_path / "pulled"
    result = run_modelseal(["verify", reference, "--key", str(keys[1]), "--pull", str(target)])
    assert result.returncode == 1
    assert "digest mismatch" in result.stderr and "model.safetensors" in result.stderr
    assert not target.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]


# --- pinning ------------------------------------------------------------------------------


def test_tag_moved_between_resolve_and_pull_still_pulls_the_verified_bytes(
        registry: Registry, tmp_path: Path, keys: tuple[Path, Path]) -> None:
    from modelseal.policy import PolicyFlags, build_policy
    from modelseal.stores import referrers, registry_verify, remote
    from modelseal.stores.ociref import parse
    from modelseal.stores.registry import RegistryClient
    from modelseal.verifying import VerifyOptions

    model = signed_model(tmp_path, keys[0])
    original = (model / "model.safetensors").read_bytes()
    reference, digest = _push(registry, model, "acme/moving:v1")
    ref = parse(reference)
    client = RegistryClient(ref.host)
    pinned = remote.open_reference(client, ref)
    found = referrers.find_candidates(client, ref.repository, pinned.subjects, None)
    options = VerifyOptions(policy=build_policy(None, PolicyFlags(keys=(keys[1],))))
    outcome = registry_verify.verify_candidates(pinned, found, options)
    assert outcome.result.ok and outcome.winner is not None
    # the publisher (or an attacker) moves the tag to other bytes now
    (model / "model.sig").unlink()
    (model / "model.safetensors").write_bytes(b"other weights")
    _, moved = _push(registry, model, "acme/moving:v1")
    assert moved != digest
    signed = outcome.result.signed_manifest
    assert signed is not None and outcome.winner.candidate.data is not None
    remote.pull(pinned, signed, outcome.winner.candidate.data, tmp_path / "out")
    assert (tmp_path / "out" / "model.safetensors").read_bytes() == original


def test_reference_errors_are_usage_errors(registry: Registry) -> None:
    bad = run_modelseal(["verify", f"oci://{registry.host}/Acme/UPPER:v1"])
    assert bad.returncode == 2 and "lowercase" in bad.stderr
    missing = run_modelseal(["verify", f"oci://{registry.host}/acme/none:v1"])
    assert missing.returncode == 2 and "not found: manifest" in missing.stderr
    mixed = run_modelseal(["verify", f"oci://{registry.host}/acme/none:v1", "models/x"])
    assert mixed.returncode == 2 and "one registry reference" in mixed.stderr


@pytest.mark.parametrize("options", ["hash: blake3", "serialization: shards\n    shard_size: 1000"])
def test_other_hash_types_stream_the_blobs(registry: Registry, tmp_path: Path,
                                           keys: tuple[Path, Path], options: str) -> None:
    model = signed_model(tmp_path, keys[0])
    (model / "model.sig").unlink()
    (tmp_path / ".modelseal.yaml").write_text(
        f"version: 1\nmodels:\n  - path: {model.name}\n    {options}\n")
    ok(run_modelseal(["sign", str(model), "--method", "key", "--key", str(keys[0]),
                      "--update-manifest"], cwd=tmp_path))
    reference, _ = _push(registry, model, f"acme/streamed-{len(options)}:v1")
    code, doc = verify_json(reference, "--key", str(keys[1]))
    assert code == 0, doc
    weights = (model / "model.safetensors").stat().st_size
    assert doc["bytes_fetched"] > weights  # the blobs had to be hashed
    # a changed blob is caught by the stream hash, and named
    from hashlib import sha256

    data = (model / "model.safetensors").read_bytes()  # random: no other test shares it
    registry.blob_file(f"sha256:{sha256(data).hexdigest()}").write_bytes(data[::-1])
    result = run_modelseal(["verify", reference, "--key", str(keys[1])])
    assert result.returncode == 1
    assert "digest mismatch" in result.stderr and "model.safetensors" in result.stderr


def test_pull_refuses_a_directory_that_is_not_empty(registry: Registry, tmp_path: Path,
                                                    keys: tuple[Path, Path]) -> None:
    model = signed_model(tmp_path, keys[0])
    reference, _ = _push(registry, model, "acme/occupied:v1")
    target = tmp_path / "occupied"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    result = run_modelseal(["verify", reference, "--key", str(keys[1]), "--pull", str(target)])
    assert result.returncode == 2 and "not empty" in result.stderr
    assert [p.name for p in target.iterdir()] == ["keep.txt"]
    local = run_modelseal(["verify", str(model), "--key", str(keys[1]), "--pull", str(target)])
    assert local.returncode == 2 and "--pull is for registry models" in local.stderr


def test_a_layer_naming_a_file_is_that_file_whatever_its_type(registry: Registry,
                                                              tmp_path: Path,
                                                              keys: tuple[Path, Path]) -> None:
    """A layer that claims to be empty (or a signature) but names a file is checked."""
    from modelseal.stores.ociref import parse
    from modelseal.stores.registry import RegistryClient, sha256_digest

    model = signed_model(tmp_path, keys[0])
    reference, digest = _push(registry, model, "acme/smuggled:v1")
    ref = parse(reference)
    client = RegistryClient(ref.host)
    manifest = json.loads(client.manifest(ref.repository, digest).data)
    payload = b"import os; os.system('id')\n"
    client.push_blob(ref.repository, sha256_digest(payload), payload)
    manifest["layers"].append({"mediaType": "application/vnd.oci.empty.v1+json",
                               "digest": sha256_digest(payload), "size": len(payload),
                               "annotations": {"org.cncf.model.filepath": "loader.py"}})
    data = json.dumps(manifest).encode()
    client.push_manifest(ref.repository, "v1", data, manifest["mediaType"])
    ok(run_modelseal(["attach", reference, "--signature", str(model / "model.sig")]))
    code, doc = verify_json(reference, "--key", str(keys[1]))
    assert code == 1
    assert [f["path"] for f in doc["models"][0]["diff"]["added"]] == ["loader.py"]


def test_a_single_file_model_round_trips(registry: Registry, tmp_path: Path,
                                         keys: tuple[Path, Path]) -> None:
    weights = tmp_path / "tiny.gguf"
    weights.write_bytes(b"GGUF" + bytes(range(256)) * 40)
    ok(run_modelseal(["sign", str(weights), "--method", "key", "--key", str(keys[0]),
                      "--update-manifest"]))
    pushed = ok(run_modelseal(["push", str(weights), f"oci://{registry.host}/acme/gguf:v1"]))
    assert f"attached {weights.with_name('tiny.gguf.sig')}" in pushed.stdout
    target = tmp_path / "pulled"
    ok(run_modelseal(["verify", f"oci://{registry.host}/acme/gguf:v1", "--key", str(keys[1]),
                      "--pull", str(target)]))
    assert sorted(p.name for p in target.iterdir()) == ["tiny.gguf", "tiny.gguf.sig"]
    ok(run_modelseal(["verify", str(target / "tiny.gguf"), "--key", str(keys[1])]))
