"""A chat moved to another campaign that also holds its customer, through the real services on SQLite and
PostgreSQL: it leaves its agent, waits in the new campaign's queue, and routing assigns it there to members of that
campaign only (R1), the decision explained (R5). Metrics count it neither as a new chat nor as an abandonment, and
after every scenario `metrics verify`, the routing audit and a rebuild of every read table agree with what is live."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from uuid import UUID

import pytest

from adapters.clock import FixedClock
from application.metrics_verify import compare, counters_from_log
from application.routing_audit import audit_routing
from despacho.bootstrap import Despacho
from despacho.cli_metrics import query_counters
from domain.chats import ChatError
from domain.common import NotAllowedError
from domain.metrics.registry import CAMPAIGN
from projections import desk_queries
from tests.integration.test_projections import verify
from tests.metric_world import PORTFOLIO, MetricCenter

DAY = date(2026, 11, 2)
CUSTOMERS = iter(f"whatsapp:+57301{n:07d}" for n in range(1000001, 1999999))
REASON = "El cliente pide hablar de su acuerdo de pagos"


@pytest.fixture
def center(despacho: Despacho, clock: FixedClock) -> Iterator[MetricCenter]:
    """banco_a and pagos both hold the customer's document; afterwards every check from the log agrees."""
    world = MetricCenter(despacho, clock)
    despacho.portfolios.import_file(UUID(world.pagos), PORTFOLIO.encode(), "cartera.csv", actor="test")
    world.catch_up()
    yield world
    assert compare(counters_from_log(despacho.store), query_counters(despacho.read_engine, DAY, DAY),
                   DAY, DAY) == []
    assert audit_routing(despacho.store).clean
    assert verify(despacho) == []


def transfer(center: MetricCenter, chat_id: str, campaign_id: str, by: str, reason: str = REASON) -> None:
    center.despacho.transfers.transfer(chat_id, campaign_id, reason=reason, user_id=by)
    center.catch_up()


def a_supervisor_of(center: MetricCenter, campaign_id: str) -> str:
    return str(center.despacho.staff.register("sofia", "Sofía", "supervisor", password="clave-de-prueba-1",
                                              campaign_ids=frozenset({campaign_id}), actor="test"))


def test_a_transferred_chat_is_assigned_only_to_a_member_of_the_new_campaign(center: MetricCenter) -> None:
    center.available("ana")
    chat = center.identified(next(CUSTOMERS))
    center.available("carla")
    assert center.chat_status(chat) == ("assigned", center.agents["ana"])

    center.advance(60)
    transfer(center, chat, center.pagos, by=center.agents["ana"])

    assert center.chat_status(chat) == ("waiting_queue", ""), "carla, free in banco_a, does not get it"
    center.advance(30)
    center.available("bruno")
    assert center.chat_status(chat) == ("assigned", center.agents["bruno"])
    row = desk_queries.chat(center.despacho.read_engine, chat)
    assert row is not None and row["campaign_id"] == center.pagos
    history = desk_queries.assignments(center.despacho.read_engine, chat)
    moved, after = history[-2], history[-1]
    assert (moved["kind"], moved["reason"], moved["agent_id"]) == ("transferred", REASON, center.agents["ana"])
    assert (moved["from_campaign_name"], moved["to_campaign_name"]) == ("Banco Andino", "Pagos")
    assert after["kind"] == "automatic"
    assert [c["agent_id"] for c in after["decision"]["candidates"]] == [center.agents["bruno"]]


def test_the_agent_who_transferred_gets_the_capacity_back(center: MetricCenter) -> None:
    center.available("ana")
    chat = center.identified(next(CUSTOMERS))

    transfer(center, chat, center.pagos, by=center.agents["ana"])

    assert center.despacho.store.repository.get(UUID(center.agents["ana"])).open_chats == set()
    assert [c["id"] for c in desk_queries.open_chats_of(center.despacho.read_engine, center.agents["ana"])] == []


def test_a_transfer_is_neither_a_new_chat_nor_an_abandonment(center: MetricCenter) -> None:
    """ana holds the chat 60 s and transfers it; it waits 30 s in pagos until bruno is available."""
    center.available("ana")
    chat = center.identified(next(CUSTOMERS))
    center.advance(60)
    transfer(center, chat, center.pagos, by=center.agents["ana"])
    center.advance(30)
    center.available("bruno")

    assert sum(r.counters["chats"] for r in center.rows(CAMPAIGN, DAY)) == 1
    banco, pagos = center.campaign_row(center.banco, DAY), center.campaign_row(center.pagos, DAY)
    assert (banco.counters["queue_abandoned"], pagos.counters["queue_abandoned"]) == (0, 0)
    assert pagos.counters["chats"] == 1, "the chat counts once, in the campaign that has it"
    assert (pagos.counters["queue_entries"], pagos.values["average_speed_of_answer"]) == (1, 30.0)
    assert center.agent_row("ana", DAY).values["handle_time"] == 60.0


def test_a_chat_transferred_while_waiting_leaves_the_old_queues_waits_alone(center: MetricCenter) -> None:
    """Nobody is available in banco_a; after 40 s a supervisor moves the chat to pagos, where bruno takes it."""
    chat = center.identified(next(CUSTOMERS))
    supervisor = a_supervisor_of(center, center.banco)
    center.advance(40)
    transfer(center, chat, center.pagos, by=supervisor)
    center.available("bruno")

    assert center.chat_status(chat) == ("assigned", center.agents["bruno"])
    banco = center.campaign_row(center.banco, DAY)
    assert banco.counters["queue_entries"] == 1
    assert (banco.values["abandonment_rate"], banco.values["average_queue_wait"]) == (None, None)
    assert banco.values["service_level"] is None, "a transfer does not count against banco_a's service level"


def test_a_transfer_to_a_campaign_without_the_customer_is_refused(center: MetricCenter) -> None:
    center.available("ana")
    chat = center.identified(next(CUSTOMERS))
    third = str(center.despacho.campaigns.register("tienda", "Tienda", "Tienda", {}, senders=[], actor="test"))
    center.catch_up()

    with pytest.raises(ChatError, match="El cliente no está en la cartera de esa campaña"):
        transfer(center, chat, third, by=center.agents["ana"])
    assert center.chat_status(chat) == ("assigned", center.agents["ana"])


def test_only_the_assigned_agent_or_staff_of_its_campaign_transfer_a_chat(center: MetricCenter) -> None:
    center.available("ana")
    chat = center.identified(next(CUSTOMERS))
    other_supervisor = a_supervisor_of(center, center.pagos)

    with pytest.raises(NotAllowedError):
        transfer(center, chat, center.pagos, by=center.agents["carla"])
    with pytest.raises(NotAllowedError):
        transfer(center, chat, center.pagos, by=other_supervisor)
    assert center.chat_status(chat) == ("assigned", center.agents["ana"])
