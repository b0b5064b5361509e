"""One load run: set the campaign up, let customers and agents work for the given minutes, wait for the
deployment to settle, count the invariants and gather the figures."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from despacho.bootstrap import build
from despacho.loadtest.agents import Desk, work
from despacho.loadtest.campaign_setup import Floor, set_up
from despacho.loadtest.customers import Customer, Line, live
from despacho.loadtest.figures import Measures, Report
from despacho.loadtest.invariants import count_invariants, settle
from despacho.loadtest.phones import Phones
from despacho.settings import Settings
from despacho.simulator import customer_address, random_phones


@dataclass(frozen=True)
class LoadPlan:
    base_url: str
    admin_login: str
    admin_password: str
    customers: int
    minutes: float
    agents: int
    concurrency: int = 20
    think_seconds: float = 2.0
    reply_seconds: float = 3.0
    settle_seconds: float = 180.0


def run_load(settings: Settings, plan: LoadPlan, phones: Phones) -> Report:
    since = datetime.now(UTC)
    floor, measures, seconds = asyncio.run(drive(settings, plan, phones))
    despacho = build(settings)
    try:
        settle(despacho, floor.campaign_id, phones.arrivals, plan.settle_seconds)
        invariants = count_invariants(despacho, floor.campaign_id, measures.sent_sids, phones.arrivals(), since)
    finally:
        despacho.close()
    arrivals = phones.arrivals()
    for message_id, posted in measures.reply_posted.items():
        if message_id in arrivals:
            measures.record("agent_reply_sent", arrivals[message_id][0] - posted)
    return Report(customers=plan.customers, agents=plan.agents, seconds=seconds, measures=measures,
                  invariants=invariants)


async def drive(settings: Settings, plan: LoadPlan, phones: Phones) -> tuple[Floor, Measures, float]:
    async with httpx.AsyncClient(base_url=plan.base_url, timeout=30) as admin:
        floor = await set_up(admin, plan.admin_login, plan.admin_password, plan.customers, plan.agents)
    addresses = [customer_address(phone, floor.number) for phone in random_phones(plan.customers)]
    limits = httpx.Limits(max_connections=plan.concurrency + 2 * plan.agents)
    async with httpx.AsyncClient(base_url=plan.base_url, timeout=30, limits=limits) as client:
        measures = Measures()
        line = Line(client, settings, floor.number, phones, measures, asyncio.Semaphore(plan.concurrency),
                    plan.think_seconds, until=time.monotonic() + plan.minutes * 60)
        closing = asyncio.Event()
        desks = [Desk(agent, client, measures, plan.reply_seconds) for agent in floor.agents]
        working = asyncio.gather(*(work(desk, closing) for desk in desks))
        await asyncio.gather(*(live(Customer(address, document), line)
                               for address, document in zip(addresses, floor.documents, strict=True)))
        seconds = time.monotonic() - measures.started
        closing.set()  # every chat still held is closed, so every close is audited too
        await asyncio.wait_for(working, timeout=plan.settle_seconds)
    return floor, measures, seconds
