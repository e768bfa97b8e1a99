"""A simulated GitHub Actions runner for the composite actions in this repository.

It runs a composite ``action.yml`` the way the runner does, step by step:

- ``run:`` steps are written to a script and run with ``bash --noprofile --norc -e -o
  pipefail`` (GitHub's ``shell: bash``), in the workspace, with the step's ``env:``
  evaluated, fresh ``GITHUB_OUTPUT`` and ``GITHUB_STEP_SUMMARY`` files per step, and
  shared ``GITHUB_ENV``/``GITHUB_PATH`` files applied to the following steps;
- ``${{ }}`` expressions in ``env:``, ``with:``, ``if:`` and output values are evaluated
  over the ``inputs``, ``github``, ``steps``, ``env`` and ``runner`` contexts (the
  subset of the expression language the actions use: literals, property access,
  ``!``, ``==``, ``!=``, ``<``/``>``, ``&&``, ``||``, parentheses, ``success()``,
  ``failure()``, ``always()``, ``cancelled()``, ``contains()``, ``startsWith()``,
  ``endsWith()``, ``format()``), with GitHub's loose, case-insensitive equality;
- an ``if:`` without a status function means ``success() && (...)``; after a failed
  step only ``always()``/``failure()`` steps run;
- ``uses:`` steps of third-party actions are simulated minimally: setup-python is a
  no-op answering ``python-path`` with the current interpreter; upload-artifact copies
  the paths into ``artifacts/<name>/`` (relative to their common directory, as the
  real one does); download-artifact copies such a directory back; checkout is a
  no-op (each test prepares the job's workspace as a clone at the event's commit)
  that insists on ``persist-credentials: false``.

What the harness shortcuts: the real action creates a venv and pip-installs modelseal
from the action's checkout. Tests set ``MODELSEAL_ACTION_PYTHON`` (which the action
honours) to the test interpreter, where modelseal is installed in editable mode, so
no package index is needed; the setup-python step is then skipped by its ``if:``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]


# --- expressions ---------------------------------------------------------------------

_TOKEN = re.compile(r"""
    \s*(?:
      (?P<str>'(?:[^']|'')*')
    | (?P<num>-?\d+(?:\.\d+)?)
    | (?P<op>==|!=|<=|>=|&&|\|\||[!<>().,\[\]])
    | (?P<name>[A-Za-z_][A-Za-z0-9_-]*)
    )""", re.VERBOSE)
_STATUS_FUNCTIONS = ("success", "failure", "always", "cancelled")


class ExpressionError(ValueError):
    pass


def _tokens(text: str) -> list[tuple[str, str]]:
    pos, out = 0, []
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise ExpressionError(f"cannot parse {text!r} at {pos}")
        kind = match.lastgroup or ""
        out.append((kind, match.group(kind)))
        pos = match.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


def _to_number(value: Any) -> float:
    if value is None:
        return 0.0
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip()) if value.strip() else 0.0
        except ValueError:
            return float("nan")
    return float("nan")


def loose_equal(left: Any, right: Any) -> bool:
    """GitHub's ``==``: same type compares directly (strings ignoring case), else numbers."""
    if isinstance(left, str) and isinstance(right, str):
        return left.casefold() == right.casefold()
    if type(left) is type(right) and not isinstance(left, (dict, list)):
        return bool(left == right)
    if isinstance(left, (dict, list)) or isinstance(right, (dict, list)):
        return left is right
    return _to_number(left) == _to_number(right)


def truthy(value: Any) -> bool:
    if isinstance(value, float) and value != value:
        return False
    return value not in (None, False, 0, "") or isinstance(value, (dict, list))


