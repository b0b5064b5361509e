"""The satisfaction survey after a close, through the real services on SQLite and PostgreSQL: the question goes out
once per close an agent attended, after the confirmation; a 1–5 reply within the window is put on the closed chat
and opens no chat; a late reply or any other message opens a chat as before; CSAT per agent and campaign is
computed by hand (the dashboard's card too), and the verify and a rebuild of the tables agree with the live rows."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from uuid import UUID

import pytest

from adapters.clock import FixedClock
from adapters.transcript_source import TranscriptMaker
from application.metrics_verify import compare, counters_from_log, read_log
from despacho.bootstrap import Despacho
from despacho.cli_metrics import query_counters
from domain.chats import Chat
from domain.messages import OutboundMessage
from domain.threads import CustomerThread
from projections.campaigns import CampaignsProjector
from projections.chats import ChatsProjector
from projections.desk_queries import chat as chat_row
from projections.metric_facts import MetricsProjector
from projections.metric_queries import metric_kpis
from projections.rebuild import rebuild
from tests.metric_world import BANCO, MetricCenter

DAY = date(2026, 11, 2)
CUSTOMERS = iter(f"whatsapp:+57300{n:07d}" for n in range(3000001, 3999999))
QUESTION = "¿Cómo califica la atención? Responda con un número del 1 al 5"


@pytest.fixture
def center(despacho: Despacho, clock: FixedClock) -> Iterator[MetricCenter]:
    """banco_a surveys its closes; afterwards the verify and rebuilds of the tables find no difference."""
    world = MetricCenter(despacho, clock, banco_settings={"survey_enabled": True})
    yield world
    assert compare(counters_from_log(despacho.store), query_counters(despacho.read_engine, DAY, DAY),
                   DAY, DAY) == []
    for projector in (MetricsProjector, ChatsProjector, CampaignsProjector):
        assert rebuild(despacho.store, despacho.read_engine, projector, replace_live=False) == []


def attended_close(center: MetricCenter, login: str = "ana") -> tuple[str, str]:
    """A customer identified, assigned to `login`, answered and closed; the close's follow-up run. Returns the
    customer and the chat."""
    customer = next(CUSTOMERS)
    chat = center.identified(customer)
    center.advance(30)
    center.reply(login, chat)
    center.advance(60)
    center.close(login, chat)
    finish(center, chat)
    return customer, chat


def finish(center: MetricCenter, chat: str) -> None:
    """What the follow-up `finish_close` does for the close."""
    center.despacho.closing.finish(chat)
    center.catch_up()


def messages_of(center: MetricCenter, chat: str) -> list[str]:
    """The kinds of the messages requested for the chat, in the log's order."""
    return [e.kind for _, e in read_log(center.despacho.store)
            if isinstance(e, OutboundMessage.Requested) and e.chat_id == chat and e.kind in ("closing", "survey")]


def aggregate(center: MetricCenter, chat: str) -> Chat:
    found: Chat = center.despacho.store.repository.get(UUID(chat))
    return found


def open_chat_of(center: MetricCenter, customer: str) -> str:
    return str(center.despacho.store.repository.get(CustomerThread.create_id(customer, BANCO)).open_chat_id)


def test_the_question_goes_once_after_the_confirmation_of_a_close_an_agent_attended(center: MetricCenter) -> None:
    center.available("ana")
    _, chat = attended_close(center)
    finish(center, chat)  # the follow-up run again (a retry, a replayed batch)

    assert messages_of(center, chat) == ["closing", "survey"]
    survey = center.despacho.store.repository.get(UUID(aggregate(center, chat).survey_message_id))
    assert survey.body == QUESTION
    transcript = TranscriptMaker(center.despacho.store, center.despacho.files).data(chat)
    assert [(e.author_name, e.text) for e in transcript.entries][-2:] == [
        ("Confirmación de cierre", "Gracias por comunicarte con nosotros. Tu conversación ha finalizado."),
        ("Encuesta de satisfacción", QUESTION)], "the PDF, stored after both were requested, shows the question"
    assert chat_row(center.despacho.read_engine, chat)["survey_status"] == "requested"  # type: ignore[index]


