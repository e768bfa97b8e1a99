"""A signing method that exists only in tests: what `signing_methods` needs from a method
module (a `build` function), to show that a new method needs nothing else."""

from __future__ import annotations

from modelseal.keys import load_private_key
from modelseal.signing import KeySigner
from modelseal.signing_methods import SignerRequest


class ExampleSigner(KeySigner):
    """Signs like the key method (so `verify --key` checks it), under its own name."""

    method = "example"


def build(request: SignerRequest) -> ExampleSigner:
    assert request.key is not None  # the registry line below names --key as its option
    return ExampleSigner(load_private_key(request.key))
