"""Issue 12, classes 4, 9 and 11: verify looks at exactly what the signature lists.

4: only the signature's ``ignore_paths`` and the user's ``--ignore`` are skipped (no
   implicit `.git*`, `model.sig`, `model.manifest.json` or `.cache/huggingface/`), and
   the serialization the signature records beats the (untrusted) config.
9: files the signature does not list are reported as added without being read, and a
   recorded shard size cannot make verification allocate or loop without bound.
11: an OCI layer that maps to a model file is checked by content whatever its media
   type claims.

Signatures are real: made by the reference `model-signing` package, by our `sign`, or
signed with a real key over a statement this file writes (for hostile settings).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import resource
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from modelseal.config import HashOptions
from modelseal.engine import refresh_target
from modelseal.policy import Policy
from modelseal.signing import KeySigner, prepare, sign_models, write_signed
from modelseal.targets import ModelTarget
from modelseal.verifying import STATUS_FAILED, STATUS_VERIFIED, VerifyOptions, verify_target
from tests.conftest import EXAMPLE_MODEL
from tests.signing_support import key_signed_bundle, run_cli, write_public_key
from tests.store_builders import (
    BUNDLE_MEDIA_TYPE,
    build_dmr_store,
    build_hf_cache,
    build_oci_layout,
    put_blob,
)

EXAMPLE = EXAMPLE_MODEL
REFERENCE_CLI = Path(sys.executable).with_name("model_signing")
BIG = 256 * 1024 * 1024  # sparse: costs no disk, but reading it costs 256 MiB of reads
READ_ALLOWANCE = 8 * 1024 * 1024


# --- helpers -------------------------------------------------------------------------------


class KeySigned:
    """A copy of the example model, signed by our `sign` with a fresh P-256 key."""

    def __init__(self, tmp_path: Path) -> None:
        self.root = tmp_path / "model"
        shutil.copytree(EXAMPLE, self.root)
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.public = write_public_key(tmp_path / "signer.pub", self.key)
        target = ModelTarget(self.root, HashOptions())
        refresh_target(target)
        model = prepare(target)
        write_signed(model, sign_models([model], KeySigner(self.key))[0])

    def verify_cli(self, capsys: Any, *extra: str) -> tuple[int, dict[str, Any], str]:
        code, out, err = run_cli(["verify", str(self.root), "--key", str(self.public),
                                  "--format", "json", *extra], capsys)
        return code, json.loads(out)["models"][0], err


@pytest.fixture
def key_signed(tmp_path: Path) -> KeySigned:
    return KeySigned(tmp_path)


def added(result: dict[str, Any]) -> list[str]:
    return [item["path"] for item in (result["diff"] or {}).get("added", [])]


def statement(name: str, serialization: dict[str, Any],
              resources: list[dict[str, str]]) -> bytes:
    """An OMS statement with any (possibly hostile) serialization, subject digest right."""
    root = hashlib.sha256()
    for item in resources:
        root.update(bytes.fromhex(item["digest"]))
    return json.dumps({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": name, "digest": {"sha256": root.hexdigest()}}],
        "predicateType": "https://model_signing/signature/v1.0",
        "predicate": {"serialization": serialization, "resources": resources},
    }).encode()


def sparse_file(path: Path, size: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as stream:
        stream.truncate(size)
    return path


def bytes_read_by_this_process() -> int:
    """`rchar` of /proc/self/io: every byte any thread of this process got from read()."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise AssertionError("no rchar in /proc/self/io")


@contextmanager
def counting_reads() -> Iterator[list[int]]:
    box: list[int] = []
    before = bytes_read_by_this_process()
    yield box
    box.append(bytes_read_by_this_process() - before)


needs_proc_io = pytest.mark.skipif(not Path("/proc/self/io").exists(),
                                   reason="needs Linux /proc/self/io to count bytes read")


def run_bounded(args: list[str], cwd: Path, *, memory: int = 1 << 30,
                timeout: float = 120) -> tuple[subprocess.CompletedProcess[str], int]:
    """The CLI in a child limited to ``memory`` bytes of address space.

    Returns the process and its peak resident memory in bytes (the child prints it).
    """
    script = ("import resource, sys\n"
              "from modelseal.cli import main\n"
              "code = main(sys.argv[1:])\n"
              "print('maxrss', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,"
              " file=sys.stderr)\n"
              "sys.exit(code)\n")

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    # few malloc arenas: on a many-core machine each thread's arena reserves address space
    env = {**os.environ, "MALLOC_ARENA_MAX": "2"}
    process = subprocess.run([sys.executable, "-c", script, *args], cwd=cwd, text=True,
                             capture_output=True, timeout=timeout, preexec_fn=limit, env=env)
    rss = [line for line in process.stderr.splitlines() if line.startswith("maxrss ")]
    return process, int(rss[-1].split()[1]) * 1024 if rss else -1


