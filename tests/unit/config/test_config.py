"""`.modelseal.yaml`: accepted forms, and errors that name the key and the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelseal.config import HashOptions, load_config, parse_config
from modelseal.errors import ConfigError


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    for model in ("models/bert", "models/gpt", "single"):
        (tmp_path / model).mkdir(parents=True)
        (tmp_path / model / "w.bin").write_text(model)
    return tmp_path


def test_full_config_is_parsed(repo: Path) -> None:
    (repo / "keys").mkdir()
    (repo / "keys" / "pub.pem").write_text("pem")
    text = """\
version: 1
defaults:
  hash: blake2b
models:
  - models/gpt
  - path: models/bert
    serialization: shards
    shard_size: 1048576
    ignore: [logs, ./runs/]
    allow_symlinks: true
policy:
  strict: true
  not_before: 2026-01-01T00:00:00Z
  keys: [keys/pub.pem]
  signers:
    - repository: acme/models
      workflow: .github/workflows/sign.yml
      ref: refs/heads/main
    - identity_regex: '.*@acme\\.com'
      issuer: https://accounts.example.com
lfs:
  warn_size: 1000
"""
    config = parse_config(text, root=repo)
    gpt, bert = config.models
    assert gpt.options == HashOptions(hash="blake2b")
    assert bert.options.serialization == "shards" and bert.options.shard_size == 1048576
    assert bert.options.ignore == ("logs", "runs") and bert.options.allow_symlinks
    assert bert.options.hash == "blake2b"  # inherited from defaults
    assert config.policy.strict and config.policy.not_before == "2026-01-01T00:00:00Z"
    assert config.policy.signers[0].workflow == ".github/workflows/sign.yml"
    assert config.policy.keys == (repo / "keys" / "pub.pem",)
    assert config.lfs_warn_size == 1000


def test_globs_expand_in_order(repo: Path) -> None:
    config = parse_config("models:\n  - models/*\n", root=repo)
    assert [m.path.name for m in config.models] == ["bert", "gpt"]


@pytest.mark.parametrize(("text", "message"), [
    ("models:\n  - path: models/bert\n    hsah: sha256\n", r":3: unknown key 'hsah'"),
    ("modles: []\n", r":1: unknown key 'modles'"),
    ("models:\n  - models/nope\n", r":2: model path 'models/nope' does not exist"),
    ("models:\n  - nothing/*\n", r":2: model pattern 'nothing/\*' matches nothing"),
    ("models:\n  - path: models/bert\n    hash: md5\n",
     r":3: 'models\[models/bert\].hash' must be"),
    ("models:\n  - path: models/bert\n    shard_size: -1\n", r":3: .*positive integer"),
    ("models:\n  - path: models/bert\n    allow_symlinks: maybe\n", r":3: .*true or false"),
    ("models: models/bert\n", r":1: 'models' must be a list"),
    ("models:\n  - models/bert\n  - models/bert\n", r"listed twice"),
    ("models:\n  - ../outside\n", r":2: model path '../outside' must be relative"),
    ("models:\n  - path: models/bert\n    ignore: [../x]\n", r":3: .*relative paths inside"),
    ("policy:\n  signers:\n    - issuer: x\n", r":3: a signer needs"),
    ("policy:\n  keys: [missing.pem]\n", r":2: 'policy.keys' file .* does not exist"),
    ("defaults:\n  hash: blake3\n  serialization: shards\n", r"blake3"),
    ("models: [\n", r"not valid YAML"),
    ("version: 2\n", r"'version' must be 1"),
])
def test_errors_name_key_and_line(repo: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config(text, root=repo, source=repo / ".modelseal.yaml")


def test_empty_config_is_fine(repo: Path) -> None:
    (repo / ".modelseal.yaml").write_text("")
    assert load_config(repo / ".modelseal.yaml").models == ()


def test_entry_for_finds_tracked_model(repo: Path) -> None:
    config = parse_config("models:\n  - path: models/bert\n    hash: blake2b\n", root=repo)
    entry = config.entry_for(repo / "models" / "bert")
    assert entry is not None and entry.options.hash == "blake2b"
    assert config.entry_for(repo / "models" / "gpt") is None
