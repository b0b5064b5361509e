"""An auditor's look into the past, itself on record: who asked for the state as of which instant, of which campaign
or chat, and when they asked. Each lookup is its own aggregate, so concurrent lookups never contend."""

from __future__ import annotations

from datetime import datetime

from eventsourcing.domain import Aggregate, event

from domain.common import DomainError, require_aware

THROUGH = ("page", "cli")
MAX_OS_USER_LENGTH = 64


class AuditLookupError(DomainError):
    pass


class AuditLookup(Aggregate):
    @event("Looked")
    def __init__(self, instant: datetime, campaign_id: str, chat_id: str, through: str, os_user: str, actor: str,
                 at: datetime) -> None:
        self.instant = instant
        self.campaign_id = campaign_id
        self.chat_id = chat_id
        self.through = through
        self.os_user = os_user
        self.looked_at = at

    @classmethod
    def record(cls, instant: datetime, *, campaign_id: str, chat_id: str, through: str, os_user: str = "",
               actor: str, at: datetime) -> AuditLookup:
        """`through`: the auditor's page or the command line; `os_user`: the operating-system account a command
        ran under ("" from the page, where `actor` is the signed-in user)."""
        if through not in THROUGH:
            raise AuditLookupError("Consulta de auditoría por un medio desconocido: %(through)s", through=through)
        return cls(instant=require_aware(instant), campaign_id=campaign_id, chat_id=chat_id, through=through,
                   os_user=os_user[:MAX_OS_USER_LENGTH], actor=actor, at=require_aware(at))
