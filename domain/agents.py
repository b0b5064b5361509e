"""Staff who log in: agents (asesores), supervisors, admins and auditors.

The agent aggregate also holds the chats an agent has open, so that taking a chat checks
membership (R1) and capacity (R2) against the same version of the agent that gets saved:
two processes assigning to one agent at once conflict on that version and one of them retries.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.common import DomainError, natural_id, require_aware

ROLES = ("admin", "supervisor", "agent", "auditor")
STATUSES = ("available", "break", "offline")
LANGUAGES = ("es", "en")
"""Languages of the pages; Spanish (Colombia) unless the user chose otherwise."""
LOGIN_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{2,39}$")
MAX_CAPACITY = 50


class AgentError(DomainError):
    pass


class NotCampaignMemberError(AgentError):
    pass


class CapacityExceededError(AgentError):
    pass


class AgentUnavailableError(AgentError):
    pass


class Agent(Aggregate):
    # Class defaults, so an agent restored from a snapshot taken before sessions were recorded on the agent reads
    # as signed in nowhere, with no break reason.
    sessions: Sequence[str] = ()
    """Open sessions, oldest first; one unless parallel sessions are allowed. Replaced, never mutated; a list, as
    a snapshot restores it."""
    status_reason = ""
    signed_out_at: datetime | None = None
    """When the agent's last open session closed (None while signed in, or never signed in): their chats return
    to the queue some minutes after it (a campaign setting)."""
    language = ""
    """The page language the user chose; empty until they choose one. A class default, so an agent
    restored from a snapshot taken before users could choose has made no choice."""

    @staticmethod
    def create_id(login: str, **_: Any) -> UUID:
        return natural_id("agent", login)

    @event("Registered")
    def __init__(self, login: str, name: str, role: str, capacity: int, actor: str,
                 at: datetime) -> None:
        self.login = login
        self.name = name
        self.role = role
        self.capacity = capacity
        self.campaigns: set[str] = set()
        self.active = True
        self.status = "offline"
        self.password_hash = ""
        self.open_chats: set[str] = set()
        self.last_assigned_at: datetime | None = None
        self.token_hashes: dict[str, str] = {}

    @classmethod
    def register(cls, login: str, name: str, role: str, capacity: int, *, actor: str,
                 at: datetime) -> Agent:
        login = login.strip().lower()
        if not LOGIN_PATTERN.match(login):
            raise AgentError("El usuario debe tener 3 a 40 caracteres: minúsculas, números, '.', '-' o '_'")
        _check_profile(name, role, capacity)
        return cls(login=login, name=name.strip(), role=role, capacity=capacity, actor=actor,
                   at=require_aware(at))

    def edit_profile(self, *, name: str, role: str, capacity: int, actor: str, at: datetime) -> None:
        _check_profile(name, role, capacity)
        self._profile_edited(name=name.strip(), role=role, capacity=capacity, actor=actor,
                             at=require_aware(at))

    @event("ProfileEdited")
    def _profile_edited(self, name: str, role: str, capacity: int, actor: str, at: datetime) -> None:
        self.name, self.role, self.capacity = name, role, capacity

    def set_password_hash(self, password_hash: str, *, actor: str, at: datetime) -> None:
        self._password_set(password_hash=password_hash, actor=actor, at=require_aware(at))

    @event("PasswordSet")
    def _password_set(self, password_hash: str, actor: str, at: datetime) -> None:
        self.password_hash = password_hash

    def join_campaign(self, campaign_id: str, *, actor: str, at: datetime) -> None:
        if campaign_id not in self.campaigns:
            self._campaign_joined(campaign_id=campaign_id, actor=actor, at=require_aware(at))

    @event("CampaignJoined")
    def _campaign_joined(self, campaign_id: str, actor: str, at: datetime) -> None:
        self.campaigns.add(campaign_id)

    def leave_campaign(self, campaign_id: str, *, actor: str, at: datetime) -> None:
        if campaign_id in self.campaigns:
            self._campaign_left(campaign_id=campaign_id, actor=actor, at=require_aware(at))

    @event("CampaignLeft")
    def _campaign_left(self, campaign_id: str, actor: str, at: datetime) -> None:
        self.campaigns.discard(campaign_id)

    def set_campaigns(self, campaign_ids: set[str], *, actor: str, at: datetime) -> None:
        for campaign_id in sorted(self.campaigns - campaign_ids):
            self.leave_campaign(campaign_id, actor=actor, at=at)
        for campaign_id in sorted(campaign_ids - self.campaigns):
            self.join_campaign(campaign_id, actor=actor, at=at)

    def deactivate(self, *, actor: str, at: datetime) -> None:
        if self.active:
            self._deactivated(actor=actor, at=require_aware(at))

    @event("Deactivated")
    def _deactivated(self, actor: str, at: datetime) -> None:
        self.active = False
        self.status, self.status_reason = "offline", ""

    def reactivate(self, *, actor: str, at: datetime) -> None:
        if not self.active:
            self._reactivated(actor=actor, at=require_aware(at))

    @event("Reactivated")
    def _reactivated(self, actor: str, at: datetime) -> None:
        self.active = True

    def choose_language(self, language: str, *, actor: str, at: datetime) -> None:
        """Remembered on the account, so the choice follows the user to any browser."""
        if language not in LANGUAGES:
            raise AgentError("Idioma desconocido: use es o en")
        if language != self.language:
            self._language_chosen(language=language, actor=actor, at=require_aware(at))

    @event("LanguageChosen")
    def _language_chosen(self, language: str, actor: str, at: datetime) -> None:
        self.language = language

    def change_status(self, status: str, *, reason: str = "", session_id: str = "", actor: str,
                      at: datetime) -> None:
        """Presence is an interval in the log: available or a break with its reason, only inside an open session
        (R13); the session the command came through is recorded with it."""
        if status not in STATUSES:
            raise AgentError("Estado desconocido: %(status)s", status=status)
        if not self.active and status != "offline":
            raise AgentUnavailableError("La cuenta está desactivada")
        if status != "offline" and not self.sessions:
            raise AgentUnavailableError("Inicie sesión para cambiar de estado")
        if session_id and session_id not in self.sessions:
            raise AgentUnavailableError("La sesión ya está cerrada")
        reason = reason.strip() if status == "break" else ""
        if status == "break" and not reason:
            raise AgentError("Elija el motivo de la pausa")
        if (status, reason) != (self.status, self.status_reason):
            self._status_changed(status=status, reason=reason, session_id=session_id, actor=actor,
                                 at=require_aware(at))

    class StatusChanged(Aggregate.Event):
        """v2 records the break's reason and the session the change came through; before v2 a break had no
        reason and a change no session."""

        class_version = 2
        status: str
        reason: str
        session_id: str
        actor: str
        at: datetime

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["reason"] = ""
            state["session_id"] = ""

    @event(StatusChanged)
    def _status_changed(self, status: str, reason: str, session_id: str, actor: str, at: datetime) -> None:
        self.status = status
        self.status_reason = reason

    def sign_in(self, session_id: str, *, allow_parallel: bool, actor: str, at: datetime) -> list[str]:
        """A new session becomes the agent's; the sessions it replaces (another device) are returned, to be
        closed with reason `replaced`. Tabs of one browser share one session and never sign in twice."""
        if not self.active:
            raise AgentUnavailableError("La cuenta está desactivada")
        replaced = [] if allow_parallel else sorted(self.sessions)
        self._signed_in(session_id=session_id, replaced=replaced, actor=actor, at=require_aware(at))
        return replaced

    @event("SignedIn")
    def _signed_in(self, session_id: str, replaced: list[str], actor: str, at: datetime) -> None:
        self.sessions = [*(s for s in self.sessions if s not in replaced), session_id]
        self.signed_out_at = None
        if replaced and not set(self.sessions) - {session_id}:
            # The replaced sessions' presence does not carry over: the agent chooses again on the new device.
            self.status, self.status_reason = "offline", ""

    @property
    def is_signed_in(self) -> bool:
        return bool(self.sessions)

    def check_session(self, session_id: str) -> None:
        """A command an agent sends must come through one of their open sessions (R13)."""
        if not session_id or session_id not in self.sessions:
            raise AgentUnavailableError("La sesión ya está cerrada")

    def check_break_reason(self, reason: str, allowed: Iterable[str]) -> None:
        """A break's reason is one of the lists of the agent's campaigns."""
        if reason.strip() not in set(allowed):
            raise AgentError("Motivo de pausa desconocido: %(reason)s", reason=reason.strip())

    def sign_out(self, session_id: str, *, reason: str, actor: str, at: datetime) -> None:
        """A session closed (logout, expiry, termination, replacement); without another open session the agent
        is offline from that instant."""
        if session_id in self.sessions:
            self._signed_out(session_id=session_id, reason=reason, actor=actor, at=require_aware(at))

    @event("SignedOut")
    def _signed_out(self, session_id: str, reason: str, actor: str, at: datetime) -> None:
        self.sessions = [s for s in self.sessions if s != session_id]
        if not self.sessions:
            self.status, self.status_reason = "offline", ""
            self.signed_out_at = at

    def take_chat(self, chat_id: str, campaign_id: str, *, exceptional: bool, actor: str,
                  at: datetime) -> None:
        """Accept a chat of a campaign: membership (R1) and capacity (R2) are checked here."""
        self.check_can_take(campaign_id, require_available=not exceptional)
        self._chat_taken(chat_id=chat_id, campaign_id=campaign_id, actor=actor, at=require_aware(at))

    def check_can_take(self, campaign_id: str, *, require_available: bool = True) -> None:
        if not self.active or self.role != "agent":
            raise AgentUnavailableError("%(name)s no puede recibir chats", name=self.name)
        if campaign_id not in self.campaigns:
            raise NotCampaignMemberError("%(name)s no pertenece a la campaña del chat", name=self.name)
        if len(self.open_chats) >= self.capacity:
            raise CapacityExceededError("%(name)s ya tiene %(open)s chats (capacidad %(capacity)s)", name=self.name,
                                        open=len(self.open_chats), capacity=self.capacity)
        if require_available and self.status != "available":
            raise AgentUnavailableError("%(name)s no está disponible", name=self.name)

    @event("ChatTaken")
    def _chat_taken(self, chat_id: str, campaign_id: str, actor: str, at: datetime) -> None:
        self.open_chats.add(chat_id)
        self.last_assigned_at = at

    def release_chat(self, chat_id: str, *, reason: str, actor: str, at: datetime) -> None:
        if chat_id in self.open_chats:
            self._chat_released(chat_id=chat_id, reason=reason, actor=actor, at=require_aware(at))

    @event("ChatReleased")
    def _chat_released(self, chat_id: str, reason: str, actor: str, at: datetime) -> None:
        self.open_chats.discard(chat_id)

    def issue_token(self, token_id: str, token_hash: str, label: str, *, actor: str, at: datetime) -> None:
        self._token_issued(token_id=token_id, token_hash=token_hash, label=label[:80], actor=actor,
                           at=require_aware(at))

    @event("ApiTokenIssued")
    def _token_issued(self, token_id: str, token_hash: str, label: str, actor: str, at: datetime) -> None:
        self.token_hashes[token_id] = token_hash

    def revoke_token(self, token_id: str, *, actor: str, at: datetime) -> None:
        if token_id not in self.token_hashes:
            raise AgentError("Token desconocido")
        self._token_revoked(token_id=token_id, actor=actor, at=require_aware(at))

    @event("ApiTokenRevoked")
    def _token_revoked(self, token_id: str, actor: str, at: datetime) -> None:
        self.token_hashes.pop(token_id, None)


def presence(status: str, has_open_session: bool) -> str:
    """What routing and supervisors go by: available only with an open session (R17); a break stays a break."""
    if status == "available" and has_open_session:
        return "available"
    return "break" if status == "break" and has_open_session else "offline"


def _check_profile(name: str, role: str, capacity: int) -> None:
    if not name.strip() or len(name) > 120:
        raise AgentError("El nombre es obligatorio (hasta 120 caracteres)")
    if role not in ROLES:
        raise AgentError("Rol desconocido: %(role)s", role=role)
    if not 1 <= capacity <= MAX_CAPACITY:
        raise AgentError("La capacidad debe estar entre 1 y %(most)s chats", most=MAX_CAPACITY)
