"""The store tests' CLI runner, signing key and signed model (tests/unit/stores/)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from modelseal.cli import main
from tests.signing_support import key_pair
from tests.store_builders import make_model

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> Run:
    """The CLI in-process, from an empty directory (no .modelseal.yaml around)."""
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    monkeypatch.chdir(workdir)

    def invoke(*args: str | Path) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main([str(arg) for arg in args])
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path]:
    return key_pair(tmp_path, "signer.pem", "signer.pub.pem")


@pytest.fixture
def signed(tmp_path: Path, keys: tuple[Path, Path], run: Run) -> Path:
    """A model directory signed with the key method (model.sig beside the files)."""
    model = make_model(tmp_path / "tiny")
    code, _, err = run("sign", model, "--method", "key", "--key", keys[0], "--update-manifest")
    assert code == 0, err
    return model


def verify(run: Run, keys: tuple[Path, Path], *args: str | Path) -> tuple[int, str, str]:
    return run("verify", *args, "--key", keys[1])


def flip_byte(path: Path, offset: int = 0) -> None:
    os.chmod(path, 0o644)
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))
