"""Issue 12, class 8: a hostile tree fails cleanly, for that model only.

Deep directories and deeply nested JSON are one-line errors naming the model, and
`check` and `report` (every configured model) still report the other models. A file
left by an interrupted write is never recorded as a model file, but verify still
reports it. The stat cache is never read from a place a `.git` file inside the model
names, so a planted cache cannot make `check` or `digest` report a stale digest.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from modelseal import fsio
from modelseal.cache import CACHE_FILE
from modelseal.walk import list_model
from tests.conftest import run_modelseal
from tests.signing_support import run_cli, write_private_key, write_public_key

DEPTH = 5000
DEEP_JSON = b"[" * 200_000 + b"]" * 200_000


def make_deep_dirs(top: Path, depth: int) -> None:
    """``top/d/d/.../d/leaf.bin``, ``depth`` levels, built with directory fds (the full
    path is far longer than PATH_MAX, so no path-based call could create it)."""
    top.mkdir(parents=True, exist_ok=True)
    fd = os.open(top, os.O_RDONLY)
    try:
        for _ in range(depth):
            os.mkdir("d", dir_fd=fd)
            child = os.open("d", os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = child
        leaf = os.open("leaf.bin", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
        os.write(leaf, b"deep")
        os.close(leaf)
    finally:
        os.close(fd)


def remove_deep_dirs(top: Path) -> None:
    """Undo `make_deep_dirs` with short paths only (shutil.rmtree would recurse): move
    the subtree below ``top/d`` up one level, remove the emptied ``top/d``, repeat."""
    first, spare = top / "d", top / "up"
    while (first / "d").is_dir():
        os.rename(first / "d", spare)
        os.rmdir(first)
        os.rename(spare, first)
    for leftover in first.iterdir():
        leftover.unlink()
    first.rmdir()


@pytest.fixture()
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with two configured models: `good` (clean) and `bad` (made hostile)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))
    root = tmp_path / "project"
    for name in ("good", "bad"):
        (root / name).mkdir(parents=True)
        (root / name / "weights.bin").write_bytes(name.encode() * 100)
    (root / ".modelseal.yaml").write_text("models:\n  - good\n  - bad\n")
    monkeypatch.chdir(root)
    assert run_cli(["manifest", "--no-cache"], _Capture())[0] == 0
    return root


@pytest.fixture(scope="module")
def deep_tree(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One tree `DEPTH` directories deep (`.../d/d/...`), built once: each level costs
    filesystem calls, so the tests borrow it by renaming rather than rebuild it."""
    holder = tmp_path_factory.mktemp("deep")
    make_deep_dirs(holder, DEPTH)
    yield holder / "d"
    remove_deep_dirs(holder)


@pytest.fixture()
def deep_bad(project: Path, deep_tree: Path) -> Iterator[Path]:
    """``project`` whose `bad` model holds the deep tree (returned to its holder after)."""
    borrowed = project / "bad" / "d"
    os.rename(deep_tree, borrowed)
    yield project
    os.rename(borrowed, deep_tree)


class _Capture:
    """A capsys stand-in for the set-up step, whose output the tests do not read."""

    def readouterr(self) -> tuple[str, str]:
        return "", ""


