"""Scripted days whose metrics are computed by hand, driven through the real services, each pinning one of the
mistakes the best-known tools make (Chatwoot issues 13312, 14141, 4559; PR 12058, 9605): bot messages counted for
the agent, first response timed from the wrong moment, an unanswered assignment counted as handled, the first
reply after a transfer credited to the wrong agent, a new assignment's FRT inflated by the first one's. After
each, `metrics verify` (the raw log counted again by its own path) agrees with the queries."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from uuid import UUID

import pytest
from sqlalchemy import func, select

from adapters.clock import FixedClock
from application.metrics_verify import compare, counters_from_log
from despacho.bootstrap import Despacho
from despacho.cli_metrics import query_counters
from domain.metrics.registry import AGENT, BOT
from projections.messages import MessagesProjector
from projections.metric_facts import MetricsProjector
from projections.metric_queries import (
    MetricFilter,
    agent_metrics,
    bot_funnel,
    campaign_volume,
    delivery_by_sender,
    metric_kpis,
)
from projections.rebuild import rebuild
from tests.metric_world import BANCO, PAGOS, MetricCenter

DAY = date(2026, 11, 2)  # START is 09:00 of this Monday in Bogotá
CUSTOMERS = iter(f"whatsapp:+57300{n:07d}" for n in range(2000001, 2999999))


@pytest.fixture
def center(despacho: Despacho, clock: FixedClock) -> Iterator[MetricCenter]:
    """Each scenario on SQLite and PostgreSQL; afterwards the verify and a rebuild of the tables find nothing."""
    world = MetricCenter(despacho, clock)
    yield world
    assert compare(counters_from_log(despacho.store), query_counters(despacho.read_engine, DAY, DAY),
                   DAY, DAY) == []
    assert rebuild(despacho.store, despacho.read_engine, MetricsProjector, replace_live=False) == []


def test_frt_runs_from_the_assignment_and_bot_messages_are_not_the_agents(center: MetricCenter) -> None:
    """Opened at 09:00, the bot talks for two minutes, the chat waits 120 s, ana answers 45 s after taking it."""
    customer = next(CUSTOMERS)
    center.customer_writes(customer, "Hola")
    center.advance(60)
    center.customer_writes(customer, "1")
    center.advance(60)
    chat = center.customer_writes(customer, "1020304050")
    center.advance(120)
    center.available("ana")
    assert center.chat_status(chat) == ("assigned", center.agents["ana"])
    center.advance(45)
    center.reply("ana", chat)

    ana = center.agent_row("ana", DAY).values
    assert (ana["chats_assigned"], ana["chats_handled"], ana["messages_sent"]) == (1, 1, 1)
    assert (ana["first_response_time"], ana["reply_time"]) == (45.0, 45.0)
    campaign = center.campaign_row(center.banco, DAY).values
    assert (campaign["chats_total"], campaign["chats_attended"], campaign["average_speed_of_answer"]) == (1, 1, 120.0)


def test_an_internal_note_is_not_an_agents_message_nor_a_first_response(center: MetricCenter) -> None:
    """ana takes the chat, writes herself a note 20 s later and answers the customer at 45 s."""
    center.available("ana")
    chat = center.identified(next(CUSTOMERS))
    center.advance(20)
    center.note("ana", chat)
    center.advance(25)
    center.reply("ana", chat)
    center.advance(10)
    center.note("ana", chat, "Quedó de pagar el viernes")

    ana = center.agent_row("ana", DAY).values
    assert (ana["chats_handled"], ana["messages_sent"]) == (1, 1)
    assert (ana["first_response_time"], ana["reply_time"]) == (45.0, 45.0)


def test_an_assigned_chat_never_answered_is_assigned_not_handled(center: MetricCenter) -> None:
    center.available("ana")
    chat = center.identified(next(CUSTOMERS))
    center.advance(300)
    center.close("ana", chat, "numero_equivocado")

    ana = center.agent_row("ana", DAY).values
    assert (ana["chats_assigned"], ana["chats_handled"], ana["first_response_time"]) == (1, 0, None)
    assert (ana["handle_time"], ana["closes"]) == (300.0, 1)
    campaign = center.campaign_row(center.banco, DAY).values
    assert (campaign["chats_attended"], campaign["chats_unattended"]) == (0, 1)


def test_after_a_transfer_the_receivers_first_reply_is_the_receivers(center: MetricCenter) -> None:
    """ana answers in 10 s; the customer writes again and 20 s later a supervisor moves the chat to carla, who
    answers 30 s after receiving it."""
    center.available("ana")
    customer = next(CUSTOMERS)
    chat = center.identified(customer)
    center.available("carla")
    center.advance(10)
    center.reply("ana", chat)
    center.customer_writes(customer, "¿Sigue ahí?")
    center.advance(20)
    center.reassign(chat, "carla")
    center.advance(30)
    center.reply("carla", chat)

    ana, carla = center.agent_row("ana", DAY).values, center.agent_row("carla", DAY).values
    assert (ana["first_response_time"], ana["reply_time"], ana["handle_time"]) == (10.0, 10.0, 30.0)
    assert (carla["chats_assigned"], carla["chats_handled"], carla["first_response_time"]) == (1, 1, 30.0)
    assert (ana["load_share"], carla["load_share"]) == (0.5, 0.5)
    assert center.campaign_row(center.banco, DAY).values["load_fairness"] == 1.0


def test_a_requeue_after_going_offline_starts_a_new_frt_for_the_next_agent(center: MetricCenter) -> None:
    """ana takes the chat and logs out without answering; 11 minutes later the timer requeues it; carla signs in
    5 s later and answers in 15 s. Her FRT is 15 s, not the 11 minutes before."""
    center.available("ana")
    chat = center.identified(next(CUSTOMERS))
    center.logout("ana")
    center.advance(11 * 60)
    center.run_timers()
    assert center.chat_status(chat) == ("waiting_queue", "")
    center.advance(5)
    center.available("carla")
    center.advance(15)
    center.reply("carla", chat)

    ana, carla = center.agent_row("ana", DAY).values, center.agent_row("carla", DAY).values
    assert (ana["chats_assigned"], ana["chats_handled"], ana["handle_time"]) == (1, 0, 660.0)
    assert (carla["first_response_time"], carla["chats_handled"]) == (15.0, 1)
    campaign = center.campaign_row(center.banco, DAY)
    assert campaign.counters["queue_entries"] == 2
    assert campaign.values["average_speed_of_answer"] == 2.5  # (0 s + 5 s) / 2


def test_queue_waits_abandonment_and_service_level(center: MetricCenter) -> None:
    """One chat waits 10 s for ana (who then takes a break); of two more, one leaves (BAJA) after 60 s and the
    other waits 120 s for carla."""
    center.identified(next(CUSTOMERS))
    center.advance(10)
    center.available("ana")
    center.on_break("ana")
    center.identified(next(CUSTOMERS))
    leaving = next(CUSTOMERS)
    center.identified(leaving)
    center.advance(60)
    center.customer_writes(leaving, "BAJA")
    center.advance(60)
    center.available("carla")

    campaign = center.campaign_row(center.banco, DAY).values
    assert (campaign["average_speed_of_answer"], campaign["average_queue_wait"], campaign["longest_queue_wait"]) == (
        65.0, round(190 / 3, 4), 120.0)
    assert (campaign["abandonment_rate"], campaign["service_level"]) == (round(1 / 3, 4), round(1 / 3, 4))
    assert (campaign["opt_outs"], campaign["chats_unattended"]) == (1, 1)


def test_containment_and_drops_in_the_bot(center: MetricCenter) -> None:
    """One customer is served by the bot (medios de pago, then «no, gracias»: the flow closes) and does not come
    back; another is served the same way but writes again two hours later; a third stops answering the menu."""
    contained, returned = next(CUSTOMERS), next(CUSTOMERS)
    for customer in (contained, returned):
        for body in ("Hola", "1", "2"):
            center.customer_writes(customer, body, to=PAGOS)
    silent = center.customer_writes(next(CUSTOMERS), "Hola", to=PAGOS)
    center.advance(2 * 3600)
    center.customer_writes(returned, "Hola otra vez", to=PAGOS)
    assert center.despacho.conversations.record_inactivity(silent, center.clock.now())
    center.catch_up()

    [row] = [r for r in center.rows(BOT, DAY) if r.flow_name == "autoservicio_pagos"]
    assert row.campaign_id == center.pagos  # from the number written to, though the bot never identified them
    assert (row.counters["bot_chats"], row.counters["bot_closed"], row.counters["contained"]) == (4, 2, 1)
    assert (row.values["containment_rate"], row.values["drop_rate"], row.values["transfer_rate"]) == (0.25, 0.25, 0)
    funnel = {step["state"]: step["chats"] for step in bot_funnel(center.despacho.read_engine, MetricFilter(DAY, DAY),
                                                                  campaign_ids=None)}
    assert (funnel["menu"], funnel["algo_mas"], funnel["despedida"]) == (4, 2, 2)


def test_buckets_follow_the_granularity_and_the_zone(center: MetricCenter) -> None:
    """A chat at 09:00 in Bogotá, a Monday: its hour there and in UTC, its week and month, and the heat map."""
    center.available("ana")
    chat = center.identified(next(CUSTOMERS))
    center.advance(30)
    center.reply("ana", chat)

    def buckets(**filters: str) -> list[tuple[str, str]]:
        return [(r.bucket, r.time_zone) for r in center.rows(AGENT, DAY, **filters)]

    assert buckets(granularity="hour") == [("2026-11-02T09:00", "America/Bogota")]
    assert buckets(granularity="hour", time_zone="UTC") == [("2026-11-02T14:00", "UTC")]
    assert buckets(granularity="week") == [("2026-11-02", "America/Bogota")]
    assert buckets(granularity="month", time_zone="Asia/Tokyo") == [("2026-11-01", "Asia/Tokyo")]
    volume = campaign_volume(center.despacho.read_engine, MetricFilter(DAY, DAY), campaign_ids={center.banco})
    assert [(v["weekday"], v["hour"], v["chats"]) for v in volume] == [(0, 9, 1)]


def test_occupancy_is_time_holding_a_chat_over_available_time(center: MetricCenter) -> None:
    """ana is available from 09:00; a chat reaches her at 09:01 and she closes it at 09:02; asked at 09:04."""
    center.available("ana")
    center.advance(60)
    chat = center.identified(next(CUSTOMERS))
    center.advance(30)
    center.reply("ana", chat)
    center.advance(30)
    center.close("ana", chat)
    center.advance(120)

    [row] = agent_metrics(center.despacho.read_engine, MetricFilter(DAY, DAY), campaign_ids={center.banco},
                          now=center.clock.now())
    assert row.values["occupancy"] == 0.25


def test_the_delivery_failure_rate_per_sender_counts_every_message_requested(center: MetricCenter) -> None:
    """Of the messages to one customer (the bot's and ana's two replies), Twilio reports one reply undelivered."""
    center.available("ana")
    chat = center.identified(next(CUSTOMERS))
    center.reply("ana", chat)
    center.undelivered(center.reply("ana", chat))

    messages = MessagesProjector().messages
    with center.despacho.read_engine.connect() as connection:
        requested = connection.execute(select(func.count()).select_from(messages)).scalar_one()
    [sender] = delivery_by_sender(center.despacho.read_engine, MetricFilter(DAY, DAY), campaign_ids={center.banco})
    assert (sender["sender"], sender["outbound"], sender["failed"]) == (BANCO, requested, 1)
    assert sender["failure_rate"] == round(1 / requested, 4) == center.campaign_row(center.banco, DAY).values[
        "delivery_failure_rate"]


def test_the_effective_close_ratio_counts_the_dispositions_the_campaign_flags_effective(center: MetricCenter) -> None:
    """ana closes three chats: a payment agreement and a promise (effective by default) and «no interesado»."""
    center.available("ana")
    for disposition in ("acuerdo_de_pago", "no_interesado", "promesa_de_pago"):
        chat = center.identified(next(CUSTOMERS))
        center.advance(20)
        center.reply("ana", chat)
        center.close("ana", chat, disposition)

    ana = center.agent_row("ana", DAY)
    assert (ana.values["closes"], ana.values["effective_close_ratio"]) == (3, round(2 / 3, 4))
    assert ana.breakdown == {"Acuerdo de pago": 1, "No interesado": 1, "Promesa de pago": 1}


def test_a_campaign_that_changes_zone_reads_its_days_in_the_new_zone(center: MetricCenter) -> None:
    """ana takes a chat at 09:00 in Bogotá (23:00 in Tokyo); the campaign moves to Tokyo; she answers in 30 s."""
    center.available("ana")
    chat = center.identified(next(CUSTOMERS))
    center.despacho.campaigns.edit(UUID(center.banco), "Banco Andino", "Banco Andino", {"time_zone": "Asia/Tokyo"},
                                   actor="test")
    center.catch_up()
    center.advance(30)
    center.reply("ana", chat)

    row = center.agent_row("ana", DAY)
    assert (row.time_zone, row.bucket, row.values["first_response_time"]) == ("Asia/Tokyo", "2026-11-02", 30.0)


def test_an_unanswered_alert_is_received_by_the_agent_holding_the_chat(center: MetricCenter) -> None:
    """ana takes a chat and does not answer; 31 minutes later the timer raises the 30-minute alert."""
    center.available("ana")
    center.identified(next(CUSTOMERS))
    center.advance(31 * 60)
    center.run_timers()

    ana = center.agent_row("ana", DAY).values
    assert (ana["alerts_received"], ana["chats_handled"], ana["first_response_time"]) == (1, 0, None)


def test_the_service_level_judges_each_chat_by_the_threshold_in_force_when_it_was_queued(center: MetricCenter) -> None:
    """A waits 15 s under the default 20 s threshold; the admin then sets 10 s (50 %, ASA 30 s, abandonment 10 %,
    FRT 60 s); B waits 15 s too, C leaves with BAJA after 60 s, a supervisor closes D after 30 s. Judged by one
    threshold the service level would be 2/4 (20 s) or 0/4 (10 s); each by its own it is 1/4."""
    a = center.identified(next(CUSTOMERS))
    center.advance(15)
    center.available("ana")
    center.advance(20)
    center.reply("ana", a)
    center.on_break("ana")
    center.despacho.campaigns.edit(UUID(center.banco), "Banco Andino", "Banco Andino", {"metric_targets": {
        "service_level_seconds": 10, "service_level": 0.5, "average_speed_of_answer": 30, "abandonment_rate": 0.1,
        "first_response_time": 60}}, actor="test")
    center.catch_up()
    b = center.identified(next(CUSTOMERS))
    center.advance(15)
    center.available("ana")
    assert center.chat_status(b) == ("assigned", center.agents["ana"])
    center.on_break("ana")
    leaving, closed = next(CUSTOMERS), next(CUSTOMERS)
    center.identified(leaving)
    d = center.identified(closed)
    center.advance(30)
    center.despacho.closing.close(d, "supervisor", disposition="informacion_entregada",
                                    note="Chat duplicado", actor="user:supervisor")
    center.advance(30)
    center.customer_writes(leaving, "BAJA")

    campaign = center.campaign_row(center.banco, DAY).values
    assert (campaign["service_level"], campaign["average_speed_of_answer"]) == (0.25, 15.0)
    assert (campaign["abandonment_rate"], campaign["abandonment_opt_out"], campaign["abandonment_supervisor"],
            campaign["abandonment_auto_24h"]) == (0.5, 0.25, 0.25, 0)
    assert (campaign["chats_closed"], campaign["opt_outs"]) == (2, 1)
    cards = {card.title: card for card in metric_kpis(center.despacho.read_engine, {center.banco},
                                                      center.clock.now()) if card.campaign}
    assert [(c.value, c.target, c.met) for c in (cards["Nivel de servicio"], cards["Velocidad promedio de asignación"],
                                                 cards["Tasa de abandono"], cards["Tiempo de primera respuesta"])] == [
        (0.25, 0.5, False), (15.0, 30.0, True), (0.5, 0.1, False), (20.0, 60.0, True)]
    assert cards["Nivel de servicio"].threshold_seconds == 10


def test_abandonment_is_split_by_the_close_a_waiting_chat_left_with(center: MetricCenter) -> None:
    """carla takes one chat at once and goes on a break; of two chats left waiting, one customer writes BAJA after a
    minute and the other is closed by the 24-hour rule."""
    center.available("carla")
    center.identified(next(CUSTOMERS))
    center.on_break("carla")
    silent, leaving = next(CUSTOMERS), next(CUSTOMERS)
    center.identified(silent)
    center.identified(leaving)
    center.advance(60)
    center.customer_writes(leaving, "BAJA")
    center.advance(24 * 3600)
    center.run_timers()

    counters = center.campaign_row(center.banco, DAY).counters
    assert (counters["queue_assigned"], counters["queue_abandoned"], counters["abandoned_auto_24h"],
            counters["abandoned_opt_out"], counters["abandoned_supervisor"]) == (1, 2, 1, 1, 0)
    values = center.campaign_row(center.banco, DAY).values
    assert (values["abandonment_rate"], values["abandonment_auto_24h"], values["abandonment_opt_out"]) == (
        round(2 / 3, 4), round(1 / 3, 4), round(1 / 3, 4))
