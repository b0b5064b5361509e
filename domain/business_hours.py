"""Is a campaign attending now, and when does it open next (in its own time zone)?"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from domain.campaigns import MIDNIGHT, WEEKDAYS, CampaignSettings

WEEKDAY_NAMES_ES = ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")


def takes_chats_now(settings: CampaignSettings, at: datetime) -> bool:
    """The one decision behind both the bot's closed message and routing: inside business hours, or always
    when the campaign lets agents who work outside hours take chats. Otherwise the chat waits, unassigned."""
    return settings.agents_outside_hours_take_chats or is_open(settings, at)


def is_open(settings: CampaignSettings, at: datetime) -> bool:
    local = at.astimezone(ZoneInfo(settings.time_zone))
    span = settings.business_hours.get(WEEKDAYS[local.weekday()])
    if not span:
        return False
    return _parse(span[0]) <= local.time() and (span[1] == MIDNIGHT or local.time() < _parse(span[1]))


def next_opening(settings: CampaignSettings, at: datetime) -> datetime | None:
    """The next instant the campaign opens after `at` (None if it never opens)."""
    zone = ZoneInfo(settings.time_zone)
    local = at.astimezone(zone)
    for days_ahead in range(8):
        day = local.date() + timedelta(days=days_ahead)
        span = settings.business_hours.get(WEEKDAYS[day.weekday()])
        if not span:
            continue
        opening = datetime.combine(day, _parse(span[0]), tzinfo=zone)
        if opening > local:
            return opening
    return None


def describe_next_opening(settings: CampaignSettings, at: datetime) -> str:
    """Spanish, for customers: 'hoy a las 08:00', 'mañana a las 08:00', 'el lunes a las 08:00'."""
    opening = next_opening(settings, at)
    if opening is None:
        return ""
    local_today = at.astimezone(opening.tzinfo).date()
    days = (opening.date() - local_today).days
    when = "hoy" if days == 0 else "mañana" if days == 1 else f"el {WEEKDAY_NAMES_ES[opening.weekday()]}"
    return f"{when} a las {opening:%H:%M}"


def _parse(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))
