"""The model stores modelseal reads: the single list the store options are built from.

Each `StoreKind` names a store, the option that selects it (`verify --NAME SPEC`, and
`sign --NAME SPEC` for a store whose kind has ``sign_help``), the option's metavar and
help, and the function that opens a model in it, as ``module:function``. The
function takes the option's text and returns a `source.StoreModel`; its module is
imported only when a store is opened, so building the parser loads no store code.

Adding a store: write ``stores/NAME.py`` with that function and add one `StoreKind`
line to `STORES`. Registry models (``oci://``, ``ollama://``) are not stores here: they
are PATHs, parsed by `stores.ociref`, because their grammar is the distribution spec's.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from modelseal.stores.source import StoreModel


@dataclass(frozen=True)
class StoreKind:
    """One store: ``--NAME METAVAR`` selects a model in it, ``opener`` reads it;
    ``sign_help``, when set, adds ``sign --NAME`` (a signature written beside the store)."""

    name: str
    title: str  # what to call the store in a sentence
    metavar: str
    help: str
    opener: str  # "package.module:function": (option text) -> StoreModel
    sign_help: str | None = None

    @property
    def option(self) -> str:
        return f"--{self.name}"

    @property
    def dest(self) -> str:
        """The argparse attribute the option is stored in."""
        return self.name.replace("-", "_")

    def open(self, spec: str) -> StoreModel:
        """The model ``spec`` names in this store (its module imported now)."""
        module_name, _, function = self.opener.partition(":")
        module = importlib.import_module(module_name)
        opener: Callable[[str], StoreModel] = getattr(module, function)
        return opener(spec)


STORES: tuple[StoreKind, ...] = (
    StoreKind("oci-layout", "the OCI layout", "DIR[:TAG]",
              "an OCI image layout holding a ModelPack (or DMR) artifact; the tag is needed "
              "when the index holds several manifests", "modelseal.stores.oci:open_model"),
    StoreKind("dmr", "Docker Model Runner's store", "NAME[:TAG]",
              "a model in Docker Model Runner's store ($MODELS_PATH, default ~/.docker/models)",
              "modelseal.stores.dmr:open_model"),
    StoreKind("hf-cache", "the Hugging Face cache", "ORG/NAME[@REV]",
              "a snapshot in the Hugging Face cache ($HF_HUB_CACHE, default "
              "~/.cache/huggingface/hub); REV: branch, tag or commit (main)",
              "modelseal.stores.hfcache:open_snapshot"),
    StoreKind("ollama", "Ollama's store", "NAME[:TAG]",
              "a model in Ollama's store ($OLLAMA_MODELS, default ~/.ollama/models); needs "
              "--signature", "modelseal.stores.ollama:open_model",
              sign_help="sign a model in Ollama's store (resources named by media type; needs "
                        "--signature FILE)"),
)


def by_name(name: str) -> StoreKind:
    return next(kind for kind in STORES if kind.name == name)


def signable() -> tuple[StoreKind, ...]:
    """The stores `sign` can write a signature for (beside the store: --signature FILE)."""
    return tuple(kind for kind in STORES if kind.sign_help is not None)


def options_text() -> str:
    """``--oci-layout, --dmr, ...``: the options, for messages."""
    return ", ".join(kind.option for kind in STORES)


@dataclass(frozen=True)
class StoreSpec:
    """A model in a store, as the user named it: ``--NAME SPEC``."""

    kind: StoreKind
    spec: str

    def open(self) -> StoreModel:
        return self.kind.open(self.spec)


def chosen(values: dict[str, object], kinds: tuple[StoreKind, ...] | None = None
           ) -> StoreSpec | None:
    """The store option given in ``values`` (argparse's attributes), if any, among
    ``kinds`` (default: every store)."""
    for kind in STORES if kinds is None else kinds:
        spec = values.get(kind.dest)
        if spec:
            return StoreSpec(kind, str(spec))
    return None
