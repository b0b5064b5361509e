"""Signing in: credentials checked, failures counted and recorded, a working session opened (R13)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from uuid import UUID

from application.ports import Clock, FailedLoginLimits
from application.staff import Identity, StaffService
from application.store import EventStore
from domain.common import DomainError
from domain.logins import FailedLogin


class LoginRefusedError(DomainError):
    """Wrong login or password (which one is never said to the caller, only recorded)."""


class LoginThrottledError(DomainError):
    """Too many failures for the account or the address; `seconds` until a login is heard again."""

    def __init__(self, message: str, /, *, seconds: int) -> None:
        super().__init__(message, seconds=seconds)
        self.seconds = seconds


@dataclass(frozen=True)
class SignedIn:
    identity: Identity
    session_id: UUID


class LoginService:
    def __init__(self, store: EventStore, clock: Clock, staff: StaffService, limits: FailedLoginLimits) -> None:
        self.store = store
        self.clock = clock
        self.staff = staff
        self.limits = limits

    def log_in(self, login: str, password: str, *, client_address: str, client: str) -> SignedIn:
        """Refused while the account or the address has failed too often, even with the right password."""
        seconds = self.limits.seconds_blocked(login, client_address)
        if seconds is not None:
            raise LoginThrottledError("Demasiados intentos fallidos; espere %(seconds)s s", seconds=math.ceil(seconds))
        identity, failure = self.staff.check_credentials(login, password)
        if identity is None:
            self.limits.count_failure(login, client_address)
            self.store.save(FailedLogin.record(login, client_address=client_address, client=client,
                                               reason=failure, at=self.clock.now()))
            raise LoginRefusedError("Usuario o contraseña incorrectos")
        self.limits.forget_account(login)
        return SignedIn(identity, self.staff.open_session(UUID(identity.id), client))
