"""`sign oci://` from the registry manifest, and `ollama://` models in a real registry."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.conftest import run_modelseal
from tests.registry_helpers import key_pair, ok, signed_model, verify_json
from tests.registry_server import Registry


def test_sign_from_the_registry_attaches_a_bundle_that_verifies(registry: Registry,
                                                                tmp_path: Path) -> None:
    private, public = key_pair(tmp_path)
    model = signed_model(tmp_path, private)
    (model / "model.sig").unlink()
    reference = f"oci://{registry.host}/acme/signed-remotely:v1"
    ok(run_modelseal(["push", str(model), reference]))
    unsigned = run_modelseal(["verify", reference, "--key", str(public)])
    assert unsigned.returncode == 1
    copy = tmp_path / "copy.sig"
    signed = ok(run_modelseal(["sign", reference, "--method", "key", "--key", str(private),
                               "--signature", str(copy)]))
    assert "signed (key, 4 resources" in signed.stdout and "(tag schema)" in signed.stdout
    code, doc = verify_json(reference, "--key", str(public))
    assert code == 0, doc
    assert doc["bytes_fetched"] < 64 * 1024  # signing read the manifest, not the blobs
    # the same statement as signing the directory: one signature across packagings
    ok(run_modelseal(["verify", str(model), "--key", str(public), "--signature", str(copy)]))


def test_ollama_reference_names_resources_as_the_store_does(registry: Registry,
                                                            tmp_path: Path) -> None:
    from modelseal.stores.ociref import parse
    from modelseal.stores.registry import RegistryClient, sha256_digest
    from tests.store_builders import build_ollama_store

    layers = [("application/vnd.ollama.image.model", b"GGUF" + os.urandom(4096)),
              ("application/vnd.ollama.image.template", b"{{ .Prompt }}"),
              ("application/vnd.ollama.image.params", b'{"stop": ["<|end|>"]}')]
    store = build_ollama_store(tmp_path / "ollama", layers)
    private, public = key_pair(tmp_path)
    signature = tmp_path / "tiny.sig"
    ok(run_modelseal(["sign", "--ollama", "tiny", "--method", "key", "--key", str(private),
                      "--signature", str(signature)], env={"OLLAMA_MODELS": str(store)}))
    # publish the store's manifest and blobs as an Ollama registry holds them
    manifest = (store / "manifests" / "registry.ollama.ai" / "library" / "tiny" /
                "latest").read_bytes()
    client = RegistryClient(registry.host)
    document = json.loads(manifest)
    for descriptor in [document["config"], *document["layers"]]:
        blob = store / "blobs" / descriptor["digest"].replace(":", "-")
        client.push_blob("library/tiny", descriptor["digest"], blob.read_bytes())
    client.push_manifest("library/tiny", "latest", manifest, document["mediaType"])
    reference = f"ollama://{registry.host}/library/tiny:latest"
    code, doc = verify_json(reference, "--key", str(public), "--signature", str(signature))
    assert code == 0, doc
    assert doc["models"][0]["reference"] == \
        f"{registry.host}/library/tiny@{sha256_digest(manifest)}"
    ok(run_modelseal(["attach", reference, "--signature", str(signature)]))
    code, doc = verify_json(reference, "--key", str(public))
    assert code == 0, doc
    assert doc["models"][0]["signature_source"].endswith("(tag schema)")
    assert parse(reference).repository == "library/tiny"


def test_action_paths_accept_registry_references(registry: Registry, tmp_path: Path) -> None:
    """The Action's verify step: oci:// paths verified in the registry, one row each."""
    private, public = key_pair(tmp_path)
    good = signed_model(tmp_path, private)
    good_ref = f"oci://{registry.host}/acme/action-good:v1"
    ok(run_modelseal(["push", str(good), good_ref]))
    (good / "model.sig").unlink()
    bad_ref = f"oci://{registry.host}/acme/action-unsigned:v1"
    ok(run_modelseal(["push", str(good), bad_ref]))
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / ".modelseal.yaml").write_text(f"version: 1\npolicy:\n  keys: [{public}]\n")

    def action(paths: str) -> tuple[int, str, str]:
        summary, output = workspace / "summary.md", workspace / "output.txt"
        summary.write_text("")
        output.write_text("")
        env = {"MODELSEAL_INPUT_PATHS": paths, "GITHUB_WORKSPACE": str(workspace),
               "GITHUB_STEP_SUMMARY": str(summary), "GITHUB_OUTPUT": str(output),
               "RUNNER_TEMP": str(tmp_path / "runner-temp"), "GITHUB_EVENT_NAME": "push"}
        (tmp_path / "runner-temp").mkdir(exist_ok=True)
        result = run_modelseal(["action", "run", "--command", "verify"], cwd=workspace, env=env)
        return result.returncode, summary.read_text(), output.read_text()

    code, summary, output = action(good_ref)
    assert code == 0, summary
    assert "| verified |" in summary and f"{registry.host}/acme/action-good@sha256:" in summary
    assert "verified<<" in output and "\ntrue\n" in output
    code, summary, output = action(f"{good_ref} {bad_ref}")
    assert code == 1
    assert "| FAILED |" in summary and "not signed" in summary
    signing = run_modelseal(["action", "run", "--command", "sign"], cwd=workspace,
                            env={"MODELSEAL_INPUT_PATHS": good_ref,
                                 "GITHUB_WORKSPACE": str(workspace)})
    assert signing.returncode == 2 and "modelseal push" in signing.stdout + signing.stderr


def test_export_reads_a_registry_model(registry: Registry, tmp_path: Path) -> None:
    private, public = key_pair(tmp_path)
    model = signed_model(tmp_path, private)
    reference = f"oci://{registry.host}/acme/exported:v1"
    ok(run_modelseal(["push", str(model), reference]))
    local = json.loads(ok(run_modelseal(["export", "--format", "oci-descriptors",
                                         str(model)])).stdout)
    remote = json.loads(ok(run_modelseal(["export", "--format", "oci-descriptors",
                                          reference])).stdout)
    assert remote["reference"].startswith(f"{registry.host}/acme/exported@sha256:")
    assert {(d["digest"], d["size"]) for d in remote["layers"]} == \
        {(d["digest"], d["size"]) for d in local["layers"]}
    info = json.loads(ok(run_modelseal(["export", "--format", "ollama-signature", reference,
                                        "--key", str(public)])).stdout)
    assert info["verified"] is True and info["format"] == "oms-v1.0"
    _, other = key_pair(tmp_path, "other")
    refused = run_modelseal(["export", "--format", "ollama-signature", reference,
                             "--key", str(other)])
    assert refused.returncode == 1 and json.loads(refused.stdout)["verified"] is False