def to_string(value: Any) -> str:
    """How an expression result is spliced into a string."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


class _Parser:
    """Recursive descent over one expression; ``status`` answers success() etc."""

    def __init__(self, text: str, contexts: Mapping[str, Any],
                 status: Callable[[str], bool]) -> None:
        self.tokens = _tokens(text)
        self.pos = 0
        self.contexts = contexts
        self.status = status

    def peek(self) -> str | None:
        return self.tokens[self.pos][1] if self.pos < len(self.tokens) else None

    def take(self, expected: str | None = None) -> tuple[str, str]:
        if self.pos >= len(self.tokens):
            raise ExpressionError("unexpected end of expression")
        token = self.tokens[self.pos]
        if expected is not None and token[1] != expected:
            raise ExpressionError(f"expected {expected!r}, got {token[1]!r}")
        self.pos += 1
        return token

    def parse(self) -> Any:
        value = self.or_()
        if self.pos != len(self.tokens):
            raise ExpressionError(f"unexpected {self.peek()!r}")
        return value

    def or_(self) -> Any:
        value = self.and_()
        while self.peek() == "||":
            self.take()
            right = self.and_()
            value = value if truthy(value) else right
        return value

    def and_(self) -> Any:
        value = self.compare()
        while self.peek() == "&&":
            self.take()
            right = self.compare()
            value = right if truthy(value) else value
        return value

    def compare(self) -> Any:
        value = self.unary()
        while self.peek() in ("==", "!=", "<", ">", "<=", ">="):
            op = self.take()[1]
            right = self.unary()
            if op in ("==", "!="):
                value = loose_equal(value, right) == (op == "==")
            else:
                a, b = _to_number(value), _to_number(right)
                value = {"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[op]
        return value

    def unary(self) -> Any:
        if self.peek() == "!":
            self.take()
            return not truthy(self.unary())
        return self.postfix(self.primary())

    def primary(self) -> Any:
        kind, text = self.take()
        if kind == "str":
            return text[1:-1].replace("''", "'")
        if kind == "num":
            return float(text)
        if text == "(":
            value = self.or_()
            self.take(")")
            return value
        if kind != "name":
            raise ExpressionError(f"unexpected {text!r}")
        if text in ("true", "false"):
            return text == "true"
        if text == "null":
            return None
        if self.peek() == "(":
            return self.call(text)
        if text not in self.contexts:
            raise ExpressionError(f"unknown context {text!r}")
        return self.contexts[text]

    def postfix(self, value: Any) -> Any:
        while self.peek() in (".", "["):
            if self.take()[1] == ".":
                key: Any = self.take()[1]
            else:
                key = self.or_()
                self.take("]")
            value = _index(value, key)
        return value

    def call(self, name: str) -> Any:
        self.take("(")
        args = []
        while self.peek() != ")":
            args.append(self.or_())
            if self.peek() == ",":
                self.take()
        self.take(")")
        if name in _STATUS_FUNCTIONS:
            return self.status(name)
        return _FUNCTIONS[name](*args)


def _index(value: Any, key: Any) -> Any:
    if isinstance(value, Mapping):
        if isinstance(key, str):
            for candidate, item in value.items():
                if str(candidate).casefold() == key.casefold():
                    return item
        return None
    if isinstance(value, list) and isinstance(key, float) and key.is_integer():
        return value[int(key)] if 0 <= key < len(value) else None
    return None


def _format(template: str, *args: Any) -> str:
    return re.sub(r"\{(\d+)\}", lambda m: to_string(args[int(m[1])]),
                  template).replace("{{", "{").replace("}}", "}")


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "contains": lambda hay, needle: (
        any(loose_equal(item, needle) for item in hay) if isinstance(hay, list)
        else to_string(needle).casefold() in to_string(hay).casefold()),
    "startsWith": lambda s, p: to_string(s).casefold().startswith(to_string(p).casefold()),
    "endsWith": lambda s, p: to_string(s).casefold().endswith(to_string(p).casefold()),
    "format": _format,
    "toJSON": lambda v: json.dumps(v, indent=2),
}

_EMBEDDED = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)


def evaluate(text: str, contexts: Mapping[str, Any],
             status: Callable[[str], bool] = lambda name: name != "failure") -> Any:
    """One bare expression (no ``${{ }}``)."""
    return _Parser(text, contexts, status).parse()


def interpolate(value: Any, contexts: Mapping[str, Any]) -> str:
    """A YAML scalar with embedded ``${{ }}`` expressions, as a string."""
    text = to_string(value)
    return _EMBEDDED.sub(lambda m: to_string(evaluate(m[1], contexts)), text)


def condition(raw: Any, contexts: Mapping[str, Any], failed: bool) -> bool:
    """A step's ``if:``: implicit ``success() &&`` unless it uses a status function."""
    def status(name: str) -> bool:
        return {"success": not failed, "failure": failed, "always": True,
                "cancelled": False}[name]

    if raw is None:
        return not failed
    text = to_string(raw).strip()
    match = re.fullmatch(r"\$\{\{(.*)\}\}", text, re.DOTALL)
    if match:
        text = match[1]
    uses_status = any(re.search(rf"\b{name}\s*\(", text) for name in _STATUS_FUNCTIONS)
    if not uses_status and failed:
        return False
    return truthy(evaluate(text, contexts, status))


