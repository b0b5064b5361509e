"""Proactive sends end to end on SQLite and PostgreSQL: a broadcast's segment, its messages (exactly one per selected
customer, through the send path's bulk lane), the hold at critical risk and an admin's resume, pause and cancel,
business hours, a crash between follow-ups, replies that open chats, and the progress tables rebuilt from the log.

The follow-ups the follower hands out are run here as a worker runs them (the actor's function, then the ledger
row settled); a job that must wait (dramatiq.Retry) stays pending, as on the broker.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from uuid import UUID

import dramatiq
import pytest
from sqlalchemy import select

from adapters.clock import FixedClock
from adapters.twilio_transport import FakeTransport
from application.broadcasts import NewBroadcast
from application.inbound import InboundText
from application.outbound import StatusReport
from despacho.bootstrap import Despacho, build, make_throttle
from despacho.settings import Settings
from domain.broadcasts import Broadcast, Segment, message_id_for
from domain.chats import Chat
from domain.consent import Consent
from domain.messages import OutboundMessage
from domain.risk import Assessment, SenderRisk
from projections import broadcast_queries
from projections.broadcast_queries import PaceRiskLevels
from projections.broadcasts import BroadcastsProjector
from projections.queries import CHATS
from projections.rebuild import rebuild
from tests.conftest import CLOSING_TEMPLATE_SID

BANCO = "whatsapp:+5716000001"
REMINDER = "HX" + "d" * 32
ADMIN = "user:00000000-0000-0000-0000-00000000000a"
SUPERVISOR = "user:00000000-0000-0000-0000-00000000000b"
# Ana and Luis are 30+ days past due; Beto is not; Carla opted out; Dora got a template an hour ago; Eva has no phone.
PORTFOLIO = ("tipo_documento,documento,nombres,celular,saldo,dias_mora\n"
             "CC,1001,Ana Ruiz,3001000001,150000,45\n"
             "CC,1002,Beto Gil,3001000002,90000,10\n"
             "CC,1003,Carla Paz,3001000003,300000,60\n"
             "CC,1004,Dora Luna,3001000004,500000,90\n"
             "CC,1005,Luis Mora,3001000005,250000,31\n"
             "CC,1006,Eva Sol,,80000,50\n")
OVERDUE = Segment(min_days_past_due=30, recent_hours=24)
sids = (f"SM{n:032x}" for n in itertools.count(1))


def phone(n: int) -> str:
    return f"whatsapp:+57300100000{n}"


@pytest.fixture
def transport() -> FakeTransport:
    return FakeTransport()


@pytest.fixture
def despacho(settings: Settings, clock: FixedClock, transport: FakeTransport) -> Iterator[Despacho]:
    built = build(settings, clock=clock, transport=transport)
    yield built
    built.close()


@pytest.fixture
def banco(despacho: Despacho) -> str:
    campaign = despacho.campaigns.register("banco_a", "Banco Andino cobranza", "Banco Andino", {
        "closing_template_sid": CLOSING_TEMPLATE_SID,
        "templates": [{"name": "Recordatorio de pago", "content_sid": REMINDER, "variables": ["1", "2"]}]},
        actor="test")
    despacho.campaigns.link_sender(campaign, BANCO, "whatsapp", is_default=True, actor="test")
    despacho.portfolios.import_file(campaign, PORTFOLIO.encode(), "cartera.csv", actor="test")
    now = despacho.clock.now()
    carla = Consent.for_pair(phone(3), BANCO, actor="test", at=now)
    carla.opt_out("keyword:BAJA", actor="test", at=now)
    despacho.store.save(carla)
    despacho.store.save(OutboundMessage.request(chat_id="", campaign_id=str(campaign), kind="template",
                                                channel="whatsapp", to=phone(4), sender=BANCO,
                                                content_sid=REMINDER, actor="test", at=now - timedelta(hours=1)))
    despacho.runner.catch_up()
    return str(campaign)


def schedule(despacho: Despacho, campaign_id: str, *, start_in: timedelta = timedelta(0),
             segment: Segment = OVERDUE) -> str:
    return despacho.broadcasts.schedule(NewBroadcast(
        campaign_id=campaign_id, name="Recordatorio noviembre", content_sid=REMINDER,
        variables={"1": "full_name", "2": "balance"}, segment=segment,
        start_at=despacho.clock.now() + start_in), actor=SUPERVISOR)


def work(despacho: Despacho) -> list[str]:
    """Run every follow-up handed out until only jobs that must wait are left; returns the jobs that waited."""
    ledger, waiting = despacho.follow_up_ledger, {}
    while True:
        despacho.runner.catch_up()
        due = [h for h in ledger.due_again(despacho.clock.now() + timedelta(days=365), max_deliveries=99,
                                           limit=1000) if h.follow_up_id not in waiting]
        if not due:
            return list(waiting.values())
        for handout in due:
            try:
                despacho.broker.get_actor(handout.job).fn(*handout.args)
            except dramatiq.Retry:
                waiting[handout.follow_up_id] = handout.job
                continue
            ledger.done(handout.follow_up_id)


def sent_to(transport: FakeTransport) -> list[str]:
    """Who received the broadcast's template (Dora's earlier one carried no variables)."""
    return sorted(m.delivery.to for m in transport.sent if m.delivery.content_variables)


def state_of(despacho: Despacho, broadcast_id: str) -> str:
    broadcast = despacho.store.repository.get(UUID(broadcast_id))
    assert isinstance(broadcast, Broadcast)
    return broadcast.state


def progress(despacho: Despacho, broadcast_id: str) -> dict[str, Any]:
    despacho.runner.catch_up()
    row = broadcast_queries.broadcast(despacho.read_engine, broadcast_id, None)
    assert row is not None
    return broadcast_queries.progress(despacho.read_engine, row)


def critical(despacho: Despacho, sender: str = BANCO) -> None:
    now = despacho.clock.now()
    risk = SenderRisk.start(sender, actor="system:risk", at=now)
    risk.judge(Assessment("critical", "reply_rate", 0.01, 0.05), actor="system:risk", at=now)
    despacho.store.save(risk)


def test_the_preview_counts_the_segment_and_says_why_customers_are_left_out(despacho: Despacho, banco: str) -> None:
    preview = despacho.broadcasts.preview(banco, OVERDUE)

    assert sorted(c.customer for c in preview.recipients) == ["CC:1001", "CC:1005"]
    assert preview.excluded == {"opted_out": 1, "recently_contacted": 1, "no_valid_phone": 1}
    assert despacho.broadcasts.preview(banco, Segment(min_days_past_due=30, recent_hours=0)).selected == 3
    assert despacho.broadcasts.preview(banco, Segment(balance_from="100000", balance_to="200000")).selected == 1


def test_a_broadcast_sends_the_template_exactly_once_to_each_selected_customer(despacho: Despacho, banco: str,
                                                                               transport: FakeTransport) -> None:
    broadcast_id = schedule(despacho, banco)
    work(despacho)

    assert sent_to(transport) == [phone(1), phone(5)]
    ana = next(m for m in transport.sent if m.delivery.to == phone(1))
    assert ana.delivery.content_variables == {"1": "Ana Ruiz", "2": "150000"}
    assert state_of(despacho, broadcast_id) == "completed"
    figures = progress(despacho, broadcast_id)
    assert {k: figures[k] for k in ("selected", "sent", "failed", "remaining")} == {
        "selected": 2, "sent": 2, "failed": 0, "remaining": 0}


def test_the_progress_counts_failures_by_category_of_the_error(despacho: Despacho, banco: str) -> None:
    broadcast_id = schedule(despacho, banco)
    work(despacho)
    ana = message_id_for(broadcast_id, "CC:1001")
    despacho.outbound.apply_status(StatusReport(str(ana), despacho.outbound.sid_of(str(ana)), "undelivered", "63049"))

    figures = progress(despacho, broadcast_id)
    assert (figures["sent"], figures["failed"], figures["failed_by_category"]) == (1, 1, {"Spam": 1})


def test_a_crash_between_follow_ups_sends_nothing_twice(despacho: Despacho, banco: str,
                                                        transport: FakeTransport) -> None:
    despacho.broadcasts.wave_size = 1
    broadcast_id = schedule(despacho, banco)
    work(despacho)
    # A worker that died before settling its jobs: the broker hands every one of them out again.
    for wave in ("0", "1", "2"):
        despacho.broadcast_actors.send_broadcast_wave.fn(broadcast_id, wave)
    despacho.broadcast_actors.start_broadcast.fn(broadcast_id)
    for message in list(transport.sent):
        despacho.actors.send_message.fn(message.delivery.message_id)
    work(despacho)

    assert sent_to(transport) == [phone(1), phone(5)]


def test_at_critical_risk_the_broadcast_is_held_and_goes_on_after_an_admin_resumes_the_sender(
        despacho: Despacho, banco: str, transport: FakeTransport) -> None:
    # The pace reads the level afresh on every send here (the built one keeps it five seconds).
    despacho.outbound.throttle = make_throttle(despacho.settings, despacho.clock, despacho.read_engine,
                                               PaceRiskLevels(despacho.read_engine, seconds=0))
    critical(despacho)
    broadcast_id = schedule(despacho, banco)

    # The held wave looks again later; Dora's earlier template waits in the throttle's held bulk lane too.
    assert sorted(work(despacho)) == ["send_broadcast_wave", "send_message"]
    assert state_of(despacho, broadcast_id) == "held_by_risk" and sent_to(transport) == []
    with pytest.raises(dramatiq.Retry):
        despacho.broadcast_actors.send_broadcast_wave.fn(broadcast_id, "0")

    despacho.broadcasts.resume_sender(BANCO, "Revisamos la lista con el cliente", actor=ADMIN)
    despacho.runner.catch_up()
    despacho.broadcast_actors.send_broadcast_wave.fn(broadcast_id, "0")  # the held wave's next look
    work(despacho)

    assert sent_to(transport) == [phone(1), phone(5)]
    assert state_of(despacho, broadcast_id) == "completed"
    hold = broadcast_queries.sender_hold(despacho.read_engine, BANCO)
    assert hold is not None and (hold["held"], hold["resumed_by"], hold["resume_reason"]) == (
        False, ADMIN, "Revisamos la lista con el cliente")


def test_pause_and_cancel_stop_further_sends_and_resume_goes_on(despacho: Despacho, banco: str,
                                                                transport: FakeTransport) -> None:
    despacho.broadcasts.wave_size = 1
    broadcast_id = schedule(despacho, banco, segment=Segment(min_days_past_due=30, recent_hours=0))
    despacho.runner.catch_up()
    despacho.broadcast_actors.start_broadcast.fn(broadcast_id)
    despacho.broadcast_actors.send_broadcast_wave.fn(broadcast_id, "0")
    despacho.broadcasts.pause(broadcast_id, scope={banco}, actor=SUPERVISOR)
    work(despacho)
    assert len(sent_to(transport)) == 1

    despacho.broadcasts.resume(broadcast_id, scope=None, actor=ADMIN)
    despacho.broadcast_actors.send_broadcast_wave.fn(broadcast_id, "1")
    despacho.broadcasts.cancel(broadcast_id, scope={banco}, actor=SUPERVISOR)
    work(despacho)

    assert len(sent_to(transport)) == 2, "one of the three was never messaged"
    assert state_of(despacho, broadcast_id) == "cancelled"
    assert progress(despacho, broadcast_id)["remaining"] == 1


def test_outside_business_hours_the_wave_waits_for_the_next_opening(despacho: Despacho, banco: str,
                                                                     transport: FakeTransport) -> None:
    broadcast_id = schedule(despacho, banco)
    despacho.runner.catch_up()
    despacho.broadcast_actors.start_broadcast.fn(broadcast_id)
    despacho.clock.advance(timedelta(hours=10))  # 19:00 in Bogotá: closed until 08:00

    with pytest.raises(dramatiq.Retry) as waited:
        despacho.broadcast_actors.send_broadcast_wave.fn(broadcast_id, "0")
    assert waited.value.delay == 13 * 3600 * 1000 and sent_to(transport) == []

    despacho.clock.advance(timedelta(hours=13))
    despacho.broadcast_actors.send_broadcast_wave.fn(broadcast_id, "0")
    work(despacho)
    assert sent_to(transport) == [phone(1), phone(5)]


def test_a_recipient_who_replies_gets_a_normal_chat_in_the_campaign(despacho: Despacho, banco: str) -> None:
    broadcast_id = schedule(despacho, banco)
    work(despacho)

    despacho.inbound.receive(InboundText(next(sids), phone(1), BANCO, "Hola, ¿cuánto debo?", "Ana"))
    work(despacho)

    assert progress(despacho, broadcast_id)["replied"] == 1
    chats = CHATS.chats
    with despacho.read_engine.connect() as connection:
        opened = connection.execute(select(chats.c.id, chats.c.campaign_id).where(
            chats.c.customer_address == phone(1))).all()
    assert [row.campaign_id for row in opened] == [banco]
    chat = despacho.store.repository.get(UUID(opened[0].id))
    assert isinstance(chat, Chat) and chat.campaign_id == banco


def test_the_broadcast_tables_rebuild_to_what_the_live_projector_wrote(despacho: Despacho, banco: str) -> None:
    despacho.broadcasts.wave_size = 1
    first = schedule(despacho, banco)
    work(despacho)
    second = schedule(despacho, banco, segment=Segment(min_days_past_due=0, recent_hours=0))
    despacho.runner.catch_up()
    despacho.broadcasts.cancel(second, scope=None, actor=ADMIN)
    work(despacho)

    assert state_of(despacho, first) == "completed"
    assert rebuild(despacho.store, despacho.read_engine, BroadcastsProjector, replace_live=False) == []
