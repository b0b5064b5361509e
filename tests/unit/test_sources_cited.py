"""The project stands alone: no file points at a development machine's paths."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MACHINE_PATH = re.compile(r"(?<![\w/.:-])(/work/|/home/\w+/|/Users/\w+/|/root/|\.\./shared/)")


def tracked_text_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return [ROOT / name for name in listed.splitlines()
            if name.endswith((".py", ".md", ".html", ".yaml", ".toml", ".js", ".css", ".csv", ".po", "Makefile"))]


def test_no_tracked_file_cites_a_path_of_a_development_machine() -> None:
    offenders = [f"{path.relative_to(ROOT)}:{number}"
                 for path in tracked_text_files() if path.is_file()
                 for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1)
                 if MACHINE_PATH.search(line) and path.name != "test_sources_cited.py"]

    assert offenders == [], "cite the public source or the project's own copy instead"