# --- the runner files ------------------------------------------------------------------


def parse_file_commands(text: str) -> dict[str, str]:
    """``GITHUB_OUTPUT``/``GITHUB_ENV`` content: ``k=v`` lines and ``k<<DELIM`` blocks."""
    values: dict[str, str] = {}
    lines = text.split("\n")
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if not line:
            continue
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            body: list[str] = []
            while index < len(lines) and lines[index] != delimiter:
                body.append(lines[index])
                index += 1
            if index >= len(lines):
                raise ValueError(f"unterminated delimiter {delimiter!r} for {name!r}")
            index += 1
            values[name] = "\n".join(body)
        else:
            name, sep, value = line.partition("=")
            if not sep:
                raise ValueError(f"invalid file command line {line!r}")
            values[name] = value
    return values


# --- events ----------------------------------------------------------------------------

SERVER = "https://github.com"


def _repo(full_name: str, *, fork: bool = False) -> dict[str, Any]:
    owner, _, name = full_name.partition("/")
    return {"id": abs(hash(full_name)) % 10**8, "name": name, "full_name": full_name,
            "private": False, "fork": fork, "owner": {"login": owner, "type": "User"},
            "html_url": f"{SERVER}/{full_name}", "default_branch": "main",
            "clone_url": f"{SERVER}/{full_name}.git"}


def push_event(repo: str, before: str, after: str, ref: str = "refs/heads/main",
               ) -> dict[str, Any]:
    return {"ref": ref, "before": before, "after": after, "created": False, "deleted": False,
            "forced": False, "base_ref": None, "compare": f"{SERVER}/{repo}/compare",
            "commits": [], "head_commit": {"id": after, "message": "update the model"},
            "repository": _repo(repo), "pusher": {"name": "octocat"},
            "sender": {"login": "octocat", "type": "User"}}


def pull_request_event(repo: str, number: int, base_sha: str, head_sha: str, *,
                       head_repo: str | None = None, head_ref: str = "change-weights",
                       action: str = "synchronize") -> dict[str, Any]:
    """A ``pull_request`` payload; ``head_repo`` other than ``repo`` is a fork."""
    head_full = head_repo or repo
    pull = {"number": number, "state": "open", "title": "Update the model",
            "html_url": f"{SERVER}/{repo}/pull/{number}", "user": {"login": "contributor"},
            "head": {"ref": head_ref, "sha": head_sha, "label": f"x:{head_ref}",
                     "repo": _repo(head_full, fork=head_full != repo)},
            "base": {"ref": "main", "sha": base_sha, "label": "main", "repo": _repo(repo)}}
    return {"action": action, "number": number, "pull_request": pull,
            "repository": _repo(repo), "sender": {"login": "contributor", "type": "User"}}


def release_event(repo: str, release_id: int, tag: str, uploads_url: str) -> dict[str, Any]:
    owner_repo = f"repos/{repo}/releases/{release_id}"
    return {"action": "published", "repository": _repo(repo),
            "sender": {"login": "octocat", "type": "User"},
            "release": {"id": release_id, "tag_name": tag, "name": tag, "draft": False,
                        "prerelease": False, "assets": [],
                        "upload_url": f"{uploads_url}/{owner_repo}/assets{{?name,label}}",
                        "html_url": f"{SERVER}/{repo}/releases/tag/{tag}"}}


def workflow_run_event(repo: str, run_id: int, head_sha: str, *, event: str = "pull_request",
                       head_repo: str | None = None) -> dict[str, Any]:
    return {"action": "completed", "repository": _repo(repo),
            "workflow_run": {"id": run_id, "name": "Verify models", "event": event,
                             "head_sha": head_sha, "conclusion": "success",
                             "status": "completed", "pull_requests": [],
                             "head_repository": _repo(head_repo or repo)}}


# --- the runner ------------------------------------------------------------------------


