"""8: what a pull request's CI job pays: `report` against `verify` on a 1 GiB model, cold.

`report` checks the committed manifest and verifies the signature; both come from one
hashing pass, so it should cost about what `verify` alone costs.

"Cold" means what a CI job starts from. There is no stat cache (it is deleted before
every run, so neither command can skip hashing), and each file's pages are dropped
from the page cache with posix_fadvise(DONTNEED) before every run: dropping the
whole page cache (/proc/sys/vm/drop_caches) needs privileges a benchmark should not
ask for. A second, informational row repeats the comparison with the files in the
page cache, where hashing is CPU-bound and a second pass would show most.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from msbench import data
from msbench.context import Context
from msbench.proc import log
from msbench.registry import _keys
from msbench.report import Row, best_of

BUDGET = 1.15
FILES = 4


def scenario(ctx: Context) -> list[Row]:
    size = ctx.sizes.large_size // 2  # 4 x 256 MiB = 1 GiB (4 x 32 MiB with --quick)
    files = data.large_set(ctx.workdir / "ci" / "models" / "bert", FILES, size)
    model = files[0].parent
    project = model.parents[1]
    public = _signed(ctx, project)
    label = f"{FILES}x{size // data.MIB} MiB ({FILES * size / 1024**3:g} GiB)"
    log(f"ci: {ctx.sizes.rounds} round(s) of report and verify over {label}")

    def report() -> float:
        return ctx.modelseal("report", "models/bert", "--key", str(public), "--format",
                             "json", "--no-progress", "--output", str(ctx.out / "report.json"),
                             cwd=project).seconds

    def verify() -> float:
        return ctx.modelseal("verify", "models/bert", "--key", str(public), "--no-progress",
                             cwd=project).seconds

    contenders = [("report", report), ("verify", verify)]
    cold = best_of(ctx.sizes.rounds, contenders, before_each=lambda: _cold(ctx, files))
    warm = best_of(ctx.sizes.rounds, contenders,
                   before_each=lambda: (_drop_stat_cache(ctx), data.warm(files)))
    note = ("no stat cache; each file's pages dropped with posix_fadvise(DONTNEED) "
            "(advisory); report = manifest check + verification, without --base")
    rows = [_row(f"report vs verify {label}, cold", cold, note, BUDGET)]
    info = _row(f"report vs verify {label}, page cache warm", warm,
                "informational: CPU-bound hashing, no stat cache", BUDGET)
    info.passed, info.target = None, f"(<= {BUDGET:g}x)"
    rows.append(info)
    return rows


def _row(name: str, samples: dict[str, list[float]], note: str, budget: float) -> Row:
    mine, base = min(samples["report"]), min(samples["verify"])
    return Row(name, modelseal=mine, baseline=base, baseline_name="verify",
               target=f"<= {budget:g}x", passed=mine / base <= budget, note=note,
               samples=samples)


def _signed(ctx: Context, project: Path) -> Path:
    """The project's config, the model's manifest and a key signature; the public key."""
    (project / ".modelseal.yaml").write_text("models:\n  - models/bert\n")
    key, public = _keys(ctx.workdir)
    log("ci: writing the manifest and signing the model")
    ctx.modelseal("manifest", "--no-cache", "--no-progress", cwd=project)
    ctx.modelseal("sign", "--no-progress", "--method", "key", "--key", str(key),
                  "models/bert", cwd=project)
    return public


def _cold(ctx: Context, files: list[Path]) -> None:
    _drop_stat_cache(ctx)
    for path in files:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def _drop_stat_cache(ctx: Context) -> None:
    shutil.rmtree(ctx.workdir / "xdg-cache", ignore_errors=True)
