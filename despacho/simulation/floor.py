"""The call center's floor during the simulation: agents, supervisors, customers and Twilio, each acting
through the application the way its people do (logins, presence, desk replies and closes, reassignments,
signed webhooks)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING
from uuid import UUID

from despacho.simulation.application import Application
from despacho.simulation.cast import AGENT_CAPACITY, FIRST_NAMES, UNIDENTIFIED, AgentPart, Cast, mobile_of
from despacho.simulation.people import (
    AGENT_LINES,
    DISPOSITIONS,
    FAREWELLS,
    GREETINGS,
    NUDGE,
    QUESTIONS,
    Customer,
    pick,
    wrong_document,
)
from domain.common import DomainError
from projections.simulation_queries import assignment_moves_since, chat_status, open_chat_of

if TYPE_CHECKING:
    from despacho.simulation.month import Agenda

PASSWORD = "simulacion-despacho"  # noqa: S105 - the simulated accounts of a simulation database
ADMIN = "system:simulation"
CLOSING_TEMPLATE_SID = "HX" + "5a" * 16  # the fake transport accepts any approved-looking Content SID
# (status, error code, weight) of what Twilio reports for a message it accepted.
DELIVERY_OUTCOMES = (("delivered", "", 955), ("undelivered", "30003", 15), ("undelivered", "30005", 10),
                     ("undelivered", "63016", 10), ("failed", "30008", 10))
SUPERVISOR_REASON = "Traslado a un asesor especialista"


@dataclass
class Agent:
    part: AgentPart
    agent_id: str
    session_id: str = ""
    on_break: bool = False


@dataclass
class Conversation:
    customer: Customer
    owner: str = ""
    """The agent the chat is assigned to, as the assignments table last said."""
    questions_left: int = 0
    finished: bool = False
    nudged: bool = False
    transferred: bool = False
    agent_turn_for: str = ""
    customer_turn_pending: bool = False


@dataclass
class Floor:
    app: Application
    cast: Cast
    rng: random.Random
    agenda: Agenda
    tally: dict[str, int] = field(default_factory=dict)
    """What the simulated people did, counted by kind."""
    agents: dict[str, Agent] = field(default_factory=dict)
    supervisors: dict[str, str] = field(default_factory=dict)
    campaign_ids: dict[str, str] = field(default_factory=dict)
    conversations: dict[str, Conversation] = field(default_factory=dict)
    """Open conversations by chat id."""
    _seen_moves: set[str] = field(default_factory=set)
    _noticed_until: datetime | None = None

    def count(self, what: str) -> None:
        self.tally[what] = self.tally.get(what, 0) + 1

    # ---- set-up: what an admin does before the first day ----

    def set_up(self) -> None:
        despacho = self.app.despacho
        settings = {"closing_template_sid": CLOSING_TEMPLATE_SID}
        for campaign in self.cast.campaigns:
            campaign_id = despacho.campaigns.register(campaign.code, campaign.name, campaign.display_name, settings,
                                                      actor=ADMIN, senders=[(campaign.number, "whatsapp", True)])
            self.campaign_ids[campaign.code] = str(campaign_id)
            despacho.portfolios.import_file(campaign_id, campaign.portfolio_csv(self.rng).encode(),
                                            f"cartera_{campaign.code}.csv", actor=ADMIN)
        self.campaign_ids[UNIDENTIFIED] = despacho.unidentified.campaign_id()
        for part in self.cast.agents:
            agent_id = despacho.staff.register(
                part.login, part.name, "agent", password=PASSWORD, capacity=AGENT_CAPACITY, actor=ADMIN,
                campaign_ids=frozenset(self.campaign_ids[c] for c in part.campaigns))
            self.agents[part.login] = Agent(part, str(agent_id))
        for code, login in self.cast.supervisors.items():
            self.supervisors[code] = str(despacho.staff.register(
                login, f"Supervisión {code}", "supervisor", password=PASSWORD, actor=ADMIN,
                campaign_ids=frozenset({self.campaign_ids[code]})))
        self.app.settle_everything()

    # ---- agents ----

    def log_in(self, login: str) -> None:
        agent = self.agents[login]
        signed_in = self.app.despacho.logins.log_in(login, PASSWORD, client_address="10.20.0.1",
                                                    client="Navegador del puesto")
        agent.session_id, agent.on_break = str(signed_in.session_id), False
        self._status(agent, "available")
        self.count("logins")

    def log_out(self, login: str) -> None:
        """At the end of the shift, whether or not chats are still open (they go back to the queue)."""
        agent = self.agents[login]
        if agent.session_id:
            self.app.despacho.staff.close_session(UUID(agent.session_id), "logout", actor=f"user:{agent.agent_id}")
            agent.session_id = ""
            self.count("logouts")

    def take_break(self, login: str, reason: str) -> None:
        agent = self.agents[login]
        if agent.session_id:
            self._status(agent, "break", reason)
            agent.on_break = True
            self.count("breaks")

    def back_from_break(self, login: str) -> None:
        agent = self.agents[login]
        if agent.session_id and agent.on_break:
            self._status(agent, "available")
            agent.on_break = False

    def _status(self, agent: Agent, status: str, reason: str = "") -> None:
        self.app.despacho.staff.change_status(UUID(agent.agent_id), status, session_id=agent.session_id,
                                              reason=reason, actor=f"user:{agent.agent_id}")

    def _agent_by_id(self, agent_id: str) -> Agent:
        return next(a for a in self.agents.values() if a.agent_id == agent_id)

    def _reply_delay(self, agent: Agent) -> timedelta:
        low, high = agent.part.reply_seconds
        return timedelta(seconds=self.rng.randrange(low, high))

    def notice_assignments(self) -> None:
        """What the desk shows an agent: a chat newly theirs (assigned, reassigned), or taken away (requeued, or
        transferred to another campaign)."""
        rows = assignment_moves_since(self.app.despacho.read_engine, self._noticed_until)
        self._noticed_until = self.app.clock.now()
        for row in rows:
            if row.event_id in self._seen_moves:
                continue
            self._seen_moves.add(row.event_id)
            conversation = self.conversations.get(row.chat_id)
            if conversation is None:
                continue
            conversation.owner = "" if row.kind in ("requeued", "transferred") else row.agent_id
            if conversation.owner:
                self._plan_agent_turn(row.chat_id, conversation)

    def _plan_agent_turn(self, chat_id: str, conversation: Conversation) -> None:
        agent = self._agent_by_id(conversation.owner)
        conversation.agent_turn_for = agent.agent_id
        self.agenda.at(self.app.clock.now() + self._reply_delay(agent), lambda: self._agent_turn(chat_id, agent))

    def _agent_turn(self, chat_id: str, agent: Agent) -> None:
        conversation = self.conversations.get(chat_id)
        if conversation is None or conversation.agent_turn_for != agent.agent_id or not agent.session_id:
            return
        if not self._still_theirs(chat_id, agent):
            return
        if agent.on_break:  # answered when back
            self.agenda.at(self.app.clock.now() + timedelta(minutes=5), lambda: self._agent_turn(chat_id, agent))
            return
        conversation.agent_turn_for = ""
        if conversation.finished:
            self._close(chat_id, agent)
            return
        self._reply(chat_id, agent, self.rng.choice(AGENT_LINES))
        self._customer_reacts(chat_id, conversation)

    def _still_theirs(self, chat_id: str, agent: Agent) -> bool:
        status, owner = chat_status(self.app.despacho.read_engine, chat_id)
        if status == "closed":
            self.conversations.pop(chat_id, None)
            return False
        return status == "assigned" and owner == agent.agent_id

    def _reply(self, chat_id: str, agent: Agent, body: str) -> None:
        self.app.despacho.desk.reply(chat_id, agent.agent_id, body=body, session_id=agent.session_id)
        self.count("agent_replies")

    def _close(self, chat_id: str, agent: Agent) -> None:
        conversation = self.conversations.pop(chat_id)
        self.app.despacho.closing.close(chat_id, "agent", disposition=pick(self.rng, DISPOSITIONS),
                                        actor=f"user:{agent.agent_id}", session_id=agent.session_id)
        self.count("agent_closes")
        customer = conversation.customer
        if customer.returns:
            customer.returns, customer.persona, customer.rounds = False, "normal", 1
            later = self.app.clock.now() + timedelta(minutes=self.rng.randrange(60, 360))
            self.agenda.at(later, lambda: self._return(customer))

    def _return(self, customer: Customer) -> None:
        if self._has_open_chat(customer.phone):
            return
        self.count("customers_back_after_close")
        self.start_conversation(customer)

    # ---- supervisors ----

    def _transfer(self, chat_id: str, conversation: Conversation) -> None:
        """The supervisor moves the chat to another available member of its campaign with room for it."""
        if conversation.owner == "" or chat_id not in self.conversations:
            return
        router = self.app.despacho.router
        campaign_id = self.campaign_ids[conversation.customer.campaign]
        loads = router.state.snapshot({campaign_id}).agents
        others = sorted(a.agent_id for a in loads if a.available and a.open_chats < a.capacity
                        and campaign_id in a.campaigns and a.agent_id != conversation.owner)
        if not others:
            self.count("transfers_without_a_free_agent")
            return
        try:
            router.reassign(chat_id, self.rng.choice(others), reason=SUPERVISOR_REASON,
                            actor=f"user:{self.supervisors[conversation.customer.campaign]}")
        except DomainError:
            self.count("transfers_refused")
            return
        self.count("transfers")

    # ---- customers ----

    def new_customer(self, persona: str) -> Customer:
        campaign = self.rng.choices(self.cast.campaigns, weights=range(len(self.cast.campaigns) + 1, 1, -1))[0]
        while True:
            document = self.rng.choice(campaign.documents)
            phone = f"whatsapp:+57{mobile_of(document)}"
            if not self._has_open_chat(phone):
                break
        return Customer(phone, campaign.code, campaign.number, document, self.rng.choice(FIRST_NAMES),
                        persona=persona, rounds=self.rng.randrange(1, 4), returns=self.rng.random() < 0.08)

    def _has_open_chat(self, phone: str) -> bool:
        return open_chat_of(self.app.despacho.read_engine, phone) is not None

    def start_conversation(self, customer: Customer) -> None:
        """The bot's part: what the customer writes, each a few seconds after the bot's last answer."""
        all_documents = frozenset(d for c in self.cast.campaigns for d in c.documents)
        script = {
            "wrong_document": ["1", wrong_document(self.rng, all_documents), customer.document],
            "unknown": ["1", *(wrong_document(self.rng, all_documents) for _ in range(3))],
            "asks_for_agent": ["asesor"],
            "drops_at_menu": [],
            "drops_at_document": ["1"],
        }.get(customer.persona, ["1", customer.document])
        at = self.app.clock.now()
        self.agenda.at(at, lambda: self._first_message(customer))
        for body in script:
            at += timedelta(seconds=self.rng.randrange(8, 70))
            self.agenda.at(at, partial(self._writes, customer, body))

    def _first_message(self, customer: Customer) -> None:
        self._writes(customer, self.rng.choice(GREETINGS))
        self.app.settle()  # the inbound follower puts the message on its chat
        chat_id = open_chat_of(self.app.despacho.read_engine, customer.phone)
        if chat_id is None:  # the application kept the message without a chat to follow
            self.count("greetings_without_an_open_chat")
            return
        self.conversations[chat_id] = Conversation(customer, questions_left=customer.rounds)

    def _writes(self, customer: Customer, body: str) -> None:
        self.app.customer_writes(customer.phone, customer.number, body, customer.profile_name)
        self.count("customer_messages")

    def _customer_reacts(self, chat_id: str, conversation: Conversation) -> None:
        """After an agent's message: a question, thanks, BAJA, or silence, as the customer's persona goes."""
        persona = conversation.customer.persona
        if persona == "transferred" and not conversation.transferred:
            conversation.transferred = True
            later = self.app.clock.now() + timedelta(seconds=self.rng.randrange(60, 240))
            self.agenda.at(later, lambda: self._transfer(chat_id, conversation))
        if persona == "silent_with_agent":
            if not conversation.nudged:
                conversation.nudged = True
                later = self.app.clock.now() + timedelta(minutes=self.rng.randrange(10, 25))
                self.agenda.at(later, lambda: self._nudge(chat_id, conversation))
            return
        if conversation.customer_turn_pending or conversation.finished:
            return
        conversation.customer_turn_pending = True
        later = self.app.clock.now() + timedelta(seconds=self.rng.randrange(20, 240))
        self.agenda.at(later, lambda: self._customer_turn(chat_id, conversation))

    def _customer_turn(self, chat_id: str, conversation: Conversation) -> None:
        conversation.customer_turn_pending = False
        if chat_id not in self.conversations:
            return
        if conversation.customer.persona == "opts_out":
            self._writes(conversation.customer, "BAJA")
            self.conversations.pop(chat_id)
            self.count("opt_out_requests")
            return
        if conversation.questions_left > 0:
            conversation.questions_left -= 1
            self._writes(conversation.customer, self.rng.choice(QUESTIONS))
        else:
            conversation.finished = True
            self._writes(conversation.customer, self.rng.choice(FAREWELLS))
        if conversation.owner:
            self._plan_agent_turn(chat_id, conversation)

    def _nudge(self, chat_id: str, conversation: Conversation) -> None:
        """The agent asks once whether the silent customer is still there, then leaves the chat to the 24 hours."""
        if not conversation.owner:
            return
        agent = self._agent_by_id(conversation.owner)
        if agent.session_id and self._still_theirs(chat_id, agent):
            self._reply(chat_id, agent, NUDGE)
            self.count("nudges")

    # ---- Twilio ----

    def report_deliveries(self) -> None:
        """Twilio's status callbacks, arriving at the next thing that happens, for every message it accepted
        since the last look: mostly delivered. Settled with that next action."""
        outcomes = [(status, code) for status, code, _ in DELIVERY_OUTCOMES]
        weights = [weight for _, _, weight in DELIVERY_OUTCOMES]
        for sent in self.app.unreported_sends():
            status, code = self.rng.choices(outcomes, weights=weights)[0]
            self.app.twilio_reports(sent, status, code)
            if code:
                self.count(f"delivery_{status}_{code}")
