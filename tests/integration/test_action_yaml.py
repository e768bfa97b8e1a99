"""The action and example workflow YAML: linters, schemas, pins and consistency.

zizmor (``--offline``) must find nothing at medium severity or above, and
check-jsonschema's bundled ``vendor.github-actions``/``vendor.github-workflows``
schemas must accept the files. Both run offline (no schema or advisory download).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.gha_runner import REPO_ROOT

ACTIONS = [REPO_ROOT / "action.yml", REPO_ROOT / "actions" / "sign" / "action.yml",
           REPO_ROOT / "actions" / "verify" / "action.yml"]
EXAMPLES = REPO_ROOT / "examples" / "github"
WORKFLOWS = sorted(p for p in EXAMPLES.glob("*.yml") if p.name != "zizmor.yml")
ZIZMOR_CONFIG = EXAMPLES / "zizmor.yml"

# Every third-party action, pinned by the commit of the release tag named beside it
# (taken from each repository's tags with `git show-ref --tags`).
PINS = {
    "actions/checkout": ("3d3c42e5aac5ba805825da76410c181273ba90b1", "v7.0.1"),
    "actions/setup-python": ("5fda3b95a4ea91299a34e894583c3862153e4b97", "v7.0.0"),
    "actions/upload-artifact": ("bbbca2ddaa5d8feaa63e36b76fdaad77386f024f", "v7.0.0"),
    "actions/download-artifact": ("3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c", "v8.0.1"),
}
OWN_ACTIONS = {"modelseal/modelseal": REPO_ROOT,
               "modelseal/modelseal/actions/sign": REPO_ROOT / "actions" / "sign",
               "modelseal/modelseal/actions/verify": REPO_ROOT / "actions" / "verify"}


def tool(name: str) -> str:
    """A console script installed beside this interpreter (or on PATH)."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: pip install -e '.[test]'")
    return found


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict)
    return data


def all_steps(path: Path) -> list[dict[str, Any]]:
    data = load(path)
    if "runs" in data:
        return list(data["runs"]["steps"])
    return [step for job in data["jobs"].values() for step in job.get("steps", [])]


