"""The CLI end to end: manifest, check, digest, demo, and every error path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, run_modelseal, run_modelseal_process


def assert_one_line_error(result: object, code: int, fragment: str) -> None:
    assert result.returncode == code, (result.stdout, result.stderr)  # type: ignore[attr-defined]
    err = result.stderr.strip()  # type: ignore[attr-defined]
    assert "Traceback" not in err
    assert err.startswith("modelseal: error: ") and "\n" not in err, err
    assert fragment in err


def test_manifest_then_check_then_tamper(tiny_model: Path) -> None:
    first = run_modelseal(["check", str(tiny_model)])
    assert first.returncode == 1 and "no manifest" in first.stdout
    wrote = run_modelseal(["manifest", str(tiny_model)])
    assert wrote.returncode == 0 and "created" in wrote.stdout
    assert (tiny_model / "model.manifest.json").is_file()
    assert run_modelseal(["check", str(tiny_model)]).returncode == 0
    again = run_modelseal(["manifest", str(tiny_model)])
    assert "up to date" in again.stdout
    (tiny_model / "config.json").write_text("{}")
    (tiny_model / "extra.bin").write_bytes(b"new")
    (tiny_model / "tokenizer.json").rename(tiny_model / "tok.json")
    (tiny_model / "README.md").unlink()
    stale = run_modelseal(["check", str(tiny_model)])
    assert stale.returncode == 1
    assert "~ modified  config.json" in stale.stdout
    assert "+ added     extra.bin" in stale.stdout
    assert "> renamed   tokenizer.json -> tok.json" in stale.stdout
    assert "- removed   README.md" in stale.stdout
    assert "modelseal manifest" in stale.stdout


def test_check_json_output(tiny_model: Path) -> None:
    run_modelseal(["manifest", str(tiny_model)])
    (tiny_model / "config.json").write_text("{}")
    result = run_modelseal(["check", str(tiny_model), "--format", "json"])
    assert result.returncode == 1
    data = json.loads(result.stdout)
    assert data["version"] == 1 and data["ok"] is False
    model = data["models"][0]
    assert model["status"] == "stale"
    assert model["diff"]["modified"] == [{"path": "config.json", "size": 2, "old_size": 2}]


def test_digest_matches_manifest_root(tiny_model: Path) -> None:
    run_modelseal(["manifest", str(tiny_model)])
    statement = json.loads((tiny_model / "model.manifest.json").read_text())
    result = run_modelseal(["digest", str(tiny_model)])
    assert result.stdout.strip() == "sha256:" + statement["subject"][0]["digest"]["sha256"]
    as_json = json.loads(run_modelseal(["digest", str(tiny_model), "--format", "json"]).stdout)
    assert as_json["digest"] == result.stdout.strip() and as_json["files"] == 4


def test_models_from_config_in_a_parent_directory(tmp_path: Path, tiny_model: Path) -> None:
    (tmp_path / ".modelseal.yaml").write_text("models:\n  - path: tiny-model\n    hash: blake2b\n")
    sub = tmp_path / "somewhere"
    sub.mkdir()
    assert run_modelseal(["manifest"], cwd=sub).returncode == 0
    statement = json.loads((tiny_model / "model.manifest.json").read_text())
    assert statement["predicate"]["serialization"]["hash_type"] == "blake2b"
    # an explicit path picks up the entry's options as well
    assert run_modelseal(["check", str(tiny_model)], cwd=sub).returncode == 0


def test_single_file_model_gets_a_sibling_manifest(tmp_path: Path) -> None:
    weights = tmp_path / "model.gguf"
    weights.write_bytes(b"GGUF" * 100)
    assert run_modelseal(["manifest", str(weights)]).returncode == 0
    assert (tmp_path / "model.gguf.manifest.json").is_file()
    assert run_modelseal(["check", str(weights)]).returncode == 0


def test_corrupt_manifest_is_stale_for_check_and_replaced_by_manifest(tiny_model: Path) -> None:
    (tiny_model / "model.manifest.json").write_text("<<<<<<< HEAD\n")
    check = run_modelseal(["check", str(tiny_model)])
    assert_one_line_error(check, 2, "not valid JSON")
    assert run_modelseal(["manifest", str(tiny_model)]).returncode == 0
    assert run_modelseal(["check", str(tiny_model)]).returncode == 0


@pytest.mark.parametrize(("setup", "args", "code", "fragment"), [
    ("none", ["check"], 2, "no model path given"),
    ("none", ["check", "does-not-exist"], 2, "does not exist"),
    ("symlink", ["manifest", "model"], 2, "is a symlink"),
    ("fifo", ["manifest", "model"], 2, "FIFO"),
    ("empty", ["manifest", "model"], 2, "contains no files"),
    ("badconfig", ["check"], 2, ".modelseal.yaml:1: unknown key 'modles'"),
    ("badconfig", ["manifest", "model"], 2, "unknown key 'modles'"),
    ("none", ["check", "--config", "missing.yaml", "model"], 2, "does not exist"),
])
def test_error_paths_are_one_line(tmp_path: Path, setup: str, args: list[str], code: int,
                                  fragment: str) -> None:
    model = tmp_path / "model"
    model.mkdir()
    if setup != "empty":
        (model / "w.bin").write_text("weights")
    if setup == "symlink":
        (model / "link").symlink_to("w.bin")
    if setup == "fifo":
        os.mkfifo(model / "pipe")
    if setup == "badconfig":
        (tmp_path / ".modelseal.yaml").write_text("modles: []\n")
    run = run_modelseal_process if setup == "fifo" else run_modelseal  # a hang: a timeout
    assert_one_line_error(run(args, cwd=tmp_path), code, fragment)


def test_debug_shows_a_traceback(tmp_path: Path) -> None:
    result = run_modelseal(["manifest", "--debug", "nope"], cwd=tmp_path)
    assert result.returncode != 0 and "Traceback" in result.stderr


def test_usage_error_exits_2() -> None:
    assert run_modelseal(["check", "--format", "yaml"]).returncode == 2
    assert run_modelseal([]).returncode == 2


def test_help_has_examples() -> None:
    for command in ("manifest", "check", "digest", "demo"):
        result = run_modelseal([command, "--help"])
        assert result.returncode == 0 and "examples:" in result.stdout


def test_version_and_check_do_not_import_sigstore(tiny_model: Path) -> None:
    code = ("import sys\nfrom modelseal.cli import main\n"
            "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in sys.modules if m.split('.')[0] in ('sigstore', 'git')]\n"
            "print('heavy modules:', heavy)\n")
    for args in (["--version"], ["check", str(tiny_model)], ["manifest", str(tiny_model)]):
        result = subprocess.run([sys.executable, "-c", code, *args], capture_output=True,
                                text=True, cwd=REPO_ROOT)
        assert "heavy modules: []" in result.stdout, result.stdout + result.stderr


def test_demo_runs_and_leaves_the_checkout_clean() -> None:
    before = sorted(p.name for p in (REPO_ROOT / "examples" / "tiny-model").iterdir())
    result = run_modelseal(["demo"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "every check behaved as expected" in result.stdout
    assert "~ modified  model.safetensors" in result.stdout
    assert "wrote model.sig" in result.stdout
    assert "the signature no longer matches the bytes on disk" in result.stdout
    assert "modelseal: 1 of 1 model failed" in result.stdout  # the reviewer's report
    assert sorted(p.name for p in (REPO_ROOT / "examples" / "tiny-model").iterdir()) == before


def test_shards_mode_warns_about_empty_files(tmp_path: Path) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "w.bin").write_bytes(b"x" * 100)
    (model / "EMPTY_MARKER").write_bytes(b"")
    (tmp_path / ".modelseal.yaml").write_text(
        "models:\n  - path: model\n    serialization: shards\n    shard_size: 64\n")
    result = run_modelseal(["manifest"], cwd=tmp_path)
    assert result.returncode == 0
    assert "shards mode does not cover empty files" in result.stderr
    assert "EMPTY_MARKER" in result.stderr
