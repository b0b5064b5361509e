"""A report as one table of typed columns, printed as CSV and as XLSX by the same code, so the two agree.

Each report says how its kinds of cell read as text (CSV) and as spreadsheet values, and which number format a
kind gets in the XLSX. Text that a spreadsheet would run as a formula is defused in both.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from openpyxl import Workbook

from domain.text import defused


@dataclass(frozen=True)
class Column:
    header: str
    kind: str


def plain_text(kind: str, value: Any) -> str:
    """Numbers as Python writes them (a dot for decimals, as every CSV reader expects); nothing for no data."""
    return "" if value is None else str(value)


def plain_value(kind: str, value: Any) -> Any:
    return defused(value) if isinstance(value, str) else value


@dataclass(frozen=True)
class ExportTable:
    columns: list[Column]
    rows: list[list[Any]]
    cell_text: Callable[[str, Any], str] = field(default=plain_text, compare=False)
    cell_value: Callable[[str, Any], Any] = field(default=plain_value, compare=False)
    number_formats: Mapping[str, str] = field(default_factory=dict, compare=False)

    def csv_text(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow([defused(c.header) for c in self.columns])
        for row in self.rows:
            writer.writerow([defused(self.cell_text(c.kind, value))
                             for c, value in zip(self.columns, row, strict=True)])
        return out.getvalue()

    def xlsx_bytes(self, title: str) -> bytes:
        book = Workbook()
        sheet = book.worksheets[0]
        sheet.title = title[:31]
        sheet.append([c.header for c in self.columns])
        for row in self.rows:
            sheet.append([self.cell_value(c.kind, value) for c, value in zip(self.columns, row, strict=True)])
            for column, cell in zip(self.columns, sheet[sheet.max_row], strict=True):
                if column.kind in self.number_formats:
                    cell.number_format = self.number_formats[column.kind]
        out = io.BytesIO()
        book.save(out)
        return out.getvalue()