def test_zizmor_finds_nothing_at_medium_or_above() -> None:
    files = [str(p) for p in (*ACTIONS, *WORKFLOWS)]
    proc = subprocess.run([tool("zizmor"), "--offline", "--no-progress", "--min-severity",
                           "medium", "--config", str(ZIZMOR_CONFIG), "--format", "plain",
                           *files], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No findings to report" in proc.stdout + proc.stderr


def test_zizmor_flags_an_expression_inside_run(tmp_path: Path) -> None:
    """The zizmor check has teeth: template injection in a copy of the action is found."""
    text = (REPO_ROOT / "action.yml").read_text().replace(
        """run: '"$MODELSEAL_PYTHON" -I -m modelseal action run'""",
        """run: 'echo ${{ inputs.paths }}'""")
    bad = tmp_path / "action.yml"
    bad.write_text(text)
    proc = subprocess.run([tool("zizmor"), "--offline", "--no-progress", "--format", "plain",
                           str(bad)], capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    assert "template-injection" in proc.stdout


@pytest.mark.parametrize(("schema", "paths"), [("vendor.github-actions", ACTIONS),
                                              ("vendor.github-workflows", WORKFLOWS)])
def test_files_match_the_bundled_github_schemas(schema: str, paths: list[Path]) -> None:
    proc = subprocess.run([tool("check-jsonschema"), "--builtin-schema", schema,
                           *map(str, paths)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("path", [*ACTIONS, *WORKFLOWS], ids=lambda p: p.name)
def test_third_party_actions_are_pinned_to_the_named_tag(path: Path) -> None:
    lines = path.read_text().splitlines()
    for line in lines:
        match = re.search(r"uses:\s*([^@\s]+)@(\S+)(.*)", line)
        if not match or match[1] in OWN_ACTIONS:
            continue
        action, ref, comment = match[1], match[2], match[3]
        assert action in PINS, f"{path.name}: unexpected action {action}"
        sha, tag = PINS[action]
        assert ref == sha, f"{path.name}: {action} must be pinned to {sha} ({tag})"
        assert comment.strip() == f"# {tag}", f"{path.name}: say which tag {sha} is"


@pytest.mark.parametrize("path", ACTIONS, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_run_steps_take_inputs_only_through_env(path: Path) -> None:
    for step in all_steps(path):
        if "run" in step:
            assert "${{" not in step["run"], step["name"]
            assert step.get("shell") == "bash", step["name"]


def test_sub_actions_run_the_same_steps_as_the_root_action() -> None:
    root = all_steps(ACTIONS[0])
    for path, command in ((ACTIONS[1], "sign"), (ACTIONS[2], "verify")):
        data = load(path)
        steps = {step["name"]: step for step in data["runs"]["steps"]}
        for step in root:
            if step["name"] not in steps:
                assert step["name"].startswith("Upload"), (path, step["name"])
                continue
            mine = steps[step["name"]]
            assert {k: v for k, v in mine.items() if k != "env"} == \
                {k: v for k, v in step.items() if k != "env"}, (path, step["name"])
            env = dict(mine.get("env") or {})
            if "MODELSEAL_INPUT_COMMAND" in env:
                assert env.pop("MODELSEAL_INPUT_COMMAND") == command
            if "MODELSEAL_SOURCE" in env:
                assert env.pop("MODELSEAL_SOURCE") == "${{ github.action_path }}/../.."
            expected = {k: v for k, v in (step.get("env") or {}).items()
                        if k not in ("MODELSEAL_INPUT_COMMAND", "MODELSEAL_SOURCE")}
            for key, value in env.items():
                assert expected.get(key) == value, (path, key)
            for key in env:
                name = key.removeprefix("MODELSEAL_INPUT_").lower().replace("_", "-")
                if key.startswith("MODELSEAL_INPUT_"):
                    assert name in data["inputs"], (path, name)
        for name, spec in data["inputs"].items():
            assert spec == load(ACTIONS[0])["inputs"][name], (path, name)


def test_every_input_reaches_the_script() -> None:
    data = load(ACTIONS[0])
    run_env = next(s for s in data["runs"]["steps"] if s.get("id") == "modelseal")["env"]
    used = {key.removeprefix("MODELSEAL_INPUT_").lower().replace("_", "-")
            for key in run_env if key.startswith("MODELSEAL_INPUT_")}
    assert set(data["inputs"]) - used == {"github-token", "python-version", "artifact-name"}
    assert run_env["GITHUB_TOKEN"] == "${{ inputs.github-token }}"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_examples_use_declared_inputs_only(path: Path) -> None:
    for step in all_steps(path):
        action = step.get("uses", "").partition("@")[0]
        if action in OWN_ACTIONS:
            declared = load(OWN_ACTIONS[action] / "action.yml")["inputs"]
            assert set(step.get("with") or {}) <= set(declared), (path.name, step)


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_examples_grant_least_privilege_per_job(path: Path) -> None:
    data = load(path)
    assert data["permissions"] == {}, "no workflow-wide permissions"
    for name, job in data["jobs"].items():
        assert "permissions" in job, f"{path.name}: job {name} states its permissions"
        granted = job["permissions"]
        assert all(v in ("read", "write") for v in granted.values())
        uses = {s.get("uses", "").partition("@")[0] for s in job.get("steps", [])}
        wants_token = "id-token" in granted
        signs = "modelseal/modelseal/actions/sign" in uses
        assert wants_token == signs, f"{path.name}: id-token: write only where signing"
        for step in job.get("steps", []):
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False


def test_sign_example_runs_after_the_build_on_main() -> None:
    data = load(EXAMPLES / "sign.yml")
    assert data[True]["push"]["branches"] == ["main"]  # PyYAML reads `on:` as True
    assert data["jobs"]["sign"]["needs"] == "build"
    assert data["jobs"]["sign"]["permissions"] == {"contents": "write", "id-token": "write"}


def test_verify_example_pins_this_repos_sign_workflow_on_main() -> None:
    step = next(s for s in all_steps(EXAMPLES / "verify.yml") if "actions/verify" in
                s.get("uses", ""))
    assert step["with"] == {"repository": "${{ github.repository }}",
                            "workflow": ".github/workflows/sign.yml", "ref": "refs/heads/main"}


def test_relay_example_never_checks_out_the_fork() -> None:
    data = load(EXAMPLES / "modelseal-comment.yml")
    assert set(data[True]) == {"workflow_run"}
    job = data["jobs"]["comment"]
    assert job["permissions"] == {"actions": "read", "pull-requests": "write"}
    assert not any("checkout" in s.get("uses", "") for s in job["steps"])
    assert "# zizmor: ignore[dangerous-triggers]" in (EXAMPLES / "modelseal-comment.yml"
                                                       ).read_text()


def test_readme_documents_the_action() -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    section = readme[readme.index("\n## GitHub Action\n"):]
    for needle in ("permissions: {}", "id-token: write", "pull-requests: write",
                   "repository: ${{ github.repository }}",
                   "workflow: .github/workflows/sign.yml", "ref: refs/heads/main",
                   "--repository OWNER/REPO --workflow .github/workflows/sign.yml "
                   "--ref refs/heads/main", "modelseal-comment.yml", "MODELSEAL_ACTION_PYTHON"):
        assert needle in section, needle
    for name in load(ACTIONS[0])["inputs"]:
        assert f"`{name}`" in section, name
    for action, (sha, tag) in PINS.items():
        for match in re.finditer(rf"{action}@(\S+) # (\S+)", section):
            assert (match[1], match[2]) == (sha, tag)
