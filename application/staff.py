"""Use cases for staff accounts: registration, campaigns, passwords, tokens, sessions (R13)."""

from __future__ import annotations

import contextlib
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from application.ports import Clock, PasswordHasher
from application.store import EventStore, retry_on_conflict
from domain.agents import Agent, AgentError, AgentUnavailableError
from domain.campaigns import DEFAULT_BREAK_REASONS, Campaign, CampaignSettings
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


class SessionClosedError(AgentUnavailableError):
    """The command came through no open session of the agent (logged out, expired, terminated, replaced)."""


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
        """A deactivated account's sessions close at once (reason `deactivated`), then the account."""
        if not active:
            for session_id in self.get(agent_id).sessions:
                self.close_session(UUID(session_id), "deactivated", actor=actor)

        def command() -> None:
            agent = self.get(agent_id)
            if active:
                agent.reactivate(actor=actor, at=self.clock.now())
            else:
                agent.deactivate(actor=actor, at=self.clock.now())
            self.store.save(agent)
        retry_on_conflict(command)

    def change_status(self, agent_id: UUID, status: str, *, session_id: UUID | str, reason: str = "",
                      actor: str) -> None:
        """Available, a break with one of the reasons of the agent's campaigns, or offline; through an open
        session, which the change is recorded with (R13, R17)."""
        def command() -> None:
            agent = self.get(agent_id)
            now = self.clock.now()
            session = self.acting_session(str(session_id), agent, now)
            if status == "break":
                agent.check_break_reason(reason, self.break_reasons(agent))
            agent.change_status(status, reason=reason, session_id=str(session_id), actor=actor, at=now)
            self.store.save(agent, session)
        retry_on_conflict(command)

    def break_reasons(self, agent: Agent) -> list[str]:
        """The reasons an agent may give for a break: those of their campaigns, in the campaigns' order."""
        reasons: dict[str, None] = {}
        for settings in self._campaign_settings(agent):
            reasons.update(dict.fromkeys(settings.break_reasons))
        return list(reasons) or list(DEFAULT_BREAK_REASONS)

    def idle_limit(self, agent: Agent) -> timedelta:
        """The global idle limit, or a campaign's shorter one: an agent of several campaigns gets the shortest."""
        overrides = [timedelta(minutes=s.session_idle_minutes) for s in self._campaign_settings(agent)
                     if s.session_idle_minutes]
        return min([self.session_idle, *overrides])

    def allows_parallel_sessions(self, agent: Agent) -> bool:
        """An agent works on two devices at once only when every campaign of theirs allows it (none does by
        default); other staff (supervisors, admins, auditors) take no chats and may sign in wherever they are."""
        if agent.role != "agent":
            return True
        settings = self._campaign_settings(agent)
        return bool(settings) and all(s.allow_parallel_sessions for s in settings)

    def _campaign_settings(self, agent: Agent) -> list[CampaignSettings]:
        found = []
        for campaign_id in sorted(agent.campaigns):
            with contextlib.suppress(AggregateNotFoundError, ValueError):
                campaign: object = self.store.repository.get(UUID(campaign_id))
                if isinstance(campaign, Campaign):
                    found.append(campaign.settings)
        return found

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

    def token_identity(self, token: str, *, client: str) -> tuple[Identity, str] | None:
        """Who a bearer token speaks for, and the session it acts through. An agent's token opens its own session
        on first use (a login from another device, R18), keeps it alive by being used, and is refused for good
        once that session closed; other staff's tokens (reports, the data team) carry no session."""
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
        if agent.role != "agent":
            return identity_of(agent), ""
        session_id = AgentSession.id_for_token(str(agent.id), parts[2])
        if self._session(session_id) is None:
            with contextlib.suppress(IntegrityError):  # a concurrent first use opened it
                self.open_session(agent.id, f"api:{client}", session_id=session_id)
        identity = self.session_identity(session_id, str(agent.id))
        return (identity, str(session_id)) if identity else None

    def open_session(self, agent_id: UUID, client: str, *, session_id: UUID | None = None) -> UUID:
        """A login: a new session and the agent signed in through it, in one save. The sessions it replaces (on
        another device, unless the agent's campaigns allow both) close with reason `replaced`."""
        def command() -> UUID:
            agent = self.get(agent_id)
            now = self.clock.now()
            session = AgentSession.open(str(agent_id), client=client, actor=f"user:{agent_id}", at=now,
                                        session_id=session_id)
            replaced = agent.sign_in(str(session.id), allow_parallel=self.allows_parallel_sessions(agent),
                                     actor=f"user:{agent_id}", at=now)
            closed = [self._ended(UUID(old), "replaced", "system:sessions", now) for old in replaced]
            self.store.save(session, agent, *[c for c in closed if c is not None])
            return session.id
        opened: UUID = retry_on_conflict(command)
        return opened

    def close_session(self, session_id: UUID, reason: str, *, actor: str) -> None:
        """Logout, termination, expiry: the session closes at the instant its reason means, and the agent signs
        out of it then (offline, when it was their only one)."""
        def command() -> None:
            session = self._session(session_id)
            if session is None or not session.is_open:
                return
            at = session.end(reason, actor=actor, now=self.clock.now())
            agent = self.find(session.agent_id)
            if agent is not None:
                agent.sign_out(str(session_id), reason=reason, actor=actor, at=at)
            self.store.save(session, *([agent] if agent is not None else []))
        retry_on_conflict(command)

    def terminate_sessions(self, agent_id: UUID, *, actor: str) -> int:
        """An admin ends every open session of a user at once; returns how many there were."""
        sessions = list(self.get(agent_id).sessions)
        for session_id in sessions:
            self.close_session(UUID(session_id), "terminated", actor=actor)
        return len(sessions)

    def session_identity(self, session_id: UUID, agent_id: str) -> Identity | None:
        """Who may act through this session: only while it is open and not idle (an idle one is closed as
        expired), its agent is active and signed in through it. None means its cookie (or token) must be refused,
        every copy of it."""
        session = self._session(session_id)
        if session is None or not session.is_open or session.agent_id != agent_id:
            return None
        agent = self.find(agent_id)
        if agent is None or not agent.active or str(session_id) not in agent.sessions:
            return None
        now, limit = self.clock.now(), self.idle_limit(agent)
        if session.is_idle(now, limit):
            self.close_idle_session(session_id)
            return None
        if session.record_activity(at=now, resolution=min(self.activity_resolution, limit / 10)):
            # A concurrent request of the same session may have recorded this activity first.
            with contextlib.suppress(IntegrityError):
                self.store.save(session)
        return identity_of(agent)

    def acting_session(self, session_id: str, agent: Agent, now: datetime) -> AgentSession:
        """The open session an agent's command comes through, its activity recorded at `now`; save it with the
        command, so a close that got there first makes the command conflict and be refused on its retry."""
        session = self._session(UUID(session_id)) if _is_uuid(session_id) else None
        if session is None or not session.is_open or session.agent_id != str(agent.id):
            raise SessionClosedError("La sesión ya está cerrada")
        agent.check_session(session_id)
        if session.is_idle(now, self.idle_limit(agent)):
            raise SessionClosedError("La sesión ya está cerrada")
        session.act(at=now)
        return session

    def close_idle_session(self, session_id: UUID) -> bool:
        """Expire the session if it is idle at the clock's now, stamped at its last activity; True if it was."""
        session = self._session(session_id)
        agent = self.find(session.agent_id) if session is not None else None
        if session is None or not session.is_open:
            return False
        limit = self.idle_limit(agent) if agent is not None else self.session_idle
        if not session.is_idle(self.clock.now(), limit):
            return False
        self.close_session(session_id, "expired", actor="system:sessions")
        return True

    def _ended(self, session_id: UUID, reason: str, actor: str, now: datetime) -> AgentSession | None:
        session = self._session(session_id)
        if session is None or not session.is_open:
            return None
        session.end(reason, actor=actor, now=now)
        return session

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


def _is_uuid(text: str) -> bool:
    try:
        UUID(text)
    except ValueError:
        return False
    return True
