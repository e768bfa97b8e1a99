"""The measured scenarios; each returns the rows it adds to the table."""

from __future__ import annotations

import hashlib
import resource
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


def bare_hashlib(files: list[Path], threads: int = HASHLIB_THREADS) -> tuple[float, float]:
    """Wall and CPU seconds of a plain sha256 of each file on ``threads`` threads, 1 MiB reads."""
    before = _self_cpu()
    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(_sha256_file, files))
    return time.perf_counter() - start, _self_cpu() - before


def _self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


_CHILD_LOOP = """
import hashlib, sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

def digest(path):
    hasher = hashlib.sha256()
    view = memoryview(bytearray(1024 * 1024))
    with open(path, "rb", buffering=0) as handle:
        while n := handle.readinto(view):
            hasher.update(view[:n])
    return hasher.digest()

files = sorted(p for p in Path(sys.argv[1]).iterdir() if p.is_file())
with ThreadPoolExecutor(int(sys.argv[2])) as pool:
    list(pool.map(digest, files))
"""


def _child_hashlib(ctx: Context, model: Path) -> tuple[float, float]:
    """The bare_hashlib loop in a fresh interpreter: what a minimal hashing CLI costs."""
    (model / "model.manifest.json").unlink(missing_ok=True)
    done = run([sys.executable, "-c", _CHILD_LOOP, str(model), str(HASHLIB_THREADS)],
               env=ctx.env)
    return done.seconds, done.cpu_seconds


def _sha256_file(path: Path) -> bytes:
    hasher = hashlib.sha256()
    view = memoryview(bytearray(data.MIB))
    with open(path, "rb", buffering=0) as handle:
        while n := handle.readinto(view):
            hasher.update(view[:n])
    return hasher.digest()


def _ratio_row(name: str, samples: dict[str, list[float]], ours: str, theirs: str,
               budget: float, note: str = "", cpu: dict[str, list[float]] | None = None) -> Row:
    mine, base = min(samples[ours]), min(samples[theirs])
    kept = {ours: samples[ours], theirs: samples[theirs]}
    if cpu and cpu.get(ours) and cpu.get(theirs):
        my_cpu, base_cpu = min(cpu[ours]), min(cpu[theirs])
        cpu_note = (f"CPU s (user+sys, min): {ours} {my_cpu:.3f}, {theirs} {base_cpu:.3f}, "
                    f"ratio {my_cpu / base_cpu:.3f}")
        note = f"{note}\n    {cpu_note}" if note else cpu_note
        kept.update({f"cpu {ours}": cpu[ours], f"cpu {theirs}": cpu[theirs]})
    return Row(name, modelseal=mine, baseline=base, baseline_name=theirs,
               target=f"<= {budget:g}x", passed=mine / base <= budget, note=note, samples=kept)


def _digest_note(model: Path, ours: str | None, signature: Path | None) -> str:
    if signature is None or not signature.exists():
        return ""
    theirs = subject_digest(signature)
    verdict = "equal" if ours == theirs else f"DIFFER (modelseal {ours}, model_signing {theirs})"
    return f"root digests of modelseal and model_signing on {model.name}/: {verdict}"


Measure = Callable[[], tuple[float, float]]


def _compare_with_reference(ctx: Context, model: Path, files: list[Path],
                            extra: list[tuple[str, Measure]]
                            ) -> tuple[dict[str, list[float]], dict[str, list[float]], str]:
    """Best-of-N of modelseal (+ extra contenders, + model_signing when available).

    Returns wall samples, CPU samples and a note comparing the two root digests.
    """
    ours: dict[str, str | None] = {}
    cpu: dict[str, list[float]] = {}

    def modelseal() -> tuple[float, float]:
        done = ctx.manifest(model)
        ours["digest"] = manifest_digest(model)
        _note_rss(ctx, f"modelseal:{model.name}", done.max_rss_mib)
        return done.seconds, done.cpu_seconds

    def reference() -> tuple[float, float]:
        done = ctx.model_signing(model)
        _note_rss(ctx, f"model_signing:{model.name}", done.max_rss_mib)
        return done.seconds, done.cpu_seconds

    measures: list[tuple[str, Measure]] = [*extra, ("modelseal", modelseal)]
    if ctx.reference is not None:
        measures.append(("model_signing", reference))
    contenders = [(name, _wall(measure, cpu.setdefault(name, []))) for name, measure in measures]
    samples = best_of(ctx.sizes.rounds, contenders, before_each=lambda: data.warm(files))
    signature = ctx.out / f"{model.name}.sig" if ctx.reference is not None else None
    return samples, cpu, _digest_note(model, ours.get("digest"), signature)


