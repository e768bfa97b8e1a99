"""How to verify: `VerifyOptions`, and `FileSource` for models that are not a directory."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from modelseal.manifest import Manifest, ManifestDiff
from modelseal.policy import Policy


@dataclass(frozen=True)
class VerifyOptions:
    """How to verify: the policy, and where and how to look.

    ``signature`` overrides the bundle path (one model only); ``ignore`` adds paths
    to skip; ``ignore_unsigned_files`` checks only the files the signature lists;
    ``offline``/``trust_config`` choose the Sigstore trusted root; ``allow_unsigned``
    lets a model with no signature at all count as `ok` (never under a strict policy).
    """

    policy: Policy = field(default_factory=Policy)
    signature: Path | None = None
    ignore: tuple[str, ...] = ()
    ignore_unsigned_files: bool = False
    offline: bool = False
    trust_config: Path | None = None
    progress: bool | None = None
    allow_unsigned: bool = False


class FileSource(Protocol):
    """A model whose files are not a plain directory (see stores/): it re-hashes itself."""

    def check_files(self, signed: Manifest, options: VerifyOptions) -> ManifestDiff: ...
