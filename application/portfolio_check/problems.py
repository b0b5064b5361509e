"""What can be wrong with a row or a cell of a portfolio file."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


class InvalidCellError(ValueError):
    """One cell's value cannot be used; the message (Spanish) says why."""


@dataclass(frozen=True, slots=True)
class RowProblem:
    row_number: int
    column: str
    """The column's header as written in the file; empty for problems of the whole row."""
    reason: str
    severity: Severity = "error"
