"""Markdown tables and findings as the report's HTML pages (mtbridge.report_pages)."""

from __future__ import annotations

from pathlib import Path

from mtbridge.report_pages import markdown_html, write_report_page

TABLE = """# Zero-shot transfer

| model | objective | topic avg |
| --- | --- | ---: |
| mbart | source | **61.1** |

- mbart mt-m2o vs source, topic avg: +17.4 points
"""


def test_pipe_tables_become_html_tables() -> None:
    page = markdown_html(TABLE, "Zero-shot transfer")
    assert page.startswith("<!DOCTYPE html>") and "<title>Zero-shot transfer</title>" in page
    assert "<h1>Zero-shot transfer</h1>" in page
    assert "<th>model</th>" in page and '<td style="text-align:right"><strong>61.1</strong></td>' in page
    assert "<li>mbart mt-m2o vs source, topic avg: +17.4 points</li>" in page


def test_raw_html_in_a_table_is_shown_not_run() -> None:
    page = markdown_html("a <script>alert(1)</script> b", "t<")
    assert "<script>" not in page and "&lt;script&gt;" in page and "<title>t&lt;</title>" in page


def test_page_is_written_whole(tmp_path: Path) -> None:
    source = tmp_path / "findings.md"
    source.write_text(TABLE, encoding="utf-8")
    page = tmp_path / "report" / "findings.html"
    write_report_page(markdown_path=source, html_path=page, title="Findings")
    assert page.read_text(encoding="utf-8") == markdown_html(TABLE, "Findings")
    assert [path.name for path in (tmp_path / "report").iterdir()] == ["findings.html"]
