"""The proactive-send form: only translation between the posted fields and a `NewBroadcast` (the rules that judge
them are in domain/broadcasts.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from starlette.datastructures import FormData

from application.broadcasts import NewBroadcast
from domain.broadcasts import DEFAULT_RECENT_HOURS, Segment
from domain.common import DomainError


class BroadcastFormError(DomainError):
    pass


def values_of(form: FormData) -> dict[str, str]:
    return {key: str(value).strip() for key, value in form.items() if isinstance(value, str)}


def segment_from(values: dict[str, str]) -> Segment:
    field_name, field_value = values.get("field_name", ""), values.get("field_value", "")
    try:
        days = _integer(values.get("min_days_past_due", ""))
    except ValueError as error:
        raise BroadcastFormError("Los días de mora deben ser un número entero") from error
    try:
        recent = _integer(values.get("recent_hours", ""))
    except ValueError as error:
        raise BroadcastFormError("Las horas sin contacto deben ser un número entero") from error
    return Segment(min_days_past_due=days, balance_from=values.get("balance_from", "").replace(",", "."),
                   balance_to=values.get("balance_to", "").replace(",", "."),
                   field_equals=((field_name, field_value),) if field_name else (),
                   recent_hours=DEFAULT_RECENT_HOURS if recent is None else recent)


def new_broadcast(values: dict[str, str], campaign_id: str, template_variables: tuple[str, ...], time_zone: str,
                  now: datetime) -> NewBroadcast:
    return NewBroadcast(campaign_id=campaign_id, name=values.get("name", ""),
                        content_sid=values.get("content_sid", ""),
                        variables={v: values.get(f"var_{v}", "") for v in template_variables},
                        segment=segment_from(values), start_at=start_at(values.get("start_at", ""), time_zone, now))


def start_at(text: str, time_zone: str, now: datetime) -> datetime:
    """The form's local date and time in the campaign's zone; empty is now."""
    if not text:
        return now
    try:
        return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(time_zone))
    except ValueError as error:
        raise BroadcastFormError("La fecha y hora de inicio no son válidas") from error


def defaults() -> dict[str, Any]:
    return {"recent_hours": str(DEFAULT_RECENT_HOURS)}


def _integer(text: str) -> int | None:
    return int(text) if text else None
