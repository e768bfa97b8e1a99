"""The store use cases called as a library: typed requests in, plain data out.

No argparse and no output: what an integration (a model loader, a KServe storage
initializer) would call to sign and verify a model in Ollama's store in place.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from modelseal.app import stores
from modelseal.app.policies import PolicyRequest
from modelseal.app.sign import signer_for
from modelseal.app.verify import VerifyRequest
from modelseal.errors import UsageError
from modelseal.policy import PolicyFlags
from modelseal.signing import Signer
from modelseal.signing_methods import SignerRequest
from modelseal.stores import catalog
from tests.store_builders import build_ollama_store
from tests.store_helpers import keys as keys  # fixtures

LAYERS = [("application/vnd.ollama.image.model", b"GGUF" + os.urandom(4096)),
          ("application/vnd.ollama.image.template", b"{{ .Prompt }}"),
          ("application/vnd.ollama.image.license", b"MIT License")]


@pytest.fixture
def tiny(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> catalog.StoreSpec:
    store = build_ollama_store(tmp_path / "ollama", LAYERS)
    monkeypatch.setenv("OLLAMA_MODELS", str(store))
    monkeypatch.chdir(tmp_path)  # no .modelseal.yaml around
    return catalog.StoreSpec(catalog.by_name("ollama"), "tiny")


def _trusting(public: Path) -> VerifyRequest:
    return VerifyRequest(policy=PolicyRequest(PolicyFlags(keys=(public,))), progress=False)


def _signer(private: Path) -> Signer:
    return signer_for(SignerRequest(method="key", key=private))


def test_sign_then_verify_a_store_model_in_place(tiny: catalog.StoreSpec, tmp_path: Path,
                                                 keys: tuple[Path, Path]) -> None:
    signature = tmp_path / "tiny.sig"
    signed = stores.sign_store(tiny, _signer(keys[0]), signature)
    assert (signed.label, signed.method, signed.signature) == ("ollama:tiny:latest", "key",
                                                               signature)
    assert signed.resources == len(LAYERS) + 1  # the config blob is a resource too
    verified = stores.verify_store(tiny, _trusting(keys[1]), signature)
    assert verified.result.ok, verified.result.message

    exported = stores.export_store_signature(tiny, signature, _trusting(keys[1]))
    assert exported.verified


def test_a_store_model_fails_once_a_blob_changes(tiny: catalog.StoreSpec, tmp_path: Path,
                                                 keys: tuple[Path, Path]) -> None:
    signature = tmp_path / "tiny.sig"
    stores.sign_store(tiny, _signer(keys[0]), signature)
    license_blob = next(p for p in (tmp_path / "ollama" / "blobs").iterdir()
                        if p.read_bytes() == b"MIT License")
    license_blob.write_bytes(b"MIT Licensf")
    verified = stores.verify_store(tiny, _trusting(keys[1]), signature)
    assert not verified.result.ok
    assert verified.result.diff is not None and verified.result.diff.modified == ("license",)


def test_a_store_without_a_signature_layer_needs_one_named(tiny: catalog.StoreSpec,
                                                           keys: tuple[Path, Path]) -> None:
    with pytest.raises(UsageError, match="carries no signature layer"):
        stores.verify_store(tiny, _trusting(keys[1]))
