"""R6–R8 over random timelines: customer and agent messages, timer runs and clock jumps.

Each example drives real aggregates in a real event store with the real timer job (read side
included), then checks: never closed for silence before 24 h, closed once 24 h have passed, one
alert per unanswered streak, and every close with exactly one confirmation and one PDF.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from adapters.clock import FixedClock
from adapters.twilio_transport import FakeTransport
from application.audit import CloseFinding, close_findings
from application.closing import StoredTranscript
from application.outbound import StatusReport, WindowClosedError
from despacho.bootstrap import Despacho, build
from despacho.settings import Settings
from domain.chats import Chat
from domain.common import DomainError
from domain.consent import Consent, OptedOutError
from projections.queries import CHATS, closed_chats_missing_their_close_work, closes_to_audit
from tests.conftest import CLOSING_TEMPLATE_SID, START, WITH_CLOSING_TEMPLATE
from tests.services import require_binary

CUSTOMER = "whatsapp:+573001112233"
SENDER = "whatsapp:+5716000001"

steps = st.lists(st.one_of(
    st.tuples(st.just("customer"), st.integers(0, 0)),
    st.tuples(st.just("agent"), st.integers(0, 0)),
    st.tuples(st.just("wait"), st.integers(1, 26 * 60)),  # minutes
    st.tuples(st.just("timers"), st.integers(0, 0)),
), min_size=1, max_size=25)


class Center:
    def __init__(self, despacho: Despacho, clock: FixedClock) -> None:
        self.despacho, self.clock = despacho, clock
        self.campaign = str(despacho.campaigns.register("banco_a", "Banco", "Banco Andino", {}, actor="t"))
        self.agent = despacho.staff.register("ana", "Ana", "agent", password="clave-de-prueba-1", capacity=50,
                                             campaign_ids=frozenset({self.campaign}), actor="t")
        self.session = despacho.staff.open_session(self.agent, "t")
        despacho.staff.change_status(self.agent, "available", session_id=self.session, actor="t")

    def reply(self, chat_id: str, body: str) -> str:
        """The agent replies, signing in again first if the clock ran past their session's idle limit."""
        if self.despacho.staff.session_identity(self.session, str(self.agent)) is None:
            self.session = self.despacho.staff.open_session(self.agent, "t")
        return self.despacho.desk.reply(chat_id, str(self.agent), body=body, session_id=str(self.session))

    def assigned_chat(self, n: int) -> str:
        now = self.clock.now()
        chat = Chat.open("whatsapp", f"{CUSTOMER}{n}", SENDER, profile_name="María", flow_name="default",
                         actor="t", at=now)
        chat.receive_customer_message(f"SM{n:032x}", "Hola", [], actor="t", at=now)
        chat.enqueue(self.campaign, outside_hours=False, actor="t", at=now)
        self.despacho.store.save(chat)
        self.despacho.runner.catch_up()  # the routing follower assigns it
        assert self.chat(str(chat.id)).status == "assigned", "the chat was not assigned"
        return str(chat.id)

    def chat(self, chat_id: str) -> Chat:
        aggregate: Chat = self.despacho.store.repository.get(UUID(chat_id))
        return aggregate

    def run_timers(self) -> None:
        self.despacho.runner.catch_up()
        run = self.despacho.timers.run(self.clock.now())
        for chat_id in run.closed:
            for message_id in self.despacho.closing.finish(chat_id):
                self.despacho.outbound.send(message_id)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(timeline=steps)