def modelseal(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    done = run_modelseal(args, cwd=cwd)
    return subprocess.CompletedProcess(args, done.returncode, done.stdout, done.stderr)


def assert_clean_failure(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode in (1, 2), result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("modelseal: error:")]
    assert len(errors) == 1, result.stderr
    for needle in needles:
        assert needle in errors[0], errors[0]


# --- deep directories -----------------------------------------------------------------------


@pytest.mark.parametrize("command", ["check", "manifest", "digest"])
def test_deep_directories_are_a_one_line_error(deep_bad: Path, command: str) -> None:
    project = deep_bad
    result = modelseal([command, "bad"], project)
    assert_clean_failure(result, "bad", "deep")
    assert result.returncode == 2


def test_check_reports_the_other_models_when_one_is_too_deep(deep_bad: Path) -> None:
    project = deep_bad
    (project / "good" / "weights.bin").write_bytes(b"changed")
    result = modelseal(["check"], project)
    assert "Traceback" not in result.stderr, result.stderr
    assert "good: manifest is stale" in result.stdout, result.stdout + result.stderr
    assert "modified  weights.bin" in result.stdout
    assert_clean_failure(result, "bad", "deep")
    assert result.returncode == 2


def test_check_json_names_the_model_that_failed(deep_bad: Path) -> None:
    project = deep_bad
    result = modelseal(["check", "--format", "json"], project)
    data = json.loads(result.stdout)
    assert result.returncode == 2 and data["ok"] is False
    by_path = {model["path"]: model for model in data["models"]}
    assert by_path["good"]["status"] == "ok"
    assert by_path["bad"]["status"] == "error" and "deep" in by_path["bad"]["error"]


def test_report_reports_the_other_models_when_one_is_too_deep(deep_bad: Path) -> None:
    project = deep_bad
    result = modelseal(["report", "--format", "json"], project)
    assert "Traceback" not in result.stderr, result.stderr
    report = json.loads(result.stdout)
    states = {model["path"]: model for model in report["models"]}
    assert set(states) == {"good", "bad"}
    assert "deep" in states["bad"]["message"]
    assert states["good"]["state"] != states["bad"]["state"]


# --- deep JSON -------------------------------------------------------------------------------


def test_deep_manifest_json_is_a_one_line_error(project: Path) -> None:
    (project / "bad" / "model.manifest.json").write_bytes(DEEP_JSON)
    result = modelseal(["check", "bad"], project)
    assert_clean_failure(result, "model.manifest.json", "nests deeper")
    assert result.returncode == 2


def test_check_reports_the_other_models_when_a_manifest_is_too_deep(project: Path) -> None:
    (project / "bad" / "model.manifest.json").write_bytes(DEEP_JSON)
    result = modelseal(["check"], project)
    assert "good: ok" in result.stdout, result.stdout + result.stderr
    assert_clean_failure(result, "bad", "nests deeper")


def test_report_with_deep_manifest_and_deep_signature(project: Path) -> None:
    (project / "bad" / "model.manifest.json").write_bytes(DEEP_JSON)
    (project / "good" / "model.sig").write_bytes(b"{" + b'"a":{' * 100_000 + b"}" * 100_001)
    result = modelseal(["report", "--format", "json"], project)
    assert "Traceback" not in result.stderr, result.stderr
    states = {model["path"]: model for model in json.loads(result.stdout)["models"]}
    assert "nests deeper" in states["bad"]["message"]
    assert "nests deeper" in states["good"]["message"]


def test_deep_report_json_is_a_one_line_error(tmp_path: Path) -> None:
    saved = tmp_path / "report.json"
    saved.write_bytes(b'{"models":' + b"[" * 100_000 + b"]" * 100_000 + b"}")
    result = modelseal(["report", "--from-json", str(saved)], tmp_path)
    assert_clean_failure(result, "report.json", "nests deeper")


def test_deep_stat_cache_is_discarded(project: Path) -> None:
    cache = project.parent / "user-cache" / "modelseal" / CACHE_FILE
    cache.parent.mkdir(parents=True)
    cache.write_bytes(b'{"version":1,"entries":' + b"[" * 100_000 + b"]" * 100_000 + b"}")
    result = modelseal(["check"], project)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 0, result.stdout + result.stderr
    assert "stat cache" in result.stderr and "discarding it" in result.stderr


# --- files left by an interrupted write -------------------------------------------------------


def test_atomic_writes_use_a_name_the_walk_skips(tmp_path: Path) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "weights.bin").write_bytes(b"w")
    seen: list[str] = []
    real_replace = os.replace

    def spy(src: Any, dst: Any) -> None:
        seen.append(Path(src).name)
        raise KeyboardInterrupt  # interrupted just before the rename

    os.replace = spy  # type: ignore[assignment]
    try:
        with pytest.raises(KeyboardInterrupt):
            fsio.atomic_write_text(model / "model.manifest.json", "{}")
    finally:
        os.replace = real_replace
    # the temp name follows the fixed pattern the walk knows
    assert seen and seen[0].startswith(fsio.TEMP_PREFIX), seen
    # a crash (no cleanup at all) leaves such a file; the walk does not record it
    (model / seen[0]).write_text("half a manifest")
    nested = model / "sub"
    nested.mkdir()
    (nested / "shard.bin").write_bytes(b"s")
    (nested / f"{fsio.TEMP_PREFIX}abcd1234.tmp").write_bytes(b"x")
    names = [entry.name for entry in list_model(model).files]
    assert names == ["sub/shard.bin", "weights.bin"]


