"""What the portfolio check needs from a file reader: a header and rows of cell text (the port).

`adapters/portfolio_files.py` reads CSV and XLSX into a `RawTable` (every row in memory, for the
preview) or a `TableStream` (rows read again from the file on every pass, for the import); the
composition root hands its readers to the application, which never imports the adapter.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

DEFAULT_MAX_BYTES = 50 * 1024 * 1024

FileType = Literal["csv", "xlsx"]
HeaderTest = Callable[[Sequence[str]], bool]


class PortfolioFileError(ValueError):
    """The file as a whole cannot be used; the message tells the user why, in Spanish."""


@dataclass(frozen=True)
class FileFormat:
    """How the file was read, for the preview."""

    file_type: FileType
    header_row: int
    """1-based position of the header: record of the CSV, or row of the sheet."""
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    sheet_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class RawTable:
    header: list[str]
    rows: list[list[str]]
    has_formulas: bool
    """Some cell starts with "="."""
    format: FileFormat


@dataclass(frozen=True)
class TableStream:
    """A table whose data rows are read from the file as they are used, in constant memory."""

    header: list[str]
    rows: Callable[[], Iterator[list[str]]]
    """Data rows from the first below the header, read again from the file on every call."""
    may_have_formulas: bool
    """False only when no cell can start with "=" (the check then skips looking for formulas)."""
    format: FileFormat


class TableReader(Protocol):
    def __call__(self, content: bytes, file_name: str, *, sheet: str | None = None,
                 max_bytes: int = DEFAULT_MAX_BYTES, is_header: HeaderTest = ...) -> RawTable: ...


class TableStreamer(Protocol):
    def __call__(self, content: bytes, file_name: str, *, sheet: str | None = None,
                 max_bytes: int = DEFAULT_MAX_BYTES, is_header: HeaderTest = ...) -> TableStream: ...


def ensure_within_size_limit(size_in_bytes: int, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
    """Refuse a file over the limit; callers that stream an upload can check before reading it."""
    if size_in_bytes > max_bytes:
        raise PortfolioFileError(
            f"El archivo pesa {megabytes(size_in_bytes)} y el límite es {megabytes(max_bytes)}. "
            "Divídalo en archivos más pequeños."
        )


def megabytes(size_in_bytes: int) -> str:
    if size_in_bytes < 1024 * 1024:
        return f"{size_in_bytes / 1024:.0f} KB"
    return f"{size_in_bytes / (1024 * 1024):.1f} MB".replace(".", ",")