def test_timer_rules_hold_over_random_timelines(tmp_path: Path, timeline: list[tuple[str, int]]) -> None:
    clock = FixedClock(START)
    despacho = build(Settings(var_dir=tmp_path / uuid4().hex), clock=clock,
                     transport=FakeTransport())
    try:
        center = Center(despacho, clock)
        chat_id = center.assigned_chat(1)
        last_customer = clock.now()
        for n, (kind, minutes) in enumerate(timeline):
            chat = center.chat(chat_id)
            if kind == "wait":
                clock.advance(timedelta(minutes=minutes))
            elif chat.is_closed:
                continue
            elif kind == "customer":
                chat.receive_customer_message(f"SMc{n:031x}", "¿Hay alguien?", [], actor="t", at=clock.now())
                despacho.store.save(chat)
                last_customer = clock.now()
            elif kind == "agent":
                try:
                    center.reply(chat_id, "Aquí estoy")
                except WindowClosedError:
                    assert clock.now() - last_customer >= timedelta(hours=24)
            else:
                center.run_timers()
            chat = center.chat(chat_id)
            if chat.is_closed:
                assert chat.closed_at is not None and chat.closed_at - last_customer >= timedelta(hours=24), \
                    "R7: closed for silence before 24 hours"
        center.run_timers()
        chat = center.chat(chat_id)
        if clock.now() - last_customer >= timedelta(hours=24):
            assert chat.is_closed and chat.close_reason == "auto_24h", "R7: not closed after 24 hours"
        _one_alert_per_streak(despacho, chat_id)
        if chat.is_closed:
            _closed_with_one_confirmation_and_one_pdf(despacho, chat_id)
    finally:
        despacho.close()


def _one_alert_per_streak(despacho: Despacho, chat_id: str) -> None:
    raised = [e.streak_started_at for e in despacho.store.events.get(UUID(chat_id))
              if isinstance(e, Chat.AlertRaised) and e.kind == "unanswered"]
    assert len(raised) == len(set(raised)), "R6: two alerts for one unanswered streak"


def _closed_with_one_confirmation_and_one_pdf(despacho: Despacho, chat_id: str) -> None:
    events = list(despacho.store.events.get(UUID(chat_id)))
    assert sum(isinstance(e, Chat.ClosingConfirmationRequested) for e in events) == 1
    stored = [e for e in events if isinstance(e, Chat.TranscriptStored)]
    assert len(stored) == 1
    assert despacho.files.get(stored[0].location).startswith(b"%PDF")


def test_an_unanswered_streak_alerts_once_at_30_minutes_and_a_reply_resolves_it(
        sqlite_settings: Settings, clock: FixedClock) -> None:
    despacho = build(sqlite_settings, clock=clock, transport=FakeTransport())
    try:
        center = Center(despacho, clock)
        chat_id = center.assigned_chat(1)
        clock.advance(timedelta(minutes=29))
        center.run_timers()
        assert _alerts(despacho) == []
        clock.advance(timedelta(minutes=1))
        center.run_timers()
        center.run_timers()
        assert _alerts(despacho) == [("unanswered", "open")]
        center.reply(chat_id, "Disculpe la espera")
        despacho.runner.catch_up()
        assert _alerts(despacho) == [("unanswered", "resolved")]
    finally:
        despacho.close()


def test_a_chat_waiting_in_the_queue_for_24_hours_closes_unattended(sqlite_settings: Settings,
                                                                    clock: FixedClock) -> None:
    despacho = build(sqlite_settings, clock=clock, transport=FakeTransport())
    try:
        center = Center(despacho, clock)
        despacho.staff.change_status(center.agent, "break", reason="almuerzo", session_id=center.session, actor="t")
        chat = Chat.open("whatsapp", CUSTOMER, SENDER, profile_name="", flow_name="default", actor="t",
                         at=clock.now())
        chat.receive_customer_message("SM" + "1" * 32, "Hola", [], actor="t", at=clock.now())
        chat.enqueue(center.campaign, outside_hours=False, actor="t", at=clock.now())
        despacho.store.save(chat)
        clock.advance(timedelta(hours=23, minutes=59))
        center.run_timers()
        assert center.chat(str(chat.id)).status == "waiting_queue"
        clock.advance(timedelta(minutes=1))
        center.run_timers()
        closed = center.chat(str(chat.id))
        assert (closed.status, closed.close_reason) == ("closed", "auto_24h")
        abandoned, close = (e for e in despacho.store.events.get(chat.id)
                            if isinstance(e, Chat.QueueAbandoned | Chat.Closed))
        assert isinstance(abandoned, Chat.QueueAbandoned) and isinstance(close, Chat.Closed)
        assert (abandoned.reason, abandoned.queued_at, abandoned.at) == ("auto_24h", START, close.at)
        despacho.runner.catch_up()
        with despacho.read_engine.connect() as connection:
            row = connection.execute(select(CHATS.chats).where(CHATS.chats.c.id == str(chat.id))).mappings().one()
        assert row["unattended"] is True
        assert closed_chats_missing_their_close_work(despacho.read_engine) == []
    finally:
        despacho.close()


