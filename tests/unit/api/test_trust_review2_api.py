"""Trust review 2: the public API must not accept a policy the CLI and config refuse."""

from __future__ import annotations

from pathlib import Path

import pytest

import modelseal
from modelseal.config import SignerRule


@pytest.fixture
def model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    directory = tmp_path / "bert"
    directory.mkdir()
    (directory / "weights.bin").write_bytes(b"\x01" * 64)
    return directory


@pytest.mark.parametrize("rule", [
    SignerRule(identity="release@example.com"),  # any OIDC issuer Fulcio serves
    SignerRule(identity_regex=".*@example\\.com"),
    SignerRule(identity_regex="("),  # not even a regex
])
def test_public_verify_refuses_a_signer_rule_validate_rule_refuses(
        model: Path, rule: SignerRule) -> None:
    # `.modelseal.yaml` and the flags go through policy.validate_rule, which refuses an
    # identity without its issuer (a certificate for that name from ANY issuer would
    # match: see policy._issuer_mismatch). `modelseal.Policy(signers=...)` skips it, so
    # `modelseal.verify` silently trusts that identity from every issuer.
    with pytest.raises(modelseal.ModelsealError):
        modelseal.verify(model, modelseal.Policy(signers=(rule,)))