@dataclass
class Job:
    """One job's runner: its directories, env, event and the artifacts it uploads."""

    root: Path
    workspace: Path
    repository: str
    event_name: str
    event: dict[str, Any]
    ref: str = "refs/heads/main"
    sha: str = "0" * 40
    api_url: str = "https://api.github.com"
    token: str = "ghs_job_token"
    workflow: str = ".github/workflows/sign.yml"
    extra_env: dict[str, str] = field(default_factory=dict)
    artifacts: Path | None = None  # shared by the jobs of one workflow run

    def __post_init__(self) -> None:
        self.temp = self.root / "runner-temp"
        self.artifacts = self.artifacts or self.root / "artifacts"
        for folder in (self.temp, self.artifact_dir, self.root / "files"):
            folder.mkdir(parents=True, exist_ok=True)
        self.event_path = self.root / "files" / "event.json"
        self.event_path.write_text(json.dumps(self.event, indent=2))
        self.env_file = self.root / "files" / "env"
        self.path_file = self.root / "files" / "path"
        self.env_file.touch()
        self.path_file.touch()

    @property
    def artifact_dir(self) -> Path:
        assert self.artifacts is not None
        return self.artifacts

    def base_env(self) -> dict[str, str]:
        """What the runner sets for every step, plus the job's ``extra_env``."""
        owner = self.repository.split("/")[0]
        env = {key: value for key, value in os.environ.items()
               if not key.startswith(("GITHUB_", "ACTIONS_", "RUNNER_", "MODELSEAL_INPUT_"))}
        env.update({
            "CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": str(self.workspace),
            "GITHUB_EVENT_NAME": self.event_name, "GITHUB_EVENT_PATH": str(self.event_path),
            "GITHUB_REPOSITORY": self.repository, "GITHUB_REPOSITORY_OWNER": owner,
            "GITHUB_REF": self.ref, "GITHUB_REF_NAME": self.ref.rsplit("/", 1)[-1],
            "GITHUB_REF_TYPE": "tag" if self.ref.startswith("refs/tags/") else "branch",
            "GITHUB_SHA": self.sha, "GITHUB_SERVER_URL": SERVER, "GITHUB_API_URL": self.api_url,
            "GITHUB_GRAPHQL_URL": f"{self.api_url}/graphql", "GITHUB_RUN_ID": "4242",
            "GITHUB_RUN_NUMBER": "7", "GITHUB_RUN_ATTEMPT": "1", "GITHUB_ACTOR": "octocat",
            "GITHUB_TRIGGERING_ACTOR": "octocat", "GITHUB_JOB": "modelseal",
            "GITHUB_WORKFLOW": "modelseal",
            "GITHUB_WORKFLOW_REF": f"{self.repository}/{self.workflow}@{self.ref}",
            "GITHUB_ENV": str(self.env_file), "GITHUB_PATH": str(self.path_file),
            "RUNNER_OS": "Linux", "RUNNER_ARCH": "X64", "RUNNER_NAME": "simulated",
            "RUNNER_ENVIRONMENT": "github-hosted", "RUNNER_TEMP": str(self.temp),
            "RUNNER_TOOL_CACHE": str(self.root / "toolcache"),
        })
        pull = self.event.get("pull_request")
        if isinstance(pull, dict):
            env["GITHUB_BASE_REF"] = pull["base"]["ref"]
            env["GITHUB_HEAD_REF"] = pull["head"]["ref"]
        env.update(self.extra_env)
        return env

    def github_context(self, action_path: Path) -> dict[str, Any]:
        env = self.base_env()
        context: dict[str, Any] = {key[len("GITHUB_"):].lower(): value for key, value
                                   in env.items() if key.startswith("GITHUB_")}
        context.update({"event": self.event, "token": self.token,
                        "action_path": str(action_path), "workspace": str(self.workspace)})
        return context


@dataclass
class StepRun:
    name: str
    outcome: str  # success, failure, skipped
    stdout: str = ""
    stderr: str = ""
    outputs: dict[str, str] = field(default_factory=dict)


@dataclass
class ActionRun:
    """What running an action produced."""

    steps: list[StepRun]
    outputs: dict[str, str]
    summary: str

    @property
    def succeeded(self) -> bool:
        return all(step.outcome != "failure" for step in self.steps)

    @property
    def log(self) -> str:
        return "\n".join(f"--- {s.name} [{s.outcome}]\n{s.stdout}{s.stderr}" for s in self.steps)

    def step(self, name: str) -> StepRun:
        return next(step for step in self.steps if step.name == name)


