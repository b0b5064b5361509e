"""The conversation engine end to end: signed webhooks → bot → identification → queue → agent.

Runs on SQLite and on a real PostgreSQL, with the embedded projector and a dramatiq worker on the
in-process broker, exactly as `despacho serve` runs them; only Twilio is the fake transport.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from adapters.clock import FixedClock
from adapters.twilio_signatures import sign, webhook_url
from adapters.twilio_transport import FakeTransport
from api.app import create_app
from despacho.bootstrap import Despacho, build
from despacho.runtime import background
from despacho.settings import Settings
from domain.chats import Chat
from domain.consent import OptedOutError
from projections import desk_queries, message_queries
from projections.message_queries import AuditFilter
from projections.messages import MessagesProjector
from projections.queries import CHATS
from projections.rebuild import rebuild
from projections.runner import wait_until_projected
from tests.conftest import WITH_CLOSING_TEMPLATE

BANCO_NUMBER = "whatsapp:+5716000001"
TELCO_NUMBER = "whatsapp:+5716000002"
SHARED_NUMBER = "whatsapp:+5716009999"
CUSTOMER = "whatsapp:+573001112233"
SMS_NUMBER = "+5716000011"
SMS_CUSTOMER = "+573001112233"
PORTFOLIO = "documento;tipo_documento;nombres;celular\n1020304050;CC;María Pérez;3001112233\n"
message_sids = (f"SM{n:032x}" for n in itertools.count(1))


@dataclass
class World:
    despacho: Despacho
    client: TestClient
    transport: FakeTransport
    clock: FixedClock
    banco: str
    telco: str
    ana: str
    bruno: str
    sessions: dict[str, str]

    def set_status(self, agent_id: str, status: str) -> None:
        self.despacho.staff.change_status(UUID(agent_id), status, session_id=self.sessions[agent_id],
                                          reason="almuerzo" if status == "break" else "", actor="test")

    def reply(self, chat_id: str, body: str) -> str:
        return self.despacho.desk.reply(chat_id, self.ana, body=body, session_id=self.sessions[self.ana])

    def customer_says(self, body: str, to: str = BANCO_NUMBER, sender: str = CUSTOMER, sid: str = "",
                      extra: dict[str, str] | None = None) -> Any:
        params = {"MessageSid": sid or next(message_sids), "From": sender, "To": to, "Body": body,
                  "ProfileName": "María", "NumMedia": "0", "AccountSid": self.despacho.settings.twilio_account_sid,
                  **(extra or {})}
        url = webhook_url(self.despacho.settings.public_url, "/webhooks/twilio/messages")
        token = self.despacho.settings.twilio_auth_token.get_secret_value()
        response = self.client.post("/webhooks/twilio/messages", data=params,
                                    headers={"X-Twilio-Signature": sign(token, url, params)})
        assert response.status_code == 200, response.text
        self.settle()
        return response

    def settle(self) -> None:
        """Let the worker and the projector finish everything the last request started."""
        for _ in range(5):
            self.despacho.broker.join("default")  # type: ignore[attr-defined]
            wait_until_projected(self.despacho.runner)

    def chats_of(self, customer: str = CUSTOMER) -> list[dict[str, Any]]:
        table = CHATS.chats
        with self.despacho.read_engine.connect() as connection:
            rows = connection.execute(select(table).where(table.c.customer_address == customer)
                                      .order_by(table.c.opened_at, table.c.id)).mappings().all()
        return [dict(r) for r in rows]

    def bot_said(self, customer: str = CUSTOMER) -> str:
        return "\n".join(m.delivery.body for m in self.transport.sent_to(customer))


@pytest.fixture
def world(settings: Settings, clock: FixedClock) -> Iterator[World]:
    transport = FakeTransport()
    despacho = build(settings, clock=clock, transport=transport)
    banco = despacho.campaigns.register("banco_a", "Banco Andino cobranza", "Banco Andino", WITH_CLOSING_TEMPLATE,
                                        actor="test")
    telco = despacho.campaigns.register("telco_b", "Telco Sur", "Telco Sur", WITH_CLOSING_TEMPLATE, actor="test")
    despacho.campaigns.link_sender(banco, BANCO_NUMBER, "whatsapp", is_default=True, actor="test")
    despacho.campaigns.link_sender(telco, TELCO_NUMBER, "whatsapp", is_default=True, actor="test")
    portfolios = despacho.portfolios
    portfolios.import_file(banco, PORTFOLIO.encode(), "cartera.csv", actor="test")
    portfolios.import_file(telco, PORTFOLIO.encode(), "cartera.csv", actor="test")
    ana = despacho.staff.register("ana", "Ana", "agent", password="clave-de-prueba-1", capacity=2,
                                  campaign_ids=frozenset({str(banco)}), actor="test")
    bruno = despacho.staff.register("bruno", "Bruno", "agent", password="clave-de-prueba-1", capacity=2,
                                    campaign_ids=frozenset({str(telco)}), actor="test")
    sessions = {}
    for agent in (ana, bruno):
        sessions[str(agent)] = str(despacho.staff.open_session(agent, "test"))
        despacho.staff.change_status(agent, "available", session_id=sessions[str(agent)], actor="test")
    with background(despacho, projector=True, worker=True, scheduler=False):
        wait_until_projected(despacho.runner)
        yield World(despacho, TestClient(create_app(despacho)), transport, clock, str(banco), str(telco), str(ana),
                    str(bruno), sessions)
    despacho.close()


def identify(world: World, to: str = BANCO_NUMBER) -> dict[str, Any]:
    world.customer_says("Hola", to=to)
    world.customer_says("1", to=to)
    world.customer_says("1.020.304.050", to=to)
    return world.chats_of()[-1]


def test_a_customer_identified_in_campaign_a_reaches_an_agent_of_campaign_a_only(world: World) -> None:
    chat = identify(world)
    assert chat["status"] == "assigned"
    assert chat["campaign_id"] == world.banco
    assert chat["agent_id"] == world.ana
    assert chat["document_number"] == "1020304050"
    assert "Banco Andino" in world.bot_said()
    senders = {m.delivery.sender for m in world.transport.sent_to(CUSTOMER)}
    assert senders == {BANCO_NUMBER}, "replies leave from the number written to"


def test_a_foreigners_id_with_the_digits_of_a_citizens_id_does_not_find_that_customer(world: World) -> None:
    world.customer_says("Hola")
    world.customer_says("2")  # cédula de extranjería; the portfolio holds CC 1020304050
    world.customer_says("1020304050")

    chat = world.chats_of()[-1]
    assert chat["status"] == "bot" and chat["document_number"] is None
    assert "No encontramos ese documento" in world.bot_said()


def test_a_passport_is_found_however_the_customer_types_its_letters(world: World) -> None:
    passports = "documento;tipo_documento;nombres;celular\nAB123456;PA;John Smith;3001112244\n"
    world.despacho.portfolios.import_file(UUID(world.banco), passports.encode(), "pasaportes.csv", actor="test")
    world.settle()

    world.customer_says("Hola")
    world.customer_says("4")  # pasaporte
    world.customer_says("ab 123456")

    chat = world.chats_of()[-1]
    assert (chat["campaign_id"], chat["document_type"], chat["document_number"]) == (world.banco, "PA", "AB123456")
    assert chat["agent_id"] == world.ana


def test_the_assignment_records_its_reason(world: World) -> None:
    identify(world)
    assignments = CHATS.assignments
    with world.despacho.read_engine.connect() as connection:
        row = connection.execute(select(assignments)).mappings().one()
    assert row["kind"] == "automatic"
    assert row["decision"]["policy"] == "least_load"
    assert [c["agent_id"] for c in row["decision"]["candidates"]] == [world.ana]
    assert "menor carga" in row["reason"]


def test_twilio_retrying_the_same_message_changes_nothing(world: World) -> None:
    world.customer_says("Hola", sid="SM" + "a" * 32)
    before = len(world.transport.sent_to(CUSTOMER))
    world.customer_says("Hola", sid="SM" + "a" * 32)
    world.customer_says("Hola", sid="SM" + "a" * 32)
    assert len(world.transport.sent_to(CUSTOMER)) == before
    events = list(world.despacho.store.repository.get(UUID(world.chats_of()[0]["id"])).pending_bot_input)
    assert events == []


def test_a_forged_signature_is_refused_and_records_nothing(world: World) -> None:
    params = {"MessageSid": next(message_sids), "From": CUSTOMER, "To": BANCO_NUMBER, "Body": "Hola"}
    response = world.client.post("/webhooks/twilio/messages", data=params, headers={"X-Twilio-Signature": "forged"})
    missing = world.client.post("/webhooks/twilio/messages", data=params)
    assert (response.status_code, missing.status_code) == (403, 403)
    world.settle()
    assert world.chats_of() == []


def test_a_chat_waits_in_its_campaign_queue_until_an_agent_of_that_campaign_is_free(world: World) -> None:
    world.set_status(world.ana, "break")
    chat = identify(world)
    assert chat["status"] == "waiting_queue"
    assert chat["agent_id"] is None, "bruno is free but belongs to another campaign"
    world.set_status(world.ana, "available")
    world.settle()  # her status change is what dispatches the queue
    assert world.chats_of()[-1]["agent_id"] == world.ana


def test_the_agent_replies_and_the_customer_receives_it(world: World) -> None:
    chat = identify(world)
    world.reply(chat["id"], "Hola María, soy Ana. ¿En qué le ayudo?")
    world.settle()
    assert world.transport.sent_to(CUSTOMER)[-1].delivery.body == "Hola María, soy Ana. ¿En qué le ayudo?"
    assert world.chats_of()[-1]["first_agent_reply_at"] is not None


def audited_in(world: World, campaign_id: str) -> list[str]:
    rows = message_queries.audit_messages(world.despacho.read_engine, AuditFilter(), campaign_ids={campaign_id})
    return sorted(r["id"] for r in rows)


def test_the_bots_messages_before_identification_belong_to_the_campaign_of_the_number_written_to(
        world: World) -> None:
    world.customer_says("Hola")
    world.customer_says("1")
    sent = sorted(m.delivery.message_id for m in world.transport.sent_to(CUSTOMER))
    chat = world.chats_of()[-1]
    assert sent and (chat["status"], chat["document_number"]) == ("bot", None), "still in the bot, not identified"
    assert chat["campaign_id"] == world.banco, "the number's own campaign, from the start"
    assert audited_in(world, world.banco) == sent


def opened_event(world: World, chat_id: str) -> Chat.Opened:
    opened = next(iter(world.despacho.store.events.get(UUID(chat_id))))
    assert isinstance(opened, Chat.Opened)
    return opened


def test_a_chat_on_a_campaigns_own_number_carries_that_campaign_from_its_first_event(world: World) -> None:
    world.customer_says("Hola")

    [chat] = world.chats_of()

    assert opened_event(world, chat["id"]).campaign_id == chat["campaign_id"] == world.banco
    assert [c["id"] for c in desk_queries.chats_of_customer(world.despacho.read_engine, CUSTOMER, {world.banco})] \
        == [chat["id"]]
    assert desk_queries.chats_of_customer(world.despacho.read_engine, CUSTOMER, {world.telco}) == []


def test_a_chat_on_a_shared_number_is_undetermined_until_the_bot_identifies_the_customer(world: World) -> None:
    for campaign in (world.banco, world.telco):
        world.despacho.campaigns.link_sender(UUID(campaign), SHARED_NUMBER, "whatsapp", is_default=False,
                                             actor="test")
    world.settle()
    world.customer_says("Hola", to=SHARED_NUMBER)
    [chat] = world.chats_of()

    assert opened_event(world, chat["id"]).campaign_id == "" and chat["campaign_id"] is None
    for campaign in (world.banco, world.telco):  # both own the number, so both see its chat in the bot
        assert len(desk_queries.chats_of_customer(world.despacho.read_engine, CUSTOMER, {campaign})) == 1
    world.customer_says("1", to=SHARED_NUMBER)
    world.customer_says("1020304050", to=SHARED_NUMBER)
    world.customer_says("Telco Sur", to=SHARED_NUMBER)
    assert world.chats_of()[-1]["campaign_id"] == world.telco
    assert desk_queries.chats_of_customer(world.despacho.read_engine, CUSTOMER, {world.banco}) == []


def test_a_chat_that_never_left_a_shared_numbers_bot_is_closed_with_the_unidentified_queues_template(
        world: World) -> None:
    """No campaign decided it, and after 24 hours of silence only a template may reach the customer: the
    unidentified queue's closing template is the one sent, not a free text WhatsApp would refuse."""
    for campaign in (world.banco, world.telco):
        world.despacho.campaigns.link_sender(UUID(campaign), SHARED_NUMBER, "whatsapp", is_default=False,
                                             actor="test")
    unidentified = world.despacho.unidentified.campaign_id()
    world.despacho.campaigns.edit(UUID(unidentified), "Clientes sin identificar", "Atención general",
                                  WITH_CLOSING_TEMPLATE, actor="test")
    world.settle()
    world.customer_says("Hola", to=SHARED_NUMBER)
    [chat] = world.chats_of()
    world.clock.advance(timedelta(hours=24, minutes=1))
    world.despacho.timers.run(world.clock.now())
    world.settle()

    closed = world.chats_of()[-1]
    assert (closed["status"], closed["campaign_id"]) == ("closed", None)
    confirmation = confirmation_of(world, chat["id"])
    assert (confirmation.content_sid, confirmation.lost) == (WITH_CLOSING_TEMPLATE["closing_template_sid"], False)


