"""Which live-update topics a viewer may follow (the `/live` stream), by role and campaign.

Topics are what projectors publish after a change: `queue:<campaign>`, `campaign:<campaign>`,
`desk:<agent>`, `chat:<chat>`, `portfolio_job:<job>` and the page-wide `agents`, `campaigns`,
`alerts`, `audit`, `portfolios`. An agent follows their own desk and the chats assigned to them; a
supervisor their campaigns' queues and chats and the desks of agents in those campaigns; admins and
auditors everything (and only they may use a `kind:*` wildcard). What is not allowed is never sent,
and a request left with nothing allowed receives nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from application.staff import Identity

EVERYWHERE = ("admin", "auditor")
STAFF = ("admin", "auditor", "supervisor")
PAGE_TOPICS = {"agents": STAFF, "campaigns": STAFF, "audit": STAFF, "portfolios": EVERYWHERE,
               "alerts": ("admin", "auditor", "supervisor", "agent")}
SCOPED_KINDS = ("queue", "campaign", "desk", "chat", "portfolio_job")


class TopicDirectory(Protocol):
    """What the read side knows now: who works where, and whose a chat is."""

    def campaigns_of(self, staff_id: str) -> set[str]: ...

    def chat_owner(self, chat_id: str) -> tuple[str | None, str | None] | None:
        """(campaign id, assigned agent id) of a chat; None when there is no such chat."""
        ...


class TopicScope:
    def __init__(self, viewer: Identity, directory: TopicDirectory) -> None:
        self.viewer = viewer
        self.directory = directory

    def may_follow(self, topic: str) -> bool:
        """Asked when subscribing, and again on delivery for topics whose answer can change."""
        if topic in PAGE_TOPICS:
            return self.viewer.role in PAGE_TOPICS[topic]
        kind, separator, name = topic.partition(":")
        if not separator or kind not in SCOPED_KINDS:
            return False
        if self.viewer.role in EVERYWHERE:
            return True
        if name == "*" or not name or self.viewer.role not in ("agent", "supervisor"):
            return False
        return self._may_follow_one(kind, name)

    def changes_over_time(self, topic: str) -> bool:
        """Membership and (re)assignment change: such topics are asked again before each delivery."""
        return self.viewer.role not in EVERYWHERE and topic.partition(":")[0] in SCOPED_KINDS

    def _may_follow_one(self, kind: str, name: str) -> bool:
        if self.viewer.role == "agent":
            if kind == "desk":
                return name == self.viewer.id
            return kind == "chat" and self._chat_agent(name) == self.viewer.id
        mine = self.directory.campaigns_of(self.viewer.id)
        if kind in ("queue", "campaign"):
            return name in mine
        if kind == "desk":
            return bool(self.directory.campaigns_of(name) & mine)
        return kind == "chat" and self._chat_campaign(name) in mine

    def _chat_agent(self, chat_id: str) -> str | None:
        owner = self.directory.chat_owner(chat_id)
        return owner[1] if owner else None

    def _chat_campaign(self, chat_id: str) -> str | None:
        owner = self.directory.chat_owner(chat_id)
        return owner[0] if owner else None


class LiveSubscription:
    """The topics one stream asked for, less those its viewer may not follow."""

    def __init__(self, scope: TopicScope, requested: Iterable[str]) -> None:
        self.scope = scope
        self.topics = frozenset(topic for topic in requested if scope.may_follow(topic))

    def wants(self, topic: str) -> bool:
        return topic in self.topics or f"{topic.partition(':')[0]}:*" in self.topics

    def needs_recheck(self, topic: str) -> bool:
        return self.scope.changes_over_time(topic)

    def still_allowed(self, topic: str) -> bool:
        return self.scope.may_follow(topic)
