"""The result of checking a portfolio file: its valid customers, its problems and the counts."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from application.portfolio_check.columns import ColumnMap
from application.portfolio_check.problems import RowProblem
from application.portfolio_tables import FileFormat
from domain.documents import CustomerIdentity
from domain.text import defused

PREVIEW_PROBLEMS = 20


class CustomerRow(NamedTuple):
    """One valid customer, normalised. A NamedTuple because a big file makes 100,000 of them."""

    row_number: int
    document_type: str
    document_number: str
    full_name: str
    phones: tuple[str, ...]
    """E.164, main phone first."""
    email: str | None
    balance: str | None
    """Plain decimal string ("1234567.89"), or None when the file has no balance."""
    custom_fields: dict[str, str]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form, e.g. for a RowsAccepted event."""
        return {**self._asdict(), "phones": list(self.phones), "custom_fields": dict(self.custom_fields)}


@dataclass(frozen=True)
class PortfolioPreview:
    file_name: str
    sha256: str
    source: FileFormat
    columns: ColumnMap
    total_rows: int
    valid_rows: list[CustomerRow] = field(repr=False)
    """Empty when the check kept only who each valid row names (`keep_rows=False`)."""
    valid_identities: list[CustomerIdentity] = field(repr=False)
    problems: list[RowProblem] = field(repr=False)
    duplicate_rows: int
    notes: list[str]

    @property
    def valid_count(self) -> int:
        return len(self.valid_identities)

    @property
    def invalid_count(self) -> int:
        return self.total_rows - self.valid_count

    @property
    def warning_rows(self) -> int:
        return len({problem.row_number for problem in self.problems if problem.severity == "warning"})

    @property
    def sheet(self) -> str | None:
        return self.source.sheet

    def errors(self) -> list[RowProblem]:
        return [problem for problem in self.problems if problem.severity == "error"]

    def warnings(self) -> list[RowProblem]:
        return [problem for problem in self.problems if problem.severity == "warning"]

    def error_report_csv(self) -> bytes:
        """Every problem, one line each, for Excel in Spanish: UTF-8 with BOM, `;` separated."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
        writer.writerow(["fila", "columna", "gravedad", "motivo"])
        for problem in self.problems:
            severity = "error" if problem.severity == "error" else "advertencia"
            writer.writerow([problem.row_number, defused(problem.column), severity, defused(problem.reason)])
        return buffer.getvalue().encode("utf-8-sig")

    def summary(self, limit: int | None = PREVIEW_PROBLEMS) -> dict[str, Any]:
        """JSON-able preview; `limit` caps the listed errors and warnings (None: all of them)."""
        errors, warnings = self.errors(), self.warnings()
        return {
            "file_name": self.file_name,
            "sha256": self.sha256,
            "file_type": self.source.file_type,
            "encoding": self.source.encoding,
            "delimiter": self.source.delimiter,
            "sheet": self.source.sheet,
            "sheets": list(self.source.sheet_names),
            "header_row": self.source.header_row,
            "columns": self.columns.described(),
            "custom_fields": [key for _, key in self.columns.custom],
            "total": self.total_rows,
            "valid": self.valid_count,
            "invalid": self.invalid_count,
            "duplicates": self.duplicate_rows,
            "warnings": self.warning_rows,
            "notes": list(self.notes),
            "errors_total": len(errors),
            "errors": [_problem_dict(problem) for problem in errors[:limit]],
            "row_warnings_total": len(warnings),
            "row_warnings": [_problem_dict(problem) for problem in warnings[:limit]],
        }


def _problem_dict(problem: RowProblem) -> dict[str, Any]:
    return {"row": problem.row_number, "column": problem.column, "reason": problem.reason}