def test_a_chat_closed_while_waiting_in_the_queue_records_its_abandonment_before_the_close(world: World) -> None:
    world.set_status(world.ana, "break")
    chat = identify(world)
    assert chat["status"] == "waiting_queue"
    world.clock.advance(timedelta(minutes=7))

    world.despacho.closing.close(chat["id"], "supervisor", disposition="informacion_entregada",
                                 note="cliente escribió por otro canal", actor="user:sup")
    world.settle()

    *_, abandoned, closed = (e for e in world.despacho.store.events.get(UUID(chat["id"]))
                             if isinstance(e, Chat.QueueAbandoned | Chat.Closed))
    assert isinstance(abandoned, Chat.QueueAbandoned) and isinstance(closed, Chat.Closed)
    assert (abandoned.campaign_id, abandoned.reason, abandoned.actor) == (world.banco, "supervisor", "user:sup")
    assert (abandoned.queued_at, abandoned.last_customer_message_at) == (chat["queued_at"],
                                                                       chat["last_customer_message_at"])
    assert abandoned.at == closed.at == world.clock.now()
    assert closed.originator_version == abandoned.originator_version + 1, "recorded immediately before the close"


def test_a_chat_an_agent_took_closes_without_an_abandonment(world: World) -> None:
    chat = identify(world)
    assert chat["status"] == "assigned"

    world.despacho.closing.close(chat["id"], "supervisor", disposition="informacion_entregada",
                                 note="prueba", actor="user:sup")

    events = list(world.despacho.store.events.get(UUID(chat["id"])))
    assert isinstance(events[-1], Chat.Closed) and not any(isinstance(e, Chat.QueueAbandoned) for e in events)


