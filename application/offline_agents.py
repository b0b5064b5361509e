"""Chats whose agent went offline (logout, expiry, termination) with them open (R17).

A timer, at the injected clock's now: the chat's supervisors get an `agent_offline` alert, once per
absence, and once the campaign's `offline_requeue_minutes` have passed since the agent signed out the
chat returns to the queue (`Chat.Requeued`, explained), the agent released in the same save; the
routing follower then dispatches it like any waiting chat. The read side only proposes chats; each is
decided on its aggregates, so running the timer twice or in two workers changes nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol
from uuid import UUID

from application.store import EventStore, retry_on_conflict
from domain.agents import Agent
from domain.campaigns import Campaign
from domain.chats import AGENT_OFFLINE, Chat

OFFLINE_TIMER = "system:presence"


class OfflineDirectory(Protocol):
    def chats_of_offline_agents(self) -> list[str]:
        """Ids of assigned chats whose agent has no open session, as the read side saw it."""


@dataclass
class OfflineRun:
    alerts: int = 0
    requeued: int = 0


class OfflineAgentChats:
    def __init__(self, store: EventStore, directory: OfflineDirectory) -> None:
        self.store = store
        self.directory = directory

    def run(self, now: datetime) -> OfflineRun:
        run = OfflineRun()
        for chat_id in self.directory.chats_of_offline_agents():
            alerted, requeued = self._decide(chat_id, now)
            run.alerts += alerted
            run.requeued += requeued
        return run

    def _decide(self, chat_id: str, now: datetime) -> tuple[bool, bool]:
        decided: tuple[bool, bool] = retry_on_conflict(lambda: self._apply(chat_id, now))
        return decided

    def _apply(self, chat_id: str, now: datetime) -> tuple[bool, bool]:
        chat: Chat = self.store.repository.get(UUID(chat_id))
        if chat.status != "assigned":
            return False, False
        agent: Agent = self.store.repository.get(UUID(chat.agent_id))
        since = agent.signed_out_at
        if agent.is_signed_in or since is None or str(chat.id) not in agent.open_chats:
            return False, False
        alerted = since not in chat.offline_alerts
        chat.raise_agent_offline_alert(since, actor=OFFLINE_TIMER, at=now)
        requeued = now - since >= self._requeue_after(chat)
        if requeued:
            chat.requeue(AGENT_OFFLINE, offline_since=since, actor=OFFLINE_TIMER, at=now)
            agent.release_chat(str(chat.id), reason="requeued", actor=OFFLINE_TIMER, at=now)
        if alerted or requeued:
            self.store.save(chat, agent)
        return alerted, requeued

    def _requeue_after(self, chat: Chat) -> timedelta:
        campaign: Campaign = self.store.repository.get(UUID(chat.campaign_id))
        return timedelta(minutes=campaign.settings.offline_requeue_minutes)
