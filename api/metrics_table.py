"""A metric query's rows as one table that the CSV and the XLSX both print, with the API's own numbers.

Headers are Spanish msgids (the registry's names) translated for the reader; seconds stay numbers of seconds,
ratios numbers between 0 and 1 (a percentage cell in the XLSX), so an export and the API answer the same figure.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from api.export_table import Column, ExportTable
from domain.metrics.registry import COUNT, RATIO, SECONDS, metrics_of
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


MetricTable = ExportTable
RATIO_FORMATS = {RATIO: "0.00%"}


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
    return MetricTable(columns, cells, number_formats=RATIO_FORMATS)


def plain_table(columns: Sequence[tuple[str, str, str]], rows: Sequence[dict[str, Any]], translate: Translate
                ) -> MetricTable:
    """A table of plain rows: each column is (Spanish header, the row's key, kind)."""
    return MetricTable([Column(translate(header), kind) for header, _, kind in columns],
                       [[row[key] for _, key, _ in columns] for row in rows], number_formats=RATIO_FORMATS)


def _leading(row: MetricRow, name: str, translate: Translate) -> str:
    value: str = getattr(row, name)
    return translate(value) if name == "campaign_name" and not row.campaign_id else value  # «Sin campaña»


def _number(value: float | None, unit: str) -> float | int | None:
    if value is None:
        return None
    return int(value) if unit == COUNT else value
