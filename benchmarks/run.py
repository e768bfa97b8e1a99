#!/usr/bin/env python3
"""modelseal performance budgets (README.md, "Performance"), measured as ratios within one run.

    python benchmarks/run.py [--quick] [--workdir DIR] [--only NAME[,NAME]] [--json FILE]

See benchmarks/README.md for what each scenario measures and how to read the table.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from msbench import ci, hook, refimpl, registry, scenarios
from msbench.context import FULL, QUICK, Context
from msbench.proc import BenchError, log, run
from msbench.report import Row, table, write_json

Scenario = Callable[[Context], list[Row]]
SCENARIOS: dict[str, Scenario] = {
    "large": scenarios.large,
    "small": scenarios.small,
    "recheck": scenarios.recheck,
    "startup": scenarios.startup,
    "rss": scenarios.rss,
    "hook": hook.scenario,
    "registry": registry.scenario,
    "ci": ci.scenario,
}
NEEDS_REFERENCE = {"large", "small", "rss"}
REPO_ROOT = Path(__file__).resolve().parent.parent


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="small data sets and one round (a smoke run, < 60 s)")
    parser.add_argument("--workdir", type=Path,
                        help="where to build the data sets (default: a new temp dir)")
    parser.add_argument("--only", action="append", default=[], metavar="NAME",
                        help=f"run only these scenarios ({', '.join(SCENARIOS)}); "
                             "repeat or separate with commas")
    parser.add_argument("--rounds", type=int, help="best of N (default 3, 1 with --quick)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write results as JSON")
    parser.add_argument("--keep", action="store_true",
                        help="keep the data sets (with --workdir they are reused next time)")
    parser.add_argument("--model-signing-venv", type=Path, default=refimpl.default_venv(),
                        help="venv for model_signing 1.1.1, created on first use "
                             "(default: %(default)s)")
    parser.add_argument("--no-model-signing", action="store_true",
                        help="skip the model_signing comparisons (no venv needed)")
    parser.add_argument("--hooks-repo", type=Path, default=REPO_ROOT,
                        help="checkout whose .pre-commit-hooks.yaml the hook scenario uses "
                             "(default: this one)")
    parser.add_argument("--strict", action="store_true",
                        help="exit 1 when any budget is missed (default: exit 0)")
    args = parser.parse_args(argv)
    args.only = selected(parser, args.only)
    return args


def selected(parser: argparse.ArgumentParser, only: list[str]) -> list[str]:
    names = [name.strip() for item in only for name in item.split(",") if name.strip()]
    unknown = sorted(set(names) - set(SCENARIOS))
    if unknown:
        parser.error(f"unknown scenario(s) {', '.join(unknown)}; known: {', '.join(SCENARIOS)}")
    return [name for name in SCENARIOS if name in names] if names else list(SCENARIOS)


def make_context(args: argparse.Namespace, workdir: Path) -> Context:
    sizes = QUICK if args.quick else FULL
    if args.rounds:
        sizes = type(sizes)(**{**sizes.__dict__, "rounds": args.rounds})
    ctx = Context(workdir=workdir, sizes=sizes, repo_root=args.hooks_repo.resolve())
    if args.no_model_signing:
        ctx.reference_error = "--no-model-signing"
    elif NEEDS_REFERENCE & set(args.only):
        try:
            ctx.reference = refimpl.prepare(args.model_signing_venv, workdir)
        except BenchError as exc:
            ctx.reference_error = f"model_signing unavailable: {exc}"
            log(ctx.reference_error)
    scenarios.warm_bytecode(ctx)
    return ctx


def run_scenarios(ctx: Context, names: list[str]) -> list[Row]:
    rows: list[Row] = []
    for name in names:
        started = time.perf_counter()
        try:
            rows.extend(SCENARIOS[name](ctx))
        except BenchError as exc:
            rows.append(Row(name, passed=False, note=f"error: {exc}"))
        log(f"{name} done in {time.perf_counter() - started:.1f} s")
    return rows


def metadata(args: argparse.Namespace, ctx: Context) -> dict[str, Any]:
    version = run([sys.executable, "-m", "modelseal", "--version"], env=ctx.env).stdout.strip()
    return {
        "modelseal": version,
        "model_signing": refimpl.VERSION if ctx.reference else None,
        "python": sys.version.split()[0],
        "executable": sys.executable,
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "quick": args.quick,
        "sizes": ctx.sizes.__dict__,
        "scenarios": args.only,
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "load_average_at_end": [round(load, 2) for load in os.getloadavg()],
    }


def cleanup(workdir: Path, created: bool, keep: bool) -> None:
    if keep:
        log(f"kept the data sets in {workdir}")
        return
    if created:
        shutil.rmtree(workdir, ignore_errors=True)
        return
    for name in ("large", "small", "tiny", "hook-repo", "out", "xdg-cache", "pre-commit-home",
                 "pycache", "registry", "ci"):
        shutil.rmtree(workdir / name, ignore_errors=True)
        (workdir / f"{name}.bench-complete.json").unlink(missing_ok=True)
    for key in ("bench-key.pem", "registry-key.pem", "registry-key-pub.pem"):
        (workdir / key).unlink(missing_ok=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    created = args.workdir is None
    workdir = Path(tempfile.mkdtemp(prefix="modelseal-bench-")) if created else args.workdir
    workdir = workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    try:
        ctx = make_context(args, workdir)
        rows = run_scenarios(ctx, args.only)
        meta = {**metadata(args, ctx), "wall_seconds": round(time.perf_counter() - started, 1)}
    except BenchError as exc:
        print(f"benchmark error: {exc}", file=sys.stderr)
        return 2
    finally:
        cleanup(workdir, created, args.keep)
    print(f"modelseal benchmarks: {meta['modelseal']}, Python {meta['python']}, "
          f"{meta['cpus']} CPUs, best of {ctx.sizes.rounds}, {meta['wall_seconds']} s total, "
          f"load average {meta['load_average_at_end'][0]} at the end")
    print(table(rows))
    if args.json:
        write_json(args.json, rows, meta)
    missed = [row for row in rows if row.passed is False]
    return 1 if args.strict and missed else 0


if __name__ == "__main__":
    sys.exit(main())