# --- class 4: skip exactly what the signature records -------------------------------------

UNRECORDED = ["model.manifest.json", ".gitattributes", ".gitignore", ".git/config",
              ".github/workflows/ci.yml", "model.sig", ".cache/huggingface/download/x.metadata"]


@pytest.mark.parametrize("name", UNRECORDED)
def test_trust_files_a_reference_signature_does_not_skip_are_added(
        oms_fixtures: Path, tmp_path: Path, name: str, capsys: Any) -> None:
    model_signing = pytest.importorskip("model_signing")
    model = tmp_path / "model"
    shutil.copytree(EXAMPLE, model)
    signature = tmp_path / "ref.sig"
    hashing = model_signing.hashing.Config().set_ignored_paths(paths=[], ignore_git_paths=False)
    signing = model_signing.signing.Config().set_hashing_config(hashing)
    signing.use_elliptic_key_signer(private_key=oms_fixtures / "keys/certificate/signing-key.pem")
    signing.sign(model, signature)
    public = oms_fixtures / "keys/certificate/signing-key-pub.pem"
    args = ["verify", str(model), "--signature", str(signature), "--key", str(public),
            "--format", "json"]
    code, out, err = run_cli(args, capsys)
    assert code == 0, err
    planted = model / name
    planted.parent.mkdir(parents=True, exist_ok=True)
    planted.write_text("import os  # not signed\n")
    code, out, err = run_cli(args, capsys)
    result = json.loads(out)["models"][0]
    assert code == 1, out
    assert result["ok"] is False and result["failed_check"] == "files"
    assert added(result) == [name]


