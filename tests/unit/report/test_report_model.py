"""The report model: verdicts, the status line, and the versioned JSON document."""

from __future__ import annotations

import json
from typing import Any

import pytest

from modelseal.errors import UsageError
from modelseal.report.model import (
    FileChange,
    FileChanges,
    ModelReport,
    ModelState,
    Report,
    Severity,
    Signer,
    Verdict,
    report_from_json,
)
from tests import report_samples as samples
from tests.report_samples import validator


@pytest.mark.parametrize("name", sorted(samples.SAMPLES))
def test_json_validates_and_reads_back(name: str) -> None:
    report = samples.SAMPLES[name]()
    document = json.loads(json.dumps(report.to_json()))
    validator().validate(document)
    assert report_from_json(document) == report


def test_schema_ships_in_the_package() -> None:
    from importlib import resources

    text = resources.files("modelseal.report").joinpath("schema/report-v1.json").read_text()
    assert json.loads(text)["$id"] == samples.report().to_json()["$schema"]


def test_verdicts() -> None:
    assert samples.report(samples.verified(), samples.awaiting()).verdict is Verdict.PASS
    assert samples.mixed().verdict is Verdict.WARN
    assert samples.report(samples.unsigned(strict=True)).verdict is Verdict.FAIL
    assert samples.failing().verdict is Verdict.FAIL
    assert Report(()).verdict is Verdict.PASS and Report(()).summary == "no models to report"


def test_severity_of_every_state() -> None:
    expected = {
        ModelState.VERIFIED: Severity.OK, ModelState.SIGNED_UNCHANGED: Severity.OK,
        ModelState.AWAITING_SIGNATURE: Severity.PENDING,
        ModelState.MANIFEST_STALE: Severity.FAILURE,
        ModelState.SIGNATURE_INVALID: Severity.FAILURE,
        ModelState.POLICY_VIOLATION: Severity.FAILURE, ModelState.UNSIGNED: Severity.WARNING,
        ModelState.SIGNED_NOT_VERIFIED: Severity.WARNING}
    assert {state: ModelReport("m", state).severity for state in ModelState} == expected
    # nothing verified these two: a strict policy fails them
    for state in (ModelState.UNSIGNED, ModelState.SIGNED_NOT_VERIFIED):
        assert ModelReport("m", state, strict=True).severity is Severity.FAILURE


def test_summary_line() -> None:
    assert samples.failing().summary == (
        "3 of 5 models failed: 1 verified, 1 manifest stale, 1 signature invalid, "
        "1 policy violation, 1 unsigned")
    assert samples.report(samples.verified()).summary == "all 1 model OK: 1 verified"


def test_size_delta_counts_known_sizes() -> None:
    changes = FileChanges((FileChange("added", "a", size=10),
                           FileChange("removed", "b", old_size=4),
                           FileChange("modified", "c", size=7, old_size=9),
                           FileChange("renamed", "e", old_path="d", size=3, old_size=3),
                           FileChange("modified", "f", size=100)))
    assert changes.size_delta == 10 - 4 - 2
    assert changes.counts() == {"added": 1, "removed": 1, "modified": 2, "renamed": 1}


def test_signer_short_names() -> None:
    assert samples.github_signer().short == "acme/models · sign.yml@main"
    assert Signer("key", key_hint="ab" * 32).short == "key sha256:" + "ab" * 8
    long = Signer("sigstore", identity="x" * 100)
    assert len(long.short) == 60 and long.short.endswith("…")


@pytest.mark.parametrize(("change", "message"), [
    ({"kind": "other"}, "kind must be"),
    ({"schema_version": 2}, "schema_version 2 is not supported"),
    ({"models": {}}, "models must be a list"),
    ({"models": [{"path": "m", "state": "fine"}]}, "state is not a known state"),
    ({"models": [{"path": 3, "state": "unsigned"}]}, "path must be a string"),
    ({"models": [{"path": "m", "state": "unsigned", "changes": {"files": [
        {"change": "exploded", "path": "x"}]}}]}, "change must be one of"),
    ({"models": [{"path": "m", "state": "unsigned", "signer": {
        "method": "key", "integrated_time": "yesterday"}}]}, "UTC time"),
])
def test_malformed_documents_name_the_field(change: dict[str, Any], message: str) -> None:
    document = {"kind": "modelseal-report", "schema_version": 1, "models": [], **change}
    with pytest.raises(UsageError, match=message):
        report_from_json(document, source="r.json")