def test_the_hand_off_message_belongs_to_the_queue_the_chat_went_to(world: World) -> None:
    for campaign in (world.banco, world.telco):
        world.despacho.campaigns.link_sender(UUID(campaign), SHARED_NUMBER, "whatsapp", is_default=False,
                                             actor="test")
    world.settle()
    world.customer_says("Hola", to=SHARED_NUMBER)
    greeting = {m.delivery.message_id for m in world.transport.sent_to(CUSTOMER)}
    world.customer_says("asesor", to=SHARED_NUMBER)  # no document: the unidentified queue takes the chat
    chat = world.chats_of()[-1]
    hand_off = sorted({m.delivery.message_id for m in world.transport.sent_to(CUSTOMER)} - greeting)
    assert chat["status"] == "waiting_queue" and chat["campaign_id"] not in (world.banco, world.telco)
    assert hand_off and audited_in(world, chat["campaign_id"]) == hand_off
    assert audited_in(world, world.banco) == audited_in(world, world.telco) == [], "a shared number has no campaign"


def test_after_a_close_the_next_message_starts_a_new_chat_in_the_bot(world: World) -> None:
    chat = identify(world)
    world.despacho.closing.close(chat["id"], "supervisor", disposition="informacion_entregada",
                                 note="prueba", actor="test")
    world.settle()
    world.clock.advance(timedelta(hours=2))
    world.customer_says("Hola otra vez")
    chats = world.chats_of()
    assert [c["status"] for c in chats] == ["closed", "bot"]
    greeting = " ".join(m.delivery.body for m in world.transport.sent_to(CUSTOMER)[-2:])  # sent by two workers
    assert "Banco Andino" in greeting
    assert "tipo de documento" in greeting


