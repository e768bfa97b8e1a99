"""The signing methods: the one place that names them, describes them and builds signers.

Each method is a module of the signing/ package with a
``build(request: SignerRequest) -> Signer`` function, and a line in `METHODS` giving
its name, its one-line help, its module and the `SignerRequest` options it uses.
The CLI's ``sign --method`` choices and help come from here.

This registry sits outside signing/ on purpose: listing the methods (which the CLI
does whenever it builds the `sign` options, `--version` included) must load no
signing code, no cryptography and no Sigstore; a method's module is imported only
when a signer of that method is built.

Adding a method: write ``signing/<name>.py`` with a `Signer` class and ``build``, and
add one `SigningMethod` line to `METHODS`. Verification has its own registry, in
verifying/signature.py, since verifying never imports signing code.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Protocol, cast

from modelseal.errors import UsageError


class Signer(Protocol):
    """What a method builds: turns statement bytes into bundle bytes. ``session``
    brackets a batch (keyless signing gets its certificate there, once for all)."""

    method: str

    def session(self) -> Iterator[None]: ...

    def sign(self, payload: bytes) -> bytes: ...


@dataclass(frozen=True)
class SignerRequest:
    """What the user gave to build a signer, named as the `sign` options are.

    ``method``: the `--method` (sigstore, key or certificate); ``key``/``password_env``:
    a PEM EC private key and the variable holding its password; ``cert``/``chain``: the
    signing certificate and intermediates; ``identity_token``/``trust_config``/
    ``staging``: keyless signing's OIDC token and Sigstore instance. A method refuses
    any option it does not use.
    """

    method: str = ""
    key: Path | None = None
    password_env: str | None = None
    cert: Path | None = None
    chain: tuple[Path, ...] = ()
    identity_token: str | None = None
    trust_config: Path | None = None
    staging: bool = False

    def given(self) -> tuple[str, ...]:
        """The names of the options that were set (the method is not an option)."""
        return tuple(item.name for item in fields(self)
                     if item.name != "method" and getattr(self, item.name))


@dataclass(frozen=True)
class SigningMethod:
    """A signing method: its ``--method`` name, one-line help, the module that builds its
    signers, and the `SignerRequest` options it uses (any other given is refused)."""

    name: str
    help: str
    module: str
    options: frozenset[str]


class _SignerModule(Protocol):
    def build(self, request: SignerRequest) -> Signer: ...


METHODS: tuple[SigningMethod, ...] = (
    SigningMethod("sigstore", "keyless with an OIDC identity", "modelseal.signing.keyless",
                  frozenset({"identity_token", "trust_config", "staging"})),
    SigningMethod("key", "an EC private key", "modelseal.signing.key",
                  frozenset({"key", "password_env"})),
    SigningMethod("certificate", "an EC key with its X.509 certificate chain",
                  "modelseal.signing.certificate",
                  frozenset({"key", "password_env", "cert", "chain"})),
)


def method_names() -> tuple[str, ...]:
    """The ``--method`` choices, in the order the help lists them."""
    return tuple(method.name for method in METHODS)


def methods_help() -> str:
    """The ``--method`` help: each method and what it signs with."""
    return "; ".join(f"{method.name}: {method.help}" for method in METHODS)


def signing_method(name: str) -> SigningMethod:
    """The method called ``name``; an unknown name is a usage error listing the known."""
    for method in METHODS:
        if method.name == name:
            return method
    raise UsageError(f"unknown signing method {name!r}; use one of: "
                     f"{', '.join(method_names())}")


def build_signer(name: str, request: SignerRequest) -> Signer:
    """The signer of method ``name`` for ``request``, refusing options it does not use."""
    method = signing_method(name)
    for option in request.given():
        if option not in method.options:
            raise UsageError(_foreign_option(option, method))
    module = cast(_SignerModule, importlib.import_module(method.module))
    return module.build(request)


def _foreign_option(option: str, method: SigningMethod) -> str:
    """Why ``option`` is refused: it belongs to other methods, which the message names."""
    flag = "--" + option.replace("_", "-")
    owners = [other.name for other in METHODS if option in other.options]
    if len(owners) == 1:
        return f"{flag} is for --method {owners[0]}"
    return f"{flag} is for the {' and '.join(owners)} methods, not {method.name}"
