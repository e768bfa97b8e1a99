"""Realistic reports for renderer, snapshot and comment tests (plain data, no I/O), and
the validator of report JSON against its schema."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import pytest

from modelseal.report.model import (
    FileChange,
    FileChanges,
    ModelReport,
    ModelState,
    Report,
    Signer,
)
from tests.conftest import REPO_ROOT

MiB = 1024 * 1024
GITHUB_ISSUER = "https://token.actions.githubusercontent.com"

HOSTILE_NAMES = (
    "<img src=x onerror=alert(1)>.bin",
    "pipe|in|name.txt",
    "back`tick``s.txt",
    "</details><script>alert(1)</script>",
    "<!-- modelseal-report -->",
    "@octocat-ping.txt",
    "[click](javascript:alert(1)).md",
    "**bold** _em_ ~~del~~ #1.txt",
    "line\nbreak\n| forged | row |.txt",
    "\x1b[31mred\x1b[0m.txt",
    "evil\u202egnp.exe",
    "trailing\\",
    "a\\|b.txt",
)


def github_signer(commit: str = "3f2a9c1d0b7e4a6f8c5d2e1b0a9f8e7d6c5b4a39") -> Signer:
    return Signer(
        method="sigstore",
        identity="https://github.com/acme/models/.github/workflows/sign.yml@refs/heads/main",
        issuer=GITHUB_ISSUER,
        repository="acme/models",
        workflow=".github/workflows/sign.yml",
        ref="refs/heads/main",
        commit=commit,
        run_url="https://github.com/acme/models/actions/runs/9876543210/attempts/1",
        rekor_log_index=123456789,
        integrated_time=datetime(2026, 11, 20, 9, 30, 12, tzinfo=timezone.utc),
    )


VERIFY = "modelseal verify {path} --repository acme/models --workflow sign.yml --ref main"


def _model(path: str, state: ModelState, **kwargs: object) -> ModelReport:
    return ModelReport(path=path, name=path.rsplit("/", 1)[-1], state=state,
                       verify_command=VERIFY.format(path=path), **kwargs)  # type: ignore[arg-type]


def verified() -> ModelReport:
    return _model(
        "models/classifier", ModelState.VERIFIED, message="signature verified",
        signer=github_signer(),
        changes=FileChanges((
            FileChange("modified", "model.safetensors", size=420 * MiB, old_size=418 * MiB),
            FileChange("added", "tokenizer.json", size=2 * MiB),
            FileChange("renamed", "config.json", old_path="cfg.json", size=812, old_size=812),
        )),
        root_digest="sha256:" + "ab" * 32, files=5, size=424 * MiB)


def signed_unchanged() -> ModelReport:
    return _model("models/bert", ModelState.SIGNED_UNCHANGED, message="signature verified",
                  signer=Signer(method="key", key_hint="9d" * 32),
                  root_digest="sha256:" + "cd" * 32, files=3, size=438 * MiB)


def tampered() -> ModelReport:
    return _model(
        "models/llm-7b", ModelState.SIGNATURE_INVALID,
        message="2 files differ from the signed manifest: model-00002-of-00003.safetensors "
                "modified, backdoor.py added",
        signer=github_signer("0123456789abcdef0123456789abcdef01234567"),
        mismatch=FileChanges((
            FileChange("added", "backdoor.py", size=1_337),
            FileChange("modified", "model-00002-of-00003.safetensors", size=4_900 * MiB,
                       old_size=4_900 * MiB),
        )), mismatch_source="signature")


def unsigned(strict: bool = False) -> ModelReport:
    return _model("models/experimental", ModelState.UNSIGNED, strict=strict,
                  message="no signature (models/experimental/model.sig does not exist)")


def awaiting() -> ModelReport:
    return _model(
        "models/whisper", ModelState.AWAITING_SIGNATURE,
        message="changed in this pull request; CI signs it on merge",
        signer=github_signer(),
        changes=FileChanges((FileChange("modified", "weights.bin", size=150 * MiB,
                                        old_size=160 * MiB),)),
        mismatch=FileChanges((FileChange("modified", "weights.bin", size=150 * MiB,
                                         old_size=160 * MiB),)), mismatch_source="signature")


def stale() -> ModelReport:
    return _model(
        "models/detector", ModelState.MANIFEST_STALE,
        message="model.manifest.json does not match the files: run `modelseal manifest "
                "models/detector` and commit it",
        mismatch=FileChanges((FileChange("modified", "head.pt", size=3 * MiB,
                                         old_size=3 * MiB),)), mismatch_source="manifest")


def policy_violation() -> ModelReport:
    return _model(
        "models/vision", ModelState.POLICY_VIOLATION,
        message="identity 'mallory@example.com' does not match policy "
                "'https://github.com/acme/models/.github/workflows/sign.yml@refs/heads/main'",
        signer=Signer(method="sigstore", identity="mallory@example.com",
                      issuer="https://accounts.google.com", rekor_log_index=42,
                      integrated_time=datetime(2026, 11, 21, 8, 0, tzinfo=timezone.utc)))


def big(count: int = 5000) -> ModelReport:
    files = tuple(FileChange("modified", f"shards/part-{i:05d}-of-{count:05d}.safetensors",
                             size=64 * MiB + i, old_size=64 * MiB) for i in range(count))
    return _model("models/giant", ModelState.AWAITING_SIGNATURE,
                  message="changed in this pull request; CI signs it on merge",
                  changes=FileChanges(files), mismatch=FileChanges(files),
                  mismatch_source="signature")


def hostile() -> ModelReport:
    files = tuple(FileChange("added", name, size=10) for name in HOSTILE_NAMES)
    signer = Signer(method="sigstore", identity="<img src=x>|@admin`evil`</details>",
                    issuer="https://issuer.example/<b>", run_url="javascript:alert(1)",
                    repository="acme/models](https://evil.example)")
    return ModelReport(
        path="models/<b>hostile</b>|`x`", name="hostile", state=ModelState.SIGNATURE_INVALID,
        message="file <img src=x> | `rm -rf` </details> <!-- modelseal-report --> @here",
        signer=signer, changes=FileChanges(files), mismatch=FileChanges(files),
        mismatch_source="signature",
        verify_command="modelseal verify 'models/<b>hostile</b>|`x`' --identity '```'")


def report(*models: ModelReport, report_id: str | None = None) -> Report:
    return Report(models=models, base="origin/main", head="HEAD", report_id=report_id,
                  verify_command="modelseal verify --repository acme/models "
                                 "--workflow sign.yml --ref main",
                  tool_version="0.1.0")


def mixed() -> Report:
    return report(verified(), signed_unchanged(), awaiting(), unsigned())


def failing() -> Report:
    return report(tampered(), stale(), policy_violation(), verified(), unsigned())


SAMPLES = {
    "signed": lambda: report(verified(), signed_unchanged()),
    "mixed": mixed,
    "tampered": lambda: report(tampered()),
    "unsigned": lambda: report(unsigned()),
    "failing": failing,
    "hostile": lambda: report(hostile()),
    "big": lambda: report(big(), verified()),
}


SCHEMA = REPO_ROOT / "src/modelseal/report/schema/report-v1.json"


def validator() -> Any:
    """A validator of report JSON documents against the published schema."""
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
