"""Descriptions of a model for packaging tools and runtimes.

`cncf_annotations` gives each file the three ModelPack layer annotations (file path,
file metadata as modctl writes it, media-type-untested flag); `oci_descriptors` adds
the media type, digest and size, so a tool can build a ModelPack artifact whose raw
layers verify against our signature (a raw layer's digest is the file's SHA-256, the
OMS per-file digest). `signature_info` is the `SignatureInfo` object runtimes such as
Ollama record for a signed manifest.
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from fnmatch import fnmatch
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from modelseal.walk import FileEntry

if TYPE_CHECKING:
    from modelseal.verifying import SignatureInfo

FILEPATH = "org.cncf.model.filepath"
FILE_METADATA = "org.cncf.model.file.metadata+json"
UNTESTED = "org.cncf.model.file.mediatype.untested"
MEDIA_TYPE = "application/vnd.cncf.model.{kind}.v1.raw"
WEIGHT, WEIGHT_CONFIG, DOC, CODE, DATASET = "weight", "weight.config", "doc", "code", "dataset"
TYPEFLAG_REGULAR = 0  # modctl writes 0 for a regular file (not tar's '0', i.e. 48)

# (kind, glob patterns on the file's base name), first match wins.
_KINDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (WEIGHT, ("*.safetensors", "*.gguf", "*.bin", "*.pt", "*.pth", "*.ckpt", "*.onnx", "*.h5",
              "*.msgpack", "*.pb", "*.tflite", "*.npz", "*.pkl", "*.ggml", "*.mlmodel",
              "*.mmproj", "*.dduf", "*.keras", "*.engine", "*.plan", "*.ot")),
    (WEIGHT_CONFIG, ("config.json", "*config.json", "tokenizer*", "vocab*", "merges.txt",
                     "special_tokens_map.json", "added_tokens.json", "*.tiktoken",
                     "*.jinja", "chat_template*", "*.model", "model.safetensors.index.json",
                     "*.index.json", "params.json", "*.yaml", "*.yml")),
    (DOC, ("README*", "LICENSE*", "LICENCE*", "NOTICE*", "USE_POLICY*", "*.md", "*.txt",
           "*.pdf", "*.rst", "*.html", "*.png", "*.jpg", "*.jpeg", "*.gif", "*.svg")),
    (CODE, ("*.py", "*.sh", "*.ipynb", "*.js", "*.ts", "*.c", "*.cc", "*.cpp", "*.h", "*.cu",
            "*.go", "*.rs", "*.java", "*.rb", "*.lua", "Dockerfile", "Makefile", "*.toml",
            "requirements*.txt")),
    (DATASET, ("*.csv", "*.tsv", "*.parquet", "*.jsonl", "*.arrow", "*.tfrecord", "*.avro")),
)
_EMPTY_FRACTION = re.compile(r"\.?0+$")


def file_kind(name: str) -> tuple[str, bool]:
    """(kind, untested): the ModelPack layer kind for a path; unknown files are `doc`."""
    base = PurePosixPath(name).name
    for kind, patterns in _KINDS:
        if any(fnmatch(base, pattern) for pattern in patterns):
            return kind, False
    return DOC, True


def media_type(name: str) -> str:
    return MEDIA_TYPE.format(kind=file_kind(name)[0])


def go_time(mtime_ns: int) -> str:
    """A time as Go's `time.Time` marshals to JSON (RFC 3339, trailing zeros dropped), UTC."""
    seconds, nanos = divmod(mtime_ns, 1_000_000_000)
    base = datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    fraction = _EMPTY_FRACTION.sub("", f".{nanos:09d}") if nanos else ""
    return f"{base}{fraction}Z"


def file_metadata(entry: FileEntry) -> str:
    """The `org.cncf.model.file.metadata+json` value, field for field as modctl writes it."""
    st = os.stat(entry.path)
    metadata = {
        "name": (PurePosixPath(entry.name).name if entry.name != "."
                 else os.path.basename(entry.path)),
        "mode": stat.S_IMODE(st.st_mode),
        "uid": st.st_uid,
        "gid": st.st_gid,
        "size": st.st_size,
        "mtime": go_time(st.st_mtime_ns),
        "typeflag": TYPEFLAG_REGULAR,
    }
    return json.dumps(metadata, separators=(",", ":"), ensure_ascii=False)


def layer_annotations(entry: FileEntry, filepath: str) -> dict[str, str]:
    """The three ModelPack annotations for one file."""
    _, untested = file_kind(filepath)
    return {FILEPATH: filepath, FILE_METADATA: file_metadata(entry),
            UNTESTED: "true" if untested else "false"}


def cncf_annotations(entries: Sequence[FileEntry]) -> list[dict[str, Any]]:
    """One ``{"filepath", "annotations"}`` object per file, in manifest order."""
    return [{"filepath": _filepath(e), "annotations": layer_annotations(e, _filepath(e))}
            for e in entries]


def oci_descriptors(entries: Sequence[FileEntry],
                    digests: Mapping[str, str]) -> list[dict[str, Any]]:
    """An OCI descriptor per file: raw ModelPack media type, digest, size, annotations."""
    return [{"mediaType": media_type(_filepath(e)), "digest": digests[e.name], "size": e.size,
             "annotations": layer_annotations(e, _filepath(e))} for e in entries]


def _filepath(entry: FileEntry) -> str:
    return os.path.basename(entry.path) if entry.name == "." else entry.name


def signature_info(info: SignatureInfo) -> dict[str, Any]:
    """`SignatureInfo` as runtimes record it: format, signatureUri, verified, signer, signedAt."""
    from modelseal.signer import format_time

    data: dict[str, Any] = {"format": info.format, "signatureUri": info.signature_uri,
                            "verified": info.verified}
    if info.signer:
        data["signer"] = info.signer
    if info.signed_at is not None:
        data["signedAt"] = format_time(info.signed_at)
    return data
