"""What every aggregate shares: who did it, when, and how natural keys become ids."""

from __future__ import annotations

from datetime import datetime
from uuid import NAMESPACE_URL, UUID, uuid5

DESPACHO_NAMESPACE = uuid5(NAMESPACE_URL, "https://despacho.local/ids")

SYSTEM = "system"
"""Actor for decisions the system takes on its own (routing, timers)."""


class DomainError(Exception):
    """A command was refused by a rule of the domain; the message is for users.

    `message` is the Spanish msgid of the pages' catalogue, with `%(name)s` placeholders filled from
    `variables`: `str()` is the Spanish text, and pages show the message in the user's language.
    """

    def __init__(self, message: str, /, **variables: object) -> None:
        super().__init__(message % variables if variables else message)
        self.message = message
        self.variables = variables


class NotFoundError(DomainError):
    """The command names something that does not exist (an unknown campaign, agent, upload)."""


class NotAllowedError(DomainError):
    """The command is switched off for this installation or this caller (e.g. manual assignment)."""


def natural_id(kind: str, key: str) -> UUID:
    """Deterministic id for an aggregate identified by a natural key (a login, a code, a SID)."""
    return uuid5(DESPACHO_NAMESPACE, f"{kind}:{key}")


def actor_for_user(user_id: UUID | str) -> str:
    return f"user:{user_id}"


def actor_for_customer(address: str) -> str:
    return f"customer:{address}"


def require_aware(at: datetime) -> datetime:
    """Domain time always carries its zone: naive datetimes are a programming error."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise DomainError("La hora de un evento debe incluir zona horaria")
    return at