def test_manifest_never_records_a_leftover_temp_file(project: Path, capsys: Any) -> None:
    leftover = project / "good" / f"{fsio.TEMP_PREFIX}x1y2z3w4.tmp"
    leftover.write_text("half-written manifest from a crashed run")
    code, _, err = run_cli(["manifest", "good", "--no-cache"], capsys)
    assert code == 0 and leftover.name in err and "interrupted" in err
    names = [r["name"] for r in json.loads(
        (project / "good" / "model.manifest.json").read_text())["predicate"]["resources"]]
    assert names == ["weights.bin"]
    assert run_cli(["check", "good"], capsys)[0] == 0


def test_the_next_write_removes_stale_temp_files_only(project: Path, capsys: Any) -> None:
    folder = project / "good"
    stale = folder / f"{fsio.TEMP_PREFIX}oldoldol.tmp"
    fresh = folder / f"{fsio.TEMP_PREFIX}newnewne.tmp"
    lookalike = folder / f"{fsio.TEMP_PREFIX}notours"
    for path in (stale, fresh, lookalike):
        path.write_text("x")
    old = time.time() - 2 * fsio.STALE_TEMP_AGE_S
    os.utime(stale, (old, old))
    os.utime(lookalike, (old, old))
    (folder / "weights.bin").write_bytes(b"new weights")
    assert run_cli(["manifest", "good", "--no-cache"], capsys)[0] == 0
    assert not stale.exists()
    assert fresh.exists() and lookalike.exists()


def test_verify_still_reports_a_temp_named_file_as_added(project: Path, tmp_path: Path,
                                                         capsys: Any) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    private = write_private_key(tmp_path / "key.pem", key)
    public = write_public_key(tmp_path / "key.pub", key)
    assert run_cli(["sign", "good", "--method", "key", "--key", str(private)], capsys)[0] == 0
    assert run_cli(["verify", "good", "--key", str(public)], capsys)[0] == 0
    (project / "good" / f"{fsio.TEMP_PREFIX}payload1.tmp").write_bytes(b"smuggled")
    code, out, _ = run_cli(["verify", "good", "--key", str(public), "--format", "json"], capsys)
    assert code == 1
    diff = json.loads(out)["results"][0]["diff"] if "results" in json.loads(out) \
        else json.loads(out)["models"][0]["diff"]
    assert f"{fsio.TEMP_PREFIX}payload1.tmp" in json.dumps(diff)


# --- the stat cache is not steered by the model -------------------------------------------------


def _plant_cache(cache_dir: Path, model: Path, claimed: bytes) -> None:
    """A stat cache claiming ``claimed``'s digest for every file of ``model`` as it is now."""
    entries = {}
    for path in sorted(model.rglob("*")):
        if path.is_file() and path.name != ".git":
            st = path.stat()
            key = f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}:sha256:0"
            entries[key] = [1, [hashlib.sha256(claimed).hexdigest()]]
    cache_dir.mkdir(parents=True, exist_ok=True)
    (cache_dir / CACHE_FILE).write_text(json.dumps({"version": 1, "entries": entries}))


def _true_digest(model: Path) -> str:
    # OMS: SHA-256 over the raw per-file digests, in name order
    files = sorted(p for p in model.iterdir() if p.name == "weights.bin")
    raw = b"".join(hashlib.sha256(p.read_bytes()).digest() for p in files)
    return "sha256:" + hashlib.sha256(raw).hexdigest()