def load_action(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    if not isinstance(data, dict) or data.get("runs", {}).get("using") != "composite":
        raise ValueError(f"{path} is not a composite action")
    return data


class CompositeRunner:
    """Runs one composite action in a `Job`, as ``uses: ./path`` with ``with:``."""

    def __init__(self, job: Job, action_dir: Path) -> None:
        self.job = job
        self.action_dir = action_dir
        self.action = load_action(action_dir / "action.yml")
        self.simulated: dict[str, Callable[[dict[str, str]], dict[str, str]]] = {
            "actions/setup-python": self._setup_python,
            "actions/upload-artifact": self._upload_artifact,
            "actions/download-artifact": self._download_artifact,
            "actions/checkout": self._checkout,
        }

    def inputs(self, given: Mapping[str, Any], contexts: Mapping[str, Any]) -> dict[str, str]:
        """``with:`` values over the declared defaults; unknown inputs are an error."""
        declared = self.action.get("inputs") or {}
        unknown = set(given) - set(declared)
        if unknown:
            raise ValueError(f"unknown inputs {sorted(unknown)} for {self.action_dir}")
        values = {}
        for name, spec in declared.items():
            raw = given[name] if name in given else (spec or {}).get("default", "")
            values[name] = interpolate(raw, contexts)
        return values

    def run(self, with_: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None,
            ) -> ActionRun:
        job_env = {**self.job.base_env(), **(env or {})}
        contexts: dict[str, Any] = {
            "github": self.job.github_context(self.action_dir), "env": job_env,
            "runner": {"temp": str(self.job.temp), "os": "Linux", "arch": "X64"},
            "steps": {}, "job": {"status": "success"}, "matrix": {}, "strategy": {},
            "secrets": {}, "vars": {},
        }
        contexts["inputs"] = self.inputs(with_ or {}, contexts)
        runs: list[StepRun] = []
        summary: list[str] = []
        failed = False
        for index, step in enumerate(self.action["runs"]["steps"]):
            name = step.get("name") or step.get("id") or f"step {index}"
            contexts["env"] = {**job_env, **self._runner_env()}
            if not condition(step.get("if"), contexts, failed):
                runs.append(StepRun(name, "skipped"))
                self._record(step, contexts, StepRun(name, "skipped"))
                continue
            result = self._run_step(step, name, contexts, summary)
            runs.append(result)
            self._record(step, contexts, result)
            failed = failed or result.outcome == "failure"
        outputs = {name: interpolate(spec.get("value", ""), contexts)
                   for name, spec in (self.action.get("outputs") or {}).items()}
        return ActionRun(runs, outputs, "".join(summary))

    def _record(self, step: Mapping[str, Any], contexts: dict[str, Any],
                result: StepRun) -> None:
        if step.get("id"):
            contexts["steps"][step["id"]] = {"outputs": result.outputs,
                                             "outcome": result.outcome,
                                             "conclusion": result.outcome}

    def _runner_env(self) -> dict[str, str]:
        """Variables earlier steps exported through ``GITHUB_ENV`` (and ``GITHUB_PATH``)."""
        exported = parse_file_commands(self.job.env_file.read_text())
        paths = [line for line in self.job.path_file.read_text().splitlines() if line]
        if paths:
            base = exported.get("PATH") or self.job.base_env().get("PATH", "")
            exported["PATH"] = os.pathsep.join([*reversed(paths), base])
        return exported

    def _run_step(self, step: Mapping[str, Any], name: str, contexts: dict[str, Any],
                  summary: list[str]) -> StepRun:
        step_env = {key: interpolate(value, contexts)
                    for key, value in (step.get("env") or {}).items()}
        if "uses" in step:
            with_ = {key: interpolate(value, contexts)
                     for key, value in (step.get("with") or {}).items()}
            return self._uses(step["uses"], name, with_)
        return self._run_script(step, name, {**contexts["env"], **step_env}, summary)

    def _run_script(self, step: Mapping[str, Any], name: str, env: dict[str, str],
                    summary: list[str]) -> StepRun:
        script = step["run"]
        if "${{" in script:
            raise AssertionError(f"step {name!r} has an expression inside run:")
        if step.get("shell") != "bash":
            raise AssertionError(f"step {name!r} must say shell: bash")
        files = self.job.root / "files"
        output, step_summary = files / "output", files / "summary"
        output.write_text("")
        step_summary.write_text("")
        script_path = files / "step.sh"
        script_path.write_text(script)
        env = {**env, "GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(step_summary),
               "GITHUB_ACTION_PATH": str(self.action_dir),
               "GITHUB_ACTION": step.get("id") or "__run"}
        proc = subprocess.run(["bash", "--noprofile", "--norc", "-e", "-o", "pipefail",
                               str(script_path)], cwd=self.job.workspace, env=env,
                              capture_output=True, text=True, timeout=600)
        summary.append(step_summary.read_text())
        outcome = "success" if proc.returncode == 0 else "failure"
        return StepRun(name, outcome, proc.stdout, proc.stderr,
                       parse_file_commands(output.read_text()))

    def _uses(self, uses: str, name: str, with_: dict[str, str]) -> StepRun:
        action, _, ref = uses.partition("@")
        if not re.fullmatch(r"[0-9a-f]{40}", ref):
            raise AssertionError(f"{uses} is not pinned by a full commit SHA")
        if action not in self.simulated:
            raise AssertionError(f"no simulation for {action}")
        try:
            outputs = self.simulated[action](with_)
        except RuntimeError as exc:
            return StepRun(name, "failure", stderr=f"{exc}\n")
        return StepRun(name, "success", outputs=outputs)

    # simulated third-party actions

    def _setup_python(self, with_: dict[str, str]) -> dict[str, str]:
        return {"python-path": sys.executable,
                "python-version": ".".join(map(str, sys.version_info[:3]))}

    def _checkout(self, with_: dict[str, str]) -> dict[str, str]:
        if with_.get("persist-credentials") != "false":
            raise RuntimeError("checkout must not persist the job token (persist-credentials)")
        return {"ref": self.job.ref, "commit": self.job.sha}

    def _upload_artifact(self, with_: dict[str, str]) -> dict[str, str]:
        paths = [self.job.workspace / line.strip() for line in with_["path"].splitlines()
                 if line.strip()]
        found = [path for path in paths if path.exists()]
        if not found and with_.get("if-no-files-found", "warn") == "error":
            raise RuntimeError(f"no files found at {with_['path']}")
        target = self.job.artifact_dir / with_.get("name", "artifact")
        if target.exists() and with_.get("overwrite") != "true":
            raise RuntimeError(f"an artifact named {target.name} already exists")
        shutil.rmtree(target, ignore_errors=True)
        root = Path(os.path.commonpath([p if p.is_dir() else p.parent for p in found]))
        for path in found:
            destination = target / path.relative_to(root)
            if path.is_dir():
                shutil.copytree(path, destination, dirs_exist_ok=True)
            else:
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, destination)
        return {"artifact-id": "1", "artifact-url": f"{SERVER}/artifacts/1"}

    def _download_artifact(self, with_: dict[str, str]) -> dict[str, str]:
        source = self.job.artifact_dir / with_["name"]
        if not source.is_dir():
            raise RuntimeError(f"Artifact not found for name: {with_['name']}")
        target = Path(with_.get("path") or self.job.workspace)
        shutil.copytree(source, target, dirs_exist_ok=True)
        return {"download-path": str(target)}


