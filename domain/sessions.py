"""An agent's working session: from login to logout or expiry (R13)."""

from __future__ import annotations

from datetime import datetime

from eventsourcing.domain import Aggregate, event

from domain.common import DomainError, require_aware

CLOSE_REASONS = ("logout", "expired", "deactivated")


class SessionError(DomainError):
    pass


class AgentSession(Aggregate):
    @event("Opened")
    def __init__(self, agent_id: str, client: str, actor: str, at: datetime) -> None:
        self.agent_id = agent_id
        self.client = client
        self.opened_at = at
        self.closed_at: datetime | None = None
        self.close_reason = ""

    @classmethod
    def open(cls, agent_id: str, *, client: str, actor: str, at: datetime) -> AgentSession:
        return cls(agent_id=agent_id, client=client[:200], actor=actor, at=require_aware(at))

    @property
    def is_open(self) -> bool:
        return self.closed_at is None

    def close(self, reason: str, *, actor: str, at: datetime) -> None:
        if reason not in CLOSE_REASONS:
            raise SessionError("Motivo de cierre de sesión desconocido: %(reason)s", reason=reason)
        if self.is_open:
            self._closed(reason=reason, actor=actor, at=max(require_aware(at), self.opened_at))

    @event("Closed")
    def _closed(self, reason: str, actor: str, at: datetime) -> None:
        self.closed_at = at
        self.close_reason = reason
