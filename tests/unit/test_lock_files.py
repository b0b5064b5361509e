"""The install is reproducible: uv.lock resolves pyproject.toml, and the hashed locks pip installs from are its exports,
with every dependency pyproject.toml names pinned within its range."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PINNED = re.compile(r"^([A-Za-z0-9._-]+)==([^\s;\\]+)")


def pins_of(lock: Path) -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in lock.read_text().splitlines():
        if match := PINNED.match(line):
            pins[canonicalize_name(match[1])] = match[2]
    return pins


def requirements(*extras: str) -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = [*project["dependencies"], *(r for extra in extras for r in project["optional-dependencies"][extra])]
    return [Requirement(name) for name in names]


@pytest.mark.parametrize(("lock", "extras"), [("requirements.txt", ("s3",)),
                                              ("requirements-dev.txt", ("s3", "dev"))])
def test_every_declared_dependency_is_pinned_within_its_range(lock: str, extras: tuple[str, ...]) -> None:
    pins = pins_of(ROOT / lock)
    unpinned = [str(r) for r in requirements(*extras) if canonicalize_name(r.name) not in pins]
    outside = [f"{r} (locked {pins[canonicalize_name(r.name)]})" for r in requirements(*extras)
               if canonicalize_name(r.name) in pins and not r.specifier.contains(pins[canonicalize_name(r.name)])]

    assert unpinned == [], f"run `make lock`: {unpinned} are not in {lock}"
    assert outside == [], f"run `make lock`: {lock} pins versions pyproject.toml no longer allows: {outside}"


@pytest.mark.parametrize("lock", ["requirements.txt", "requirements-dev.txt"])
def test_every_pin_carries_a_hash_and_the_build_backend_is_locked(lock: str) -> None:
    text = (ROOT / lock).read_text()
    blocks = re.split(r"\n(?=[A-Za-z0-9._-]+==)", text)
    without_hash = [block.split()[0] for block in blocks if PINNED.match(block) and "--hash=sha256:" not in block]

    assert without_hash == []
    assert {"setuptools", "wheel"} <= pins_of(ROOT / lock).keys()


def test_make_install_reads_the_hashed_lock() -> None:
    makefile = (ROOT / "Makefile").read_text()

    assert re.search(r"pip install .*--require-hashes .*-r \$\(DEV_LOCK\)", makefile)
    assert "--no-build-isolation" in makefile  # the project itself is built with the locked setuptools


def requirement_lines(text: str) -> list[str]:
    """What pip reads of a requirements file: no comments (the header names the command that wrote it)."""
    return [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


@pytest.mark.parametrize(("lock", "extras"), [("requirements.txt", ("s3",)), ("requirements-dev.txt", ("s3", "dev"))])
def test_the_hashed_locks_are_exactly_the_exports_of_uv_lock(lock: str, extras: tuple[str, ...]) -> None:
    uv = Path(sys.executable).parent / "uv"
    exported = subprocess.run(
        [str(uv), "export", "--frozen", "--no-emit-project", "--no-default-groups", "--group", "build",
         *(f"--extra={extra}" for extra in extras), "--quiet"],
        cwd=ROOT, capture_output=True, text=True, check=True, timeout=60).stdout

    assert requirement_lines((ROOT / lock).read_text()) == requirement_lines(exported), \
        f"run `make lock`: {lock} is not what uv.lock resolves"