def test_a_score_within_the_window_is_recorded_on_the_closed_chat_and_opens_no_chat(center: MetricCenter) -> None:
    center.available("ana")
    customer, chat = attended_close(center)
    center.advance(10 * 60)

    answered_on = center.customer_writes(customer, "5 estrellas")

    assert answered_on == chat and open_chat_of(center, customer) == ""
    assert aggregate(center, chat).survey_score == 5
    row = chat_row(center.despacho.read_engine, chat)
    assert row is not None and (row["status"], row["survey_status"], row["survey_score"]) == ("closed", "answered", 5)
    assert center.campaign_row(center.banco, DAY).values["chats_total"] == 1, "an answer is never a new chat"

    again = center.customer_writes(customer, "4")
    assert again != chat and open_chat_of(center, customer) == again, "one answer per chat: the next one is a message"
    assert aggregate(center, chat).survey_score == 5


def test_a_late_answer_or_any_other_message_opens_a_new_chat(center: MetricCenter) -> None:
    center.available("ana")
    customer, chat = attended_close(center)
    center.advance(5 * 60)
    other = center.customer_writes(customer, "tengo 2 preguntas")
    assert other != chat and open_chat_of(center, customer) == other

    late_customer, late_chat = attended_close(center)
    center.advance(24 * 3600 + 60)
    late = center.customer_writes(late_customer, "5")

    assert late != late_chat and open_chat_of(center, late_customer) == late
    assert aggregate(center, chat).survey_score == aggregate(center, late_chat).survey_score == 0


def test_no_question_after_an_unattended_close_an_opt_out_or_outside_the_whatsapp_window(
        center: MetricCenter) -> None:
    center.available("ana")
    never_answered = center.identified(next(CUSTOMERS))
    center.despacho.closing.close(never_answered, "supervisor", disposition="acuerdo_de_pago", note="duplicado",
                                  actor="user:supervisor")
    finish(center, never_answered)

    opting_out = next(CUSTOMERS)
    opted_out = center.identified(opting_out)
    center.reply("ana", opted_out)
    center.customer_writes(opting_out, "BAJA")
    finish(center, opted_out)

    silent = center.identified(next(CUSTOMERS))
    center.reply("ana", silent)
    center.advance(24 * 3600 + 60)
    center.run_timers()  # the 24-hour close: the window has closed, a question would be free text
    finish(center, silent)

    assert [messages_of(center, c) for c in (never_answered, opted_out, silent)] == [["closing"], [], ["closing"]]
    assert aggregate(center, silent).close_reason == "auto_24h"
    row = chat_row(center.despacho.read_engine, silent)
    assert row is not None and row["survey_status"] == "outside_window"


def test_no_question_when_the_campaign_does_not_survey(center: MetricCenter) -> None:
    center.despacho.campaigns.edit(UUID(center.banco), "Banco Andino", "Banco Andino", {"survey_enabled": False},
                                   actor="test")
    center.available("ana")
    customer, chat = attended_close(center)
    center.advance(60)

    assert messages_of(center, chat) == ["closing"]
    assert center.customer_writes(customer, "5") != chat


def test_csat_and_the_average_score_per_agent_and_campaign(center: MetricCenter) -> None:
    """ana's closes are answered 5 and 3, carla's 4, one of ana's is never answered: ana 1/2 satisfied, average 4;
    carla 1/1, average 4; the campaign 2/3, average 4, three answers."""
    center.available("ana")
    answers = [(attended_close(center, "ana"), "5"), (attended_close(center, "ana"), "tres")]
    attended_close(center, "ana")
    center.on_break("ana")
    center.available("carla")
    answers.append((attended_close(center, "carla"), "4/5"))
    for (customer, _), answer in answers:
        center.advance(60)
        center.customer_writes(customer, answer)

    ana, carla = center.agent_row("ana", DAY).values, center.agent_row("carla", DAY).values
    campaign = center.campaign_row(center.banco, DAY).values
    assert (ana["csat"], ana["survey_score"], ana["survey_answers"]) == (0.5, 4.0, 2)
    assert (carla["csat"], carla["survey_score"], carla["survey_answers"]) == (1.0, 4.0, 1)
    assert (campaign["campaign_csat"], campaign["campaign_survey_score"], campaign["campaign_survey_answers"]) == (
        0.6667, 4.0, 3)
    assert campaign["chats_total"] == 4
    cards = {(k.title, k.campaign): k.value for k in metric_kpis(center.despacho.read_engine, None, center.clock.now())}
    assert cards["Satisfacción del cliente", "Banco Andino"] == 0.6667, "the supervisor's card is the same figure"
