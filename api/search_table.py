"""The search's results as one table for the CSV: headers and codes in the reader's language, dates in Bogotá."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from api.export_table import Column, ExportTable
from api.templating import DEFAULT_TIMEZONE
from domain.labels import label

HEADERS = ("Abierto", "Cerrado", "Estado", "Campaña", "Cliente", "Documento", "Teléfono", "Asesor",
           "Motivo de cierre", "Tipificación")


def search_table(rows: Sequence[dict[str, Any]], translate: Callable[[str], str]) -> ExportTable:
    zone = ZoneInfo(DEFAULT_TIMEZONE)

    def when(value: Any) -> str:
        return value.astimezone(zone).strftime("%Y-%m-%d %H:%M") if value else ""

    def cells(row: dict[str, Any]) -> list[Any]:
        document = f"{row['document_type']} {row['document_number']}" if row["document_number"] else ""
        reason = translate(label("close_reason", row["close_reason"])) if row["close_reason"] else ""
        return [when(row["opened_at"]), when(row["closed_at"]), translate(label("chat_status", row["status"])),
                row["campaign_name"], row["customer_name"] or row["profile_name"], document,
                row["customer_address"].removeprefix("whatsapp:"), row["agent_name"], reason,
                translate(row["disposition_label"]) if row["disposition_label"] else ""]

    return ExportTable([Column(translate(h), "text") for h in HEADERS], [cells(r) for r in rows])
