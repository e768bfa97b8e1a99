"""Listing a model directory: order, ignores, symlinks and special files."""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path

import pytest

from modelseal.errors import ModelPathError
from modelseal.walk import list_model


def names(root: Path, **kwargs: object) -> list[str]:
    return [entry.name for entry in list_model(root, **kwargs).files]  # type: ignore[arg-type]


def test_listing_is_sorted_component_wise(tmp_path: Path) -> None:
    for name in ("a.txt", "a-b", "a/b", "a/a/z"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(name)
    assert names(tmp_path) == ["a/a/z", "a/b", "a-b", "a.txt"]


def test_configured_ignores_skip_files_and_directories(tmp_path: Path) -> None:
    (tmp_path / "keep.bin").write_text("x")
    (tmp_path / "logs" / "deep").mkdir(parents=True)
    (tmp_path / "logs" / "deep" / "run.txt").write_text("x")
    (tmp_path / "logsfile").write_text("x")  # a prefix of a name is not a match
    listing = list_model(tmp_path, ignore=["logs"])
    assert [e.name for e in listing.files] == ["keep.bin", "logsfile"]
    assert "logs" in listing.ignore_paths


def test_symlink_is_refused_by_default_naming_the_link(tmp_path: Path) -> None:
    (tmp_path / "real.bin").write_text("weights")
    (tmp_path / "alias.bin").symlink_to("real.bin")
    with pytest.raises(ModelPathError, match=r"alias\.bin is a symlink"):
        list_model(tmp_path)


def test_allowed_symlink_inside_is_hashed_by_target(tmp_path: Path) -> None:
    (tmp_path / "real.bin").write_text("weights")
    (tmp_path / "alias.bin").symlink_to("real.bin")
    listing = list_model(tmp_path, allow_symlinks=True)
    alias = next(e for e in listing.files if e.name == "alias.bin")
    assert alias.path == str((tmp_path / "real.bin").resolve())


def test_symlink_outside_is_always_refused(tmp_path: Path) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (tmp_path / "secret").write_text("not part of the model")
    (model / "w.bin").symlink_to(tmp_path / "secret")
    with pytest.raises(ModelPathError, match="points outside the model directory"):
        list_model(model, allow_symlinks=True)


def test_symlink_with_dotdot_escaping_is_refused(tmp_path: Path) -> None:
    model = tmp_path / "model"
    (model / "sub").mkdir(parents=True)
    (tmp_path / "outside.bin").write_text("x")
    (model / "sub" / "link").symlink_to("../../outside.bin")
    with pytest.raises(ModelPathError, match="outside"):
        list_model(model, allow_symlinks=True)


def test_fifo_is_refused_without_hanging(tmp_path: Path) -> None:
    (tmp_path / "w.bin").write_text("x")
    os.mkfifo(tmp_path / "pipe")
    done = threading.Event()
    errors: list[Exception] = []

    def attempt() -> None:
        try:
            list_model(tmp_path)
        except ModelPathError as exc:
            errors.append(exc)
        done.set()

    threading.Thread(target=attempt, daemon=True).start()
    assert done.wait(10), "listing a directory with a FIFO hung"
    assert errors and "FIFO" in str(errors[0])


def test_socket_is_refused(tmp_path: Path) -> None:
    (tmp_path / "w.bin").write_text("x")
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(tmp_path / "sock"))
        with pytest.raises(ModelPathError, match="socket"):
            list_model(tmp_path)
    finally:
        server.close()


def test_device_link_is_refused_even_when_links_are_allowed(tmp_path: Path) -> None:
    (tmp_path / "w.bin").write_text("x")
    (tmp_path / "null").symlink_to("/dev/null")
    with pytest.raises(ModelPathError, match=r"outside|device"):
        list_model(tmp_path, allow_symlinks=True)


def test_empty_directory_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "only-ignored").mkdir()
    (tmp_path / "model.sig").write_text("{}")
    with pytest.raises(ModelPathError, match="contains no files"):
        list_model(tmp_path)


def test_single_file_model_is_named_dot(tmp_path: Path) -> None:
    weights = tmp_path / "model.gguf"
    weights.write_bytes(b"GGUF")
    listing = list_model(weights)
    assert listing.single_file
    assert [e.name for e in listing.files] == ["."]


def test_missing_path_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ModelPathError, match="does not exist"):
        list_model(tmp_path / "nope")


def test_backslash_in_a_file_name_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a\\b").write_text("x")
    with pytest.raises(ModelPathError, match="backslash"):
        list_model(tmp_path)
