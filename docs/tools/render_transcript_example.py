"""Regenerate docs/transcript-example.png: page 1 of the demo closing transcript, as printed.

    .venv/bin/python docs/tools/render_transcript_example.py [--pdf out.pdf]

Needs Debian's poppler-utils (pdftoppm). The demo chat is the one the unit tests read back.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402

from adapters.transcripts import TranscriptData, TranscriptRenderer  # noqa: E402
from tests.unit.test_transcript_pdf import HOSTILE_TEXT, realistic_chat  # noqa: E402

OUTPUT = ROOT / "docs" / "transcript-example.png"
RESOLUTION_DPI = 100


def demo_chat() -> TranscriptData:
    """The tests' chat without the hostile-markup message, which is there to be tested, not shown."""
    chat = realistic_chat()
    return replace(chat, entries=[entry for entry in chat.entries if entry.text != HOSTILE_TEXT])


def render_first_page(pdf: bytes, output: Path) -> None:
    with tempfile.TemporaryDirectory() as work:
        source = Path(work) / "transcript.pdf"
        source.write_bytes(pdf)
        command = ["pdftoppm", "-png", "-r", str(RESOLUTION_DPI), "-f", "1", "-l", "1", "-singlefile",
                   str(source), str(Path(work) / "page")]
        subprocess.run(command, check=True)  # noqa: S603 - poppler from the system, fixed arguments
        with Image.open(Path(work) / "page.png") as page:
            # grey text on white needs few colours; a palette keeps the file small in the repository
            page.convert("RGB").quantize(colors=64, method=Image.Quantize.FASTOCTREE).save(output, optimize=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pdf", type=Path, help="also keep the whole PDF here")
    arguments = parser.parse_args()
    if shutil.which("pdftoppm") is None:
        print("pdftoppm not found: apt-get install poppler-utils", file=sys.stderr)
        return 1
    rendered = TranscriptRenderer().render(demo_chat())
    if arguments.pdf:
        arguments.pdf.write_bytes(rendered.pdf)
    render_first_page(rendered.pdf, OUTPUT)
    print(f"{OUTPUT.relative_to(ROOT)}  (content sha256 {rendered.content_sha256})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
