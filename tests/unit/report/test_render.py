"""Renderers: snapshots of every format on realistic reports, size limits, escaping."""

from __future__ import annotations

import json
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from modelseal.errors import UsageError
from modelseal.report.model import FileChange, FileChanges, ModelReport, ModelState, Report
from modelseal.report.render import (
    GITHUB_COMMENT_LIMIT,
    GITHUB_SUMMARY_LIMIT,
    check_report_id,
    render,
)
from tests import report_samples as samples

SNAPSHOTS = Path(__file__).parent / "snapshots"
UPDATE = os.environ.get("MODELSEAL_UPDATE_SNAPSHOTS") == "1"
EXTENSIONS = {"markdown": "md", "github-summary": "summary.md", "gitlab": "gitlab.md",
              "text": "txt", "junit": "xml", "json": "json"}
CASES = [(name, fmt) for name in ("signed", "mixed", "tampered", "unsigned", "failing",
                                  "hostile") for fmt in EXTENSIONS]
CASES += [("big", "markdown"), ("big", "text")]


def check_snapshot(name: str, text: str) -> None:
    path = SNAPSHOTS / name
    if UPDATE or not path.exists():
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
        if not UPDATE:
            pytest.fail(f"wrote new snapshot {path}; check it and run again")
    assert text == path.read_text(encoding="utf-8"), (
        f"{name} changed; rerun with MODELSEAL_UPDATE_SNAPSHOTS=1 if that is intended")


@pytest.mark.parametrize(("sample", "fmt"), CASES)
def test_snapshot(sample: str, fmt: str) -> None:
    report = samples.SAMPLES[sample]()
    check_snapshot(f"{sample}.{EXTENSIONS[fmt]}", render(report, fmt))


def test_every_snapshot_is_used() -> None:
    expected = {f"{sample}.{EXTENSIONS[fmt]}" for sample, fmt in CASES}
    assert {p.name for p in SNAPSHOTS.iterdir()} == expected


# --- size limits -------------------------------------------------------------------------


def test_5000_changed_files_fit_a_github_comment_with_a_note() -> None:
    body = render(samples.SAMPLES["big"](), "markdown")
    assert len(body) < 65_536
    note = re.search(r"Detail left out to stay under GitHub's 65,536-character comment "
                     r"limit: ([0-9,]+) of ([0-9,]+) file changes", body)
    assert note is not None
    assert note[2] == "10,003"  # 5,000 changed + 5,000 unsigned, plus the small model's 3
    shown = body.count("| modified | `shards/part-")
    assert int(note[1].replace(",", "")) == 10_000 - shown
    assert "`config.json`" in body  # the small model keeps its detail rows


def test_job_summary_uses_its_larger_limit() -> None:
    report = samples.report(samples.big(8000))
    summary = render(report, "github-summary")
    comment = render(report, "markdown")
    assert GITHUB_SUMMARY_LIMIT.fits(summary) and GITHUB_COMMENT_LIMIT.fits(comment)
    assert 65_536 < len(summary.encode()) < 1024 * 1024
    assert "1 MiB job summary limit" in summary
    assert summary.startswith("## ")  # no marker in a summary


def test_thousands_of_models_drop_sections_then_rows() -> None:
    models = tuple(samples.unsigned() for _ in range(3000))
    body = render(samples.report(*models), "markdown")
    assert len(body) < 65_536
    assert "<details" not in body
    assert "more models_" in body and "the per-model sections" in body


def test_no_limit_for_text_but_long_tables_are_cut() -> None:
    text = render(samples.SAMPLES["big"](), "text")
    assert "... and 4,950 more (use --format json for all)" in text


# --- escaping ----------------------------------------------------------------------------


def gfm_html(markdown: str) -> str:
    cmarkgfm = pytest.importorskip("cmarkgfm")
    from cmarkgfm.cmark import Options

    # GitHub renders with raw HTML allowed (then sanitises); render the same way, so
    # anything that would reach the page as a tag shows up here.
    return str(cmarkgfm.github_flavored_markdown_to_html(markdown,
                                                         options=Options.CMARK_OPT_UNSAFE))


@pytest.mark.parametrize("fmt", ["markdown", "github-summary", "gitlab"])
def test_hostile_names_stay_text_in_rendered_html(fmt: str) -> None:
    html = gfm_html(render(samples.SAMPLES["hostile"](), fmt))
    assert "<img" not in html and "<script" not in html and "<b>" not in html
    assert html.count("<details") == 1 and html.count("</details>") == 1
    assert "javascript:" not in re.sub(r"<code>[^<]*</code>", "", html)
    assert 'href="javascript' not in html
    # every hostile file name is one table cell in each of the two file tables
    for name in ("pipe|in|name.txt", "back`tick``s.txt", "&lt;!-- modelseal-report --&gt;"):
        assert html.count(f"<td><code>{name}</code></td>") == 2, name
    rows = re.findall(r"<tr>\s*<td>added</td>", html)
    assert len(rows) == 2 * len(samples.HOSTILE_NAMES)
    # no mention: "@" is never directly followed by a name outside code
    text = re.sub(r"<code>.*?</code>", "", html, flags=re.S)
    assert not re.search(r"@[A-Za-z]", text)


def test_hostile_names_in_the_models_table_and_summary() -> None:
    report = Report((ModelReport(path="</summary></details><h1>x</h1>|a",
                                 state=ModelState.UNSIGNED, message="<!-- hide -->"),))
    html = gfm_html(render(report, "markdown"))
    assert "<h1>" not in html and "<!-- hide" not in html
    assert html.count("</details>") == 1 and html.count("</summary>") == 1


