"""An agent's working session: from login to logout or expiry (R13).

The session remembers when it was last used, to a resolution the caller chooses (one event per
step, not per request), so "idle" is a fact of the session itself and not of whichever copy of a
browser cookie is presented.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.common import DomainError, natural_id, require_aware

CLOSE_REASONS = ("logout", "expired", "deactivated", "terminated", "replaced")


class SessionError(DomainError):
    pass


class AgentSession(Aggregate):
    @event("Opened")
    def __init__(self, agent_id: str, client: str, actor: str, at: datetime) -> None:
        self.agent_id = agent_id
        self.client = client
        self.opened_at = at
        self.last_active_at = at
        self.closed_at: datetime | None = None
        self.close_reason = ""

    @classmethod
    def open(cls, agent_id: str, *, client: str, actor: str, at: datetime,
             session_id: UUID | None = None) -> AgentSession:
        """`session_id` for a session whose id is known in advance (an API token's, see `id_for_token`)."""
        if session_id is None:
            return cls(agent_id=agent_id, client=client[:200], actor=actor, at=require_aware(at))
        return cls._create(cls.Opened, id=session_id, agent_id=agent_id,  # type: ignore[attr-defined]
                           client=client[:200], actor=actor, at=require_aware(at))

    @staticmethod
    def id_for_token(agent_id: str, token_id: str) -> UUID:
        """An API token's one session: opened on its first use, and once closed the token is refused for good."""
        return natural_id("token-session", f"{agent_id}:{token_id}")

    @property
    def is_open(self) -> bool:
        return self.closed_at is None

    def is_idle(self, now: datetime, idle_limit: timedelta) -> bool:
        return require_aware(now) - self.last_active_at > idle_limit

    def record_activity(self, *, at: datetime, resolution: timedelta) -> bool:
        """Note that the session is in use; True when that was news at this resolution (an event to save)."""
        if not self.is_open or require_aware(at) - self.last_active_at < resolution:
            return False
        self._active(at=at)
        return True

    def act(self, *, at: datetime) -> None:
        """A command came through the session: its last activity is exactly now, so an expiry stamped at the last
        activity never falls before something the session did."""
        if not self.is_open:
            raise SessionError("La sesión ya está cerrada")
        if require_aware(at) > self.last_active_at:
            self._active(at=at)

    @event("Active")
    def _active(self, at: datetime) -> None:
        self.last_active_at = at

    def end(self, reason: str, *, actor: str, now: datetime) -> datetime:
        """Close for `reason` at the instant that reason means: a logout now, anything else (expiry, termination,
        replacement, deactivation) at the session's last activity, the agent's real work. Returns that instant."""
        at = now if reason == "logout" else self.last_active_at
        self.close(reason, actor=actor, at=at)
        return self.closed_at or at

    def close(self, reason: str, *, actor: str, at: datetime) -> None:
        if reason not in CLOSE_REASONS:
            raise SessionError("Motivo de cierre de sesión desconocido: %(reason)s", reason=reason)
        if self.is_open:
            self._closed(reason=reason, actor=actor, at=max(require_aware(at), self.opened_at))

    @event("Closed")
    def _closed(self, reason: str, actor: str, at: datetime) -> None:
        self.closed_at = at
        self.close_reason = reason
