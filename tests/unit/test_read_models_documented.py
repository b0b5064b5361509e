"""docs/read-models.md documents every read table and column, and nothing that no longer exists."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import Table

from despacho.bootstrap import all_projectors
from projections.positions import projector_positions

DOC = Path(__file__).resolve().parents[2] / "docs" / "read-models.md"
HEADING = re.compile(r"^## (\w+)\s*$")
COLUMN_ROW = re.compile(r"^\| `(\w+)` \|")


def columns_in_code() -> dict[str, set[str]]:
    tables: list[Table] = [t for p in all_projectors() for t in p.tables] + [projector_positions]
    return {t.name: {c.name for c in t.columns} for t in tables}


def columns_in_doc() -> dict[str, set[str]]:
    """`## name` opens a table's section; rows starting with | `col` | list its columns."""
    documented: dict[str, set[str]] = {}
    current: set[str] | None = None
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if heading := HEADING.match(line):
            current = documented.setdefault(heading.group(1), set())
        elif line.startswith("## "):
            current = None  # a section that is not a table, e.g. "## Typical queries"
        elif current is not None and (row := COLUMN_ROW.match(line)):
            current.add(row.group(1))
    return {name: columns for name, columns in documented.items() if columns}


def test_every_read_table_and_column_is_documented() -> None:
    code, doc = columns_in_code(), columns_in_doc()
    problems = [f"table {t} is not documented" for t in sorted(code.keys() - doc.keys())]
    problems += [f"documented table {t} no longer exists" for t in sorted(doc.keys() - code.keys())]
    for table in sorted(code.keys() & doc.keys()):
        problems += [f"column {table}.{c} is not documented" for c in sorted(code[table] - doc[table])]
        problems += [f"documented column {table}.{c} no longer exists" for c in sorted(doc[table] - code[table])]
    assert not problems, f"{DOC.name} is out of date with the read tables:\n" + "\n".join(problems)
