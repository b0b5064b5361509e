"""Simulated agents, each with a bearer token: available from the start, they poll their open chats, answer a
customer's message within a few seconds and close the chat with a disposition after a few answers (or, once the
run is over, every chat they still hold)."""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from despacho.loadtest.campaign_setup import DISPOSITION, Agent
from despacho.loadtest.figures import Measures

POLL_SECONDS = 1.0
REPLIES_BEFORE_CLOSE = 3
OPEN_CHATS = {"state": "open", "fresh": "false"}


@dataclass
class Desk:
    """One agent's client and what they remember of their chats."""

    agent: Agent
    client: httpx.AsyncClient
    measures: Measures
    reply_seconds: float
    me: str = ""
    replies: dict[str, int] = field(default_factory=dict)
    answered: dict[str, str] = field(default_factory=dict)  # chat → the customer message last answered
    closed: set[str] = field(default_factory=set)
    busy: set[str] = field(default_factory=set)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.agent.token}"}


async def work(desk: Desk, closing: asyncio.Event) -> None:
    """Available until `closing` is set and every held chat is closed."""
    desk.me = (await desk.client.get("/api/me", headers=desk.auth)).json()["id"]
    changed = await desk.client.put("/api/agents/me/status", headers=desk.auth, json={"status": "available"})
    changed.raise_for_status()
    while True:
        held = [chat_id for chat_id in await held_chats(desk) if chat_id not in desk.closed]
        if closing.is_set() and not held and not desk.busy:
            return
        for chat_id in held:
            if chat_id not in desk.busy:
                desk.busy.add(chat_id)
                task = asyncio.create_task(attend(desk, chat_id, closing))
                desk.tasks.add(task)
                task.add_done_callback(desk.tasks.discard)
        await asyncio.sleep(POLL_SECONDS)


async def held_chats(desk: Desk) -> list[str]:
    found = (await desk.client.get("/api/search/chats", headers=desk.auth, params=OPEN_CHATS)).json()
    return [chat["id"] for chat in found["chats"] if chat["status"] == "assigned" and chat["agent_id"] == desk.me]


async def attend(desk: Desk, chat_id: str, closing: asyncio.Event) -> None:
    try:
        await answer_or_close(desk, chat_id, closing)
    except httpx.HTTPError:
        desk.measures.agent_requests_refused += 1
    finally:
        desk.busy.discard(chat_id)


async def answer_or_close(desk: Desk, chat_id: str, closing: asyncio.Event) -> None:
    view = (await desk.client.get(f"/api/chats/{chat_id}", headers=desk.auth)).raise_for_status().json()
    if chat_id not in desk.replies:
        desk.replies[chat_id] = 0
        desk.measures.record("queue_to_assignment", waited_in_queue(view["chat"]))
    if closing.is_set() or desk.replies[chat_id] >= REPLIES_BEFORE_CLOSE:
        await close(desk, chat_id)
    elif (last := unanswered(view["timeline"])) and desk.answered.get(chat_id) != last:
        await asyncio.sleep(random.uniform(0.3, 1.0) * desk.reply_seconds)
        await reply(desk, chat_id)
        desk.answered[chat_id] = last


def unanswered(timeline: list[dict[str, Any]]) -> str:
    """The customer's message the chat ends with, if it does (the read tables may lag behind a reply just sent)."""
    return str(timeline[-1]["id"]) if timeline and timeline[-1]["author_kind"] == "customer" else ""


def waited_in_queue(chat: dict[str, Any]) -> float:
    queued, assigned = chat.get("queued_at"), chat.get("assigned_at")
    if not queued or not assigned:
        return 0.0
    return max(0.0, (datetime.fromisoformat(assigned) - datetime.fromisoformat(queued)).total_seconds())


async def reply(desk: Desk, chat_id: str) -> None:
    posted = time.monotonic()
    response = await desk.client.post(f"/api/chats/{chat_id}/replies", headers=desk.auth,
                                      json={"body": f"Con gusto le ayudo. Respuesta {desk.replies[chat_id] + 1}."})
    response.raise_for_status()
    desk.measures.reply_posted[response.json()["message_id"]] = posted
    desk.measures.agent_replies += 1
    desk.replies[chat_id] += 1


async def close(desk: Desk, chat_id: str) -> None:
    response = await desk.client.post(f"/api/chats/{chat_id}/close", headers=desk.auth,
                                      json={"disposition": DISPOSITION, "note": "prueba de carga"})
    response.raise_for_status()
    desk.closed.add(chat_id)
    desk.measures.closes += 1