def test_a_shared_number_asks_nothing_more_when_the_document_is_in_one_campaign(world: World) -> None:
    chat = identify(world, to=TELCO_NUMBER)
    assert chat["campaign_id"] == world.telco
    assert chat["agent_id"] == world.bruno


def post_status(world: World, message_id: str, sid: str, status: str, error_code: str = "") -> int:
    params = {"MessageSid": sid, "MessageStatus": status, "AccountSid": world.despacho.settings.twilio_account_sid}
    if error_code:
        params["ErrorCode"] = error_code
    path = f"/webhooks/twilio/status?mid={message_id}"
    url = webhook_url(world.despacho.settings.public_url, path)
    token = world.despacho.settings.twilio_auth_token.get_secret_value()
    response = world.client.post(path, data=params, headers={"X-Twilio-Signature": sign(token, url, params)})
    return response.status_code


def message_of(world: World, sent: Any) -> Any:
    return world.despacho.store.repository.get(UUID(sent.delivery.message_id))


def test_status_callbacks_never_move_backwards_and_repeat_harmlessly(world: World) -> None:
    world.customer_says("Hola")
    sent = world.transport.sent_to(CUSTOMER)[0]
    for status in ("delivered", "sent", "read", "delivered", "read"):
        assert post_status(world, sent.delivery.message_id, sent.sid, status) == 204
    assert message_of(world, sent).status == "read"


