"""Failed sign-in attempts, kept for admins and auditors: who was tried, from where, and why it failed."""

from __future__ import annotations

from datetime import datetime

from eventsourcing.domain import Aggregate, event

from domain.common import DomainError, require_aware

FAILURE_REASONS = ("unknown_login", "wrong_password", "inactive_account")


class LoginError(DomainError):
    pass


class FailedLogin(Aggregate):
    @event("Recorded")
    def __init__(self, login: str, client_address: str, client: str, reason: str, actor: str, at: datetime) -> None:
        self.login = login
        self.client_address = client_address
        self.client = client
        self.reason = reason

    @classmethod
    def record(cls, login: str, *, client_address: str, client: str, reason: str, at: datetime) -> FailedLogin:
        if reason not in FAILURE_REASONS:
            raise LoginError("Motivo de fallo de inicio de sesión desconocido: %(reason)s", reason=reason)
        return cls(login=login.strip().lower()[:80], client_address=client_address[:64], client=client[:200],
                   reason=reason, actor="anonymous", at=require_aware(at))
