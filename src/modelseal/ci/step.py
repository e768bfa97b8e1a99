"""One run of an Action step: its inputs, the run's context and runner files, and what
it reports back. Shared by the steps (`steps`) and the registry steps (`registry_refs`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from modelseal.ci import commands
from modelseal.ci.inputs import ActionInputs
from modelseal.ci.runner import Context, RunnerFiles
from modelseal.errors import EXIT_OK


@dataclass
class StepResult:
    """What a step reports back: the exit status and its outputs."""

    exit_code: int = EXIT_OK
    outputs: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Step:
    """Everything a step needs: inputs, the run's context, the runner files, the env."""

    inputs: ActionInputs
    ctx: Context
    files: RunnerFiles
    env: Mapping[str, str]

    @property
    def token(self) -> str:
        return self.env.get("GITHUB_TOKEN", "")

    def modelseal(self, argv: Sequence[str], capture: bool = False) -> commands.Completed:
        return commands.run_modelseal(argv, cwd=self.ctx.workspace, capture=capture,
                                      env=self.env)

    @property
    def out_dir(self) -> Path:
        path = self.ctx.temp / "modelseal"
        path.mkdir(parents=True, exist_ok=True)
        return path