def test_a_status_for_an_unknown_sid_is_kept_for_reconciliation(world: World) -> None:
    from domain.messages import UnmatchedStatus

    assert post_status(world, "", "SM" + "f" * 32, "delivered") == 204
    kept = world.despacho.store.repository.get(UnmatchedStatus.create_id("SM" + "f" * 32))
    assert kept.reports == ["delivered"]


def test_a_forged_status_callback_is_refused(world: World) -> None:
    response = world.client.post("/webhooks/twilio/status?mid=x", data={"MessageSid": "SM1", "MessageStatus": "read"},
                                 headers={"X-Twilio-Signature": "nope"})
    assert response.status_code == 403


def test_baja_opts_out_closes_the_chat_and_only_the_acknowledgement_is_sent(world: World) -> None:
    chat = identify(world)
    before = len(world.transport.sent_to(CUSTOMER))
    world.customer_says("  Bája ")
    closed = world.chats_of()[-1]
    assert (closed["id"], closed["status"], closed["close_reason"]) == (chat["id"], "closed", "opt_out")
    assert len(world.transport.sent_to(CUSTOMER)) == before + 1, "one acknowledgement, nothing else"
    with pytest.raises(OptedOutError, match="escribió «Bája»"):
        world.despacho.outbound.compose(world.despacho.store.repository.get(UUID(chat["id"])), "agent",
                                        body="¿Sigue ahí?", actor="test")


def sms_chat(world: World) -> dict[str, Any]:
    """A customer identified over SMS, writing to the campaign's long code."""
    world.despacho.campaigns.link_sender(UUID(world.banco), SMS_NUMBER, "sms", is_default=False, actor="test")
    world.settle()
    for said in ("Hola", "1", "1020304050"):
        world.customer_says(said, to=SMS_NUMBER, sender=SMS_CUSTOMER)
    return world.chats_of(SMS_CUSTOMER)[-1]


def confirmation_of(world: World, chat_id: str) -> Any:
    chat = world.despacho.store.repository.get(UUID(chat_id))
    return world.despacho.store.repository.get(UUID(chat.confirmation_message_id))


def test_stop_on_an_sms_long_code_is_confirmed_by_twilio_and_despacho_sends_nothing_of_its_own(world: World) -> None:
    chat = sms_chat(world)
    before = len(world.transport.sent_to(SMS_CUSTOMER))
    world.customer_says("Stop", to=SMS_NUMBER, sender=SMS_CUSTOMER)

    closed = world.chats_of(SMS_CUSTOMER)[-1]
    assert (closed["id"], closed["close_reason"]) == (chat["id"], "opt_out")
    assert len(world.transport.sent_to(SMS_CUSTOMER)) == before, "Twilio answers STOP on a long code; 21610 otherwise"
    assert world.despacho.outbound.is_opted_out(SMS_CUSTOMER, SMS_NUMBER), "still recorded (R11)"
    confirmation = confirmation_of(world, chat["id"])
    assert (confirmation.kind, confirmation.status, confirmation.attempts) == ("opt_out_ack", "answered_by_twilio", 0)
    assert "«Stop»" in confirmation.body and closed["transcript_location"]
    assert rebuild(world.despacho.store, world.despacho.read_engine, MessagesProjector, replace_live=False) == []
    with pytest.raises(OptedOutError, match="escribió «Stop» y Twilio lo dio de baja") as refused:
        world.despacho.outbound.compose(world.despacho.store.repository.get(UUID(chat["id"])), "agent",
                                        body="¿Sigue ahí?", actor="test")
    assert "BAJA" not in str(refused.value)


