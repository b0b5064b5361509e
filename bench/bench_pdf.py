"""Closing transcripts rendered per second for a 200-message chat, against a baseline measured in
the same run: xhtml2pdf rendering a bare HTML table of the same messages (no template, no
embedded fonts, no page numbers, no escaping filters). The ratio is what the transcript's layout
and guarantees cost on top of xhtml2pdf itself."""

from __future__ import annotations

import io
import statistics
from collections.abc import Callable
from html import escape

from common import rate, timed
from pypdf import PdfReader
from xhtml2pdf import pisa

from adapters.transcripts import TranscriptData, TranscriptRenderer
from tests.unit.test_transcript_pdf import long_chat

MESSAGES = 200
ROUNDS = 5


def bare_table_html(data: TranscriptData) -> str:
    rows = "".join(f"<tr><td>{entry.at:%d/%m/%Y %H:%M:%S}</td><td>{escape(entry.author_name)}</td>"
                   f"<td>{escape(entry.text)}</td></tr>" for entry in data.entries)
    return f"<html><body><table>{rows}</table></body></html>"


def render_bare(html: str) -> None:
    pisa.CreatePDF(html, dest=io.BytesIO())


def per_second(render: Callable[[], object], rounds: int) -> float:
    """Median over `rounds` single renders, after one warm-up render."""
    render()
    return statistics.median(rate(1, timed(render)) for _ in range(rounds))


def main() -> None:
    data = long_chat(MESSAGES)
    renderer = TranscriptRenderer()
    html = bare_table_html(data)
    transcript = per_second(lambda: renderer.render(data), ROUNDS)
    baseline = per_second(lambda: render_bare(html), ROUNDS)
    pages = len(PdfReader(io.BytesIO(renderer.render(data).pdf)).pages)
    label = f"closing transcript PDFs/s ({MESSAGES} messages, {pages} pages)"
    print(f"{label:<58} {transcript:>12.2f} {'PDFs/s':<10} baseline bare xhtml2pdf table: {baseline:>8.2f}"
          f"  ratio {transcript / baseline:5.2f}")


if __name__ == "__main__":
    main()
