"""Markdown tables and findings as HTML pages, so `snakemake --report` shows them as read, not as files
to download (the report embeds an HTML result and displays it; Markdown it only offers as a file)."""
from __future__ import annotations

import html
from pathlib import Path

from markdown_it import MarkdownIt

from mtbridge.aliases import PathLike
from mtbridge.io import write_text

STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em; line-height: 1.45; color: #222; }
table { border-collapse: collapse; font-size: 0.9em; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.5em; }
td { text-align: right; } td:first-child, td:nth-child(2) { text-align: left; }
th { background: #f0f0f0; } code { background: #f4f4f4; padding: 0 0.2em; }
"""


def markdown_html(markdown: str, title: str) -> str:
    """A standalone HTML page of MARKDOWN (CommonMark with GitHub's pipe tables), raw HTML escaped."""
    body = MarkdownIt("commonmark", {"html": False}).enable("table").render(markdown)
    return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
            f"<style>{STYLE}</style></head>\n<body>\n{body}</body></html>\n")


def write_report_page(*, markdown_path: PathLike, html_path: PathLike, title: str) -> None:
    write_text(markdown_html(Path(markdown_path).read_text(encoding="utf-8"), title), html_path)
