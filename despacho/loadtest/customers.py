"""Simulated customers: each writes over the signed webhook, identifies themself with their document, asks a
few questions waiting for each answer on their phone, and starts over once the agent has closed the chat."""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass

import httpx

from despacho.loadtest.campaign_setup import CLOSING_MESSAGE
from despacho.loadtest.figures import Measures
from despacho.loadtest.phones import Arrival, Phones
from despacho.settings import Settings
from despacho.simulator import WEBHOOK_PATH, identification_script, signed_message

QUESTIONS = ("¿Cuánto debo a la fecha?", "¿Puedo pagar en dos cuotas?", "¿Dónde pago?")  # one per agent reply
ANSWER_WAIT_SECONDS = 30.0
POLL_SECONDS = 0.1


@dataclass(frozen=True)
class Customer:
    address: str
    document: str


@dataclass(frozen=True)
class Line:
    """What every customer shares: the deployment, the number they write to, their phones and the figures."""

    client: httpx.AsyncClient
    settings: Settings
    number: str
    phones: Phones
    measures: Measures
    in_flight: asyncio.Semaphore
    think_seconds: float
    until: float


async def live(customer: Customer, line: Line) -> None:
    """Conversation after conversation until the run's time is up (the one under way is finished)."""
    await asyncio.sleep(random.uniform(0, line.think_seconds * 2))  # customers do not all write at once
    while time.monotonic() < line.until:
        await converse(customer, line)
        await think(line)


async def converse(customer: Customer, line: Line) -> None:
    line.measures.conversations += 1
    greeting, *identification = identification_script(customer.document)
    began = time.monotonic()
    first = await say(customer, line, greeting)
    if first is not None:
        line.measures.record("first_bot_reply", first.at - began)
    for body in identification:
        await think(line)
        await say(customer, line, body)
    for question in QUESTIONS:
        await think(line)
        answer = await say(customer, line, question)
        if answer is None or closed_by(answer):  # no answer in time, or the closing confirmation
            return
    await until_closed(customer, line)


async def say(customer: Customer, line: Line, body: str) -> Arrival | None:
    """Write `body`; the first message that reaches the customer afterwards, if one does in time."""
    seen = len(line.phones.inbox(customer.address))
    await post(customer, line, body)
    return await next_arrival(customer, line, seen)


async def post(customer: Customer, line: Line, body: str) -> None:
    params, headers = signed_message(line.settings, customer.address, line.number, body)
    async with line.in_flight:
        sent = time.monotonic()
        response = await line.client.post(WEBHOOK_PATH, data=params, headers=headers)
        line.measures.record("webhook_answer", time.monotonic() - sent)
    line.measures.webhooks += 1
    if response.status_code == 200:
        line.measures.sent_sids.append(params["MessageSid"])
    else:
        line.measures.webhooks_refused += 1


async def next_arrival(customer: Customer, line: Line, seen: int,
                       seconds: float = ANSWER_WAIT_SECONDS) -> Arrival | None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        inbox = line.phones.inbox(customer.address)
        if len(inbox) > seen:
            return inbox[seen]
        await asyncio.sleep(POLL_SECONDS)
    return None


async def until_closed(customer: Customer, line: Line) -> None:
    seen = len(line.phones.inbox(customer.address))
    while (arrival := await next_arrival(customer, line, seen)) is not None and not closed_by(arrival):
        seen += 1


def closed_by(arrival: Arrival) -> bool:
    """The closing confirmation: the campaign's closing text (a template outside the 24-hour window)."""
    return arrival.body == CLOSING_MESSAGE or arrival.content_sid is not None


async def think(line: Line) -> None:
    await asyncio.sleep(random.uniform(0.5, 1.5) * line.think_seconds)
