"""The report formats registry: `report --format` and the renderer read one list."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from modelseal import cli
from modelseal.report import formats
from modelseal.report.model import Report
from modelseal.report.render import MARKER, render
from tests import report_samples


def _format_action() -> argparse.Action:
    parser = cli.build_parser(only="report")
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    report = commands.choices["report"]
    return next(a for a in report._actions if "--format" in a.option_strings)


def test_report_format_choices_and_help_come_from_the_registry() -> None:
    action = _format_action()
    assert tuple(action.choices or ()) == tuple(formats.FORMATS)
    assert action.default == formats.DEFAULT
    for name, made in formats.FORMATS.items():
        assert f"{name}: {made.help}" in str(action.help)


@pytest.mark.parametrize("name", list(formats.FORMATS))
def test_every_registered_format_renders(name: str) -> None:
    report = Report(models=(report_samples.verified(), report_samples.tampered()),
                    report_id="llm")
    body = render(report, name)
    assert body.strip()
    assert body.startswith(MARKER) is formats.FORMATS[name].marked


def test_a_new_format_is_one_registry_line(monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str],
                                           tmp_path: Path) -> None:
    def names_only(report: Report) -> str:
        return "\n".join(model.path for model in report.models) + "\n"

    monkeypatch.setitem(formats.FORMATS, "paths",
                        formats.ReportFormat("paths", "model paths", function=names_only))
    saved = report_samples.verified()
    document = render(Report(models=(saved,)), "json")
    source = tmp_path / "r.json"
    source.write_text(document)
    assert cli.main(["report", "--from-json", str(source), "--format", "paths"]) == 0
    assert capsys.readouterr().out == f"{saved.path}\n"