def test_only_the_first_line_is_the_marker() -> None:
    body = render(samples.SAMPLES["hostile"](), "markdown")
    first, rest = body.split("\n", 1)
    assert first == "<!-- modelseal-report -->"
    assert not any(line.startswith("<!-- modelseal-report") for line in rest.splitlines())


def test_report_id_is_restricted() -> None:
    assert check_report_id("llm-7b_v2.1") == "llm-7b_v2.1"
    for bad in ("x -->", "", "a b", "-x", "x" * 65, "<id>"):
        with pytest.raises(UsageError):
            check_report_id(bad)


def test_terminal_text_has_no_escape_sequences_from_names() -> None:
    plain = render(samples.SAMPLES["hostile"](), "text")
    assert "\x1b" not in plain and "\u202e" not in plain
    coloured = render(samples.SAMPLES["hostile"](), "text", color=True)
    assert set(re.findall(r"\x1b\[[0-9;]*m", coloured)) <= {
        "\x1b[0m", "\x1b[1m", "\x1b[31m", "\x1b[32m", "\x1b[33m", "\x1b[36m"}
    assert "\x1b[31mred" not in coloured


def test_junit_is_well_formed_even_with_control_characters() -> None:
    xml = render(samples.SAMPLES["hostile"](), "junit")
    root = ET.fromstring(xml.encode())
    case = root.find("testsuite/testcase")
    assert case is not None and case.get("name") == "models/<b>hostile</b>|`x`"
    failure = case.find("failure")
    assert failure is not None and failure.get("type") == "signature-invalid"
    assert "<img src=x>" in (failure.get("message") or "")


def test_junit_counts() -> None:
    root = ET.fromstring(render(samples.failing(), "junit").encode())
    assert (root.get("tests"), root.get("failures"), root.get("skipped")) == ("5", "3", "1")
    names = [c.get("name") for c in root.iter("testcase")]
    assert names == [m.path for m in samples.failing().models]
    strict = samples.report(samples.unsigned(strict=True))
    root = ET.fromstring(render(strict, "junit").encode())
    assert root.get("failures") == "1" and root.get("skipped") == "0"


# --- templates ---------------------------------------------------------------------------


def test_user_template_extends_and_is_escaped(tmp_path: Path) -> None:
    template = tmp_path / "mine.md.j2"
    template.write_text('{% import "_markdown.md.j2" as md with context %}'
                        "Our models:\n{% for m in models %}- {{ m.path }} {{ m.path|code }}\n"
                        "{% endfor %}\n{{ md.models_table() }}\n")
    body = render(samples.SAMPLES["hostile"](), "markdown", template=template)
    assert body.startswith("<!-- modelseal-report -->\nOur models:\n- models/&lt;b&gt;hostile")
    assert "| Model | Status |" in body


def test_template_errors_are_usage_errors(tmp_path: Path) -> None:
    broken = tmp_path / "broken.j2"
    broken.write_text("{% for %}")
    with pytest.raises(UsageError, match=r"broken\.j2"):
        render(samples.mixed(), "markdown", template=broken)
    with pytest.raises(UsageError, match="does not apply"):
        render(samples.mixed(), "json", template=broken)
    missing = tmp_path / "missing.j2"
    with pytest.raises(UsageError, match=r"missing\.j2"):
        render(samples.mixed(), "markdown", template=missing)


def test_unknown_sizes_are_unknown_not_zero() -> None:
    changes = FileChanges((FileChange("modified", "w.bin", size=10),))
    assert changes.size_delta is None
    report = samples.report(ModelReport("m", ModelState.SIGNATURE_INVALID, mismatch=changes,
                                        mismatch_source="signature"))
    assert "| modified | `w.bin` | 10 B | unknown |" in render(report, "markdown")
    assert json.loads(render(report, "json"))["models"][0]["mismatch"]["size_delta"] is None


def test_any_file_name_is_one_code_cell() -> None:
    """Property: whatever a file is called, it renders as exactly one table cell holding
    exactly its (visible) name, and adds no HTML element of its own."""
    pytest.importorskip("cmarkgfm")
    import html as html_module

    from hypothesis import given, settings
    from hypothesis import strategies as st

    from modelseal.errors import printable as visible

    alphabet = st.characters(codec="utf-8", exclude_categories=("Cs",))
    specials = st.sampled_from([*"`|<>&*_[]()!#\\@~-:\n\r\t ", "-->", "<!--", "```"])
    names = st.lists(st.one_of(specials, st.text(alphabet, max_size=3)), min_size=1,
                     max_size=12).map("".join).filter(bool)

    @settings(max_examples=150, deadline=None)
    @given(names)
    def check(name: str) -> None:
        changes = FileChanges((FileChange("added", name, size=1),))
        report = samples.report(ModelReport("m", ModelState.SIGNATURE_INVALID,
                                            mismatch=changes, mismatch_source="signature"))
        page = gfm_html(render(report, "markdown"))
        cells = re.findall(r"<tr>\s*<td>added</td>\s*<td>(.*?)</td>", page, flags=re.S)
        expected = html_module.escape(visible(name), quote=False).replace('"', "&quot;")
        assert len(cells) == 1
        match = re.fullmatch(r"<code>(.*)</code>", cells[0], flags=re.S)
        assert match is not None, cells[0]
        # a code span of only spaces keeps them all (CommonMark); compare without them
        assert match[1].strip(" ") == expected.strip(" ")
        assert page.count("<details") == 1 and page.count("<table>") == 2

    check()