def test_a_spanish_word_on_an_sms_long_code_is_acknowledged_by_despacho(world: World) -> None:
    chat = sms_chat(world)
    before = len(world.transport.sent_to(SMS_CUSTOMER))
    world.customer_says("BAJA", to=SMS_NUMBER, sender=SMS_CUSTOMER)  # not one of Twilio's words: Twilio ignores it
    assert len(world.transport.sent_to(SMS_CUSTOMER)) == before + 1, "Despacho's own acknowledgement"
    assert confirmation_of(world, chat["id"]).kind == "opt_out_ack"
    assert world.despacho.outbound.is_opted_out(SMS_CUSTOMER, SMS_NUMBER)


def test_twilios_own_keywords_opt_out_on_an_sms_long_code_even_outside_despachos_list(world: World) -> None:
    sms_chat(world)
    world.customer_says("QUIT", to=SMS_NUMBER, sender=SMS_CUSTOMER)
    assert world.despacho.outbound.is_opted_out(SMS_CUSTOMER, SMS_NUMBER)
    world.customer_says("yes", to=SMS_NUMBER, sender=SMS_CUSTOMER)
    assert not world.despacho.outbound.is_opted_out(SMS_CUSTOMER, SMS_NUMBER), "Twilio opted them back in"
    world.customer_says("QUIT")  # on WhatsApp only Despacho's words count
    assert not world.despacho.outbound.is_opted_out(CUSTOMER, BANCO_NUMBER)


def test_an_opt_out_twilio_reports_as_handled_is_not_acknowledged_again(world: World) -> None:
    chat = identify(world)
    before = len(world.transport.sent_to(CUSTOMER))
    params = {"OptOutType": "STOP"}  # Advanced Opt-Out on a Messaging Service answered the customer's word itself
    world.customer_says("baja", extra=params)
    assert len(world.transport.sent_to(CUSTOMER)) == before
    assert confirmation_of(world, chat["id"]).status == "answered_by_twilio"


def test_twilio_refusing_an_opted_out_number_marks_the_customer_opted_out(world: World) -> None:
    from application.ports import SendFailedError

    world.customer_says("Hola")
    world.transport.fail_next(SendFailedError("21610", "El destinatario se dio de baja", retryable=False,
                                              opted_out=True))
    world.customer_says("1")
    assert world.despacho.outbound.is_opted_out(CUSTOMER, BANCO_NUMBER)


def test_a_retryable_failure_is_retried_and_sent_once(world: World) -> None:
    from application.ports import SendFailedError

    world.transport.fail_next(SendFailedError("20429", "Demasiadas solicitudes", retryable=True),
                              SendFailedError("", "Se perdió la respuesta", retryable=True), after_accepting=True)
    world.customer_says("Hola")
    bodies = [m.delivery.body for m in world.transport.sent_to(CUSTOMER)]
    assert len(bodies) == len(set(bodies)), "a message accepted before the answer was lost is not sent again"
    assert all(message_of(world, m).sid for m in world.transport.sent_to(CUSTOMER))


def test_a_customer_who_leaves_the_bot_waiting_is_recorded_once_and_the_chat_stays_open(world: World) -> None:
    world.customer_says("Hola")
    chat_id = world.chats_of()[0]["id"]
    world.clock.advance(timedelta(minutes=29))
    assert world.despacho.conversations.record_inactivity(chat_id, world.clock.now()) is False
    world.clock.advance(timedelta(minutes=1))
    world.despacho.actors.record_bot_inactivity.send()
    world.settle()
    assert world.despacho.conversations.record_inactivity(chat_id, world.clock.now()) is False, "recorded once"
    chat = world.chats_of()[0]
    assert chat["status"] == "bot"
    assert chat["bot_inactive_since"] == chat["last_customer_message_at"]
    [dropped] = [e for e in world.despacho.store.events.get(UUID(chat_id)) if isinstance(e, Chat.BotInactivityRecorded)]
    assert dropped.dropped_at == chat["last_customer_message_at"] + timedelta(minutes=30), "the flow's limit"
    assert dropped.at == world.clock.now(), "when the job noticed"


