"""Digests, change detection while hashing, and the stat cache's safety rules."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import time
from pathlib import Path

import pytest

from modelseal import cache as cache_module
from modelseal.cache import CACHE_FILE, StatCache
from modelseal.errors import HashingError
from modelseal.hashing import HashSpec, hash_entries, shard_bounds
from modelseal.walk import FileEntry, list_model

SHA256 = HashSpec("sha256")


def age(path: Path, seconds: float = 60) -> None:
    """Push mtime into the past (ctime stays now: see ``no_racy_window``)."""
    past = time.time() - seconds
    os.utime(path, (past, past))


@pytest.fixture
def no_racy_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """ctime cannot be set back, so tests that need caching shrink the racy window."""
    monkeypatch.setattr(cache_module, "RACY_WINDOW_NS", 0)


def digest_of(path: Path, cache: StatCache | None = None) -> bytes:
    listing = list_model(path)
    return hash_entries(listing.files, SHA256, cache=cache)["."][0]


def test_digests_equal_hashlib(tmp_path: Path) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)
    (tmp_path / "w.bin").write_bytes(data)
    assert digest_of(tmp_path / "w.bin") == hashlib.sha256(data).digest()


def test_shard_bounds_cover_the_file_and_drop_empty_files() -> None:
    assert shard_bounds(10, 4) == [(0, 4), (4, 8), (8, 10)]
    assert shard_bounds(0, 4) == []
    assert shard_bounds(0, None) == [(0, 0)]


def test_file_changed_after_listing_is_an_error(tmp_path: Path) -> None:
    weights = tmp_path / "w.bin"
    weights.write_bytes(b"a" * 1000)
    listing = list_model(weights)
    weights.write_bytes(b"b" * 1001)
    with pytest.raises(HashingError, match="changed"):
        hash_entries(listing.files, SHA256)


def test_file_replaced_after_listing_is_an_error(tmp_path: Path) -> None:
    weights = tmp_path / "w.bin"
    weights.write_bytes(b"a" * 1000)
    listing = list_model(weights)
    weights.unlink()
    os.mkfifo(weights)
    with pytest.raises(HashingError):
        hash_entries(listing.files, SHA256)


@pytest.mark.usefixtures("no_racy_window")
def test_cache_serves_unchanged_files(tmp_path: Path) -> None:
    weights = tmp_path / "w.bin"
    weights.write_bytes(os.urandom(4096))
    age(weights)
    cache = StatCache(tmp_path / "cache")
    first = digest_of(weights, cache)
    cache.save()
    again = StatCache(tmp_path / "cache")
    assert digest_of(weights, again) == first
    assert again.hits == 1 and again.misses == 0


@pytest.mark.usefixtures("no_racy_window")
def test_same_size_rewrite_is_never_served_from_cache(tmp_path: Path) -> None:
    weights = tmp_path / "w.bin"
    weights.write_bytes(b"a" * 4096)
    age(weights)
    cache = StatCache(tmp_path / "cache")
    digest_of(weights, cache)
    cache.save()
    # same size, and forced back to the very same mtime: ctime still changes
    stat = weights.stat()
    weights.write_bytes(b"b" * 4096)
    os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    fresh = StatCache(tmp_path / "cache")
    assert digest_of(weights, fresh) == hashlib.sha256(b"b" * 4096).digest()
    assert fresh.hits == 0


def test_fresh_files_are_not_cached(tmp_path: Path) -> None:
    weights = tmp_path / "w.bin"
    weights.write_bytes(b"new")  # mtime and ctime are now: within the racy window
    cache = StatCache(tmp_path / "cache")
    digest_of(weights, cache)
    cache.save()
    assert not (tmp_path / "cache" / CACHE_FILE).exists()


def test_same_second_rewrite_after_caching_is_detected(tmp_path: Path) -> None:
    weights = tmp_path / "w.bin"
    weights.write_bytes(b"a" * 100)
    cache = StatCache(tmp_path / "cache")
    digest_of(weights, cache)  # racy: not cached
    weights.write_bytes(b"b" * 100)  # rewrite within the same second
    cache.save()
    assert digest_of(weights, StatCache(tmp_path / "cache")) == hashlib.sha256(b"b" * 100).digest()


@pytest.mark.usefixtures("no_racy_window")
@pytest.mark.parametrize("garbage", [b"{not json", b"[]", b'{"version": 1, "entries": 5}',
                                     b'{"version": 1, "entries": {"k": "bad"}}', b"\xff\xfe"])
def test_corrupt_cache_is_discarded_with_a_warning(tmp_path: Path, garbage: bytes,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    weights = tmp_path / "w.bin"
    weights.write_bytes(b"content")
    age(weights)
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / CACHE_FILE).write_bytes(garbage)
    cache = StatCache(tmp_path / "cache")
    assert digest_of(weights, cache) == hashlib.sha256(b"content").digest()
    cache.save()
    assert json.loads((tmp_path / "cache" / CACHE_FILE).read_text())["version"] == 1
    if garbage.startswith(b'{"version": 1, "entries": {'):
        return  # a bad entry is just a miss
    assert "corrupt" in capsys.readouterr().err


def _fill_cache(args: tuple[str, str]) -> None:
    model, cache_dir = args
    cache = StatCache(Path(cache_dir))
    hash_entries(list_model(Path(model)).files, SHA256, cache=cache)
    cache.save()


def test_concurrent_runs_leave_a_valid_cache(tmp_path: Path) -> None:
    models = []
    for index in range(6):
        model = tmp_path / f"m{index}"
        model.mkdir()
        for file_index in range(50):
            path = model / f"f{file_index}"
            path.write_bytes(os.urandom(512))
            age(path)
        models.append((str(model), str(tmp_path / "cache")))
    time.sleep(2.1)  # out of the racy window (ctime cannot be set back)
    with multiprocessing.get_context("spawn").Pool(6) as pool:
        pool.map(_fill_cache, models * 3)
    cache = StatCache(tmp_path / "cache")
    for model, _ in models:
        hash_entries(list_model(Path(model)).files, SHA256, cache=cache)
    assert cache.misses == 0  # every run's entries were merged, none lost or torn
    assert cache.hits == 300


def test_entries_carry_stat_identity(tmp_path: Path) -> None:
    (tmp_path / "w.bin").write_bytes(b"x")
    entry: FileEntry = list_model(tmp_path).files[0]
    st = (tmp_path / "w.bin").stat()
    assert (entry.inode, entry.size, entry.mtime_ns) == (st.st_ino, 1, st.st_mtime_ns)
