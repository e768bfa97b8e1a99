"""The store catalog: the one list `verify`'s and `sign`'s store options come from.

A store added to `stores.catalog.STORES` becomes `verify --NAME` (and `sign --NAME`
when it has sign help) with nothing else changed; its opener is imported only when
a model in it is opened.
"""

from __future__ import annotations

import argparse
import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from modelseal.cli import build_parser
from modelseal.stores import catalog
from modelseal.stores.source import StoreModel, file_entry, sorted_entries
from tests.store_builders import make_model
from tests.store_helpers import Run
from tests.store_helpers import keys as keys  # fixtures
from tests.store_helpers import run as run

# a store this test adds: a plain directory read as a store whose blobs are its files
COPY = catalog.StoreKind("dir-copy", "the directory copy", "DIR",
                         "a plain directory read as a store (test)",
                         f"{__name__}:open_copy", sign_help="sign a directory copy (test)")


def open_copy(spec: str) -> StoreModel:
    root = Path(spec)
    entries = [file_entry(path.relative_to(root).as_posix(), path, os.lstat(path))
               for path in root.rglob("*") if path.is_file()]
    return StoreModel(f"copy:{root}", root.name, root, sorted_entries(entries))


def _store_options(parser: argparse.ArgumentParser) -> dict[str, object]:
    """Option -> metavar of the store group of a sub-command's parser."""
    group = next(g for g in parser._action_groups if g.title and "stores" in g.title)
    return {action.option_strings[0]: action.metavar for action in group._group_actions}


def _command(name: str) -> argparse.ArgumentParser:
    commands = next(a for a in build_parser(only=name)._actions
                    if isinstance(a, argparse._SubParsersAction))
    parser: argparse.ArgumentParser = commands.choices[name]
    return parser


def test_verify_offers_one_option_per_store_and_sign_the_signable_ones() -> None:
    assert _store_options(_command("verify")) == {
        kind.option: kind.metavar for kind in catalog.STORES}
    sign_options = {a.option_strings[0] for a in _command("sign")._actions if a.option_strings}
    signable = {kind.option for kind in catalog.signable()}
    assert signable and signable <= sign_options
    assert not {kind.option for kind in catalog.STORES} - signable & sign_options


def test_every_store_opener_resolves_to_a_function() -> None:
    for kind in catalog.STORES:
        module, _, function = kind.opener.partition(":")
        assert callable(getattr(importlib.import_module(module), function)), kind.name


def test_a_store_added_to_the_catalog_signs_and_verifies_through_the_cli(
        tmp_path: Path, run: Run, keys: tuple[Path, Path],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(catalog, "STORES", (*catalog.STORES, COPY))
    model = make_model(tmp_path / "copy")
    bundle = tmp_path / "copy.sig"

    code, out, err = run("sign", "--dir-copy", model, "--signature", bundle,
                         "--method", "key", "--key", keys[0])
    assert code == 0, err
    assert f"copy:{model}: signed (key, 6 resources" in out
    code, out, err = run("verify", "--dir-copy", model, "--signature", bundle, "--key", keys[1])
    assert code == 0, err
    assert "verified (6 files" in out

    (model / "config.json").write_bytes(b'{"hidden_size": 9}\n')
    code, out, err = run("verify", "--dir-copy", model, "--signature", bundle, "--key", keys[1])
    assert code == 1
    assert "config.json" in out + err


def test_store_options_and_paths_exclude_each_other_naming_every_store(
        tmp_path: Path, run: Run, keys: tuple[Path, Path],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(catalog, "STORES", (*catalog.STORES, COPY))
    code, _, err = run("verify", "somewhere", "--dir-copy", tmp_path, "--key", keys[1])
    assert code == 2
    assert "(--oci-layout, --dmr, --hf-cache, --ollama, --dir-copy)" in err


def test_building_the_store_options_loads_no_store_reader() -> None:
    """The options come from the catalog alone: a reader is imported when a model in
    its store is opened, not when `verify` or `sign` parses its arguments."""
    code = ("import sys\n"
            "from modelseal.cli import build_parser\n"
            "for name in ('verify', 'sign', 'export'):\n"
            "    build_parser(only=name)\n"
            "print(sorted(m for m in sys.modules if m.startswith('modelseal.stores.')))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, timeout=120)
    assert done.stdout.split() == ["['modelseal.stores.catalog']"]