def test_one_number_for_all_campaigns_lets_the_customer_choose_where_the_document_is_in_several(
        world: World) -> None:
    for campaign in (world.banco, world.telco):
        world.despacho.campaigns.link_sender(UUID(campaign), SHARED_NUMBER, "whatsapp", is_default=False,
                                             actor="test")
    world.settle()
    world.customer_says("Hola", to=SHARED_NUMBER)
    world.customer_says("1", to=SHARED_NUMBER)
    world.customer_says("1020304050", to=SHARED_NUMBER)
    asked = world.transport.sent_to(CUSTOMER)[-1].delivery.body
    assert "Banco Andino" in asked and "Telco Sur" in asked, "the bot lists the campaigns by their public names"
    world.customer_says("Telco Sur", to=SHARED_NUMBER)
    chat = world.chats_of()[-1]
    assert (chat["campaign_id"], chat["agent_id"]) == (world.telco, world.bruno)
    assert {m.delivery.sender for m in world.transport.sent_to(CUSTOMER)} == {SHARED_NUMBER}


def test_opt_out_words_are_configurable(settings: Settings, clock: FixedClock) -> None:
    despacho = build(settings.model_copy(update={"opt_out_words": ["no molestar"]}), clock=clock,
                     transport=FakeTransport())
    try:
        from application.inbound import InboundText

        recorded = despacho.inbound.receive(InboundText("SM" + "9" * 32, CUSTOMER, BANCO_NUMBER, "No molestar!"))
        assert despacho.inbound.attach(recorded.inbound_id).consent == "opt_out"  # type: ignore[union-attr]
        assert despacho.outbound.is_opted_out(CUSTOMER, BANCO_NUMBER)
        kept = despacho.inbound.receive(InboundText("SM" + "8" * 32, CUSTOMER, BANCO_NUMBER, "baja"))
        assert despacho.inbound.attach(kept.inbound_id).consent is None, \
            "the default list was replaced"  # type: ignore[union-attr]
    finally:
        despacho.close()


def test_the_embedded_demo_reports_fake_deliveries_like_twilio_would(settings: Settings, clock: FixedClock) -> None:
    transport = FakeTransport()
    despacho = build(settings.model_copy(update={"fake_delivery_seconds": 0.05}), clock=clock, transport=transport)
    try:
        campaign = despacho.campaigns.register("banco_a", "Banco", "Banco Andino", WITH_CLOSING_TEMPLATE, actor="test")
        despacho.campaigns.link_sender(campaign, BANCO_NUMBER, "whatsapp", is_default=True, actor="test")
        with background(despacho, projector=True, worker=True, scheduler=False):
            wait_until_projected(despacho.runner)
            from application.inbound import InboundText

            despacho.inbound.receive(InboundText("SM" + "7" * 32, CUSTOMER, BANCO_NUMBER, "Hola"))
            for _ in range(5):
                wait_until_projected(despacho.runner)
                despacho.broker.join("default")  # type: ignore[attr-defined]
        statuses = {despacho.store.repository.get(UUID(m.delivery.message_id)).status for m in transport.sent}
        assert transport.sent and statuses == {"delivered"}
    finally:
        despacho.close()


def signed_post(world: World, path: str, params: dict[str, str]) -> Any:
    url = webhook_url(world.despacho.settings.public_url, path)
    token = world.despacho.settings.twilio_auth_token.get_secret_value()
    return world.client.post(path, data=params, headers={"X-Twilio-Signature": sign(token, url, params)})


@pytest.mark.parametrize("missing", ["MessageSid", "From", "To"])
def test_a_signed_but_incomplete_webhook_is_refused_clearly_and_records_nothing(world: World, missing: str) -> None:
    params = {"MessageSid": next(message_sids), "From": CUSTOMER, "To": BANCO_NUMBER, "Body": "Hola"}
    del params[missing]
    response = signed_post(world, "/webhooks/twilio/messages", params)
    assert response.status_code == 400 and "Faltan" in response.text
    world.settle()
    assert world.chats_of() == []


def test_careless_webhook_fields_are_tolerated(world: World) -> None:
    params = {"MessageSid": next(message_sids), "From": CUSTOMER, "To": BANCO_NUMBER, "Body": "x" * 20_000,
              "NumMedia": "muchos", "MediaUrl0": "https://api.twilio.com/media/1"}
    assert signed_post(world, "/webhooks/twilio/messages", params).status_code == 200
    world.settle()
    [chat] = world.chats_of()
    events = list(world.despacho.store.events.get(UUID(chat["id"])))
    wrote = next(e for e in events if type(e).__name__ == "CustomerWrote")
    assert len(wrote.body) == 4096 and wrote.media == []


