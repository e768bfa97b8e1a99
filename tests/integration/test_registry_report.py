"""`report` with registry models (oci://) mixed with local ones, against a real registry."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest

from modelseal.report.model import report_from_json
from tests.conftest import run_modelseal
from tests.registry_helpers import key_pair, ok, pinned_digest, signed_model
from tests.registry_server import Registry, free_port
from tests.report_samples import validator


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path]:
    return key_pair(tmp_path)


def _push(registry: Registry, model: Path, repo: str) -> tuple[str, str]:
    reference = f"oci://{registry.host}/{repo}"
    result = ok(run_modelseal(["push", str(model), reference]))
    return reference, pinned_digest(result.stdout)


def _report(cwd: Path, *args: str) -> tuple[int, dict[str, Any]]:
    result = run_modelseal(["report", *args, "--format", "json"], cwd=cwd)
    assert result.stdout, result.stderr
    document = json.loads(result.stdout)
    validator().validate(document)
    return result.returncode, document


def _rows(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {model["path"]: model for model in document["models"]}


def test_local_and_signed_registry_models_verify_in_every_format(
        registry: Registry, tmp_path: Path, keys: tuple[Path, Path]) -> None:
    signed_model(tmp_path, keys[0], "local-model")
    pushed = signed_model(tmp_path, keys[0], "pushed-model")
    reference, digest = _push(registry, pushed, "acme/report-ok:v1")
    pinned = f"{registry.host}/acme/report-ok@{digest}"
    args = ["local-model", reference, "--key", str(keys[1])]
    code, document = _report(tmp_path, *args)
    assert code == 0, document
    rows = _rows(document)
    assert rows["local-model"]["state"] == "signed-unchanged"
    remote = rows[reference]
    assert remote["state"] == "verified" and remote["severity"] == "ok"
    assert remote["reference"] == pinned
    assert remote["signer"]["method"] == "key"
    assert remote["changes"]["files"] == []
    assert remote["verify_command"].startswith(f"modelseal verify oci://{pinned} --key ")
    assert report_from_json(document).models[1].reference == pinned

    markdown = ok(run_modelseal(["report", *args], cwd=tmp_path)).stdout
    cmarkgfm = pytest.importorskip("cmarkgfm")
    html = cmarkgfm.github_flavored_markdown_to_html(markdown)
    assert f"Pull by digest: <code>{pinned}</code>" in html
    assert f"modelseal verify oci://{pinned}" in html
    text = ok(run_modelseal(["report", *args, "--format", "text"], cwd=tmp_path)).stdout
    assert f"pull by digest: {pinned}" in text and reference in text
    junit = ok(run_modelseal(["report", *args, "--format", "junit"], cwd=tmp_path)).stdout
    cases = {case.get("name"): case for case in ElementTree.fromstring(junit).iter("testcase")}
    assert pinned in (cases[reference].findtext("system-out") or "")
    assert cases[reference].find("failure") is None


def test_tampered_repush_is_a_failure_row_naming_the_file(
        registry: Registry, tmp_path: Path, keys: tuple[Path, Path]) -> None:
    model = signed_model(tmp_path, keys[0])
    reference, _ = _push(registry, model, "acme/report-tamper:v1")
    signature = tmp_path / "model.sig"
    shutil.move(model / "model.sig", signature)
    with (model / "config.json").open("a") as handle:
        handle.write(" ")
    _, second = _push(registry, model, "acme/report-tamper:v1")
    ok(run_modelseal(["attach", reference, "--signature", str(signature)]))
    code, document = _report(tmp_path, reference, "--key", str(keys[1]))
    assert code == 1
    row = _rows(document)[reference]
    assert row["state"] == "signature-invalid" and row["severity"] == "failure"
    assert "config.json" in row["message"]
    assert [f["path"] for f in row["mismatch"]["files"]] == ["config.json"]
    assert row["reference"].endswith(second)
    junit = run_modelseal(["report", reference, "--key", str(keys[1]), "--format", "junit"],
                          cwd=tmp_path).stdout
    failure = ElementTree.fromstring(junit).find(".//failure")
    assert failure is not None and "config.json" in (failure.text or "")


def test_unsigned_registry_model_fails_as_verify_does(
        registry: Registry, tmp_path: Path, keys: tuple[Path, Path]) -> None:
    model = signed_model(tmp_path, keys[0])
    (model / "model.sig").unlink()
    reference, digest = _push(registry, model, "acme/report-unsigned:v1")
    code, document = _report(tmp_path, reference, "--key", str(keys[1]))
    assert code == 1
    row = _rows(document)[reference]
    assert row["state"] == "unsigned" and row["severity"] == "failure"
    assert row["reference"] == f"{registry.host}/acme/report-unsigned@{digest}"
    assert "no OMS bundle is attached" in row["message"]


def test_unreachable_registry_is_an_error_row_and_the_rest_is_reported(
        registry: Registry, tmp_path: Path, keys: tuple[Path, Path]) -> None:
    local = signed_model(tmp_path, keys[0], "local-model")
    pushed = signed_model(tmp_path, keys[0], "pushed-model")
    reference, _ = _push(registry, pushed, "acme/report-mixed:v1")
    missing = f"oci://{registry.host}/acme/report-none:v1"
    unreachable = f"oci://127.0.0.1:{free_port()}/acme/gone:v1"
    code, document = _report(tmp_path, local.name, unreachable, reference, missing,
                             "--key", str(keys[1]))
    assert code == 1
    rows = _rows(document)
    assert rows["local-model"]["state"] == "signed-unchanged"
    assert rows[reference]["state"] == "verified"
    for failed in (unreachable, missing):
        assert rows[failed]["state"] == "signature-invalid", rows[failed]
        assert rows[failed]["severity"] == "failure"
        assert "reference" not in rows[failed]
        assert rows[failed]["verify_command"].startswith(f"modelseal verify {failed} --key ")
    assert "not found: manifest" in rows[missing]["message"]
    assert "127.0.0.1" in rows[unreachable]["message"]
    assert document["summary"].startswith("2 of 4 models failed")


def test_malformed_reference_is_a_usage_error(registry: Registry, tmp_path: Path) -> None:
    result = run_modelseal(["report", f"oci://{registry.host}/Acme/UPPER:v1"], cwd=tmp_path)
    assert result.returncode == 2 and "lowercase" in result.stderr


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True,
                   env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t.invalid",
                        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t.invalid",
                        "PATH": "/usr/bin:/bin", "HOME": str(repo)})


def test_base_policy_judges_registry_models_not_the_head_config(
        registry: Registry, tmp_path: Path, keys: tuple[Path, Path]) -> None:
    """With --base the trusted signers come from the base revision, as `verify --base`."""
    model = signed_model(tmp_path, keys[0])
    reference, _ = _push(registry, model, "acme/report-base:v1")
    repo = tmp_path / "repo"
    (repo / "keys").mkdir(parents=True)
    shutil.copy(keys[1], repo / "keys" / "signer-pub.pem")
    (repo / ".modelseal.yaml").write_text("policy:\n  keys: [keys/signer-pub.pem]\n")
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "base")
    # the head swaps the trusted key for its own: the base's policy must still apply
    _, attacker = key_pair(tmp_path, "attacker")
    shutil.copy(attacker, repo / "keys" / "signer-pub.pem")
    _git(repo, "commit", "-q", "-am", "head")
    code, document = _report(repo, reference, "--base", "HEAD~1")
    assert code == 0, document  # the key file's change is shown (a warning, not strict)
    assert document["verdict"] == "warn"
    assert _rows(document)[reference]["state"] == "verified"
    assert document["policy_change"]["paths"] == ["keys/signer-pub.pem"]
    head_code, head_document = _report(repo, reference)
    assert head_code == 1
    assert _rows(head_document)[reference]["state"] != "verified"
    # a PATH was named (a reference): the repository's other weights are not reported
    (repo / "stray").mkdir()
    (repo / "stray" / "weights.safetensors").write_bytes(os.urandom(64))
    _, named = _report(repo, reference, "--base", "HEAD~1")
    assert "untracked_weights" not in named


@pytest.mark.parametrize("value", ["x" * 600, "host/repo:latest", "host/repo@sha256:" + "A" * 64,
                                   "host/repo@sha256:" + "0" * 64 + "\n<b>"])
def test_a_saved_report_with_a_malformed_reference_is_refused(value: str) -> None:
    from modelseal.errors import UsageError

    document = {"kind": "modelseal-report", "schema_version": 1,
                "models": [{"path": "oci://h/r:v1", "state": "verified", "reference": value}]}
    with pytest.raises(UsageError, match="reference must be"):
        report_from_json(document)


def test_ollama_reference_is_reported_through_the_same_path(registry: Registry,
                                                            tmp_path: Path) -> None:
    from modelseal.stores.registry import RegistryClient, sha256_digest
    from tests.store_builders import build_ollama_store

    store = build_ollama_store(tmp_path / "ollama", [
        ("application/vnd.ollama.image.model", b"GGUF" + os.urandom(4096)),
        ("application/vnd.ollama.image.template", b"{{ .Prompt }}")])
    private, public = key_pair(tmp_path)
    signature = tmp_path / "tiny.sig"
    ok(run_modelseal(["sign", "--ollama", "tiny", "--method", "key", "--key", str(private),
                      "--signature", str(signature)], env={"OLLAMA_MODELS": str(store)}))
    manifest = (store / "manifests" / "registry.ollama.ai" / "library" / "tiny" /
                "latest").read_bytes()
    client = RegistryClient(registry.host)
    document = json.loads(manifest)
    for descriptor in [document["config"], *document["layers"]]:
        blob = store / "blobs" / descriptor["digest"].replace(":", "-")
        client.push_blob("library/report-tiny", descriptor["digest"], blob.read_bytes())
    client.push_manifest("library/report-tiny", "latest", manifest, document["mediaType"])
    reference = f"ollama://{registry.host}/library/report-tiny:latest"
    ok(run_modelseal(["attach", reference, "--signature", str(signature)]))
    code, report = _report(tmp_path, reference, "--key", str(public))
    assert code == 0, report
    row = _rows(report)[reference]
    assert row["state"] == "verified"
    assert row["reference"] == f"{registry.host}/library/report-tiny@{sha256_digest(manifest)}"
    # Ollama references have no digest form: the command names the tag, and works
    assert row["verify_command"].startswith(f"modelseal verify {reference} --key ")


def test_manifest_digest_mismatch_is_an_error_row(registry: Registry, tmp_path: Path,
                                                  keys: tuple[Path, Path]) -> None:
    model = signed_model(tmp_path, keys[0])
    reference, digest = _push(registry, model, "acme/report-mismatch:v1")
    stored = registry.blob_file(digest)
    document = json.loads(stored.read_bytes())
    document["annotations"] = {"swapped": "yes"}
    stored.write_bytes(json.dumps(document).encode())
    code, report = _report(tmp_path, reference, "--key", str(keys[1]))
    assert code == 1
    row = _rows(report)[reference]
    assert row["state"] == "signature-invalid" and row["severity"] == "failure"
    assert "digest mismatch" in row["message"] and digest in row["message"]


def test_signature_flag_names_the_one_references_bundle(registry: Registry, tmp_path: Path,
                                                        keys: tuple[Path, Path]) -> None:
    model = signed_model(tmp_path, keys[0])
    signature = tmp_path / "kept.sig"
    shutil.move(model / "model.sig", signature)
    reference, _ = _push(registry, model, "acme/report-flag:v1")  # pushed unsigned
    code, report = _report(tmp_path, reference, "--key", str(keys[1]),
                           "--signature", str(signature))
    assert code == 0, report
    assert _rows(report)[reference]["state"] == "verified"
    both = run_modelseal(["report", reference, model.name, "--signature", str(signature)],
                         cwd=tmp_path)
    assert both.returncode == 2 and "one bundle" in both.stderr
