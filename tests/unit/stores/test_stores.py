"""Verifying signed models where pullers keep them: OCI layouts, DMR, HF cache, Ollama.

Each store is built from the real files of a signed directory (tests/store_builders.py)
and verified through the real CLI against that directory's signature.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from modelseal.stores import tarstream
from tests.store_builders import (
    OciOptions,
    blob_of,
    build_dmr_store,
    build_hf_cache,
    build_oci_layout,
    tar_bytes,
)
from tests.store_helpers import Run, flip_byte, verify
from tests.store_helpers import keys as keys  # fixtures
from tests.store_helpers import run as run
from tests.store_helpers import signed as signed

# --- OCI image layouts -------------------------------------------------------------------


def test_signed_directory_verifies_against_its_oci_layout(
        signed: Path, tmp_path: Path, run: Run, keys: tuple[Path, Path]) -> None:
    layout = build_oci_layout(signed, tmp_path / "layout")
    code, out, err = verify(run, keys, "--oci-layout", f"{layout}:v1",
                            "--signature", signed / "model.sig")
    assert code == 0, err
    assert "verified (6 files" in out


def test_tar_layers_and_an_embedded_signature_layer(signed: Path, tmp_path: Path, run: Run,
                                                    keys: tuple[Path, Path]) -> None:
    options = OciOptions(tar=["extra/notes.txt"], tar_gzip=["config.json"],
                         tar_zstd=["tokenizer.json"] if tarstream.zstd_available() else [],
                         signature=(signed / "model.sig").read_bytes())
    layout = build_oci_layout(signed, tmp_path / "layout", options)
    code, out, err = verify(run, keys, "--oci-layout", layout)  # one manifest: no tag needed
    assert code == 0, err + out


def test_legacy_cnai_annotations_still_map_files(signed: Path, tmp_path: Path, run: Run,
                                                 keys: tuple[Path, Path]) -> None:
    layout = build_oci_layout(signed, tmp_path / "layout", OciOptions(legacy_prefix=True))
    code, _, err = verify(run, keys, "--oci-layout", f"{layout}:v1",
                          "--signature", signed / "model.sig")
    assert code == 0, err


@pytest.mark.parametrize("name", ["model.safetensors", "config.json", "README.md",
                                  "extra/notes.txt"])
def test_a_flipped_byte_in_any_blob_fails_naming_the_file(signed: Path, tmp_path: Path,
                                                          run: Run, keys: tuple[Path, Path],
                                                          name: str) -> None:
    layout = build_oci_layout(signed, tmp_path / "layout")
    flip_byte(blob_of(layout, name))
    code, out, err = verify(run, keys, "--oci-layout", f"{layout}:v1",
                            "--signature", signed / "model.sig")
    assert code == 1
    assert "files differ from the signed manifest (1 file)" in err
    assert name in out


def test_a_flipped_byte_inside_a_tar_layer_names_the_member(signed: Path, tmp_path: Path,
                                                           run: Run,
                                                           keys: tuple[Path, Path]) -> None:
    layout = build_oci_layout(signed, tmp_path / "layout", OciOptions(tar=["extra/notes.txt"]))
    archive = tar_bytes(signed, ["extra/notes.txt"])
    blob = layout / "blobs" / "sha256" / hashlib.sha256(archive).hexdigest()
    flip_byte(blob, archive.index(b"nested file"))
    code, out, _ = verify(run, keys, "--oci-layout", layout, "--signature",
                          signed / "model.sig")
    assert code == 1
    assert "extra/notes.txt" in out


def test_a_corrupt_gzip_layer_fails(signed: Path, tmp_path: Path, run: Run,
                                                     keys: tuple[Path, Path]) -> None:
    layout = build_oci_layout(signed, tmp_path / "layout", OciOptions(tar_gzip=["config.json"]))
    archive = tar_bytes(signed, ["config.json"], "gzip")
    blob = layout / "blobs" / "sha256" / hashlib.sha256(archive).hexdigest()
    flip_byte(blob, 20)
    code, out, err = verify(run, keys, "--oci-layout", layout, "--signature", signed / "model.sig")
    assert code == 1
    assert "config.json" in out + err
    blob.write_bytes(archive[: len(archive) // 2])
    code, _, err = verify(run, keys, "--oci-layout", layout, "--signature", signed / "model.sig")
    assert code == 1
    assert "(config.json)" in err and "corrupt or truncated" in err


def test_a_missing_blob_fails_naming_the_file(signed: Path, tmp_path: Path, run: Run,
                                              keys: tuple[Path, Path]) -> None:
    layout = build_oci_layout(signed, tmp_path / "layout")
    blob_of(layout, "tokenizer.json").unlink()
    code, _, err = verify(run, keys, "--oci-layout", layout, "--signature", signed / "model.sig")
    assert code == 1
    assert "(tokenizer.json)" in err and "missing" in err


@pytest.mark.parametrize(("filepath", "problem"), [
    ("../../x", "'..' component"),
    ("/etc/passwd", "absolute path"),
    ("config.json", "more than one layer"),
    ("a\\b", "backslash"),
])
def test_unsafe_or_duplicate_filepath_annotations_are_rejected(
        signed: Path, tmp_path: Path, run: Run, keys: tuple[Path, Path], filepath: str,
        problem: str) -> None:
    options = OciOptions(annotations={"README.md": {"org.cncf.model.filepath": filepath}})
    layout = build_oci_layout(signed, tmp_path / "layout", options)
    code, _, err = verify(run, keys, "--oci-layout", layout, "--signature", signed / "model.sig")
    assert code == 1
    assert problem in err


def test_an_index_with_two_manifests_and_no_tag_asks_for_a_tag(signed: Path, tmp_path: Path,
                                                               run: Run,
                                                               keys: tuple[Path, Path]) -> None:
    layout = build_oci_layout(signed, tmp_path / "layout", more_tags=["v2"])
    code, _, err = verify(run, keys, "--oci-layout", layout, "--signature", signed / "model.sig")
    assert code == 2
    assert "holds 2 manifests; name one with DIR:TAG (tags: v1, v2)" in err
    code, _, err = verify(run, keys, "--oci-layout", f"{layout}:v2",
                          "--signature", signed / "model.sig")
    assert code == 0, err
    code, _, err = verify(run, keys, "--oci-layout", f"{layout}:v3",
                          "--signature", signed / "model.sig")
    assert code == 2 and "tag 'v3' is not in the index" in err


def test_zstd_layers_need_a_decoder(signed: Path, tmp_path: Path, run: Run,
                                    keys: tuple[Path, Path],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("zstandard")
    layout = build_oci_layout(signed, tmp_path / "layout", OciOptions(tar_zstd=["config.json"]))
    monkeypatch.setattr(tarstream, "_zstd_module", lambda: None)
    code, _, err = verify(run, keys, "--oci-layout", layout, "--signature", signed / "model.sig")
    assert code == 1
    assert "tar+zstd, and this Python has no zstd decoder" in err


def test_links_inside_a_tar_layer_are_refused(signed: Path, tmp_path: Path, run: Run,
                                              keys: tuple[Path, Path]) -> None:
    (signed / "extra" / "link").symlink_to("/etc/passwd")
    layout = build_oci_layout(signed, tmp_path / "layout", OciOptions(tar=["extra/link"]))
    code, _, err = verify(run, keys, "--oci-layout", layout, "--signature", signed / "model.sig")
    assert code == 1
    assert "'extra/link' is a symlink" in err


def test_oversized_and_deeply_nested_index_json_is_refused(signed: Path, tmp_path: Path,
                                                           run: Run,
                                                           keys: tuple[Path, Path]) -> None:
    layout = build_oci_layout(signed, tmp_path / "layout")
    (layout / "index.json").write_text("[" * 10_000 + "]" * 10_000)
    code, _, err = verify(run, keys, "--oci-layout", layout, "--signature", signed / "model.sig")
    assert code == 1 and "nests deeper" in err
    (layout / "index.json").write_bytes(b" " * (5 * 1024 * 1024))
    code, _, err = verify(run, keys, "--oci-layout", layout, "--signature", signed / "model.sig")
    assert code == 1 and "refusing to parse it" in err


def test_a_single_file_signature_verifies_a_one_layer_artifact(tmp_path: Path, run: Run,
                                                               keys: tuple[Path, Path]) -> None:
    model = tmp_path / "single"
    model.mkdir()
    weights = model / "model.gguf"
    weights.write_bytes(os.urandom(4096))
    code, _, err = run("sign", weights, "--method", "key", "--key", keys[0], "--update-manifest")
    assert code == 0, err
    source = tmp_path / "only"
    source.mkdir()
    shutil.copy(weights, source / "model.gguf")
    layout = build_oci_layout(source, tmp_path / "layout")
    code, _, err = verify(run, keys, "--oci-layout", layout, "--signature",
                          model / "model.gguf.sig")
    assert code == 0, err


def test_oras_reads_the_layouts_we_build(signed: Path, tmp_path: Path) -> None:
    layout_module = pytest.importorskip("oras.layout")
    layout = build_oci_layout(signed, tmp_path / "layout", OciOptions(tar=["extra/notes.txt"]))
    oras_layout = layout_module.Layout(str(layout))  # validates oci-layout, index, blobs
    blobs = oras_layout.get_ordered_blobs(tag="v1")
    assert blob_of(layout, "config.json").name in {d.split(":")[1] for d in blobs}
    assert all(oras_layout.blob_exists(digest) for digest in blobs)


@pytest.mark.skipif(shutil.which("skopeo") is None, reason="skopeo is not installed")
def test_a_layout_written_by_skopeo_verifies(signed: Path, tmp_path: Path, run: Run,
                                             keys: tuple[Path, Path]) -> None:
    source = build_oci_layout(signed, tmp_path / "layout", OciOptions(tar=["extra/notes.txt"]))
    copy = tmp_path / "copy"
    for tag in ("copied", "second"):
        subprocess.run(["skopeo", "copy", "--quiet", f"oci:{source}:v1", f"oci:{copy}:{tag}"],
                       check=True, capture_output=True, timeout=120)
    code, _, err = verify(run, keys, "--oci-layout", copy, "--signature", signed / "model.sig")
    assert code == 2 and "name one with DIR:TAG (tags: copied, second)" in err
    code, _, err = verify(run, keys, "--oci-layout", f"{copy}:copied",
                          "--signature", signed / "model.sig")
    assert code == 0, err


# --- Docker Model Runner -----------------------------------------------------------------


def test_signed_directory_verifies_against_its_dmr_copy(signed: Path, tmp_path: Path, run: Run,
                                                        keys: tuple[Path, Path],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    store = build_dmr_store(signed, tmp_path / "models")
    monkeypatch.setenv("MODELS_PATH", str(store))
    for reference in ("ai/tiny", "ai/tiny:latest", "docker.io/ai/tiny:latest"):
        code, _, err = verify(run, keys, "--dmr", reference, "--signature", signed / "model.sig")
        assert code == 0, err
    manifest_id = json.loads((store / "models.json").read_text())["models"][0]["id"]
    blob = store / "blobs" / "sha256" / hashlib.sha256(
        (signed / "README.md").read_bytes()).hexdigest()
    flip_byte(blob)
    code, out, _ = verify(run, keys, "--dmr", manifest_id, "--signature", signed / "model.sig")
    assert code == 1 and "README.md" in out
    code, _, err = verify(run, keys, "--dmr", "ai/other", "--signature", signed / "model.sig")
    assert code == 2 and "no model tagged ai/other:latest" in err


def test_dmr_layers_without_annotations_use_dmr_bundle_names(tmp_path: Path, run: Run,
                                                             keys: tuple[Path, Path],
                                                             monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    model = tmp_path / "gguf-model"
    model.mkdir()
    (model / "model.gguf").write_bytes(b"GGUF" + os.urandom(2048))
    (model / "template.jinja").write_text("{{ messages }}")
    code, _, err = run("sign", model, "--method", "key", "--key", keys[0], "--update-manifest")
    assert code == 0, err
    monkeypatch.setenv("MODELS_PATH", str(build_dmr_store(model, tmp_path / "m", annotate=False)))
    code, _, err = verify(run, keys, "--dmr", "ai/tiny", "--signature", model / "model.sig")
    assert code == 0, err


# --- Hugging Face cache ------------------------------------------------------------------


def test_signed_directory_verifies_against_its_hf_cache_copy(
        signed: Path, tmp_path: Path, run: Run, keys: tuple[Path, Path],
        monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "hub"
    repo = build_hf_cache(signed, cache)
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    commit = (repo / "refs" / "main").read_text()
    for reference in ("acme/tiny", "acme/tiny@main", f"acme/tiny@{commit}"):
        code, _, err = verify(run, keys, "--hf-cache", reference, "--signature",
                              signed / "model.sig")
        assert code == 0, err
    code, _, err = verify(run, keys, "--hf-cache", "acme/tiny@v9", "--signature",
                          signed / "model.sig")
    assert code == 2 and "no ref 'v9'" in err


def test_huggingface_hub_recognizes_the_cache_we_build(signed: Path, tmp_path: Path) -> None:
    hub = pytest.importorskip("huggingface_hub")
    repo = build_hf_cache(signed, tmp_path / "hub")
    info = hub.scan_cache_dir(tmp_path / "hub")
    assert not info.warnings
    (cached,) = info.repos
    assert cached.repo_id == "acme/tiny" and cached.repo_type == "model"
    (revision,) = cached.revisions
    assert revision.refs == frozenset({"main"})
    assert revision.commit_hash == (repo / "refs" / "main").read_text()
    names = {f.file_path.relative_to(revision.snapshot_path).as_posix() for f in revision.files}
    assert names == {"model.safetensors", "config.json", "tokenizer.json", "README.md",
                     "extra/notes.txt", "extra/empty.txt"}
    big = next(f for f in revision.files if f.file_name == "model.safetensors")
    assert big.blob_path.name == hashlib.sha256(big.blob_path.read_bytes()).hexdigest()
    small = next(f for f in revision.files if f.file_name == "config.json")
    assert len(small.blob_path.name) == 40  # git blob SHA-1


@pytest.mark.parametrize("where", ["outside", "other-repo"])
def test_hf_snapshot_symlink_leading_outside_the_repo_blobs_is_rejected(
        signed: Path, tmp_path: Path, run: Run, keys: tuple[Path, Path],
        monkeypatch: pytest.MonkeyPatch, where: str) -> None:
    cache = tmp_path / "hub"
    repo = build_hf_cache(signed, cache)
    other = build_hf_cache(signed, cache, repo_id="acme/other")
    target = tmp_path / "secret.txt"
    target.write_text("not part of the model")
    if where == "other-repo":
        target = next((other / "blobs").iterdir())
    link = next((repo / "snapshots").iterdir()) / "README.md"
    link.unlink()
    link.symlink_to(os.path.relpath(target, link.parent))
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    code, _, err = verify(run, keys, "--hf-cache", "acme/tiny", "--signature",
                          signed / "model.sig")
    assert code == 1
    assert "README.md is a symlink to" in err and "outside this repo's blobs/" in err


def test_a_flipped_byte_in_an_hf_blob_fails_naming_the_file(
        signed: Path, tmp_path: Path, run: Run, keys: tuple[Path, Path],
        monkeypatch: pytest.MonkeyPatch) -> None:
    repo = build_hf_cache(signed, tmp_path / "hub")
    snapshot = next((repo / "snapshots").iterdir())
    flip_byte((snapshot / "model.safetensors").resolve(), 1000)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    code, out, _ = verify(run, keys, "--hf-cache", "acme/tiny", "--signature",
                          signed / "model.sig")
    assert code == 1 and "model.safetensors" in out


def test_hf_local_dir_folder_skips_its_cache_folder_only_when_asked(
        signed: Path, run: Run, keys: tuple[Path, Path]) -> None:
    # a plain folder is judged by the signature: its recorded ignores and --ignore only
    metadata = signed / ".cache" / "huggingface" / "download"
    metadata.mkdir(parents=True)
    (metadata.parent / ".gitignore").write_text("*\n")
    (metadata / "config.json.metadata").write_text("0123abcd\nabc\n1700000000.0\n")
    code, out, _ = verify(run, keys, signed)
    assert code == 1 and "added     .cache/huggingface/download/config.json.metadata" in out
    code, out, err = verify(run, keys, signed, "--ignore", ".cache/huggingface")
    assert code == 0, err + out
