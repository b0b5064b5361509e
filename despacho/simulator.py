"""The customer simulator (embedded mode): customers played over the real webhook path.

Every message is a form POST to `/webhooks/twilio/messages` signed exactly as Twilio signs it
(`X-Twilio-Signature` over `DESPACHO_PUBLIC_URL` + path and every parameter), so it goes through
the signature check, the inbox, the worker, the bot and routing like a real one. The page sends
in-process (an httpx client over the app's ASGI interface); `despacho simulate` sends over HTTP to
a running `despacho serve`. Replies are what the fake transport recorded for the customer's address.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from adapters.twilio_signatures import sign, webhook_url
from application.ports import Transport
from despacho.settings import Settings

WEBHOOK_PATH = "/webhooks/twilio/messages"
PROFILE_NAME = "Cliente simulado"
MAX_CUSTOMERS = 200


@dataclass(frozen=True)
class Line:
    """One line of a simulated conversation, from the customer's side."""

    at: datetime
    direction: str  # "in" (the customer wrote) or "out" (the bot or an agent answered)
    body: str
    sender: str = ""


def customer_address(phone: str, to: str) -> str:
    """The customer's address on the channel of the number written to (`whatsapp:+57…` or `+57…`)."""
    number = phone.strip().removeprefix("whatsapp:")
    return f"whatsapp:{number}" if to.startswith("whatsapp:") else number


def random_phones(count: int) -> list[str]:
    """Distinct Colombian mobile numbers unlikely to clash with earlier runs."""
    base = random.randrange(10_000_000)
    return [f"+57300{(base + n) % 10_000_000:07d}" for n in range(count)]


def signed_message(settings: Settings, customer: str, to: str, body: str,
                   media: Sequence[tuple[str, str]] = ()) -> tuple[dict[str, str], dict[str, str]]:
    """The form parameters and headers Twilio would send for this inbound message; `media`: (MediaUrl, type)."""
    params = {"MessageSid": "SM" + uuid.uuid4().hex, "AccountSid": settings.twilio_account_sid, "From": customer,
              "To": to, "Body": body, "ProfileName": PROFILE_NAME, "NumMedia": str(len(media))}
    for index, (media_url, content_type) in enumerate(media):
        params |= {f"MediaUrl{index}": media_url, f"MediaContentType{index}": content_type}
    url = webhook_url(settings.public_url, WEBHOOK_PATH)
    signature = sign(settings.twilio_auth_token.get_secret_value(), url, params)
    return params, {"X-Twilio-Signature": signature}


async def send(client: httpx.AsyncClient, settings: Settings, customer: str, to: str, body: str) -> None:
    params, headers = signed_message(settings, customer, to, body)
    response = await client.post(WEBHOOK_PATH, data=params, headers=headers)
    response.raise_for_status()


def identification_script(document: str, greeting: str = "Hola") -> list[str]:
    """What a customer writes to be identified by the default flow: hello, 1 (cédula), the document."""
    return [greeting, "1", document]


async def play(client: httpx.AsyncClient, settings: Settings, customers: Sequence[str], to: str,
               script: Sequence[str], pause: float = 0.4) -> None:
    """Every customer writes the script in order, all customers at the same time."""
    async def one(customer: str) -> None:
        for body in script:
            await send(client, settings, customer, to, body)
            await asyncio.sleep(pause)

    await asyncio.gather(*(one(c) for c in customers))


def conversation(transport: Transport, written: list[dict[str, Any]], customer: str,
                 replies: set[str]) -> list[Line]:
    """What the customer wrote (read table) and, of what the fake transport delivered to them, the
    messages whose ids are in `replies` (those of chats the viewer may see), in order."""
    lines = [Line(m["at"], "in", m["body"]) for m in written]
    sent_to = getattr(transport, "sent_to", None)
    if sent_to is not None:
        lines += [Line(m.at, "out", m.delivery.body or f"[plantilla {m.delivery.content_sid}]", m.delivery.sender)
                  for m in sent_to(customer) if m.delivery.message_id in replies]
    return sorted(lines, key=lambda line: line.at)


def run_simulation(settings: Settings, *, base_url: str, customers: int, to: str, document: str,
                   pause: float = 0.4) -> list[str]:
    """`despacho simulate`: play `customers` customers against a running server; returns their addresses."""
    addresses = [customer_address(phone, to) for phone in random_phones(min(customers, MAX_CUSTOMERS))]

    async def main() -> None:
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
            await play(client, settings, addresses, to, identification_script(document), pause)

    asyncio.run(main())
    return addresses


def report(settings: Settings, addresses: Sequence[str]) -> list[str]:
    """One line per simulated customer: the status of their latest chat, read from the read tables."""
    from adapters.read_store import make_read_engine
    from projections.desk_queries import chats_of_customer

    engine = make_read_engine(settings.read_store_url)
    try:
        lines = []
        for address in addresses:
            chats = chats_of_customer(engine, address)
            latest = chats[-1] if chats else None
            status = latest["status"] if latest else "sin chat"
            lines.append(f"{address:<26} {status:<14} {(latest or {}).get('agent_id') or ''}")
        return lines
    finally:
        engine.dispose()