@pytest.fixture()
def planted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A model whose `.git` file names a directory holding a cache with old digests."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))
    model = tmp_path / "model"
    model.mkdir()
    (model / "weights.bin").write_bytes(b"the old weights")
    monkeypatch.chdir(tmp_path)
    subprocess.run(["git", "init", "-q", "--bare", str(tmp_path / "evil")], check=True)
    (model / ".git").write_text("gitdir: ../evil\n")
    assert run_cli(["manifest", "model", "--no-cache"], _Capture())[0] == 0
    (model / "weights.bin").write_bytes(b"the new weights")
    old = time.time() - 3600
    os.utime(model / "weights.bin", (old, old))
    _plant_cache(tmp_path / "evil" / "modelseal", model, b"the old weights")
    return model


def test_planted_cache_does_not_fake_a_digest(planted: Path, capsys: Any) -> None:
    code, out, _ = run_cli(["digest", "model"], capsys)
    assert code == 0 and out.strip() == _true_digest(planted)


def test_planted_cache_does_not_hide_a_change_from_check(planted: Path, capsys: Any) -> None:
    code, out, _ = run_cli(["check", "model"], capsys)
    assert code == 1 and "manifest is stale" in out and "weights.bin" in out


def test_cache_lives_in_the_git_dir_git_resolves(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 capsys: Any) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    model = repo / "models" / "m"
    model.mkdir(parents=True)
    (model / "weights.bin").write_bytes(b"w")
    time.sleep(2.1)  # past the cache's racy-timestamp window, so the digest is kept
    assert run_cli(["check", str(model)], capsys)[0] == 1  # no manifest yet; hashes once
    assert (repo / ".git" / "modelseal" / CACHE_FILE).is_file()
    assert not (tmp_path / "user-cache").exists()


def test_report_against_a_base_keeps_the_other_models(project: Path) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid",
                        *args], cwd=project, check=True, capture_output=True)

    git("init", "-q")
    git("add", "-A")
    git("commit", "-q", "-m", "base")
    (project / "bad" / "model.manifest.json").write_bytes(DEEP_JSON)
    (project / "good" / "weights.bin").write_bytes(b"retrained")
    assert modelseal(["manifest", "good", "--no-cache"], project).returncode == 0
    git("commit", "-q", "-am", "head")
    result = modelseal(["report", "--base", "HEAD~1", "--format", "json"], project)
    assert "Traceback" not in result.stderr, result.stderr
    states = {model["path"]: model for model in json.loads(result.stdout)["models"]}
    assert "nests deeper" in states["bad"]["message"]
    assert [change["path"] for change in states["good"]["changes"]["files"]] == ["weights.bin"]


def test_deep_forge_answer_is_a_clean_error() -> None:
    # everything a forge API returns is untrusted; a loopback server answers 200 with
    # JSON nested 100,000 deep
    import http.server
    import threading

    from modelseal.forge.api import ApiClient, ForgeError

    class Deep(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(DEEP_JSON)

        def log_message(self, *args: Any) -> None:
            return None

    server = http.server.HTTPServer(("127.0.0.1", 0), Deep)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        with pytest.raises(ForgeError, match="is not JSON"):
            ApiClient(base, {}).request("GET", f"{base}/repos/acme/models/issues/1/comments")
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("nested", [
    "models: " + "[" * 5000 + "]" * 5000 + "\n",
    "models:\n" + "".join("  " * level + "-\n" for level in range(3000)),
], ids=["flow", "block"])
def test_deep_config_is_a_one_line_error(tmp_path: Path, nested: str) -> None:
    # `.modelseal.yaml` may come from the change under review
    (tmp_path / ".modelseal.yaml").write_text(nested)
    result = modelseal(["check"], tmp_path)
    assert_clean_failure(result, ".modelseal.yaml", "nests deeper than 32 levels")
    assert result.returncode == 2
