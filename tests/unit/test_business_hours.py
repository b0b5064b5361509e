"""Outside business hours is decided once (domain.business_hours.takes_chats_now): the bot's closed message
and routing both ask it, at any instant the injected clock gives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.business_hours import describe_next_opening, is_open, takes_chats_now
from domain.campaigns import WEEKDAYS, CampaignError, CampaignSettings

MONDAY_9_BOGOTA = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)
instants = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC))


@pytest.mark.parametrize(("hours_later", "attending"),
                         [(0, True), (8.99, True), (9, False), (23, True), (-1.01, False)])
def test_the_default_hours_attend_from_8_to_18_in_bogota(hours_later: float, attending: bool) -> None:
    assert takes_chats_now(CampaignSettings(), MONDAY_9_BOGOTA + timedelta(hours=hours_later)) is attending


def test_outside_hours_the_customer_is_told_when_agents_are_back() -> None:
    assert describe_next_opening(CampaignSettings(), MONDAY_9_BOGOTA + timedelta(hours=11)) == "mañana a las 08:00"


@given(instants)
def test_a_campaign_whose_agents_work_outside_hours_always_takes_chats(at: datetime) -> None:
    settings = CampaignSettings(agents_outside_hours_take_chats=True, business_hours={})
    assert takes_chats_now(settings, at) and not is_open(settings, at)


@given(instants)
def test_midnight_to_midnight_every_day_is_open_around_the_clock(at: datetime) -> None:
    settings = CampaignSettings(business_hours={day: ["00:00", "00:00"] for day in WEEKDAYS})
    settings.check()
    assert takes_chats_now(settings, at)


def test_a_closing_time_of_midnight_is_the_end_of_the_day() -> None:
    evenings = CampaignSettings(business_hours={"mon": ["20:00", "00:00"]})
    evenings.check()
    assert not is_open(evenings, MONDAY_9_BOGOTA)
    assert is_open(evenings, MONDAY_9_BOGOTA + timedelta(hours=14, minutes=59))  # 23:59 in Bogotá
    assert not is_open(evenings, MONDAY_9_BOGOTA + timedelta(hours=15))  # Tuesday 00:00
    with pytest.raises(CampaignError, match="apertura"):
        CampaignSettings(business_hours={"mon": ["18:00", "08:00"]}).check()
