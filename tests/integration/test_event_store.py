"""The event store on SQLite and on a real PostgreSQL: what is saved comes back, with who and when."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from adapters.clock import FixedClock
from application.campaigns import CampaignExistsError
from application.staff import AgentExistsError
from application.store import ConcurrentChangeError, retry_on_conflict
from despacho.bootstrap import Despacho
from domain.agents import Agent, CapacityExceededError
from domain.campaigns import Campaign, CampaignSettings
from domain.chats import Chat
from domain.messages import InboundMessage, OutboundMessage
from domain.portfolios import PortfolioImport
from domain.sessions import AgentSession
from tests.conftest import CLOSING_TEMPLATE_SID

ADMIN = "user:admin-1"
PASSWORD = "una-clave-segura-123"


def state_of(aggregate: Aggregate) -> dict[str, Any]:
    return {key: value for key, value in vars(aggregate).items() if key != "_pending_events"}


def reloaded(despacho: Despacho, aggregate: Aggregate) -> Any:
    return despacho.store.repository.get(aggregate.id)


def available_agent(despacho: Despacho, login: str, campaign_id: str, *, capacity: int) -> Agent:
    now = despacho.clock.now()
    agent = Agent.register(login, login.title(), "agent", capacity, actor=ADMIN, at=now)
    agent.join_campaign(campaign_id, actor=ADMIN, at=now)
    session = AgentSession.open(str(agent.id), client="t", actor=f"user:{agent.id}", at=now)
    agent.sign_in(str(session.id), allow_parallel=False, actor=f"user:{agent.id}", at=now)
    agent.change_status("available", session_id=str(session.id), actor=f"user:{agent.id}", at=now)
    despacho.store.save(agent, session)
    return agent


def a_campaign(despacho: Despacho, code: str = "banco_a") -> Campaign:
    settings = CampaignSettings(closing_template_sid=CLOSING_TEMPLATE_SID)
    campaign = Campaign.register(code, "Banco A — Cobranza", "Banco A", settings, actor=ADMIN, at=despacho.clock.now())
    campaign.link_sender("whatsapp:+5716000001", "whatsapp", is_default=True, actor=ADMIN, at=despacho.clock.now())
    despacho.store.save(campaign)
    return campaign


def test_every_kind_of_aggregate_reloads_exactly_as_it_was_saved(despacho: Despacho) -> None:
    now = despacho.clock.now()
    campaign = a_campaign(despacho)
    agent = available_agent(despacho, "ana", str(campaign.id), capacity=3)
    agent.take_chat("chat-1", str(campaign.id), exceptional=False, actor="system", at=now)
    agent.issue_token("t1", "digest", "equipo de datos", actor=ADMIN, at=now)
    session = AgentSession.open(str(agent.id), client="Firefox", actor=f"user:{agent.id}", at=now)
    session.close("logout", actor=f"user:{agent.id}", at=now + timedelta(hours=8))
    portfolio = PortfolioImport.start(str(campaign.id), "cartera.xlsx", "ab" * 32, "upsert", actor=ADMIN, at=now)
    chunk = portfolio.stage(0, [{"document_type": "CC", "document_number": "1020", "full_name": "Luz Díaz",
                                 "phones": ["+573001112233"]}])
    portfolio.complete({"valid": 1, "invalid": 0}, chunk.size, actor=ADMIN, at=now)
    chat = Chat.open("whatsapp", "whatsapp:+573001112233", "whatsapp:+5716000001", profile_name="Luz",
                     flow_name="default", actor="customer:whatsapp:+573001112233", at=now)
    chat.receive_customer_message("SM1", "Hola", [], actor="customer:whatsapp:+573001112233", at=now)
    chat.identify(str(campaign.id), "CC", "1020", actor="system", at=now)
    chat.enqueue(str(campaign.id), outside_hours=False, actor="system", at=now)
    chat.assign(str(agent.id), {"policy": "least_load", "candidates": [{"agent_id": str(agent.id), "load": 0}]},
                exceptional=False, reason="", actor="system", at=now)
    chat.raise_unanswered_alert(now, actor="system", at=now + timedelta(minutes=30))
    outbound = OutboundMessage.request(chat_id=str(chat.id), campaign_id=str(campaign.id), kind="agent",
                                       channel="whatsapp", to="whatsapp:+573001112233",
                                       sender="whatsapp:+5716000001", body="Buenos días", agent_id=str(agent.id),
                                       session_id=str(session.id), actor=f"user:{agent.id}", at=now)
    outbound.record_submission("SM900", "queued", actor="system", at=now)
    outbound.record_status("delivered", "", "", actor="twilio", at=now)
    inbound = InboundMessage.receive("SM1", {"Body": "Hola"}, actor="twilio", at=now)
    inbound.attach(str(chat.id), actor="system", at=now)
    saved = [campaign, agent, session, portfolio, chunk, chat, outbound, inbound]

    despacho.store.save(*saved)

    for aggregate in saved:
        assert state_of(reloaded(despacho, aggregate)) == state_of(aggregate), type(aggregate).__name__


def test_events_record_the_actor_and_the_injected_clock_time(despacho: Despacho, clock: FixedClock) -> None:
    created_at = clock.now()
    campaign_id = despacho.campaigns.register("banco_a", "Banco A", "Banco A", {}, actor=ADMIN)
    clock.advance(timedelta(hours=3))
    linked_at = clock.now()
    despacho.campaigns.link_sender(campaign_id, "+5716000011", "sms", is_default=True, actor="user:supervisor-7")

    events = list(despacho.store.events.get(campaign_id))

    assert [(type(e).__name__, e.actor, e.at) for e in events] == [
        ("Created", ADMIN, created_at), ("SenderLinked", "user:supervisor-7", linked_at)]


def test_registering_an_existing_campaign_code_fails_and_keeps_the_first(despacho: Despacho) -> None:
    campaign_id = despacho.campaigns.register("banco_a", "Banco A", "Banco A", {}, actor=ADMIN)

    with pytest.raises(CampaignExistsError):
        despacho.campaigns.register(" BANCO_A ", "Otro banco", "Otro", {}, actor=ADMIN)

    assert despacho.campaigns.get(campaign_id).name == "Banco A"


def test_registering_an_existing_login_fails_and_keeps_the_first(despacho: Despacho) -> None:
    agent_id = despacho.staff.register("ana", "Ana Asesora", "agent", password=PASSWORD, actor=ADMIN)

    with pytest.raises(AgentExistsError):
        despacho.staff.register(" Ana ", "Impostora", "admin", password=PASSWORD, actor=ADMIN)

    agent = despacho.staff.get(agent_id)
    assert (agent.name, agent.role) == ("Ana Asesora", "agent")


def test_saving_a_stale_copy_is_refused(despacho: Despacho) -> None:
    campaign = a_campaign(despacho)
    first, second = reloaded(despacho, campaign), reloaded(despacho, campaign)
    first.archive(actor=ADMIN, at=despacho.clock.now())
    despacho.store.save(first)

    second.edit(name="Banco A", display_name="Nuevo nombre", settings=second.settings, actor=ADMIN,
                at=despacho.clock.now())
    with pytest.raises(IntegrityError):
        despacho.store.save(second)

    current = reloaded(despacho, campaign)
    assert (current.archived, current.display_name) == (True, "Banco A")


def test_retry_on_conflict_reapplies_the_command_to_the_latest_version(despacho: Despacho) -> None:
    campaign = a_campaign(despacho)
    attempts = []

    def rename() -> None:
        mine = reloaded(despacho, campaign)
        if not attempts:
            someone_else = reloaded(despacho, campaign)
            someone_else.link_sender("+5716000011", "sms", is_default=False, actor="user:other",
                                     at=despacho.clock.now())
            despacho.store.save(someone_else)
        attempts.append(mine.version)
        mine.edit(name="Banco A", display_name="Banco A S.A.", settings=mine.settings, actor=ADMIN,
                  at=despacho.clock.now())
        despacho.store.save(mine)

    retry_on_conflict(rename)

    current = reloaded(despacho, campaign)
    assert len(attempts) == 2
    assert current.display_name == "Banco A S.A."
    assert set(current.senders) == {"whatsapp:+5716000001", "+5716000011"}


def test_retry_on_conflict_gives_up_after_its_attempts(despacho: Despacho) -> None:
    campaign = a_campaign(despacho)

    def always_stale() -> None:
        mine = reloaded(despacho, campaign)
        someone_else = reloaded(despacho, campaign)
        someone_else.link_sender(f"+57160000{mine.version:02d}", "sms", is_default=False, actor="user:other",
                                 at=despacho.clock.now())
        despacho.store.save(someone_else)
        mine.archive(actor=ADMIN, at=despacho.clock.now())
        despacho.store.save(mine)

    with pytest.raises(ConcurrentChangeError):
        retry_on_conflict(always_stale, attempts=3)

    assert reloaded(despacho, campaign).archived is False


def test_two_stale_copies_of_an_agent_cannot_take_more_chats_than_capacity(despacho: Despacho) -> None:
    campaign_id = str(a_campaign(despacho).id)
    agent = available_agent(despacho, "ana", campaign_id, capacity=2)
    agent.take_chat("chat-1", campaign_id, exceptional=False, actor="system", at=despacho.clock.now())
    despacho.store.save(agent)
    router_a, router_b = reloaded(despacho, agent), reloaded(despacho, agent)

    router_a.take_chat("chat-2", campaign_id, exceptional=False, actor="system", at=despacho.clock.now())
    router_b.take_chat("chat-3", campaign_id, exceptional=False, actor="system", at=despacho.clock.now())
    despacho.store.save(router_a)
    with pytest.raises(IntegrityError):
        despacho.store.save(router_b)

    def take_chat_3_again() -> None:
        fresh = reloaded(despacho, agent)
        fresh.take_chat("chat-3", campaign_id, exceptional=False, actor="system", at=despacho.clock.now())
        despacho.store.save(fresh)

    with pytest.raises(CapacityExceededError):
        retry_on_conflict(take_chat_3_again)
    assert reloaded(despacho, agent).open_chats == {"chat-1", "chat-2"}


def test_a_long_lived_agent_is_snapshotted_and_reloads_the_same(despacho: Despacho) -> None:
    campaign_id = str(a_campaign(despacho).id)
    agent = available_agent(despacho, "ana", campaign_id, capacity=10)
    for number in range(60):
        agent.take_chat(f"chat-{number}", campaign_id, exceptional=False, actor="system", at=despacho.clock.now())
        if number % 10:
            agent.release_chat(f"chat-{number}", reason="closed", actor="system", at=despacho.clock.now())
    despacho.store.save(agent)

    assert agent.version > 100
    assert despacho.store.snapshots is not None
    assert list(despacho.store.snapshots.get(agent.id))
    assert state_of(reloaded(despacho, agent)) == state_of(agent)
