"""6: the pre-commit hook on a repo with a large model and a one-line README change.

The hooks run through the real pre-commit framework as `repo: local` hooks built from
the project's own `.pre-commit-hooks.yaml` (same files/pass_filenames/args), with the
entry pointed at the current interpreter's modelseal, so nothing is installed and the
time measured is the hook's. A no-op hook (`true`) with the same filters, timed in the
same rounds, gives the framework's own overhead.
"""

from __future__ import annotations

import copy
import importlib.util
import os
import shlex
import shutil
import sys
from pathlib import Path
from typing import Any

import yaml

from msbench import data
from msbench.context import Context
from msbench.proc import BenchError, Finished, log, run
from msbench.report import Row, best_of, skipped

HOOK_ID = "modelseal-manifest"
NOOP_ID = "noop"
BUDGET_SECONDS = 0.3
_COPIED_KEYS = ("id", "name", "files", "exclude", "types", "types_or", "exclude_types",
                "pass_filenames", "require_serial", "args", "always_run", "stages")
_FILTER_KEYS = ("files", "exclude", "types", "types_or", "exclude_types", "pass_filenames",
                "require_serial", "always_run", "stages")


def scenario(ctx: Context) -> list[Row]:
    name = f"pre-commit {HOOK_ID}, {ctx.sizes.large_label} model, README edit"
    spec = _project_hook(ctx.repo_root)
    if spec is None:
        return [skipped(name, "hooks not available")]
    pre_commit = _pre_commit_command()
    if pre_commit is None:
        return [skipped(name, "pre-commit is not installed in this interpreter or on PATH")]
    repo = _build_repo(ctx, spec)
    env = {**ctx.env, "PRE_COMMIT_HOME": str(ctx.workdir / "pre-commit-home")}
    runner = _Runner(pre_commit, repo, env)
    log("hook: warming the stat cache through the hook itself")
    runner.run(HOOK_ID)
    runner.codes.clear()
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "--no-verify", "-m", "manifest")
    samples = best_of(ctx.sizes.rounds, [(HOOK_ID, lambda: runner.timed(HOOK_ID)),
                                         (NOOP_ID, lambda: runner.timed(NOOP_ID))])
    mine, base = min(samples[HOOK_ID]), min(samples[NOOP_ID])
    note = (f"hook alone {mine - base:.3f} s (hook minus no-op); exit codes "
            f"{sorted(runner.codes)}; entry {spec.get('entry')!r} run as a local system hook")
    return [Row(name, modelseal=mine, baseline=base, baseline_name="no-op hook",
                target=f"hook - no-op <= {BUDGET_SECONDS:g} s",
                passed=mine - base <= BUDGET_SECONDS, note=note, samples=samples)]


class _Runner:
    """Edits one README line, then times `pre-commit run HOOK --files model/README.md`."""

    def __init__(self, pre_commit: list[str], repo: Path, env: dict[str, str]) -> None:
        self.pre_commit = pre_commit
        self.repo = repo
        self.env = env
        self.edits = 0
        self.codes: set[int] = set()

    def run(self, hook_id: str) -> Finished:
        self._edit_readme()
        done = run([*self.pre_commit, "run", hook_id, "--files", "model/README.md"],
                   env=self.env, cwd=self.repo, ok=(0, 1))
        if "Passed" not in done.stdout and "Failed" not in done.stdout:
            raise BenchError(f"hook {hook_id} did not run: {done.stdout.strip()[-300:]}")
        if hook_id == HOOK_ID:
            self.codes.add(done.returncode)
        return done

    def timed(self, hook_id: str) -> float:
        return self.run(hook_id).seconds

    def _edit_readme(self) -> None:
        self.edits += 1
        readme = self.repo / "model" / "README.md"
        lines = readme.read_text().splitlines()
        lines[2] = f"Revision {self.edits}: a one-line change to the model card."
        readme.write_text("\n".join(lines) + "\n")


def _project_hook(repo_root: Path) -> dict[str, Any] | None:
    try:
        hooks = yaml.safe_load((repo_root / ".pre-commit-hooks.yaml").read_text())
    except FileNotFoundError:
        return None
    found = [hook for hook in hooks or [] if isinstance(hook, dict) and hook.get("id") == HOOK_ID]
    return found[0] if found else None


def _pre_commit_command() -> list[str] | None:
    if importlib.util.find_spec("pre_commit") is not None:
        return [sys.executable, "-m", "pre_commit"]
    found = shutil.which("pre-commit")
    return [found] if found else None


def local_hooks(spec: dict[str, Any]) -> dict[str, Any]:
    """A `.pre-commit-config.yaml` with the project's hook and a no-op twin, both local."""
    hook = {key: spec[key] for key in _COPIED_KEYS if key in spec}
    hook.update(entry=_entry(str(spec["entry"])), language="system")
    noop = {key: copy.deepcopy(spec[key]) for key in _FILTER_KEYS if key in spec}
    noop.update(id=NOOP_ID, name="no-op", entry="true", language="system")
    return {"repos": [{"repo": "local", "hooks": [hook, noop]}]}


def _entry(entry: str) -> str:
    words = shlex.split(entry)
    if words and words[0] == "modelseal":
        words = [sys.executable, "-m", "modelseal", *words[1:]]
    elif words and Path(words[0]).name.startswith("python"):
        words[0] = sys.executable
    return shlex.join(words)


def _build_repo(ctx: Context, spec: dict[str, Any]) -> Path:
    """A fresh git repo: model/ (the large set, hard-linked) + README, committed."""
    repo = ctx.workdir / "hook-repo"
    if repo.exists():
        shutil.rmtree(repo)
    model = repo / "model"
    model.mkdir(parents=True)
    files = [_link_or_copy(path, model / path.name) for path in ctx.large()]
    readme = model / "README.md"
    readme.write_text("".join(f"Line {i} of the model card.\n" for i in range(40)))
    (repo / ".modelseal.yaml").write_text("models:\n  - model\n")
    (repo / ".pre-commit-config.yaml").write_text(yaml.safe_dump(local_hooks(spec),
                                                                 sort_keys=False))
    # links touch ctime; settle before git records stat data (a stat mismatch would make
    # every `git diff` pre-commit runs re-read the weights) and before the cache sees them
    data.age([*files, readme])
    _git(repo, "init", "-q")
    _git(repo, "config", "core.compression", "0")  # committing 2 GiB of noise fast
    log(f"hook: committing the {ctx.sizes.large_label} model to {repo}")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "--no-verify", "-m", "model")
    return repo


def _link_or_copy(source: Path, target: Path) -> Path:
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)
    return target


def _git(repo: Path, *args: str) -> None:
    run(["git", "-c", "user.name=bench", "-c", "user.email=bench@example.invalid",
         "-c", "init.defaultBranch=main", *args], cwd=repo)
