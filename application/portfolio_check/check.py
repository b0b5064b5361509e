"""The entry point: read a file with the given reader, map its columns and check every row."""

from __future__ import annotations

import gc
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

from application.portfolio_check.columns import ColumnMap, is_portfolio_header, map_columns
from application.portfolio_check.preview import PortfolioPreview
from application.portfolio_check.rows import RowChecker
from application.portfolio_tables import DEFAULT_MAX_BYTES, FileFormat, PortfolioFileError, TableReader


def check_portfolio(content: bytes, file_name: str, *, read_table: TableReader, sheet: str | None = None,
                    max_bytes: int = DEFAULT_MAX_BYTES) -> PortfolioPreview:
    """Read (with the given reader), normalise and validate a portfolio file; raise PortfolioFileError
    if it is unusable."""
    with _garbage_collector_paused():
        source, columns, checker = _read_and_check(read_table, content, file_name, sheet, max_bytes)
    if checker.counted_rows == 0:
        raise PortfolioFileError(f"«{file_name}» solo tiene el encabezado: no hay clientes para revisar.")
    duplicate_rows = checker.reject_duplicates()
    return PortfolioPreview(
        file_name=file_name, sha256=hashlib.sha256(content).hexdigest(), source=source, columns=columns,
        total_rows=checker.counted_rows, valid_rows=checker.valid_rows, problems=checker.sorted_problems(),
        duplicate_rows=duplicate_rows, notes=[*columns.notes, *checker.notes()],
    )


def _read_and_check(read_table: TableReader, content: bytes, file_name: str, sheet: str | None,
                    max_bytes: int) -> tuple[FileFormat, ColumnMap, RowChecker]:
    """The raw table lives only in here, so its cells are freed as soon as the rows are checked."""
    table = read_table(content, file_name, sheet=sheet, max_bytes=max_bytes, is_header=is_portfolio_header)
    columns = map_columns(table.header)
    checker = RowChecker(columns, table.has_formulas)
    for number, cells in enumerate(table.rows, start=1):
        checker.check(number, cells)
    return table.format, columns, checker


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
