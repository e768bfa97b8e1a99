"""`modelseal demo`: the main job, step by step, on a temporary copy of the example model.

The checkout is never touched: everything happens in a temp directory that is
removed afterwards (unless --keep).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from modelseal import console, engine
from modelseal.app import check
from modelseal.config import HashOptions
from modelseal.errors import EXIT_FAILED, EXIT_OK, ModelPathError
from modelseal.targets import ModelTarget

EXAMPLE_NAME = "tiny-model"


def example_model() -> Path:
    """The bundled example: inside the wheel, or examples/ of a source checkout."""
    package_dir = Path(__file__).resolve().parent
    for candidate in (package_dir / "_example" / EXAMPLE_NAME,
                      package_dir.parents[1] / "examples" / EXAMPLE_NAME):
        if candidate.is_dir():
            return candidate
    raise ModelPathError("the bundled example model is missing from this installation")


class _Narrator:
    """Prints numbered steps and the command a user would type for each."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.step = 0

    def say(self, title: str, command: str | None = None) -> None:
        self.step += 1
        console.say_lines(["", f"== {self.step}. {title}"], out=self.out)
        if command:
            console.say(f"$ {command}", out=self.out)

    def note(self, text: str) -> None:
        console.say(f"   {text}", out=self.out)


def run(keep: bool = False, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    """Run the demo; 0 when every step behaved as it should."""
    workdir = Path(tempfile.mkdtemp(prefix="modelseal-demo-"))
    try:
        model = workdir / EXAMPLE_NAME
        shutil.copytree(example_model(), model)
        ok = _walkthrough(model, _Narrator(out))
    finally:
        if keep:
            console.say_lines(["", f"kept the demo files in {workdir}"], out=out)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    console.say_lines(["", "demo finished: " + ("every check behaved as expected" if ok else
                                                "SOMETHING DID NOT BEHAVE AS EXPECTED")],
                      out=out)
    return EXIT_OK if ok else EXIT_FAILED


def _walkthrough(model: Path, say: _Narrator) -> bool:
    target = ModelTarget(model, HashOptions(), label=model.name)
    run = engine.HashRun(use_cache=False, progress=False)
    steps: list[Callable[[ModelTarget, engine.HashRun, _Narrator], bool]] = [
        _step_manifest, _step_check_clean, _step_sign, _step_verify_clean,
        _step_tamper_and_check, _step_verify_tampered, _step_report,
    ]
    say.note(f"working on a copy of the example model in {model}")
    return all(step(target, run, say) for step in steps)


def _step_manifest(target: ModelTarget, run: engine.HashRun, say: _Narrator) -> bool:
    say.say("Write the manifest: one digest per file, as an OMS statement",
            f"modelseal manifest {target.path.name}")
    status = check.refresh_model(target, run)
    console.print_refresh([status], say.out)
    for resource in status.current.resources:
        say.note(f"{resource.algorithm}:{resource.digest[:16]}...  {resource.name}")
    say.note(f"root digest sha256:{status.current.root_digest} (what a signature covers)")
    return status.written


def _step_check_clean(target: ModelTarget, run: engine.HashRun, say: _Narrator) -> bool:
    say.say("Check it, as the pre-commit hook and CI do", f"modelseal check {target.path.name}")
    status = check.check_model(target, run)
    console.print_check([status], say.out)
    return not status.stale


def _key_paths(target: ModelTarget) -> tuple[Path, Path]:
    keys = target.path.parent / "keys"
    return keys / "signing-key.pem", keys / "signing-key.pub.pem"


def _step_sign(target: ModelTarget, run: engine.HashRun, say: _Narrator) -> bool:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from modelseal import signing
    from modelseal.app.sign import SignOptions, sign_targets

    private_path, public_path = _key_paths(target)
    say.say("Sign it. CI signs keylessly with its OIDC identity; here a fresh P-256 key "
            "stands in", f"modelseal sign {target.path.name} --method key --key "
                        f"keys/{private_path.name}")
    key = ec.generate_private_key(ec.SECP256R1())
    private_path.parent.mkdir()
    private_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                               serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
    public_path.write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    [signed] = sign_targets([target], signing.KeySigner(key), SignOptions(progress=False))
    bundle = signed.model.signature_path
    say.note(f"wrote {bundle.name} ({bundle.stat().st_size} bytes): a Sigstore "
             "bundle whose DSSE payload is exactly model.manifest.json")
    return bundle.is_file()


def _verify(target: ModelTarget, say: _Narrator, title: str) -> bool:
    from modelseal import verifying
    from modelseal.app.verify import verify_models
    from modelseal.policy import Policy

    _, public_path = _key_paths(target)
    say.say(title, f"modelseal verify {target.path.name} --key keys/{public_path.name}")
    options = verifying.VerifyOptions(policy=Policy(keys=(public_path,)), progress=False)
    [result] = verify_models([target], options).results
    # only a verified signature counts: an unsigned copy must not pass for a signed one
    verified = result.status == verifying.STATUS_VERIFIED
    say.note(result.message if verified else f"{result.status}: {result.message}")
    console.say_lines(console.diff_lines(result.diff) if result.diff else [], out=say.out)
    return verified


def _step_verify_clean(target: ModelTarget, run: engine.HashRun, say: _Narrator) -> bool:
    return _verify(target, say, "Verify it, as anyone who pulls the model would")


def _step_verify_tampered(target: ModelTarget, run: engine.HashRun, say: _Narrator) -> bool:
    rejected = not _verify(target, say, "Verify the tampered copy: the signature catches it")
    say.note("exit status 1: the signature no longer matches the bytes on disk" if rejected
             else "the tampered model was NOT rejected")
    return rejected


def _step_report(target: ModelTarget, run: engine.HashRun, say: _Narrator) -> bool:
    from modelseal import verifying
    from modelseal.policy import Policy
    from modelseal.report.build import build_report
    from modelseal.report.model import Verdict
    from modelseal.report.render import render

    _, public_path = _key_paths(target)
    say.say("Summarize it for reviewers: the same report becomes the sticky PR/MR comment",
            f"modelseal report {target.path.name} --key keys/{public_path.name} --format text")
    options = verifying.VerifyOptions(policy=Policy(keys=(public_path,)), progress=False)
    report, _ = build_report([target], options, run,
                             verify_flags=["--key", f"keys/{public_path.name}"],
                             all_paths=[str(target.path)], root=target.path.parent)
    console.say_lines(render(report, "text").rstrip().splitlines(), out=say.out)
    say.note("--format markdown renders it as a GitHub comment, junit for GitLab's MR widget")
    return report.verdict is Verdict.FAIL


def _step_tamper_and_check(target: ModelTarget, run: engine.HashRun, say: _Narrator) -> bool:
    weights = target.path / "model.safetensors"
    say.say("Tamper with the weights: flip one byte of model.safetensors")
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0x01
    weights.write_bytes(bytes(data))
    say.say("Check again: the change is caught and named", f"modelseal check {target.path.name}")
    status = check.check_model(target, run)
    console.print_check([status], say.out)
    caught = status.stale and status.diff.modified == ("model.safetensors",)
    say.note("exit status 1: a commit or CI job would stop here" if caught else
             "the tamper was NOT detected")
    return caught
