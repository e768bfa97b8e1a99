"""The measured scenarios; each returns the rows it adds to the table."""

from __future__ import annotations

import hashlib
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from msbench import data
from msbench.context import Context, manifest_digest
from msbench.proc import log, run
from msbench.refimpl import subject_digest
from msbench.report import Row, best_of, skipped

BUDGET_VS_HASHLIB = 1.15
BUDGET_VS_REFERENCE_LARGE = 0.6
BUDGET_VS_REFERENCE_SMALL = 0.25
BUDGET_RECHECK = 0.1
BUDGET_RSS_MIB = 100.0
HASHLIB_THREADS = 2
HEAVY_MODULES = ("sigstore", "sigstore_models", "sigstore_rekor_types", "model_signing",
                 "git", "jinja2", "requests", "rich", "cryptography", "OpenSSL")


def bare_hashlib(files: list[Path], threads: int = HASHLIB_THREADS) -> float:
    """Wall time of a plain sha256 over each file on ``threads`` threads, 1 MiB reads."""
    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(_sha256_file, files))
    return time.perf_counter() - start


def _sha256_file(path: Path) -> bytes:
    hasher = hashlib.sha256()
    view = memoryview(bytearray(data.MIB))
    with open(path, "rb", buffering=0) as handle:
        while n := handle.readinto(view):
            hasher.update(view[:n])
    return hasher.digest()


def _ratio_row(name: str, samples: dict[str, list[float]], ours: str, theirs: str,
               budget: float, note: str = "") -> Row:
    mine, base = min(samples[ours]), min(samples[theirs])
    return Row(name, modelseal=mine, baseline=base, baseline_name=theirs,
               target=f"<= {budget:g}x", passed=mine / base <= budget, note=note,
               samples={ours: samples[ours], theirs: samples[theirs]})


def _digest_note(model: Path, ours: str | None, signature: Path | None) -> str:
    if signature is None or not signature.exists():
        return ""
    theirs = subject_digest(signature)
    verdict = "equal" if ours == theirs else f"DIFFER (modelseal {ours}, model_signing {theirs})"
    return f"root digests of modelseal and model_signing on {model.name}/: {verdict}"


def _compare_with_reference(ctx: Context, model: Path, files: list[Path],
                            extra: list[tuple[str, Callable[[], float]]]
                            ) -> tuple[dict[str, list[float]], str]:
    """Best-of-N of modelseal (+ extra contenders, + model_signing when available)."""
    ours: dict[str, str | None] = {}

    def modelseal() -> float:
        done = ctx.manifest(model)
        ours["digest"] = manifest_digest(model)
        ctx.peak_rss[f"modelseal:{model.name}"] = max(
            done.max_rss_mib, ctx.peak_rss.get(f"modelseal:{model.name}", 0.0))
        return done.seconds

    def reference() -> float:
        done = ctx.model_signing(model)
        ctx.peak_rss[f"model_signing:{model.name}"] = max(
            done.max_rss_mib, ctx.peak_rss.get(f"model_signing:{model.name}", 0.0))
        return done.seconds

    contenders = [*extra, ("modelseal", modelseal)]
    if ctx.reference is not None:
        contenders.append(("model_signing", reference))
    samples = best_of(ctx.sizes.rounds, contenders, before_each=lambda: data.warm(files))
    signature = ctx.out / f"{model.name}.sig" if ctx.reference is not None else None
    return samples, _digest_note(model, ours.get("digest"), signature)


def large(ctx: Context) -> list[Row]:
    """1: full hash of the large set vs bare hashlib and vs model_signing."""
    files = ctx.large()
    model = files[0].parent
    label = ctx.sizes.large_label
    log(f"large: {ctx.sizes.rounds} round(s) over {label}")
    extra = [("hashlib x2", lambda: bare_hashlib(files))]
    samples, note = _compare_with_reference(ctx, model, files, extra)
    rows = [_ratio_row(f"manifest {label} vs hashlib", samples, "modelseal", "hashlib x2",
                       BUDGET_VS_HASHLIB)]
    if "model_signing" in samples:
        rows.append(_ratio_row(f"manifest {label} vs model_signing", samples, "modelseal",
                               "model_signing", BUDGET_VS_REFERENCE_LARGE, note))
    else:
        rows.append(skipped(f"manifest {label} vs model_signing", ctx.reference_error))
    return rows


def small(ctx: Context) -> list[Row]:
    """2: many small files vs model_signing."""
    files = ctx.small()
    name = f"manifest {len(files)} x 4 KiB vs model_signing"
    if ctx.reference is None:
        return [skipped(name, ctx.reference_error)]
    log(f"small: {ctx.sizes.rounds} round(s) over {len(files)} files")
    samples, note = _compare_with_reference(ctx, files[0].parents[2], files, [])
    return [_ratio_row(name, samples, "modelseal", "model_signing", BUDGET_VS_REFERENCE_SMALL,
                       note)]


