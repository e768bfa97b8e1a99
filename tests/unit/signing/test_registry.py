"""The signing-method registry (signing_methods.py) is the single source of truth:
the CLI's `sign --method` choices and help, which options each method takes, how its
signer is built, and that verification knows every method too."""

from __future__ import annotations

import dataclasses
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from modelseal import cli, signing_methods
from modelseal.errors import UsageError
from modelseal.signing_methods import METHODS, SignerRequest, SigningMethod, build_signer
from modelseal.verifying import signature
from tests.signing_support import key_pair


def _key_files(tmp_path: Path) -> tuple[Path, Path]:
    return key_pair(tmp_path, "signer.pem", "signer.pub")


def _model(tmp_path: Path) -> Path:
    model = tmp_path / "model"
    model.mkdir()
    (model / "weights.bin").write_bytes(b"\x07" * 2048)
    return model


def test_sign_help_lists_each_registered_method_with_its_help(
        capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["sign", "--help"])
    assert exit_info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "{" + ",".join(method.name for method in METHODS) + "}" in text
    for method in METHODS:
        assert f"{method.name}: {method.help}" in text


def test_a_new_method_is_one_module_and_one_registry_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    example = SigningMethod("example", "a method only tests know",
                            "tests.unit.signing.example_method", frozenset({"key"}))
    monkeypatch.setattr(signing_methods, "METHODS", (*METHODS, example))
    private, public = _key_files(tmp_path)
    model = _model(tmp_path)
    assert cli.main(["sign", str(model), "--method", "example", "--key", str(private),
                     "--no-progress"]) == 0
    assert "signed (example, sha256:" in capsys.readouterr().out
    assert cli.main(["verify", str(model), "--key", str(public), "--no-progress"]) == 0
    # options the line does not name are refused, by the registry, not by the module
    with pytest.raises(UsageError, match="--password-env is for the key and certificate "
                                         "methods, not example"):
        build_signer("example", SignerRequest(key=private, password_env="PASS"))


def test_without_its_registry_line_a_method_is_not_a_choice(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    private, _ = _key_files(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["sign", str(_model(tmp_path)), "--method", "example", "--key", str(private)])
    assert exit_info.value.code == 2
    assert "invalid choice: 'example'" in capsys.readouterr().err


@pytest.mark.parametrize(("method", "request_", "message"), [
    ("sigstore", SignerRequest(key=Path("k.pem")),
     "--key is for the key and certificate methods, not sigstore"),
    ("sigstore", SignerRequest(password_env="PASS"),
     "--password-env is for the key and certificate methods, not sigstore"),
    ("sigstore", SignerRequest(chain=(Path("ca.pem"),)), "--chain is for --method certificate"),
    ("key", SignerRequest(key=Path("k.pem"), identity_token="t"),
     "--identity-token is for --method sigstore"),
    ("key", SignerRequest(key=Path("k.pem"), cert=Path("c.pem")),
     "--cert is for --method certificate"),
    ("certificate", SignerRequest(key=Path("k.pem"), cert=Path("c.pem"), staging=True),
     "--staging is for --method sigstore"),
    ("key", SignerRequest(), "--method key needs --key PRIV_PEM"),
    ("certificate", SignerRequest(), "--method certificate needs --key PRIV_PEM"),
    ("rsa", SignerRequest(), "unknown signing method 'rsa'; use one of: sigstore, key, "
                             "certificate"),
])
def test_options_a_method_does_not_use_are_refused_before_any_file_is_read(
        method: str, request_: SignerRequest, message: str) -> None:
    with pytest.raises(UsageError) as error:
        build_signer(method, request_)
    assert str(error.value) == message


def test_every_request_option_belongs_to_some_method() -> None:
    used = set().union(*(method.options for method in METHODS))
    options = {item.name for item in dataclasses.fields(SignerRequest)} - {"method"}
    assert used == options


def test_every_signing_method_has_a_verification_module() -> None:
    assert set(signature.METHOD_MODULES) == {method.name for method in METHODS}
    for name in signature.METHOD_MODULES:
        module = signature.method_checker(name)
        assert callable(module.check_signature) and callable(module.signer_rules_apply)
    for method in METHODS:
        assert callable(importlib.import_module(method.module).build)


def test_listing_the_methods_loads_no_signing_cryptography_or_sigstore_code() -> None:
    script = ("import sys\n"
              "from modelseal import signing_methods\n"
              "signing_methods.method_names(); signing_methods.methods_help()\n"
              "print(sorted(m for m in sys.modules if m.split('.')[0] in "
              "('cryptography', 'sigstore') or m == 'modelseal.signing' "
              "or m.startswith('modelseal.signing.')))\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