def test_the_transcript_pdf_renders_to_an_image(sqlite_settings: Settings, clock: FixedClock, tmp_path: Path) -> None:
    require_binary("pdftoppm", "poppler-utils")
    despacho = build(sqlite_settings, clock=clock, transport=FakeTransport())
    try:
        center = Center(despacho, clock)
        chat_id = center.assigned_chat(1)
        center.reply(chat_id, "Hola María, ¿en qué le ayudo?")
        despacho.closing.close(chat_id, "agent", disposition="informacion_entregada", note="Consulta de saldo",
                               actor=f"user:{center.agent}", session_id=str(center.session))
        despacho.closing.finish(chat_id)
        location = center.chat(chat_id).transcript_location
        pdf = tmp_path / "transcript.pdf"
        pdf.write_bytes(despacho.files.get(location))
        subprocess.run([shutil.which("pdftoppm") or "pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1",
                        str(pdf), str(tmp_path / "page")], check=True)
        assert (tmp_path / "page-1.png").stat().st_size > 5_000
    finally:
        despacho.close()


def failing_transcript(chat_id: str) -> StoredTranscript:
    raise RuntimeError(f"disco lleno al guardar {chat_id}")


def _alerts(despacho: Despacho) -> list[tuple[str, str]]:
    despacho.runner.catch_up()
    alerts = CHATS.alerts
    with despacho.read_engine.connect() as connection:
        return [(r.kind, r.state) for r in connection.execute(select(alerts.c.kind, alerts.c.state))]


def test_a_close_whose_pdf_keeps_failing_alerts_until_it_is_stored(sqlite_settings: Settings,
                                                                   clock: FixedClock) -> None:
    despacho = build(sqlite_settings, clock=clock, transport=FakeTransport())
    try:
        center = Center(despacho, clock)
        chat_id = center.assigned_chat(1)
        working = despacho.closing.make_transcript
        despacho.closing.make_transcript = failing_transcript
        despacho.closing.close(chat_id, "supervisor", disposition="informacion_entregada", note="fin", actor="t")
        for _ in range(2):
            with contextlib.suppress(RuntimeError):
                despacho.actors.finish_close.fn(chat_id)
        assert _alerts(despacho) == [("close_incomplete", "open")], "one alert, however many retries"
        despacho.closing.make_transcript = working
        despacho.actors.finish_close.fn(chat_id)
        assert _alerts(despacho) == [("close_incomplete", "resolved")]
        assert closed_chats_missing_their_close_work(despacho.read_engine) == []
    finally:
        despacho.close()


# R8: a confirmation that never reached the customer stays an open alert, and the close audit counts it.

def _close_audit(despacho: Despacho) -> list[CloseFinding]:
    despacho.runner.catch_up()
    return close_findings(closes_to_audit(despacho.read_engine))


def _follow_confirmations(despacho: Despacho) -> None:
    despacho.runner.catch_up()
    despacho.actors.follow_confirmations.fn()
    despacho.runner.catch_up()