def recheck(ctx: Context) -> list[Row]:
    """3: `check` of the unchanged large set with a warm stat cache vs a full hash."""
    files = ctx.large()
    model = files[0].parent
    log("recheck: ageing mtimes past the racy window, then warming the stat cache")
    data.age(files)
    ctx.modelseal("manifest", "--no-progress", str(model))
    check = ["check", "--no-progress", str(model)]
    samples = best_of(ctx.sizes.rounds, [
        ("check (cached)", lambda: ctx.modelseal(*check).seconds),
        ("check --no-cache", lambda: ctx.modelseal(*check, "--no-cache").seconds),
    ], before_each=lambda: data.warm(files))
    note = (f"cache in {ctx.workdir / 'xdg-cache'} (XDG_CACHE_HOME); "
            "mtimes set 1 h back so no entry is in the 2 s racy window")
    return [_ratio_row(f"check {ctx.sizes.large_label}, warm cache vs full hash", samples,
                       "check (cached)", "check --no-cache", BUDGET_RECHECK, note)]


def rss(ctx: Context) -> list[Row]:
    """5: peak RSS of the child that hashes the large set (from wait4 rusage)."""
    files = ctx.large()
    model = files[0].parent
    key = f"modelseal:{model.name}"
    if key not in ctx.peak_rss:
        log("rss: one warm manifest --no-cache run (and one model_signing run)")
        data.warm(files)
        ctx.peak_rss[key] = ctx.manifest(model).max_rss_mib
        if ctx.reference is not None:
            data.warm(files)
            ctx.peak_rss[f"model_signing:{model.name}"] = ctx.model_signing(model).max_rss_mib
    mine = ctx.peak_rss[key]
    theirs = ctx.peak_rss.get(f"model_signing:{model.name}")
    return [Row(f"peak RSS, manifest --no-cache {ctx.sizes.large_label}", unit="MiB",
                modelseal=mine, baseline=theirs,
                baseline_name="model_signing" if theirs is not None else "",
                target=f"< {BUDGET_RSS_MIB:g} MiB", passed=mine < BUDGET_RSS_MIB,
                note="max RSS of each child process (wait4 rusage), highest over its runs")]


def startup(ctx: Context) -> list[Row]:
    """4: start-up time of `--version` and of `check` on a tiny dir; no sigstore import."""
    tiny = warm_bytecode(ctx)
    return [_startup_row(ctx, "--version", ["--version"]),
            _startup_row(ctx, "check tiny dir", ["check", "--no-progress", str(tiny)])]


def _startup_row(ctx: Context, label: str, args: list[str]) -> Row:
    log(f"startup: {label}, best of {ctx.sizes.startup_rounds}")
    samples = best_of(ctx.sizes.startup_rounds, [
        ("python -c pass", lambda: run([sys.executable, "-c", "pass"], env=ctx.env).seconds),
        ("modelseal", lambda: ctx.modelseal(*args).seconds),
    ])
    heavy = heavy_imports(ctx, args)
    sigstore = [name for name in heavy if name.startswith("sigstore")]
    note = ("heavy imports (-X importtime): " + (", ".join(heavy) if heavy else "none")
            + f" of {', '.join(HEAVY_MODULES)}")
    return Row(f"start-up: modelseal {label}", modelseal=min(samples["modelseal"]),
               baseline=min(samples["python -c pass"]), baseline_name="python -c pass",
               target="no sigstore import", passed=not sigstore, note=note, samples=samples)


def warm_bytecode(ctx: Context) -> Path:
    """Run modelseal once so its modules are compiled before anything is timed."""
    tiny = data.tiny_model(ctx.workdir / "tiny")
    ctx.modelseal("--version")
    ctx.modelseal("manifest", "--no-progress", "--no-cache", str(tiny))
    ctx.modelseal("check", "--no-progress", str(tiny))
    return tiny


def heavy_imports(ctx: Context, args: list[str]) -> list[str]:
    """Top-level heavy packages imported by `python -X importtime -m modelseal ARGS`."""
    done = run([sys.executable, "-X", "importtime", "-m", "modelseal", *args], env=ctx.env)
    return sorted(imported_packages(done.stderr) & set(HEAVY_MODULES))


def imported_packages(importtime_log: str) -> set[str]:
    """Top-level names from `-X importtime` lines ('import time: self | cumul | name')."""
    names = set()
    for line in importtime_log.splitlines():
        if line.startswith("import time:") and line.count("|") == 2:
            name = line.rsplit("|", 1)[1].strip()
            if name != "imported package":
                names.add(name.split(".")[0])
    return names
