"""`modelseal action`: the entry points of the GitHub Action's steps.

The composite actions (`action.yml`, `actions/sign`, `actions/verify`) call
``modelseal action run``, with their inputs in ``MODELSEAL_INPUT_*`` variables and
the runner's ``GITHUB_*`` variables describing the run. Outside a runner it still
works (outputs and summary are then skipped), which helps when debugging a workflow.
"""

from __future__ import annotations

import argparse
import os

from modelseal.cli import options

_EXAMPLES = """\
  MODELSEAL_INPUT_PATHS=models/bert modelseal action run --command verify
  modelseal action run --command sign     # in a job with permissions: id-token: write"""


def configure(name: str, sub: argparse.ArgumentParser) -> None:
    """`action`'s options."""
    options.runs(sub, run_action, _EXAMPLES)
    sub.add_argument("step", choices=("run",), help="run: the step named by --command")
    sub.add_argument("--command", choices=("verify", "sign", "check", "report", "relay"),
                     help="what to do (default: $MODELSEAL_INPUT_COMMAND, else verify)")


def run_action(args: argparse.Namespace) -> int:
    from modelseal.ci import steps
    from modelseal.ci.inputs import ActionInputs
    from modelseal.ci.runner import Context, RunnerFiles
    from modelseal.ci.step import Step

    env = dict(os.environ)
    inputs = ActionInputs.from_env(env, command=args.command)
    step = Step(inputs, Context.from_env(env), RunnerFiles.from_env(env), env)
    return steps.run(step)
