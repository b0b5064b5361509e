"""The entry points: read a file with the given reader, map its columns and check every row."""

from __future__ import annotations

import gc
import hashlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from application.portfolio_check.columns import is_portfolio_header, map_columns
from application.portfolio_check.preview import PortfolioPreview
from application.portfolio_check.rows import RowChecker
from application.portfolio_tables import (
    DEFAULT_MAX_BYTES,
    FileFormat,
    PortfolioFileError,
    TableReader,
    TableStreamer,
)


def check_portfolio(content: bytes, file_name: str, *, read_table: TableReader, sheet: str | None = None,
                    max_bytes: int = DEFAULT_MAX_BYTES) -> PortfolioPreview:
    """Read (with the given reader), normalise and validate a portfolio file, keeping every valid row;
    raise PortfolioFileError if it is unusable."""
    table = read_table(content, file_name, sheet=sheet, max_bytes=max_bytes, is_header=is_portfolio_header)
    return _checked(content, file_name, table.header, table.rows, table.has_formulas, table.format, keep_rows=True)


def preview_portfolio(content: bytes, file_name: str, *, stream_table: TableStreamer, sheet: str | None = None,
                      max_bytes: int = DEFAULT_MAX_BYTES) -> PortfolioPreview:
    """`check_portfolio`'s counts, problems and valid identities, with `valid_rows` left empty: the
    file's cells are read as they are checked (twice when a cell may hold a formula) and no row is
    kept, so an upload's preview needs a fraction of the memory."""
    table = stream_table(content, file_name, sheet=sheet, max_bytes=max_bytes, is_header=is_portfolio_header)
    has_formulas = table.may_have_formulas and any(cell.startswith("=") for row in table.rows() for cell in row)
    return _checked(content, file_name, table.header, table.rows(), has_formulas, table.format, keep_rows=False)


def _checked(content: bytes, file_name: str, header: list[str], rows: Iterable[list[str]], has_formulas: bool,
             source: FileFormat, *, keep_rows: bool) -> PortfolioPreview:
    columns = map_columns(header)
    checker = RowChecker(columns, has_formulas, keep_rows=keep_rows)
    with _garbage_collector_paused():
        for number, cells in enumerate(rows, start=1):
            checker.check(number, cells)
    if checker.counted_rows == 0:
        raise PortfolioFileError(f"«{file_name}» solo tiene el encabezado: no hay clientes para revisar.")
    duplicate_rows = checker.reject_duplicates()
    return PortfolioPreview(
        file_name=file_name, sha256=hashlib.sha256(content).hexdigest(), source=source, columns=columns,
        total_rows=checker.counted_rows, valid_rows=checker.valid_rows,
        valid_identities=checker.valid_identities, problems=checker.sorted_problems(),
        duplicate_rows=duplicate_rows, notes=[*columns.notes, *checker.notes()],
    )


@contextmanager
def _garbage_collector_paused() -> Iterator[None]:
    """A big file makes hundreds of thousands of small objects, none of them in a reference cycle;
    the cyclic collector would rescan them all again and again (it doubles the time of a check).
    Pausing it is process-wide but harmless: collection only waits until the check ends."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
