"""6: `verify oci://` of the large set pushed to a local registry vs `verify` of the directory.

The large set is signed (key), pushed with `modelseal push` to Debian's
`docker-registry` on 127.0.0.1, then both verifies run best-of-N in the same run.
The budget is on bytes: for a sha256 files-mode signature the raw layers are checked
from the manifest, so the registry path must fetch under 1 MiB whatever the size.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from msbench import data
from msbench.context import Context
from msbench.proc import BenchError, log
from msbench.report import Row, best_of, skipped

BUDGET_BYTES = 1024 * 1024
NAME = "verify oci:// (raw layers) vs verify DIR"


def scenario(ctx: Context) -> list[Row]:
    program = shutil.which("docker-registry")
    if program is None:
        return [skipped(NAME, "docker-registry is not installed (apt-get install "
                              "docker-registry)")]
    files = ctx.large()
    model = files[0].parent
    key, public = _keys(ctx.workdir)
    try:
        ctx.modelseal("sign", "--no-progress", "--method", "key", "--key", str(key),
                      "--update-manifest", str(model))
        with _registry(program, ctx.workdir / "registry") as host:
            reference = f"oci://{host}/bench/large:v1"
            log(f"registry: pushing {ctx.sizes.large_label} to {host}")
            ctx.modelseal("push", str(model), reference)
            return _measure(ctx, files, model, reference, public)
    finally:
        for name in ("model.sig", "model.manifest.json"):  # other scenarios hash the set
            (model / name).unlink(missing_ok=True)


def _measure(ctx: Context, files: list[Path], model: Path, reference: str,
             public: Path) -> list[Row]:
    def timed(target: str) -> float:
        return ctx.modelseal("verify", "--no-progress", "--key", str(public), target).seconds

    samples = best_of(ctx.sizes.rounds, [("verify oci://", lambda: timed(reference)),
                                         ("verify DIR", lambda: timed(str(model)))],
                      before_each=lambda: data.warm(files))
    done = ctx.modelseal("verify", "--format", "json", "--key", str(public), reference)
    fetched = int(json.loads(done.stdout)["bytes_fetched"])
    label = ctx.sizes.large_label
    timing = Row(f"{NAME}, {label}", modelseal=min(samples["verify oci://"]),
                 baseline=min(samples["verify DIR"]), baseline_name="verify DIR",
                 target="(info)", samples=samples,
                 note="both with the same key policy; the directory is re-hashed from a warm "
                      "page cache, the registry path reads manifests and the bundle only")
    size = sum(path.stat().st_size for path in files)
    volume = Row(f"bytes fetched by verify oci://, {label}", unit="KiB",
                 modelseal=fetched / 1024, target=f"< {BUDGET_BYTES // 1024} KiB",
                 passed=fetched < BUDGET_BYTES,
                 note=f"{fetched} bytes for a {size} byte model")
    return [timing, volume]


def _keys(workdir: Path) -> tuple[Path, Path]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    private, public = workdir / "registry-key.pem", workdir / "registry-key-pub.pem"
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    public.write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return private, public


@contextmanager
def _registry(program: str, root: Path) -> Iterator[str]:
    """A plain-HTTP registry on a free loopback port with storage under ``root``."""
    shutil.rmtree(root, ignore_errors=True)
    (root / "storage").mkdir(parents=True)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = root / "config.yml"
    config.write_text(f"version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n"
                      f"    rootdirectory: {root / 'storage'}\nhttp:\n  addr: 127.0.0.1:{port}\n")
    with (root / "registry.log").open("wb") as out:
        process = subprocess.Popen([program, "serve", str(config)], stdout=out,
                                   stderr=subprocess.STDOUT)
    try:
        _wait(port, process)
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(root, ignore_errors=True)


def _wait(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError("docker-registry exited at start-up")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise BenchError("docker-registry did not start")
