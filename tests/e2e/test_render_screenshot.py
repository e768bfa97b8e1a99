"""The PR comment as GitHub would show it: GFM to HTML (cmark-gfm), then a headless
Chromium screenshot. Nothing is kept; run `python -m tests.e2e.test_render_screenshot OUT.png`
to look at one."""

from __future__ import annotations

import html
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from modelseal.report.model import Report
from modelseal.report.render import render
from tests import report_samples as samples

STYLE = """
body { font: 14px/1.5 -apple-system, "Segoe UI", "Noto Sans", Helvetica, Arial, sans-serif;
       color: #1f2328; background: #fff; margin: 0; padding: 16px; }
.comment { border: 1px solid #d1d9e0; border-radius: 6px; max-width: 900px; }
.header { background: #f6f8fa; border-bottom: 1px solid #d1d9e0; padding: 8px 16px;
          color: #59636e; }
.body { padding: 16px; }
table { border-collapse: collapse; margin: 8px 0 16px; display: block; overflow: auto; }
th, td { border: 1px solid #d1d9e0; padding: 6px 13px; }
tr:nth-child(2n) { background: #f6f8fa; }
code { background: #eff1f3; border-radius: 6px; padding: .2em .4em; font-size: 85%;
       font-family: ui-monospace, SFMono-Regular, Menlo, monospace; }
pre { background: #f6f8fa; border-radius: 6px; padding: 16px; overflow: auto; }
pre code { background: none; padding: 0; }
details { margin: 8px 0; } summary { cursor: pointer; }
blockquote { border-left: .25em solid #0969da; color: #59636e; margin: 0; padding: 0 1em; }
h3 { margin-top: 0; }
"""


def comment_html(report: Report) -> str:
    """The comment body as a GitHub-like page (cmark-gfm is GitHub's own renderer)."""
    import cmarkgfm
    from cmarkgfm.cmark import Options

    body = cmarkgfm.github_flavored_markdown_to_html(render(report, "markdown"),
                                                     options=Options.CMARK_OPT_UNSAFE)
    return (f"<!doctype html><meta charset=utf-8><style>{STYLE}</style>"
            f"<div class=comment><div class=header><b>github-actions</b> bot commented"
            f"</div><div class=body>{body}</div></div>")


def screenshot(page: str, out: Path, size: str = "1000,1900") -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise FileNotFoundError("chromium is not installed")
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "comment.html"
        source.write_text(page, encoding="utf-8")
        subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu",
                        "--disable-background-networking", "--disable-component-update",
                        "--disable-sync", "--no-first-run", f"--user-data-dir={tmp}/profile",
                        f"--screenshot={out}", f"--window-size={size}",
                        source.as_uri()], check=True, capture_output=True, timeout=120)


def demo_report() -> Report:
    return samples.report(samples.tampered(), samples.verified(), samples.awaiting(),
                          samples.unsigned(), samples.hostile())


def test_comment_html_keeps_hostile_names_as_text() -> None:
    pytest.importorskip("cmarkgfm")
    page = comment_html(demo_report())
    assert "<img" not in page and "<script" not in page
    assert page.count("<details") == 5
    assert html.escape("<img src=x onerror=alert(1)>.bin", quote=False) in page


@pytest.mark.skipif(not (shutil.which("chromium") or shutil.which("chromium-browser")),
                    reason="chromium is not installed")
def test_comment_screenshot(tmp_path: Path) -> None:
    pytest.importorskip("cmarkgfm")
    out = tmp_path / "comment.png"
    screenshot(comment_html(demo_report()), out)
    data = out.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 20_000


if __name__ == "__main__":
    screenshot(comment_html(demo_report()), Path(sys.argv[1]).resolve(),
               *(sys.argv[2:3] or []))