def test_a_status_callback_without_its_fields_is_refused(world: World) -> None:
    response = signed_post(world, "/webhooks/twilio/status?mid=x", {"MessageSid": "SM1"})
    assert response.status_code == 400


def test_messages_without_callbacks_are_reconciled_and_lost_sends_sent_again(world: World) -> None:
    chat = identify(world)
    first = world.transport.sent_to(CUSTOMER)[0]
    world.transport.progress(first.sid, "delivered")  # Twilio delivered it; the callback never came
    unsent = world.reply(chat["id"], "¿Sigue ahí?")  # its send job was lost
    world.settle()
    world.clock.advance(timedelta(minutes=11))
    world.despacho.actors.reconcile_deliveries.send()
    world.settle()
    assert message_of(world, first).status == "delivered"
    assert world.transport.sent_to(CUSTOMER)[-1].delivery.message_id == unsent


def test_a_flow_that_ends_the_conversation_closes_the_chat_with_its_confirmation(world: World) -> None:
    world.despacho.campaigns.edit(UUID(world.banco), "Banco Andino cobranza", "Banco Andino",
                                  {"flow_name": "autoservicio_pagos"}, actor="test")
    world.settle()
    for said in ("Hola", "1", "No, gracias"):  # the guide's example: payment options, then goodbye
        world.customer_says(said)
    [chat] = world.chats_of()
    assert (chat["status"], chat["close_reason"]) == ("closed", "bot")
    assert chat["confirmation_message_id"] and chat["transcript_location"]


# Outside business hours (banco_a: Monday to Friday 08:00–18:00 in Bogotá) the bot and routing agree.

MONDAY_NIGHT = timedelta(hours=11)  # START is Monday 09:00 in Bogotá: 20:00, closed until Tuesday 08:00


def test_outside_hours_the_bot_says_when_agents_are_back_and_the_chat_waits_until_they_are(world: World) -> None:
    world.clock.advance(MONDAY_NIGHT)
    chat = identify(world)
    world.despacho.router.dispatch()
    world.settle()

    assert "Vuelven mañana a las 08:00" in world.bot_said()
    assert (world.chats_of()[-1]["status"], chat["outside_hours"]) == ("waiting_queue", True), \
        "an available agent of the campaign does not get it at night"

    world.clock.advance(timedelta(hours=12))  # Tuesday 08:00
    world.despacho.router.dispatch()
    world.settle()
    assert (world.chats_of()[-1]["status"], world.chats_of()[-1]["agent_id"]) == ("assigned", world.ana)


def test_a_campaign_whose_agents_work_outside_hours_assigns_at_night_without_the_closed_message(world: World) -> None:
    world.despacho.campaigns.edit(UUID(world.banco), "Banco Andino cobranza", "Banco Andino",
                                  {"agents_outside_hours_take_chats": True}, actor="test")
    world.clock.advance(MONDAY_NIGHT)
    chat = identify(world)

    assert "no están disponibles" not in world.bot_said() and "Vuelven" not in world.bot_said()
    assert (chat["status"], chat["agent_id"], chat["outside_hours"]) == ("assigned", world.ana, False)


def test_a_customer_who_opted_out_and_writes_again_is_handled_once_with_no_reply(world: World) -> None:
    world.customer_says("BAJA")
    acknowledged = len(world.transport.sent_to(CUSTOMER))
    world.clock.advance(timedelta(minutes=5))
    world.customer_says("Hola, ¿me pueden ayudar?")
    [_, chat] = world.chats_of()
    assert world.despacho.actors.process_chat.fn(chat["id"]) is None, "handled: nothing left, nothing raised"
    world.settle()

    assert len(world.transport.sent_to(CUSTOMER)) == acknowledged, "no reply to a customer who opted out (R11)"
    assert (world.chats_of()[-1]["status"], world.chats_of()[-1]["bot_pending"]) == ("bot", 0)
    assert world.despacho.follow_up_ledger.counts() == {"pending": 0, "failed": 0}, "nothing left to run again"
    history = [type(e).__name__ for e in world.despacho.store.events.get(UUID(chat["id"]))]
    assert history.count("BotReplyWithheld") == 1

    world.customer_says("START")
    assert len(world.transport.sent_to(CUSTOMER)) > acknowledged, "opted back in, the bot answers again"