def test_trust_the_reference_cli_records_its_ignores_and_only_those_are_skipped(
        oms_fixtures: Path, tmp_path: Path, capsys: Any) -> None:
    model = tmp_path / "model"
    shutil.copytree(EXAMPLE, model)
    result = subprocess.run(
        [str(REFERENCE_CLI), "sign", "key", str(model), "--signature", str(model / "model.sig"),
         "--private_key", str(oms_fixtures / "keys/certificate/signing-key.pem")],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    # the reference records model.sig and the git paths; they stay skipped
    (model / ".gitattributes").write_text("*.safetensors filter=lfs\n")
    public = oms_fixtures / "keys/certificate/signing-key-pub.pem"
    args = ["verify", str(model), "--key", str(public), "--format", "json"]
    code, out, err = run_cli(args, capsys)
    assert code == 0, err + out
    # it does not record our manifest file: a file of that name is a new file
    (model / "model.manifest.json").write_text("{}\n")
    code, out, _ = run_cli(args, capsys)
    assert code == 1
    assert added(json.loads(out)["models"][0]) == ["model.manifest.json"]


def test_trust_hf_local_dir_bookkeeping_is_skipped_only_when_asked(
        key_signed: KeySigned, capsys: Any) -> None:
    metadata = key_signed.root / ".cache" / "huggingface" / "download" / "config.json.metadata"
    metadata.parent.mkdir(parents=True)
    metadata.write_text("0123abcd\nabc\n1700000000.0\n")
    code, result, _ = key_signed.verify_cli(capsys)
    assert code == 1
    assert added(result) == [".cache/huggingface/download/config.json.metadata"]
    code, result, err = key_signed.verify_cli(capsys, "--ignore", ".cache/huggingface")
    assert code == 0, err
    assert result["status"] == STATUS_VERIFIED


def test_trust_hf_cache_mode_skips_the_hub_bookkeeping_and_nothing_else(
        key_signed: KeySigned, tmp_path: Path, capsys: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    repo = build_hf_cache(key_signed.root, tmp_path / "hub")
    snapshot = next((repo / "snapshots").iterdir())
    bookkeeping = snapshot / ".cache" / "huggingface" / "download" / "x.metadata"
    bookkeeping.parent.mkdir(parents=True)
    bookkeeping.write_text("0123abcd\n")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    args = ["verify", "--hf-cache", "acme/tiny", "--signature", str(key_signed.root / "model.sig"),
            "--key", str(key_signed.public), "--format", "json"]
    code, out, err = run_cli(args, capsys)
    assert code == 0, err + out
    (snapshot / ".cache" / "loader.py").write_text("import os\n")
    code, out, _ = run_cli(args, capsys)
    assert code == 1
    assert added(json.loads(out)["models"][0]) == [".cache/loader.py"]


def test_trust_our_bundles_record_our_own_files_so_round_trips_pass(
        key_signed: KeySigned, capsys: Any) -> None:
    (key_signed.root / ".git").mkdir()
    (key_signed.root / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    code, _, err = key_signed.verify_cli(capsys)
    assert code == 0, err
    recorded = json.loads(base64.b64decode(json.loads(
        (key_signed.root / "model.sig").read_text())["dsseEnvelope"]["payload"]))
    ignored = recorded["predicate"]["serialization"]["ignore_paths"]
    assert {"model.sig", "model.manifest.json", ".git"} <= set(ignored)


def test_trust_recorded_serialization_beats_the_config(key_signed: KeySigned, tmp_path: Path,
                                                       capsys: Any) -> None:
    # The config beside the model is part of the tree under review: it asks for other
    # settings and for symlinks. A signed file swapped for a link to an identical copy
    # hidden under the (recorded) .git/ must still fail: the signature forbids links.
    (tmp_path / ".modelseal.yaml").write_text(
        "models:\n  - path: model\n    hash: blake2b\n    serialization: shards\n"
        "    shard_size: 7\n    allow_symlinks: true\n    ignore: [notes.txt]\n")
    root = key_signed.root
    (root / ".git").mkdir()
    shutil.copy(root / "config.json", root / ".git" / "config.json")
    (root / "config.json").unlink()
    (root / "config.json").symlink_to(Path(".git") / "config.json")
    code, result, _ = key_signed.verify_cli(capsys)
    assert code == 1
    assert result["failed_check"] == "files"
    assert "symlink" in result["message"]
    (root / "config.json").unlink()
    shutil.copy(root / ".git" / "config.json", root / "config.json")
    (root / "notes.txt").write_text("the config says to ignore me\n")
    code, result, _ = key_signed.verify_cli(capsys)
    assert code == 1
    assert added(result) == ["notes.txt"]
    (root / "notes.txt").unlink()
    code, result, err = key_signed.verify_cli(capsys)
    assert code == 0, err  # sha256 per file, as recorded, whatever the config says


# --- class 9: cost bounded by what the signature lists -------------------------------------


@needs_proc_io
def test_trust_an_unlisted_file_is_added_without_being_read(key_signed: KeySigned) -> None:
    sparse_file(key_signed.root / "big.bin", BIG)
    options = VerifyOptions(policy=Policy(keys=(key_signed.public,)), progress=False)
    with counting_reads() as read:
        result = verify_target(ModelTarget(key_signed.root, HashOptions()), options)
    assert result.status == STATUS_FAILED
    assert result.diff is not None and result.diff.added == ("big.bin",)
    assert read[0] < READ_ALLOWANCE, f"read {read[0]} bytes for a model of a few KiB"


def _shard_signed(tmp_path: Path, shard_size: int, data: bytes) -> tuple[Path, Path]:
    """A model of one file `w.bin`, signed in shards mode with ``shard_size``."""
    model = tmp_path / "model"
    model.mkdir()
    (model / "w.bin").write_bytes(data)
    resources = []
    for start in range(0, len(data), shard_size):
        end = min(start + shard_size, len(data))
        resources.append({"name": f"w.bin:{start}:{end}",
                          "algorithm": f"sha256-sharded-{shard_size}",
                          "digest": hashlib.sha256(data[start:end]).hexdigest()})
    serialization = {"method": "shards", "hash_type": "sha256", "allow_symlinks": False,
                     "shard_size": shard_size, "ignore_paths": ["model.sig"]}
    key = ec.generate_private_key(ec.SECP256R1())
    payload = statement("model", serialization, resources)
    (model / "model.sig").write_bytes(key_signed_bundle(key, payload))
    return model, write_public_key(tmp_path / "signer.pub", key)


def test_trust_shard_size_one_on_a_grown_file_stays_bounded(tmp_path: Path) -> None:
    model, public = _shard_signed(tmp_path, 1, b"abc")
    sparse_file(model / "w.bin", 16 * 1024 * 1024)  # 16 Mi one-byte shards if taken at face
    process, rss = run_bounded(["verify", str(model), "--key", str(public), "--format", "json"],
                               tmp_path)
    assert process.returncode == 1, process.stderr
    assert "Traceback" not in process.stderr
    result = json.loads(process.stdout)["models"][0]
    assert [m["path"] for m in result["diff"]["modified"]] == ["w.bin"]
    assert 0 < rss < 300 * 1024 * 1024


def test_trust_a_huge_recorded_shard_size_reads_in_fixed_chunks(tmp_path: Path) -> None:
    data = os.urandom(3 * 1024 * 1024)
    model, public = _shard_signed(tmp_path, 1 << 40, data)
    process, rss = run_bounded(["verify", str(model), "--key", str(public)], tmp_path)
    assert process.returncode == 0, process.stderr
    assert 0 < rss < 300 * 1024 * 1024
    with (model / "w.bin").open("r+b") as stream:
        stream.seek(len(data) - 1)
        stream.write(bytes([data[-1] ^ 1]))
    process, _ = run_bounded(["verify", str(model), "--key", str(public)], tmp_path)
    assert process.returncode == 1 and "w.bin" in process.stdout


def test_trust_an_absurd_shard_count_is_a_clean_error(tmp_path: Path) -> None:
    model = tmp_path / "model"
    sparse_file(model / "w.bin", 4 * 1024 * 1024)
    (tmp_path / ".modelseal.yaml").write_text(
        "models:\n  - path: model\n    serialization: shards\n    shard_size: 1\n")
    process, _ = run_bounded(["manifest", str(model)], tmp_path)
    assert process.returncode == 2, process.stderr
    lines = [line for line in process.stderr.splitlines() if not line.startswith("maxrss ")]
    assert len(lines) == 1 and lines[0].startswith("modelseal: error: ")
    assert "shards" in lines[0] and "w.bin" in lines[0]


# --- class 11: OCI layers are checked by content, whatever their media type ----------------


def _rewrite_layers(layout: Path, edit: Any) -> None:
    """Apply ``edit`` to the one manifest's layers, then re-address manifest and index."""
    index = json.loads((layout / "index.json").read_text())
    entry = index["manifests"][0]
    algorithm, hexdigest = entry["digest"].split(":")
    manifest = json.loads((layout / "blobs" / algorithm / hexdigest).read_bytes())
    edit(manifest["layers"])
    data = json.dumps(manifest, separators=(",", ":")).encode()
    entry["digest"], entry["size"] = put_blob(layout / "blobs", data), len(data)
    (layout / "index.json").write_text(json.dumps(index))


def _oci_verify(key_signed: KeySigned, layout: Path, capsys: Any) -> tuple[int, str, str]:
    return run_cli(["verify", "--oci-layout", str(layout), "--signature",
                    str(key_signed.root / "model.sig"), "--key", str(key_signed.public)], capsys)


MISLEADING_TYPES = ["application/vnd.oci.empty.v1+json", BUNDLE_MEDIA_TYPE,
                    "application/x-made-up-metadata"]


@pytest.mark.parametrize("media_type", MISLEADING_TYPES)
def test_trust_an_added_layer_is_a_file_whatever_its_media_type(
        key_signed: KeySigned, tmp_path: Path, media_type: str, capsys: Any) -> None:
    layout = build_oci_layout(key_signed.root, tmp_path / "layout")
    payload = b"import os; os.system('id')\n"

    def add(layers: list[dict[str, Any]]) -> None:
        layers.append({"mediaType": media_type, "digest": put_blob(layout / "blobs", payload),
                       "size": len(payload),
                       "annotations": {"org.cncf.model.filepath": "evil.py"}})

    _rewrite_layers(layout, add)
    code, out, err = _oci_verify(key_signed, layout, capsys)
    assert code == 1, err + out
    assert "added" in out and "evil.py" in out


@pytest.mark.parametrize("tampered", [False, True], ids=["same-bytes", "tampered"])
@pytest.mark.parametrize("media_type", MISLEADING_TYPES)
def test_trust_a_model_file_layer_with_a_misleading_type_is_checked_by_content(
        key_signed: KeySigned, tmp_path: Path, media_type: str, tampered: bool,
        capsys: Any) -> None:
    layout = build_oci_layout(key_signed.root, tmp_path / "layout")
    content = (key_signed.root / "config.json").read_bytes()
    if tampered:
        content = content.replace(b"tiny", b"evil")

    def retype(layers: list[dict[str, Any]]) -> None:
        for layer in layers:
            if layer["annotations"]["org.cncf.model.filepath"] == "config.json":
                layer["mediaType"] = media_type
                layer["digest"] = put_blob(layout / "blobs", content)
                layer["size"] = len(content)

    _rewrite_layers(layout, retype)
    code, out, err = _oci_verify(key_signed, layout, capsys)
    if tampered:
        assert code == 1, err + out
        assert "modified" in out and "config.json" in out
    else:
        assert code == 0, err + out


@needs_proc_io
def test_trust_an_unlisted_oci_layer_is_added_without_being_read(
        key_signed: KeySigned, tmp_path: Path, capsys: Any) -> None:
    layout = build_oci_layout(key_signed.root, tmp_path / "layout")
    fake = "ab" * 32
    sparse_file(layout / "blobs" / "sha256" / fake, BIG)

    def add(layers: list[dict[str, Any]]) -> None:
        layers.append({"mediaType": "application/vnd.cncf.model.weight.v1.raw",
                       "digest": f"sha256:{fake}", "size": BIG,
                       "annotations": {"org.cncf.model.filepath": "big.bin"}})

    _rewrite_layers(layout, add)
    with counting_reads() as read:
        code, out, err = _oci_verify(key_signed, layout, capsys)
    assert code == 1, err
    assert "added" in out and "big.bin" in out
    assert read[0] < READ_ALLOWANCE, f"read {read[0]} bytes"


def test_trust_a_dmr_layer_typed_empty_is_still_a_model_file(
        key_signed: KeySigned, tmp_path: Path, capsys: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    store = build_dmr_store(key_signed.root, tmp_path / "dmr")
    monkeypatch.setenv("MODELS_PATH", str(store))
    index = json.loads((store / "models.json").read_text())
    entry = index["models"][0]
    manifest = json.loads((store / "manifests" / "sha256" / entry["id"][7:]).read_bytes())
    payload = b"import os; os.system('id')\n"
    manifest["layers"].append({"mediaType": "application/vnd.oci.empty.v1+json",
                               "digest": put_blob(store / "blobs", payload),
                               "size": len(payload),
                               "annotations": {"org.cncf.model.filepath": "evil.py"}})
    entry["id"] = put_blob(store / "manifests", json.dumps(manifest).encode())
    (store / "models.json").write_text(json.dumps(index))
    code, out, err = run_cli(["verify", "--dmr", "ai/tiny", "--signature",
                              str(key_signed.root / "model.sig"), "--key",
                              str(key_signed.public)], capsys)
    assert code == 1, err + out
    assert "added" in out and "evil.py" in out


def test_trust_a_model_sig_layer_is_skipped_only_as_the_bundle_being_verified(
        oms_fixtures: Path, tmp_path: Path, capsys: Any) -> None:
    # A reference API signature records no ignore_paths; packaged with its model.sig as
    # an annotated layer, that layer supplies the bundle and is not a model file. The
    # same layer next to another --signature is a file the signature does not list.
    model_signing = pytest.importorskip("model_signing")
    model = tmp_path / "model"
    shutil.copytree(EXAMPLE, model)
    hashing = model_signing.hashing.Config().set_ignored_paths(paths=[], ignore_git_paths=False)
    signing = model_signing.signing.Config().set_hashing_config(hashing)
    signing.use_elliptic_key_signer(private_key=oms_fixtures / "keys/certificate/signing-key.pem")
    bundle = tmp_path / "ref.sig"
    signing.sign(model, bundle)
    layout = build_oci_layout(model, tmp_path / "layout")

    def add(layers: list[dict[str, Any]]) -> None:
        data = bundle.read_bytes()
        layers.append({"mediaType": "application/vnd.cncf.model.doc.v1.raw",
                       "digest": put_blob(layout / "blobs", data), "size": len(data),
                       "annotations": {"org.cncf.model.filepath": "model.sig"}})

    _rewrite_layers(layout, add)
    public = str(oms_fixtures / "keys/certificate/signing-key-pub.pem")
    code, out, err = run_cli(["verify", "--oci-layout", str(layout), "--key", public], capsys)
    assert code == 0, err + out
    copy = tmp_path / "copy.sig"
    shutil.copy(bundle, copy)
    code, out, err = run_cli(["verify", "--oci-layout", str(layout), "--signature", str(copy),
                              "--key", public], capsys)
    assert code == 1, err + out
    assert "added" in out and "model.sig" in out
