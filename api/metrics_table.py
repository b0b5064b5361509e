"""A metric query's rows as one table that the CSV and the XLSX both print, with the API's own numbers.

Headers are Spanish msgids (the registry's names) translated for the reader; seconds stay numbers of seconds,
ratios numbers between 0 and 1 (a percentage cell in the XLSX), so an export and the API answer the same figure.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from openpyxl import Workbook

from domain.metrics.registry import COUNT, RATIO, SECONDS, metrics_of
from domain.text import defused
from projections.metric_queries import MetricRow

Translate = Callable[..., str]
TEXT = "text"
LEADING = {"agent": (("Periodo", "bucket"), ("Zona horaria", "time_zone"), ("Campaña", "campaign_name"),
                     ("Asesor", "agent_name")),
           "campaign": (("Periodo", "bucket"), ("Zona horaria", "time_zone"), ("Campaña", "campaign_name")),
           "bot": (("Periodo", "bucket"), ("Zona horaria", "time_zone"), ("Campaña", "campaign_name"),
                   ("Flujo", "flow_name"))}
EXTRA = {"agent": (("Participación en la carga", "load_share", RATIO), ("Ocupación", "occupancy", RATIO)),
         "campaign": (("Equidad de la carga (índice de Jain)", "load_fairness", RATIO),), "bot": ()}
SECONDS_SUFFIX = " (s)"
DISPOSITION_HEADER = "Tipificación: %(label)s"


@dataclass(frozen=True)
class Column:
    header: str
    kind: str


@dataclass(frozen=True)
class MetricTable:
    columns: list[Column]
    rows: list[list[Any]]

    def csv_text(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow([defused(c.header) for c in self.columns])
        for row in self.rows:
            writer.writerow([defused(_text(c.kind, value)) for c, value in zip(self.columns, row, strict=True)])
        return out.getvalue()

    def xlsx_bytes(self, title: str) -> bytes:
        book = Workbook()
        sheet = book.worksheets[0]
        sheet.title = title[:31]
        sheet.append([c.header for c in self.columns])
        for row in self.rows:
            sheet.append([defused(v) if isinstance(v, str) else v for v in row])
            for column, cell in zip(self.columns, sheet[sheet.max_row], strict=True):
                if column.kind == RATIO:
                    cell.number_format = "0.00%"
        out = io.BytesIO()
        book.save(out)
        return out.getvalue()


def metric_table(level: str, rows: Sequence[MetricRow], translate: Translate) -> MetricTable:
    metrics = metrics_of(level)
    labels = sorted({label for r in rows for label in r.breakdown})
    columns = [Column(translate(header), TEXT) for header, _ in LEADING[level]]
    columns += [Column(translate(m.name_es) + (SECONDS_SUFFIX if m.unit == SECONDS else ""), m.unit) for m in metrics]
    columns += [Column(translate(header), kind) for header, _, kind in EXTRA[level]]
    columns += [Column(translate(DISPOSITION_HEADER, label=translate(label)), COUNT) for label in labels]
    cells = [[*(_leading(r, name, translate) for _, name in LEADING[level]),
              *(_number(r.values[m.key], m.unit) for m in metrics),
              *(_number(r.values.get(key), kind) for _, key, kind in EXTRA[level]),
              *(r.breakdown.get(label, 0) for label in labels)] for r in rows]
    return MetricTable(columns, cells)


def plain_table(columns: Sequence[tuple[str, str, str]], rows: Sequence[dict[str, Any]], translate: Translate
                ) -> MetricTable:
    """A table of plain rows: each column is (Spanish header, the row's key, kind)."""
    return MetricTable([Column(translate(header), kind) for header, _, kind in columns],
                       [[row[key] for _, key, _ in columns] for row in rows])


def _leading(row: MetricRow, name: str, translate: Translate) -> str:
    value: str = getattr(row, name)
    return translate(value) if name == "campaign_name" and not row.campaign_id else value  # «Sin campaña»


def _number(value: float | None, unit: str) -> float | int | None:
    if value is None:
        return None
    return int(value) if unit == COUNT else value


def _text(kind: str, value: Any) -> str:
    """Numbers as Python writes them (a dot for decimals, as every CSV reader expects); nothing for no data."""
    return "" if value is None else str(value)