# --- a loopback server for release assets -------------------------------------------

_ASSETS = re.compile(r"/repos/([^/]+)/([^/]+)/releases/([0-9]+)/assets")
_ASSET = re.compile(r"/repos/([^/]+)/([^/]+)/releases/assets/([0-9]+)")


@dataclass
class ReleaseState:
    """Release assets by release id; ``token`` is the only one accepted (write access)."""

    token: str
    assets: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    contents: dict[int, bytes] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    base_url: str = ""
    next_id: int = 500


class _ReleaseHandler(BaseHTTPRequestHandler):
    """GitHub's release asset endpoints: list, delete, and upload (uploads host)."""

    state: ReleaseState
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _reply(self, status: int, data: Any = None) -> None:
        raw = b"" if data is None else json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def _authorized(self) -> bool:
        self.state.requests.append((self.command, self.path))
        if self.headers.get("Authorization") != f"Bearer {self.state.token}":
            self._reply(401, {"message": "Bad credentials"})
            return False
        return True

    def do_GET(self) -> None:
        match = _ASSETS.fullmatch(urlsplit(self.path).path)
        if not self._authorized():
            return
        if not match:
            return self._reply(404, {"message": "Not Found"})
        self._reply(200, self.state.assets.get(int(match[3]), []))

    def do_DELETE(self) -> None:
        match = _ASSET.fullmatch(urlsplit(self.path).path)
        if not self._authorized():
            return
        for assets in self.state.assets.values():
            for asset in assets:
                if match and asset["id"] == int(match[3]):
                    assets.remove(asset)
                    return self._reply(204)
        self._reply(404, {"message": "Not Found"})

    def do_POST(self) -> None:
        parts = urlsplit(self.path)
        match = _ASSETS.fullmatch(parts.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        if not self._authorized():
            return
        name = parse_qs(parts.query).get("name", [""])[0]
        if not match or not name:
            return self._reply(404, {"message": "Not Found"})
        assets = self.state.assets.setdefault(int(match[3]), [])
        if any(asset["name"] == name for asset in assets):
            return self._reply(422, {"message": "Validation Failed",
                                     "errors": [{"code": "already_exists"}]})
        self.state.next_id += 1
        asset = {"id": self.state.next_id, "name": name, "size": len(body),
                 "content_type": self.headers.get("Content-Type"),
                 "browser_download_url": f"{SERVER}/download/{name}"}
        assets.append(asset)
        self.state.contents[asset["id"]] = body
        self._reply(201, asset)


@contextmanager
def release_server(token: str) -> Iterator[ReleaseState]:
    """Serve release asset endpoints on 127.0.0.1 (API and uploads on one origin)."""
    state = ReleaseState(token)
    bound = type("Bound", (_ReleaseHandler,), {"state": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), bound)
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


# --- a workflow job (for the example workflows) -----------------------------------------


def run_workflow_job(job: Job, workflow: Path, job_id: str, local: Mapping[str, Path],
                     env: Mapping[str, str] | None = None,
                     extra_with: Mapping[str, str] | None = None) -> list[StepRun]:
    """Run one job of an example workflow: its modelseal steps (``local`` maps each
    ``uses:`` name to an action directory here, ``extra_with`` adds inputs to them, e.g.
    the local Sigstore stack's issuer), simulated third-party actions and ``run:``
    steps. Returns the step results; an ``if:``-false job returns []."""
    spec = yaml.safe_load(workflow.read_text())["jobs"][job_id]
    contexts: dict[str, Any] = {
        "github": job.github_context(workflow.parent), "env": {**job.base_env(), **(env or {})},
        "runner": {"temp": str(job.temp), "os": "Linux", "arch": "X64"}, "steps": {},
        "inputs": {}, "secrets": {}, "vars": {}, "matrix": {}, "strategy": {}, "job": {}}
    if not condition(spec.get("if"), contexts, failed=False):
        return []
    helper = CompositeRunner(job, local[next(iter(local))])
    results: list[StepRun] = []
    failed = False
    for index, step in enumerate(spec["steps"]):
        name = step.get("name") or f"step {index}"
        if not condition(step.get("if"), contexts, failed):
            result = StepRun(name, "skipped")
        else:
            result = _workflow_step(helper, job, step, name, contexts, local, env,
                                    extra_with or {})
            if result.outcome == "failure" and step.get("continue-on-error"):
                contexts["steps"][step.get("id", "")] = {"outputs": result.outputs,
                                                         "outcome": "failure",
                                                         "conclusion": "success"}
                results.append(result)
                continue
        helper._record(step, contexts, result)
        results.append(result)
        failed = failed or result.outcome == "failure"
    return results


def _workflow_step(helper: CompositeRunner, job: Job, step: Mapping[str, Any], name: str,
                   contexts: dict[str, Any], local: Mapping[str, Path],
                   env: Mapping[str, str] | None, extra_with: Mapping[str, str]) -> StepRun:
    with_ = {key: interpolate(value, contexts) for key, value in (step.get("with") or {}).items()}
    uses = step.get("uses", "")
    action = uses.partition("@")[0]
    if action in local:
        run = CompositeRunner(job, local[action]).run({**with_, **extra_with}, env)
        outcome = "success" if run.succeeded else "failure"
        return StepRun(name, outcome, run.log, "", run.outputs)
    if uses:
        return helper._uses(uses, name, with_)
    step_env = {key: interpolate(value, contexts) for key, value in (step.get("env") or {}).items()}
    return helper._run_script({**step, "shell": "bash"}, name,
                              {**contexts["env"], **step_env}, [])