def _wall(measure: Measure, cpu: list[float]) -> Callable[[], float]:
    """Adapt a (wall, cpu) measurement to best_of, keeping the CPU seconds in ``cpu``."""
    def wall() -> float:
        seconds, cpu_seconds = measure()
        cpu.append(cpu_seconds)
        return seconds
    return wall


def _note_rss(ctx: Context, key: str, mib: float) -> None:
    ctx.peak_rss[key] = max(mib, ctx.peak_rss.get(key, 0.0))


def large(ctx: Context) -> list[Row]:
    """1: full hash of the large set vs bare hashlib and vs model_signing."""
    files = ctx.large()
    model = files[0].parent
    label = ctx.sizes.large_label
    log(f"large: {ctx.sizes.rounds} round(s) over {label}")
    extra: list[tuple[str, Measure]] = [("hashlib x2", lambda: bare_hashlib(files)),
                                        ("hashlib x2 child", lambda: _child_hashlib(ctx, model))]
    samples, cpu, note = _compare_with_reference(ctx, model, files, extra)
    rows = [_ratio_row(f"manifest {label} vs hashlib", samples, "modelseal", "hashlib x2",
                       BUDGET_VS_HASHLIB, cpu=cpu)]
    info = _ratio_row(f"manifest {label} vs hashlib in a child", samples, "modelseal",
                      "hashlib x2 child", BUDGET_VS_HASHLIB, cpu=cpu,
                      note="informational: the same loop as a fresh `python -c` process "
                           "(interpreter start-up and a cold process on both sides)")
    info.passed, info.target = None, f"(<= {BUDGET_VS_HASHLIB:g}x)"
    rows.append(info)
    if "model_signing" in samples:
        rows.append(_ratio_row(f"manifest {label} vs model_signing", samples, "modelseal",
                               "model_signing", BUDGET_VS_REFERENCE_LARGE, note, cpu))
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
    samples, cpu, note = _compare_with_reference(ctx, files[0].parents[2], files, [])
    return [_ratio_row(name, samples, "modelseal", "model_signing", BUDGET_VS_REFERENCE_SMALL,
                       note, cpu)]


def recheck(ctx: Context) -> list[Row]:
    """3: `check` of the unchanged large set with a warm stat cache vs a full hash."""
    files = ctx.large()
    model = files[0].parent
    log("recheck: ageing mtimes past the racy window, then warming the stat cache")
    data.age(files)
    ctx.modelseal("manifest", "--no-progress", str(model))
    check = ["check", "--no-progress", str(model)]
    cpu: dict[str, list[float]] = {"check (cached)": [], "check --no-cache": []}

    def timed(*args: str) -> tuple[float, float]:
        done = ctx.modelseal(*check, *args)
        return done.seconds, done.cpu_seconds

    samples = best_of(ctx.sizes.rounds, [
        ("check (cached)", _wall(timed, cpu["check (cached)"])),
        ("check --no-cache", _wall(lambda: timed("--no-cache"), cpu["check --no-cache"])),
    ], before_each=lambda: data.warm(files))
    note = (f"cache in {ctx.workdir / 'xdg-cache'} (XDG_CACHE_HOME); "
            "mtimes set 1 h back so no entry is in the 2 s racy window")
    return [_ratio_row(f"check {ctx.sizes.large_label}, warm cache vs full hash", samples,
                       "check (cached)", "check --no-cache", BUDGET_RECHECK, note, cpu)]


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
                note="max RSS of each child process (wait4 rusage), highest over its runs"
                + _small_rss_note(ctx))]


def _small_rss_note(ctx: Context) -> str:
    mine, theirs = ctx.peak_rss.get("modelseal:small"), ctx.peak_rss.get("model_signing:small")
    if mine is None:
        return ""
    other = f", model_signing {theirs:.1f} MiB" if theirs is not None else ""
    return f"; on the small-file set: modelseal {mine:.1f} MiB{other}"


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
