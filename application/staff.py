"""Use cases for staff accounts: registration, campaigns, passwords, tokens, sessions (R13)."""

from __future__ import annotations

import contextlib
import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from application.ports import Clock, PasswordHasher
from application.store import EventStore, retry_on_conflict
from domain.agents import Agent, AgentError
from domain.common import NotFoundError
from domain.sessions import AgentSession

MIN_PASSWORD_LENGTH = 10
TOKEN_PREFIX = "dsp"  # noqa: S105 - a public prefix, not a secret
# How finely a session's last activity is recorded: one event per step at most, and always well under the idle limit.
MAX_ACTIVITY_RESOLUTION = timedelta(minutes=5)
DEFAULT_SESSION_IDLE = timedelta(hours=8)


class AgentExistsError(AgentError):
    pass


class WeakPasswordError(AgentError):
    pass


class UnknownAgentError(AgentError, NotFoundError):
    pass


@dataclass(frozen=True)
class Identity:
    """Who is calling: enough for permission checks, nothing secret."""

    id: str
    login: str
    name: str
    role: str
    campaigns: frozenset[str]
    language: str = ""
    """The page language the user chose ("es", "en"), empty if they never chose."""


class StaffService:
    def __init__(self, store: EventStore, clock: Clock, passwords: PasswordHasher, *,
                 session_idle: timedelta = DEFAULT_SESSION_IDLE) -> None:
        self.store = store
        self.clock = clock
        self.passwords = passwords
        self.session_idle = session_idle
        self.activity_resolution = min(MAX_ACTIVITY_RESOLUTION, session_idle / 10)

    def register(self, login: str, name: str, role: str, *, password: str, capacity: int = 5,
                 campaign_ids: frozenset[str] = frozenset(), actor: str) -> UUID:
        _check_password(password)
        now = self.clock.now()
        agent = Agent.register(login, name, role, capacity, actor=actor, at=now)
        agent.set_password_hash(self.passwords.hash(password), actor=actor, at=now)
        agent.set_campaigns(set(campaign_ids), actor=actor, at=now)
        try:
            self.store.save(agent)
        except IntegrityError as exc:
            raise AgentExistsError("Ya existe un usuario '%(login)s'", login=agent.login) from exc
        return agent.id

    def edit(self, agent_id: UUID, *, name: str, role: str, capacity: int,
             campaign_ids: frozenset[str], actor: str) -> None:
        def command() -> None:
            agent = self.get(agent_id)
            now = self.clock.now()
            agent.edit_profile(name=name, role=role, capacity=capacity, actor=actor, at=now)
            agent.set_campaigns(set(campaign_ids), actor=actor, at=now)
            self.store.save(agent)
        retry_on_conflict(command)

    def set_password(self, agent_id: UUID, password: str, *, actor: str) -> None:
        _check_password(password)
        password_hash = self.passwords.hash(password)

        def command() -> None:
            agent = self.get(agent_id)
            agent.set_password_hash(password_hash, actor=actor, at=self.clock.now())
            self.store.save(agent)
        retry_on_conflict(command)

    def set_active(self, agent_id: UUID, active: bool, *, actor: str) -> None:
        def command() -> None:
            agent = self.get(agent_id)
            if active:
                agent.reactivate(actor=actor, at=self.clock.now())
            else:
                agent.deactivate(actor=actor, at=self.clock.now())
            self.store.save(agent)
        retry_on_conflict(command)

    def change_status(self, agent_id: UUID, status: str, *, actor: str) -> None:
        def command() -> None:
            agent = self.get(agent_id)
            agent.change_status(status, actor=actor, at=self.clock.now())
            self.store.save(agent)
        retry_on_conflict(command)

    def choose_language(self, agent_id: UUID, language: str, *, actor: str) -> None:
        def command() -> None:
            agent = self.get(agent_id)
            agent.choose_language(language, actor=actor, at=self.clock.now())
            self.store.save(agent)
        retry_on_conflict(command)

    def authenticate(self, login: str, password: str) -> Identity | None:
        return self.check_credentials(login, password)[0]

    def check_credentials(self, login: str, password: str) -> tuple[Identity | None, str]:
        """The identity, or None and why not (`unknown_login`, `inactive_account`, `wrong_password`)."""
        agent = self.find_by_login(login)
        if agent is None:
            return None, "unknown_login"
        if not self.passwords.verify(agent.password_hash, password):
            return None, "wrong_password"
        if not agent.active:
            return None, "inactive_account"
        return identity_of(agent), ""

    def issue_token(self, agent_id: UUID, label: str, *, actor: str) -> str:
        """A bearer token `dsp_<agent hex>_<token id>_<secret>`; only its digest is stored."""
        token_id, secret = secrets.token_hex(4), secrets.token_urlsafe(32)

        def command() -> None:
            agent = self.get(agent_id)
            agent.issue_token(token_id, _digest(secret), label, actor=actor, at=self.clock.now())
            self.store.save(agent)
        retry_on_conflict(command)
        return f"{TOKEN_PREFIX}_{agent_id.hex}_{token_id}_{secret}"

    def verify_token(self, token: str) -> Identity | None:
        parts = token.split("_", 3)
        if len(parts) != 4 or parts[0] != TOKEN_PREFIX:
            return None
        try:
            agent = self.get(UUID(hex=parts[1]))
        except (ValueError, AgentError):
            return None
        expected = agent.token_hashes.get(parts[2])
        if not agent.active or expected is None or not secrets.compare_digest(expected, _digest(parts[3])):
            return None
        return identity_of(agent)

    def open_session(self, agent_id: UUID, client: str) -> UUID:
        session = AgentSession.open(str(agent_id), client=client, actor=f"user:{agent_id}",
                                    at=self.clock.now())
        self.store.save(session)
        return session.id

    def close_session(self, session_id: UUID, reason: str, *, actor: str) -> None:
        def command() -> None:
            session = self._session(session_id)
            if session is not None:
                session.close(reason, actor=actor, at=self.clock.now())
                self.store.save(session)
        retry_on_conflict(command)

    def session_identity(self, session_id: UUID, agent_id: str) -> Identity | None:
        """Who may act through this session: only while it is open and not idle (an idle one is closed as
        expired) and its agent is active. None means its cookie must be refused, every copy of it."""
        session = self._session(session_id)
        if session is None or not session.is_open or session.agent_id != agent_id:
            return None
        now = self.clock.now()
        if session.is_idle(now, self.session_idle):
            self.close_idle_session(session_id)
            return None
        agent = self.find(agent_id)
        if agent is None or not agent.active:
            return None
        if session.record_activity(at=now, resolution=self.activity_resolution):
            # A concurrent request of the same session may have recorded this activity first.
            with contextlib.suppress(IntegrityError):
                self.store.save(session)
        return identity_of(agent)

    def close_idle_session(self, session_id: UUID) -> None:
        def command() -> None:
            session = self._session(session_id)
            if session is not None and session.is_open and session.is_idle(self.clock.now(), self.session_idle):
                session.expire(actor="system:sessions")
                self.store.save(session)
        retry_on_conflict(command)

    def _session(self, session_id: UUID) -> AgentSession | None:
        try:
            session: AgentSession = self.store.repository.get(session_id)
        except AggregateNotFoundError:
            return None
        return session if isinstance(session, AgentSession) else None

    def find(self, agent_id: str) -> Agent | None:
        try:
            return self.get(UUID(agent_id))
        except (ValueError, AgentError):
            return None

    def find_by_login(self, login: str) -> Agent | None:
        try:
            return self.get(Agent.create_id(login.strip().lower()))
        except AgentError:
            return None

    def get(self, agent_id: UUID) -> Agent:
        try:
            agent: Agent = self.store.repository.get(agent_id)
        except AggregateNotFoundError as exc:
            raise UnknownAgentError("Usuario desconocido") from exc
        return agent


def may_manage(identity: Identity, roles: set[str], before: frozenset[str], after: frozenset[str]) -> bool:
    """Admins manage anyone. A supervisor manages agents who work in one of their campaigns, and
    only adds or removes campaigns they supervise (a new agent: all of its campaigns)."""
    if identity.role == "admin":
        return True
    if identity.role != "supervisor" or roles != {"agent"}:
        return False
    return (before ^ after) <= identity.campaigns and bool((before | after) & identity.campaigns)


def identity_of(agent: Agent) -> Identity:
    return Identity(str(agent.id), agent.login, agent.name, agent.role, frozenset(agent.campaigns), agent.language)


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPasswordError("La contraseña debe tener al menos %(least)s caracteres", least=MIN_PASSWORD_LENGTH)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
