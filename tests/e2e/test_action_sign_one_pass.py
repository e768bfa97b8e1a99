"""The Action's sign step hashes each model once: the scan that decides whether a model
is already signed is the one its new signature is made from.

Bytes are counted with /proc/self/io, which includes every child process the step
waited for, so a step that hashes in `modelseal verify` and again in `modelseal sign`
subprocesses is counted in full.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelseal.ci import steps
from modelseal.ci.inputs import ActionInputs, Policy
from modelseal.ci.runner import Context, RunnerFiles
from modelseal.ci.step import Step, StepResult
from modelseal.cli import main as cli_main
from tests.sigstore_stack.fixture import SigstoreStack
from tests.sigstore_stack.fixture import sigstore_stack as _stack_fixture  # noqa: F401

REPO = "acme/models"
SIGN_WORKFLOW = ".github/workflows/sign.yml"
WEIGHTS = 48 * 1024 * 1024

needs_proc_io = pytest.mark.skipif(not Path("/proc/self/io").exists(),
                                   reason="needs Linux /proc/self/io to count bytes read")


def bytes_read() -> int:
    """`rchar` of this process, its threads and every child it has waited for."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise AssertionError("no rchar in /proc/self/io")


@pytest.fixture
def workspace(tmp_path: Path, sigstore_stack: SigstoreStack,
              monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A checkout with one model of WEIGHTS bytes, in a job that may get an OIDC token."""
    root = tmp_path / "workspace"
    model = root / "models" / "big"
    model.mkdir(parents=True)
    (model / "config.json").write_text("{}\n", encoding="utf-8")
    (model / "weights.bin").write_bytes(os.urandom(WEIGHTS))
    for key, value in sigstore_stack.github_actions_env(REPO, workflow=SIGN_WORKFLOW).items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(root)
    yield root


def _sign_step(workspace: Path, stack: SigstoreStack) -> StepResult:
    inputs = ActionInputs(paths=("models/big",), trust_config=str(stack.trust_config),
                          policy=Policy(repository=REPO, workflow=SIGN_WORKFLOW,
                                        ref="refs/heads/main", issuer=stack.issuer))
    files = RunnerFiles(output=workspace.parent / "out", summary=workspace.parent / "summary")
    step = Step(inputs, Context(workspace=workspace, temp=workspace.parent),
                      files, dict(os.environ))
    return steps.sign_local(step, inputs)


@needs_proc_io
def test_the_sign_step_hashes_a_changed_model_once(workspace: Path,
                                                   sigstore_stack: SigstoreStack,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    first = _sign_step(workspace, sigstore_stack)
    assert first.exit_code == 0 and first.outputs["signed"] == "models/big/model.sig"
    again = _sign_step(workspace, sigstore_stack)
    assert again.exit_code == 0 and again.outputs["signed"] == ""
    assert "not re-signing" in capsys.readouterr().out

    # a new version of the weights, reviewed and committed with its manifest
    weights = workspace / "models" / "big" / "weights.bin"
    weights.write_bytes(os.urandom(WEIGHTS))
    assert cli_main(["manifest", "models/big", "--no-cache"]) == 0
    before = bytes_read()
    resigned = _sign_step(workspace, sigstore_stack)
    read = bytes_read() - before
    assert resigned.exit_code == 0 and resigned.outputs["signed"] == "models/big/model.sig"
    # once: the weights, plus what imports and the bundle cost (far below a second pass)
    assert WEIGHTS <= read < 1.4 * WEIGHTS, f"read {read} bytes for a {WEIGHTS}-byte model"
    assert cli_main(["verify", "models/big", "--repository", REPO, "--workflow",
                     SIGN_WORKFLOW, "--issuer", sigstore_stack.issuer, "--trust-config",
                     str(sigstore_stack.trust_config)]) == 0
