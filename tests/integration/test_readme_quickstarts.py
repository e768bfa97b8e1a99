"""The README's quick starts, pasted into a shell as each kind of newcomer would."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import yaml
from cryptography.hazmat.primitives.asymmetric import ec

from tests.conftest import REPO_ROOT
from tests.git_helpers import (
    PYTHON_BIN,
    Git,
    add_model,
    git_home_fixture,  # noqa: F401 (fixture)
    repo_fixture,  # noqa: F401 (fixture)
)
from tests.signing_support import write_private_key, write_public_key


def quickstart(name: str) -> str:
    """The bash block after ``<!-- quickstart: NAME -->`` in the README."""
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(rf"<!-- quickstart: {name} -->\n```bash\n(.*?)```", text, re.DOTALL)
    assert match, f"README has no quick start {name!r}"
    return match.group(1)


def _bash(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-c", script], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=900)


def test_engineer_quick_start(repo: Git, tmp_path: Path) -> None:
    add_model(repo, "models/bert")
    add_model(repo, "models/gpt")
    env = {**repo.env, "PRE_COMMIT_HOME": str(tmp_path / "pc-home")}
    done = _bash(quickstart("engineer"), repo.path, env)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output  # the second commit passed
    assert "Failed" in output and "git add models/bert/model.manifest.json" in output
    assert repo("status", "--porcelain").stdout == ""
    tracked = repo("ls-files").stdout.split()
    assert {"models/bert/model.manifest.json", "models/gpt/model.manifest.json",
            ".modelseal.yaml", ".pre-commit-config.yaml"} <= set(tracked)
    assert repo("rev-list", "--count", "HEAD").stdout.strip() == "1"
    repo.write("models/gpt/model.safetensors", b"new weights")
    repo("add", "-A")
    edited = repo.commit("edit", check=False)
    assert edited.returncode != 0 and "model.safetensors" in edited.stdout + edited.stderr


def test_ci_quick_start_copies_workflows_that_use_this_repositorys_actions(
        tmp_path: Path) -> None:
    (tmp_path / "examples").symlink_to(REPO_ROOT / "examples")
    done = _bash(quickstart("ci"), tmp_path, {"PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    workflows = tmp_path / ".github" / "workflows"
    uses = []
    for name in ("sign.yml", "verify.yml"):
        copied = workflows / name
        assert copied.read_bytes() == (REPO_ROOT / "examples/github" / name).read_bytes()
        jobs = yaml.safe_load(copied.read_text())["jobs"]
        uses += [step["uses"] for job in jobs.values() for step in job["steps"]
                 if "modelseal/modelseal" in step.get("uses", "")]
    for action in uses:  # modelseal/modelseal[/actions/NAME]@REF -> this checkout
        path = action.split("@")[0].removeprefix("modelseal/modelseal").strip("/")
        assert (REPO_ROOT / path / "action.yml").is_file(), action


def test_consumer_quick_start(tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    private = write_private_key(tmp_path / "publisher.pem", key)
    write_public_key(tmp_path / "publisher.pub", key)
    shutil.copytree(REPO_ROOT / "examples" / "tiny-model", tmp_path / "bert")
    env = {**os.environ, "PATH": f"{PYTHON_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    signed = _bash(f"modelseal sign bert --method key --key {private}", tmp_path, env)
    assert signed.returncode == 0, signed.stderr
    done = _bash(quickstart("consumer"), tmp_path, env)
    assert done.returncode == 0, done.stderr
    assert "verified: the bytes the publisher signed" in done.stdout
    assert json.loads((tmp_path / "verification.json").read_text())["ok"] is True
    weights = tmp_path / "bert" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-1] + b"\x00")
    tampered = _bash(quickstart("consumer").splitlines()[0], tmp_path, env)
    assert tampered.returncode == 1 and "verified:" not in tampered.stdout
    assert "model.safetensors" in tampered.stdout + tampered.stderr
