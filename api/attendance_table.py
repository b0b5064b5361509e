"""The attendance report as one table that the page, the CSV and the XLSX all print, so they cannot disagree.

Headers are Spanish msgids translated for the reader; durations are whole seconds here and each output
formats them its own way (hh:mm on the page, hh:mm:ss in the CSV, a duration cell in the XLSX); a break
reason becomes its label, never its code.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from api.export_table import Column, ExportTable
from domain.text import defused
from projections.attendance_queries import AttendanceRow

Translate = Callable[..., str]

DURATION, TEXT, CLOCK, COUNT, DECIMAL = "duration", "text", "clock", "count", "decimal"
LEADING = (("Día", TEXT), ("Campaña", TEXT), ("Asesor", TEXT), ("Usuario", TEXT), ("Zona horaria", TEXT),
           ("Primer ingreso", CLOCK), ("Última salida", CLOCK), ("Tiempo conectado", DURATION),
           ("Tiempo disponible", DURATION))
TRAILING = (("Tiempo en otro estado", DURATION), ("Sesiones", COUNT), ("Chats asignados", COUNT),
            ("Chats atendidos", COUNT), ("Chats cerrados", COUNT), ("Mensajes enviados", COUNT),
            ("Máximo de chats simultáneos", COUNT), ("Promedio de chats simultáneos", DECIMAL))
BREAK_HEADER = "Pausa: %(reason)s"


ReportTable = ExportTable


def report_table(rows: Sequence[AttendanceRow], translate: Translate, reason_label: Callable[[str], str]
                 ) -> ReportTable:
    reasons = sorted({reason for r in rows for reason in r.report.time.breaks})
    columns = [Column(translate(header), kind) for header, kind in LEADING]
    columns += [Column(translate(BREAK_HEADER, reason=reason_label(reason)), DURATION) for reason in reasons]
    columns += [Column(translate(header), kind) for header, kind in TRAILING]
    return ReportTable(columns, [_cells(row, reasons) for row in rows], cell_text=_cell_text, cell_value=_xlsx_value,
                       number_formats={DURATION: "[h]:mm:ss"})


def _cells(row: AttendanceRow, reasons: list[str]) -> list[Any]:
    report, seconds, zone = row.report, row.report.time.seconds(), ZoneInfo(row.time_zone)
    return [report.day.isoformat(), row.campaign_name, row.agent_name, row.agent_login, row.time_zone,
            local_time(report.first_login, zone), local_time(report.last_logout, zone), seconds.connected,
            seconds.available, *[seconds.breaks.get(reason, 0) for reason in reasons], seconds.other,
            len(report.sessions), report.chats_assigned, report.chats_handled, report.chats_closed,
            report.messages_sent, report.max_simultaneous_chats, report.average_simultaneous_chats]


def local_time(instant: datetime | None, zone: ZoneInfo) -> str:
    """The time of day in the campaign's zone, to the second; empty when there is none that day."""
    return instant.astimezone(zone).strftime("%H:%M:%S") if instant is not None else ""


def hours_minutes(seconds: int) -> str:
    """`07:45`: hours and whole minutes, hours past 24 when a range is summed."""
    hours, rest = divmod(max(seconds, 0), 3600)
    return f"{hours:02d}:{rest // 60:02d}"


def hours_minutes_seconds(seconds: int) -> str:
    hours, rest = divmod(max(seconds, 0), 3600)
    return f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"


def _cell_text(kind: str, value: Any) -> str:
    if kind == DURATION:
        return hours_minutes_seconds(value)
    if kind == DECIMAL:
        return f"{value:.2f}"
    return str(value)


def _xlsx_value(kind: str, value: Any) -> Any:
    if kind == DURATION:
        return timedelta(seconds=value)
    return defused(value) if isinstance(value, str) else value
