"""The rules of a proactive send: who a segment selects, what a schedule needs, and the state machine, whose
commands are tried in any order (a stateful property): a broadcast never messages a customer twice, never sends
when it is not running, and its final states are final."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from domain.broadcasts import (
    CANCELLED,
    COMPLETED,
    FINAL_STATES,
    HELD_BY_RISK,
    PAUSED,
    RUNNING,
    SCHEDULED,
    Broadcast,
    BroadcastError,
    Recipient,
    Segment,
    Template,
    fill_variables,
    message_id_for,
)
from domain.campaigns import CampaignSettings

MONDAY_9 = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)  # 09:00 in Bogotá
REMINDER = Template("HX" + "d" * 32, "Recordatorio", ("1", "2"))
SETTINGS = CampaignSettings()  # Monday to Friday 08:00–18:00, Saturday 08:00–13:00, Bogotá


def scheduled(start_at: datetime = MONDAY_9, **changes: object) -> Broadcast:
    values: dict[str, object] = {"campaign_id": "c", "name": "Recordatorio", "sender": "whatsapp:+5716000001",
                                 "channel": "whatsapp", "template": REMINDER,
                                 "variables": {"1": "full_name", "2": "balance"}, "segment": Segment(),
                                 "start_at": start_at, "settings": SETTINGS, "actor": "user:sandra",
                                 "at": MONDAY_9, **changes}
    return Broadcast.schedule(**values)  # type: ignore[arg-type]


def recipients(count: int) -> list[Recipient]:
    return [Recipient(f"CC:{n}", f"whatsapp:+57300{n:07d}", {"1": f"Cliente {n}"}) for n in range(count)]


def test_a_segment_selects_by_days_past_due_balance_and_any_field_ignoring_case_and_spaces() -> None:
    segment = Segment(min_days_past_due=30, balance_from="100000", balance_to="200000",
                      field_equals=(("ciudad", "Bogotá"),))

    assert segment.selects({"dias_mora": "45", "balance": "150000.50", "ciudad": " bogotá "})
    assert not segment.selects({"dias_mora": "29", "balance": "150000", "ciudad": "Bogotá"})
    assert not segment.selects({"dias_mora": "45", "balance": "250000", "ciudad": "Bogotá"})
    assert not segment.selects({"dias_mora": "45", "balance": "150000", "ciudad": "Cali"})
    assert not segment.selects({"balance": "150000", "ciudad": "Bogotá"}), "no days past due: not overdue"
    assert not segment.selects({"dias_mora": "45", "balance": "no sabe", "ciudad": "Bogotá"})


@given(st.integers(min_value=0, max_value=2000), st.integers(min_value=0, max_value=2000))
def test_a_customer_is_selected_exactly_when_their_days_past_due_reach_the_filter(days: int, at_least: int) -> None:
    assert Segment(min_days_past_due=at_least).selects({"dias_mora": str(days)}) is (days >= at_least)


def test_a_segment_refuses_a_balance_range_upside_down_or_a_balance_that_is_no_number() -> None:
    with pytest.raises(BroadcastError, match="mayor"):
        Segment(balance_from="200", balance_to="100").check()
    with pytest.raises(BroadcastError, match="no es un número"):
        Segment(balance_from="mucho").check()


def test_the_templates_variables_are_filled_from_the_fields_they_are_mapped_to() -> None:
    assert fill_variables({"1": "full_name", "2": "balance"}, {"full_name": "Ana", "balance": "1200"}) == {
        "1": "Ana", "2": "1200"}


def test_a_schedule_needs_every_variable_mapped_a_name_and_a_start_inside_business_hours() -> None:
    with pytest.raises(BroadcastError, match="variable 2"):
        scheduled(variables={"1": "full_name"})
    with pytest.raises(BroadcastError, match="nombre"):
        scheduled(name="  ")
    with pytest.raises(BroadcastError, match="fuera del horario"):
        scheduled(MONDAY_9 + timedelta(hours=10))  # 19:00 in Bogotá
    with pytest.raises(BroadcastError, match="ya pasó"):
        scheduled(MONDAY_9 - timedelta(hours=1))
    assert scheduled(MONDAY_9 + timedelta(hours=2)).state == SCHEDULED


def test_a_broadcast_without_recipients_completes_when_it_starts() -> None:
    broadcast = scheduled()
    broadcast.start([], {"opted_out": 2}, actor="system:broadcasts", at=MONDAY_9)

    assert broadcast.state == COMPLETED


def test_each_customer_of_a_broadcast_has_one_message_id_and_two_broadcasts_two() -> None:
    first, second = scheduled(), scheduled()

    assert message_id_for(first.id, "CC:1") == message_id_for(first.id, "CC:1")
    assert message_id_for(first.id, "CC:1") != message_id_for(second.id, "CC:1")


class BroadcastMachine(RuleBasedStateMachine):
    """Any sequence of commands: the state moves only as the rules say and no customer is messaged twice."""

    def __init__(self) -> None:
        super().__init__()
        self.broadcast = scheduled()
        self.messaged: list[str] = []
        self.final_seen: str | None = None

    def _try(self, command: object, allowed: bool) -> None:
        before = self.broadcast.state
        try:
            command()  # type: ignore[operator]
        except BroadcastError:
            assert not allowed, f"refused from {before}"
            assert self.broadcast.state == before
            return
        assert allowed, f"accepted from {before}"

    @rule(count=st.integers(min_value=0, max_value=7))
    def start(self, count: int) -> None:
        allowed = self.broadcast.state == SCHEDULED
        self._try(lambda: self.broadcast.start(recipients(count), {}, actor="s", at=MONDAY_9), allowed)

    @rule(size=st.integers(min_value=1, max_value=3))
    def wave(self, size: int) -> None:
        wave = self.broadcast.next_wave(size)
        allowed = self.broadcast.state == RUNNING and bool(wave)
        customers = [r.customer for r in wave]
        self._try(lambda: self.broadcast.record_wave(customers, [], 0.1, actor="s", at=MONDAY_9), allowed)
        if allowed:
            self.messaged += customers

    @rule()
    def pause(self) -> None:
        self._try(lambda: self.broadcast.pause(actor="s", at=MONDAY_9), self.broadcast.state in (RUNNING, HELD_BY_RISK))

    @rule()
    def resume(self) -> None:
        self._try(lambda: self.broadcast.resume(actor="s", at=MONDAY_9), self.broadcast.state == PAUSED)

    @rule()
    def cancel(self) -> None:
        self._try(lambda: self.broadcast.cancel(actor="s", at=MONDAY_9), self.broadcast.state not in FINAL_STATES)

    @rule()
    def hold(self) -> None:
        self._try(lambda: self.broadcast.hold_by_risk("critical", actor="s", at=MONDAY_9),
                  self.broadcast.state == RUNNING)

    @rule()
    def continue_after_risk(self) -> None:
        self._try(lambda: self.broadcast.continue_after_risk("user:admin", "revisado", actor="s", at=MONDAY_9),
                  self.broadcast.state == HELD_BY_RISK)

    @precondition(lambda self: self.broadcast.state in FINAL_STATES)
    @rule()
    def remember_final(self) -> None:
        self.final_seen = self.final_seen or self.broadcast.state

    @invariant()
    def nobody_is_messaged_twice_and_nobody_outside_the_recipients(self) -> None:
        assert len(self.messaged) == len(set(self.messaged))
        assert set(self.messaged) <= {r["customer"] for r in self.broadcast.recipients}
        assert self.broadcast.messaged == len(self.messaged) <= len(self.broadcast.recipients)

    @invariant()
    def a_final_state_stays(self) -> None:
        assert self.final_seen is None or self.broadcast.state == self.final_seen

    @invariant()
    def completed_means_every_recipient_was_messaged(self) -> None:
        if self.broadcast.state == COMPLETED:
            assert self.broadcast.remaining == 0
        if self.broadcast.state == CANCELLED:
            assert self.final_seen in (None, CANCELLED)


TestBroadcastStateMachine = BroadcastMachine.TestCase