def test_a_24_hour_close_without_closing_template_alerts_until_the_confirmation_sent_again_is_accepted(
        settings: Settings, clock: FixedClock) -> None:
    transport = FakeTransport()
    despacho = build(settings, clock=clock, transport=transport)
    try:
        center = Center(despacho, clock)  # no closing template, like the unidentified queue
        chat_id = center.assigned_chat(1)
        clock.advance(timedelta(hours=24))
        center.run_timers()
        assert _alerts(despacho) == [("confirmation_failed", "open")]
        [finding] = _close_audit(despacho)
        assert (finding.chat_id, finding.confirmation_problem) == (
            chat_id, "la confirmación de cierre no se envió o Twilio la rechazó")
        with pytest.raises(WindowClosedError):
            despacho.closing.resend_confirmation(chat_id, actor="user:sandra")

        despacho.campaigns.edit(UUID(center.campaign), "Banco", "Banco Andino", WITH_CLOSING_TEMPLATE, actor="t")
        despacho.outbound.send(despacho.closing.resend_confirmation(chat_id, actor="user:sandra"))
        _follow_confirmations(despacho)

        assert transport.sent_to(f"{CUSTOMER}1")[-1].delivery.content_sid == CLOSING_TEMPLATE_SID
        assert _alerts(despacho) == [("confirmation_failed", "resolved")]
        assert _close_audit(despacho) == []
    finally:
        despacho.close()


def test_a_confirmation_twilio_reports_undelivered_opens_an_alert_resolved_only_by_saying_how(
        settings: Settings, clock: FixedClock) -> None:
    despacho = build(settings, clock=clock, transport=FakeTransport())
    try:
        center = Center(despacho, clock)
        chat_id = center.assigned_chat(1)
        despacho.closing.close(chat_id, "supervisor", disposition="informacion_entregada", note="fin", actor="t")
        [message_id] = despacho.closing.finish(chat_id)
        despacho.outbound.send(message_id)
        _follow_confirmations(despacho)
        assert _alerts(despacho) == [] and _close_audit(despacho) == []

        sid = despacho.outbound.sid_of(message_id)
        despacho.outbound.apply_status(StatusReport(message_id, sid, "undelivered", "30003"))
        _follow_confirmations(despacho)
        _follow_confirmations(despacho)
        assert _alerts(despacho) == [("confirmation_failed", "open")], "one alert, however often the sweep runs"
        with pytest.raises(DomainError, match="no se marca como vista"):
            despacho.timers.acknowledge(chat_id, "confirmation_failed", center.chat(chat_id).closed_at or START,
                                        actor="user:sandra")
        despacho.closing.resolve_confirmation_alert(chat_id, "Se llamó a la clienta", actor="user:sandra")
        despacho.runner.catch_up()
        assert _alerts(despacho) == [("confirmation_failed", "resolved")]
        [finding] = _close_audit(despacho)
        assert finding.chat_id == chat_id, "the audit still says Twilio never accepted it"
    finally:
        despacho.close()


def test_a_close_of_a_customer_who_opted_out_records_the_confirmation_as_withheld_and_alerts(
        settings: Settings, clock: FixedClock) -> None:
    transport = FakeTransport()
    despacho = build(settings, clock=clock, transport=transport)
    try:
        center = Center(despacho, clock)
        chat_id = center.assigned_chat(1)
        consent = Consent.for_pair(f"{CUSTOMER}1", SENDER, actor="t", at=clock.now())
        consent.opt_out("twilio_21610", actor="t", at=clock.now())
        despacho.store.save(consent)
        despacho.closing.close(chat_id, "supervisor", disposition="informacion_entregada", note="fin", actor="t")
        assert despacho.closing.finish(chat_id) == [], "nothing to send to a customer who opted out (R11)"
        assert _alerts(despacho) == [("confirmation_failed", "open")]
        with pytest.raises(OptedOutError):
            despacho.closing.resend_confirmation(chat_id, actor="user:sandra")
        assert transport.sent_to(f"{CUSTOMER}1") == []
    finally:
        despacho.close()
