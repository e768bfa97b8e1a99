"""Signing and verifying Ollama models in place; exporting CNCF annotations, OCI
descriptors and SignatureInfo; the store name parsers."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest

from modelseal.bundle import read_bundle_file
from modelseal.stores import dmr, export, hfcache, oci, ollama
from modelseal.stores.common import StoreError, StoreNotFound
from tests.store_builders import build_ollama_store, make_model, put_blob
from tests.store_helpers import Run, flip_byte, keys, run, signed, verify

__all__ = ["keys", "run", "signed"]  # fixtures shared with test_stores

LAYERS = [
    ("application/vnd.ollama.image.model", b"GGUF" + os.urandom(4096)),
    ("application/vnd.ollama.image.template", b"{{ .Prompt }}"),
    ("application/vnd.ollama.image.params", b'{"stop": ["<|end|>"]}'),
    ("application/vnd.ollama.image.license", b"MIT License"),
    ("application/vnd.ollama.image.system", b"You are terse."),
    ("application/vnd.ollama.image.projector", os.urandom(1024)),
    ("application/vnd.ollama.image.adapter", os.urandom(512)),
    ("application/vnd.ollama.image.adapter", os.urandom(256)),
]
RESOURCES = ["adapter", "adapter-2", "config", "license", "model", "params", "projector",
             "system", "template"]


@pytest.fixture
def ollama_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    store = build_ollama_store(tmp_path / "ollama", LAYERS)
    monkeypatch.setenv("OLLAMA_MODELS", str(store))
    return store


def sign_ollama(run: Run, keys: tuple[Path, Path], name: str, signature: Path) -> None:
    code, out, err = run("sign", "--ollama", name, "--method", "key", "--key", keys[0],
                         "--signature", signature)
    assert code == 0, err
    assert "ollama:tiny:latest: signed (key, 9 resources" in out


def test_sign_and_verify_an_ollama_model_in_place(ollama_store: Path, tmp_path: Path, run: Run,
                                                  keys: tuple[Path, Path]) -> None:
    signature = tmp_path / "tiny.sig"
    sign_ollama(run, keys, "tiny", signature)
    statement = read_bundle_file(signature).statement()
    assert [r.name for r in statement.resources] == RESOURCES
    by_name = {r.name: r.digest for r in statement.resources}
    assert by_name["model"] == hashlib.sha256(LAYERS[0][1]).hexdigest()
    for name in ("tiny", "tiny:latest", "library/tiny", "registry.ollama.ai/library/tiny:latest"):
        code, out, err = verify(run, keys, "--ollama", name, "--signature", signature)
        assert code == 0, err
        assert "verified (9 files" in out


def test_a_flipped_byte_in_an_ollama_blob_fails_naming_the_resource(
        ollama_store: Path, tmp_path: Path, run: Run, keys: tuple[Path, Path]) -> None:
    signature = tmp_path / "tiny.sig"
    sign_ollama(run, keys, "tiny", signature)
    flip_byte(ollama_store / "blobs" / f"sha256-{hashlib.sha256(LAYERS[1][1]).hexdigest()}")
    code, out, _ = verify(run, keys, "--ollama", "tiny", "--signature", signature)
    assert code == 1
    assert "template" in out


def test_manifests_v2_symlinks_are_followed_only_to_matching_blobs(
        tmp_path: Path, run: Run, keys: tuple[Path, Path],
        monkeypatch: pytest.MonkeyPatch) -> None:
    store = build_ollama_store(tmp_path / "ollama", LAYERS, v2=True)
    monkeypatch.setenv("OLLAMA_MODELS", str(store))
    signature = tmp_path / "tiny.sig"
    sign_ollama(run, keys, "tiny", signature)
    code, _, err = verify(run, keys, "--ollama", "tiny", "--signature", signature)
    assert code == 0, err
    link = store / "manifests-v2" / "ollama.com" / "library" / "tiny" / "latest"
    flip_byte(link.resolve(), 3)  # the manifest blob no longer matches its name
    code, _, err = verify(run, keys, "--ollama", "tiny", "--signature", signature)
    assert code == 1 and "does not match its digest" in err


def test_export_ollama_signature_prints_signature_info(ollama_store: Path, tmp_path: Path,
                                                       run: Run,
                                                       keys: tuple[Path, Path]) -> None:
    signature = tmp_path / "tiny.sig"
    sign_ollama(run, keys, "tiny", signature)
    code, out, err = run("export", "--format", "ollama-signature", "--ollama", "tiny",
                         "--signature", signature, "--key", keys[1])
    assert code == 0, err
    info = json.loads(out)
    assert info["format"] == "oms-v1.0"
    assert info["signatureUri"] == f"sha256:{hashlib.sha256(signature.read_bytes()).hexdigest()}"
    assert info["verified"] is True
    assert info["signer"].startswith("key sha256:")
    flip_byte(ollama_store / "blobs" / f"sha256-{hashlib.sha256(LAYERS[2][1]).hexdigest()}")
    code, out, _ = run("export", "--format", "ollama-signature", "--ollama", "tiny",
                       "--signature", signature, "--key", keys[1])
    assert code == 1 and json.loads(out)["verified"] is False


def test_unknown_ollama_model_and_bad_layers(ollama_store: Path, tmp_path: Path) -> None:
    with pytest.raises(StoreNotFound, match="no such model"):
        ollama.open_model("missing", ollama_store)
    with pytest.raises(StoreError, match=r"not application/vnd\.ollama\.image\.<kind>"):
        ollama.resource_names([{"mediaType": "text/plain"}], "x")
    assert ollama.resource_names([{"mediaType": "application/vnd.ollama.image.tensor",
                                   "name": "enc/w.0"}], "x") == ["tensor/enc/w.0"]
    with pytest.raises(StoreError, match=r"'\.\.' component"):
        ollama.resource_names([{"mediaType": "application/vnd.ollama.image.tensor",
                                "name": "../w"}], "x")


# --- export --------------------------------------------------------------------------------


def test_cncf_annotations_as_modctl_writes_them(tmp_path: Path, run: Run) -> None:
    model = make_model(tmp_path / "tiny")
    os.utime(model / "config.json", ns=(0, 1_700_000_000_120_000_000))
    code, out, err = run("export", "--format", "cncf-annotations", model)
    assert code == 0, err
    files = {f["filepath"]: f["annotations"] for f in json.loads(out)["files"]}
    assert set(files) == {"model.safetensors", "config.json", "tokenizer.json", "README.md",
                          "extra/notes.txt", "extra/empty.txt"}
    config = files["config.json"]
    assert config[export.FILEPATH] == "config.json"
    assert config[export.UNTESTED] == "false"
    metadata_text = config[export.FILE_METADATA]
    metadata = json.loads(metadata_text)
    assert list(metadata) == ["name", "mode", "uid", "gid", "size", "mtime", "typeflag"]
    st = (model / "config.json").stat()
    assert metadata == {"name": "config.json", "mode": st.st_mode & 0o777, "uid": st.st_uid,
                        "gid": st.st_gid, "size": st.st_size,
                        "mtime": "2023-11-14T22:13:20.12Z", "typeflag": 0}
    assert " " not in metadata_text  # Go's json.Marshal is compact
    assert files["extra/notes.txt"][export.FILE_METADATA].startswith('{"name":"notes.txt"')


def test_exported_descriptors_build_an_artifact_that_verifies(signed: Path, tmp_path: Path,
                                                              run: Run,
                                                              keys: tuple[Path, Path]) -> None:
    code, out, err = run("export", "--format", "oci-descriptors", signed)
    assert code == 0, err
    layers = json.loads(out)["layers"]
    kinds = {layer["annotations"][export.FILEPATH]: layer["mediaType"] for layer in layers}
    assert kinds["model.safetensors"] == "application/vnd.cncf.model.weight.v1.raw"
    assert kinds["config.json"] == "application/vnd.cncf.model.weight.config.v1.raw"
    assert kinds["README.md"] == "application/vnd.cncf.model.doc.v1.raw"
    layout = tmp_path / "packaged"
    for layer in layers:  # a packaging tool: raw blobs are the files, digests as exported
        data = (signed / layer["annotations"][export.FILEPATH]).read_bytes()
        assert put_blob(layout / "blobs", data) == layer["digest"]
        assert layer["size"] == len(data)
    config = b"{}"
    manifest = json.dumps({"schemaVersion": 2,
                           "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "artifactType": oci.MODEL_ARTIFACT_TYPE,
                           "config": {"mediaType": oci.MODEL_CONFIG_TYPE, "size": 2,
                                      "digest": put_blob(layout / "blobs", config)},
                           "layers": layers}).encode()
    digest = put_blob(layout / "blobs", manifest)
    (layout / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [
        {"mediaType": oci.MANIFEST_MEDIA_TYPE, "digest": digest, "size": len(manifest)}]}))
    code, _, err = verify(run, keys, "--oci-layout", layout, "--signature", signed / "model.sig")
    assert code == 0, err


def test_export_needs_a_path_and_store_options_exclude_paths(signed: Path, run: Run,
                                                             keys: tuple[Path, Path]) -> None:
    assert run("export", "--format", "oci-descriptors")[0] == 2
    code, _, err = verify(run, keys, signed, "--dmr", "ai/tiny")
    assert code == 2 and "not both" in err


def test_file_kinds_and_go_times() -> None:
    assert export.file_kind("weights/model-00001-of-00002.safetensors") == ("weight", False)
    assert export.file_kind("tokenizer_config.json") == ("weight.config", False)
    assert export.file_kind("LICENSE") == ("doc", False)
    assert export.file_kind("modeling_tiny.py") == ("code", False)
    assert export.file_kind("train.parquet") == ("dataset", False)
    assert export.file_kind("mystery.xyz") == ("doc", True)
    assert export.go_time(1_700_000_000_000_000_000) == "2023-11-14T22:13:20Z"
    assert export.go_time(1_700_000_000_000_000_001) == "2023-11-14T22:13:20.000000001Z"


# --- names and references ---------------------------------------------------------------------


def test_reference_parsers(tmp_path: Path) -> None:
    assert oci.Reference.parse("/tmp/x:v1") == oci.Reference(Path("/tmp/x"), "v1")
    assert oci.Reference.parse("layout") == oci.Reference(Path("layout"), None)
    odd = tmp_path / "odd:name"
    odd.mkdir()
    assert oci.Reference.parse(str(odd)) == oci.Reference(odd, None)
    assert dmr.normalize_reference("ai/smollm2") == "ai/smollm2:latest"
    assert dmr.normalize_reference("index.docker.io/ai/smollm2:360M") == "ai/smollm2:360M"
    assert dmr.normalize_reference("localhost:5000/m") == "localhost:5000/m:latest"
    assert ollama.ModelName.parse("llama3.2") == ollama.ModelName(
        "registry.ollama.ai", "library", "llama3.2", "latest")
    assert ollama.ModelName.parse("hf.co/org/model:Q4_K_M") == ollama.ModelName(
        "hf.co", "org", "model", "Q4_K_M")
    with pytest.raises(StoreNotFound):
        ollama.ModelName.parse("a/b/c/d")
    assert hfcache.parse_reference("org/name@v1.0") == ("org/name", "v1.0")
    with pytest.raises(StoreNotFound):
        hfcache.parse_reference("../etc")


def test_hf_cache_root_follows_the_hub_environment(monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:
    for variable in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HOME"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert hfcache.cache_root() == tmp_path / "huggingface" / "hub"
    monkeypatch.setenv("HF_HOME", str(tmp_path / "home"))
    assert hfcache.cache_root() == tmp_path / "home" / "hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    assert hfcache.cache_root() == tmp_path / "hub"


def test_store_roots_default_to_the_tools_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MODELS_PATH", raising=False)
    monkeypatch.delenv("OLLAMA_MODELS", raising=False)
    assert dmr.store_root() == Path("~/.docker/models").expanduser()
    assert ollama.store_root() == Path("~/.ollama/models").expanduser()


def test_store_code_is_not_imported_by_check(tmp_path: Path) -> None:
    import subprocess
    import sys

    model = make_model(tmp_path / "m")
    code = ("import sys\nfrom modelseal.cli import main\nmain(['check', sys.argv[1]])\n"
            "print(sorted(m for m in sys.modules if m.startswith('modelseal.stores')))")
    result = subprocess.run([sys.executable, "-c", code, str(model)], capture_output=True,
                            text=True, timeout=120)
    assert result.stdout.strip().endswith("[]"), result.stdout + result.stderr
    shutil.rmtree(model)
