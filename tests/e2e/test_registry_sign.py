"""`sign oci://` from the registry manifest, and `ollama://` models in a real registry."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.conftest import Result, run_modelseal
from tests.registry_helpers import key_pair, ok, signed_model, verify_json
from tests.registry_server import Registry
from tests.sigstore_stack.fixture import SigstoreStack
from tests.sigstore_stack.fixture import sigstore_stack as sigstore_stack


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


REPO, WORKFLOW, REF = "acme/models", ".github/workflows/publish.yml", "refs/heads/main"


def test_action_sign_step_signs_registry_references_keyless(
        registry: Registry, sigstore_stack: SigstoreStack, tmp_path: Path) -> None:
    """The Action's sign step: an unsigned pushed model is signed keyless and the bundle
    attached; a local model beside it is signed as before; a second run keeps both."""
    private, _ = key_pair(tmp_path)
    pushed = signed_model(tmp_path, private, "pushed")
    (pushed / "model.sig").unlink()
    reference = f"oci://{registry.host}/acme/action-keyless:v1"
    ok(run_modelseal(["push", str(pushed), reference]))
    workspace = tmp_path / "ws"
    workspace.mkdir()
    local = signed_model(workspace, private, "local")
    (local / "model.sig").unlink()
    policy = ["--repository", REPO, "--workflow", WORKFLOW, "--ref", REF,
              "--issuer", sigstore_stack.issuer, "--trust-config",
              str(sigstore_stack.trust_config)]
    assert verify_json(reference, *policy)[0] == 1

    def sign_step(name: str) -> tuple[Result, str, str]:
        summary, output = tmp_path / f"{name}-summary.md", tmp_path / f"{name}-output.txt"
        summary.write_text("")
        output.write_text("")
        env = {**sigstore_stack.github_actions_env(REPO, WORKFLOW, REF),
               "MODELSEAL_INPUT_PATHS": f"local {reference}",
               "MODELSEAL_INPUT_ISSUER": sigstore_stack.issuer,
               "MODELSEAL_INPUT_TRUST_CONFIG": str(sigstore_stack.trust_config),
               "GITHUB_WORKSPACE": str(workspace), "GITHUB_STEP_SUMMARY": str(summary),
               "GITHUB_OUTPUT": str(output), "RUNNER_TEMP": str(tmp_path / "runner-temp")}
        (tmp_path / "runner-temp").mkdir(exist_ok=True)
        result = run_modelseal(["action", "run", "--command", "sign"], cwd=workspace, env=env)
        return result, summary.read_text(), output.read_text()

    first, summary, output = sign_step("first")
    assert first.returncode == 0, first.stdout + first.stderr
    assert f"| `{reference}` | signed now |" in summary
    assert f"{registry.host}/acme/action-keyless@sha256:" in summary
    assert outputs(output)["signed"] == ["local/model.sig", reference]
    assert outputs(output)["signatures"] == ["local/model.sig"]  # files only
    code, doc = verify_json(reference, *policy)
    assert code == 0, doc
    assert doc["models"][0]["signature_source"].endswith("(tag schema)")
    assert doc["bytes_fetched"] < 64 * 1024
    # another workflow's identity does not pass: the policy is really checked
    other = ["--repository", "acme/other", *policy[2:]]
    assert verify_json(reference, *other)[0] == 1

    again, summary, output = sign_step("again")
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"| `{reference}` | unchanged, kept |" in summary
    assert "signature already verifies" in again.stdout
    assert outputs(output)["signed"] == []
    referrers = [line for line in again.stdout.splitlines() if "-> referrer" in line]
    assert referrers == []


def outputs(text: str) -> dict[str, list[str]]:
    """``$GITHUB_OUTPUT`` records (``name<<DELIM`` ... ``DELIM``) as lists of lines."""
    found: dict[str, list[str]] = {}
    lines = iter(text.splitlines())
    for line in lines:
        name, _, delimiter = line.partition("<<")
        values = []
        for value in lines:
            if value == delimiter:
                break
            values.append(value)
        found[name] = [v for v in values if v]
    return found


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
