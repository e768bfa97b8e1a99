"""What every scenario shares: sizes, the work directory, the contenders' commands."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from msbench import data
from msbench.proc import Finished, run
from msbench.refimpl import Reference

MIB = data.MIB


@dataclass(frozen=True)
class Sizes:
    large_count: int
    large_size: int
    small_count: int
    rounds: int
    startup_rounds: int

    @property
    def large_label(self) -> str:
        total = self.large_count * self.large_size
        scale = f"{total / 1024**3:g} GiB" if total >= 1024**3 else f"{total // MIB} MiB"
        return f"{self.large_count}x{self.large_size // MIB} MiB ({scale})"


FULL = Sizes(large_count=4, large_size=512 * MIB, small_count=20_000, rounds=3,
             startup_rounds=10)
QUICK = Sizes(large_count=4, large_size=64 * MIB, small_count=2_000, rounds=1,
              startup_rounds=3)


@dataclass
class Context:
    workdir: Path
    sizes: Sizes
    repo_root: Path
    reference: Reference | None = None
    reference_error: str = "model_signing not prepared"
    peak_rss: dict[str, float] = field(default_factory=dict)
    _large: list[Path] | None = None
    _small: list[Path] | None = None

    @property
    def env(self) -> dict[str, str]:
        """The environment of modelseal children; see child_env."""
        return child_env(self.workdir, pycache=True)

    @property
    def reference_env(self) -> dict[str, str]:
        """model_signing's venv has its .pyc files from pip; no prefix needed."""
        return child_env(self.workdir, pycache=False)

    @property
    def out(self) -> Path:
        path = self.workdir / "out"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def large(self) -> list[Path]:
        if self._large is None:
            self._large = data.large_set(self.workdir / "large", self.sizes.large_count,
                                         self.sizes.large_size)
        return self._large

    def small(self) -> list[Path]:
        if self._small is None:
            self._small = data.small_set(self.workdir / "small", self.sizes.small_count)
        return self._small

    def modelseal(self, *args: str, ok: tuple[int, ...] = (0,), cwd: Path | None = None
                  ) -> Finished:
        """The current interpreter's installed modelseal, as a child process."""
        return run([sys.executable, "-m", "modelseal", *args], env=self.env, cwd=cwd, ok=ok)

    def manifest(self, model: Path) -> Finished:
        (model / "model.manifest.json").unlink(missing_ok=True)  # same work every run
        return self.modelseal("manifest", "--no-cache", "--no-progress", str(model))

    def model_signing(self, model: Path) -> Finished:
        assert self.reference is not None
        signature = self.out / f"{model.name}.sig"
        signature.unlink(missing_ok=True)
        # the reference would hash our manifest; keep the two inputs identical
        (model / "model.manifest.json").unlink(missing_ok=True)
        return run(self.reference.sign_argv(model, signature), env=self.reference_env)


def child_env(workdir: Path, *, pycache: bool) -> dict[str, str]:
    """A private stat cache dir, and bytecode caching on.

    An installed package ships .pyc files; an editable checkout run with
    PYTHONDONTWRITEBYTECODE would recompile every module at each start. The prefix
    keeps the compiled files in the work dir, never in the source tree.
    """
    env = {key: value for key, value in os.environ.items()
           if key not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")}
    env.update(XDG_CACHE_HOME=str(workdir / "xdg-cache"), NO_COLOR="1")
    if pycache:
        env["PYTHONPYCACHEPREFIX"] = str(workdir / "pycache")
    return env


def manifest_digest(model: Path) -> str | None:
    """The subject digest of the manifest modelseal wrote, if it is readable."""
    try:
        statement = json.loads((model / "model.manifest.json").read_text())
        return str(statement["subject"][0]["digest"]["sha256"])
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        return None
