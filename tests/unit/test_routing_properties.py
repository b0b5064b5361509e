"""Property tests of the routing rules (R1–R5) over the pure `domain.routing` functions.

A stateful model plays a call center: chats reach campaign queues, agents come and go, join and
leave campaigns, close chats, and the router dispatches. After every step the rules must hold.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from domain.common import DomainError
from domain.routing import (
    LEAST_LOAD,
    ROUND_ROBIN,
    AgentLoad,
    WaitingChat,
    check_reassignment_target,
    choose,
    dispatch,
)

CAMPAIGNS = ("banco_a", "telco_b", "seguros_c")
AGENTS = ("ana", "bruno", "carla", "diego")
T0 = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)


@dataclass
class ModelAgent:
    capacity: int
    campaigns: set[str] = field(default_factory=set)
    available: bool = False
    chats: set[str] = field(default_factory=set)
    last_assigned_at: datetime | None = None


class CallCenter(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = T0
        self.agents = {name: ModelAgent(capacity=2) for name in AGENTS}
        self.policies = dict.fromkeys(CAMPAIGNS, LEAST_LOAD)
        self.waiting: dict[str, WaitingChat] = {}
        self.assigned: dict[str, tuple[str, str]] = {}  # chat -> (agent, campaign)
        self.cursors: dict[str, str | None] = {}
        self.closed: set[str] = set()  # campaigns outside business hours
        self.counter = 0
        self.last_dispatch_left: list[WaitingChat] = []

    def tick(self) -> datetime:
        self.now += timedelta(seconds=7)
        return self.now

    @rule(campaign=st.sampled_from(CAMPAIGNS))
    def chat_reaches_queue(self, campaign: str) -> None:
        self.counter += 1
        chat = WaitingChat(f"chat-{self.counter:04d}", campaign, self.tick(), self.counter)
        self.waiting[chat.chat_id] = chat

    @rule(agent=st.sampled_from(AGENTS), available=st.booleans())
    def agent_changes_status(self, agent: str, available: bool) -> None:
        self.agents[agent].available = available

    @rule(agent=st.sampled_from(AGENTS), campaign=st.sampled_from(CAMPAIGNS), member=st.booleans())
    def membership_changes(self, agent: str, campaign: str, member: bool) -> None:
        (self.agents[agent].campaigns.add if member else self.agents[agent].campaigns.discard)(campaign)

    @rule(agent=st.sampled_from(AGENTS), capacity=st.integers(1, 4))
    def capacity_changes(self, agent: str, capacity: int) -> None:
        self.agents[agent].capacity = capacity

    @rule(campaign=st.sampled_from(CAMPAIGNS), attending=st.booleans())
    def business_hours_open_or_close(self, campaign: str, attending: bool) -> None:
        (self.closed.discard if attending else self.closed.add)(campaign)

    @rule(campaign=st.sampled_from(CAMPAIGNS), policy=st.sampled_from((LEAST_LOAD, ROUND_ROBIN)))
    def policy_changes(self, campaign: str, policy: str) -> None:
        self.policies[campaign] = policy

    @precondition(lambda self: bool(self.assigned))
    @rule(data=st.data())
    def agent_closes_a_chat(self, data: st.DataObject) -> None:
        chat_id = data.draw(st.sampled_from(sorted(self.assigned)))
        agent, _ = self.assigned.pop(chat_id)
        self.agents[agent].chats.discard(chat_id)

    @precondition(lambda self: bool(self.assigned))
    @rule(data=st.data(), to=st.sampled_from(AGENTS), exception=st.booleans())
    def supervisor_reassigns(self, data: st.DataObject, to: str, exception: bool) -> None:
        target = to
        chat_id = data.draw(st.sampled_from(sorted(self.assigned)))
        holder, campaign = self.assigned[chat_id]
        if target == holder:
            return
        load = self.snapshot(target)
        try:
            check_reassignment_target(load, campaign, target, to_unavailable=exception)
        except DomainError:
            return
        assert campaign in load.campaigns, "R1: only members of the chat's campaign"
        assert load.open_chats < load.capacity, "R2: never beyond capacity"
        assert load.available or exception, "R17: an unavailable agent only as an explicit exception"
        self.agents[holder].chats.discard(chat_id)
        self.agents[target].chats.add(chat_id)
        self.assigned[chat_id] = (target, campaign)

    @rule()
    def router_dispatches(self) -> None:
        now = self.tick()
        loads = [self.snapshot(name) for name in AGENTS]
        decisions = dispatch(list(self.waiting.values()), loads, self.policies, self.cursors, now,
                             taking_chats=lambda campaign: campaign not in self.closed)
        for decision in decisions:
            agent_id = decision.chosen_agent_id
            assert agent_id is not None
            agent = self.agents[agent_id]
            assert decision.campaign_id in agent.campaigns, "R1: only members of the chat's campaign"
            assert agent.available, "only available agents"
            assert decision.campaign_id not in self.closed, "outside business hours the chat waits"
            assert decision.chat_id not in self.assigned, "R3: never assigned twice"
            assert agent_id in {c.agent_id for c in decision.candidates}, "R5: the choice is among the candidates"
            self.waiting.pop(decision.chat_id)
            self.assigned[decision.chat_id] = (agent_id, decision.campaign_id)
            agent.chats.add(decision.chat_id)
            agent.last_assigned_at = now
            self.cursors[decision.campaign_id] = agent_id
        self.last_dispatch_left = list(self.waiting.values())

    def snapshot(self, name: str) -> AgentLoad:
        agent = self.agents[name]
        return AgentLoad(name, len(agent.chats), agent.capacity, agent.last_assigned_at,
                         frozenset(agent.campaigns), agent.available)

    @invariant()
    def no_agent_is_assigned_beyond_the_capacity_it_had(self) -> None:
        # Capacity may be lowered under open chats; the router then gives that agent nothing more.
        for name in AGENTS:
            load = self.snapshot(name)
            assert not (load.open_chats > load.capacity and load.can_take("banco_a"))

    @invariant()
    def after_a_dispatch_nobody_waits_while_a_member_could_take_it(self) -> None:
        for chat in self.last_dispatch_left:
            if chat.chat_id in self.waiting and chat.campaign_id not in self.closed:
                assert not any(self.snapshot(name).can_take(chat.campaign_id) for name in AGENTS), \
                    "a waiting chat left behind although an agent of its campaign was free"
        self.last_dispatch_left = []


TestCallCenter = CallCenter.TestCase
TestCallCenter.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)


def load(agent_id: str, open_chats: int, capacity: int = 4, minutes_ago: int | None = None,
         campaigns: frozenset[str] = frozenset({"banco_a"}), available: bool = True) -> AgentLoad:
    last = T0 - timedelta(minutes=minutes_ago) if minutes_ago is not None else None
    return AgentLoad(agent_id, open_chats, capacity, last, campaigns, available)


def test_least_load_compares_open_chats_to_capacity() -> None:
    chat = WaitingChat("c1", "banco_a", T0)
    decision = choose(chat, [load("ana", 2, capacity=4), load("bruno", 1, capacity=1), load("carla", 2, capacity=8)],
                      LEAST_LOAD)
    assert decision.chosen_agent_id == "carla"
    assert [c.agent_id for c in decision.candidates] == ["ana", "carla"]


def test_least_load_ties_go_to_the_agent_longest_without_a_new_chat() -> None:
    chat = WaitingChat("c1", "banco_a", T0)
    agents = [load("ana", 1, minutes_ago=3), load("bruno", 1, minutes_ago=40), load("carla", 1, minutes_ago=9)]
    assert choose(chat, agents, LEAST_LOAD).chosen_agent_id == "bruno"
    assert choose(chat, [*agents, load("diego", 1)], LEAST_LOAD).chosen_agent_id == "diego"


def test_round_robin_takes_turns_and_wraps_around() -> None:
    chat = WaitingChat("c1", "banco_a", T0)
    agents = [load("ana", 3), load("bruno", 0), load("carla", 1)]
    assert choose(chat, agents, ROUND_ROBIN, last_chosen=None).chosen_agent_id == "ana"
    assert choose(chat, agents, ROUND_ROBIN, last_chosen="ana").chosen_agent_id == "bruno"
    assert choose(chat, agents, ROUND_ROBIN, last_chosen="carla").chosen_agent_id == "ana"


def test_no_candidate_leaves_the_chat_waiting_with_its_reason() -> None:
    chat = WaitingChat("c1", "telco_b", T0)
    decision = choose(chat, [load("ana", 0), load("bruno", 0, available=False,
                                                    campaigns=frozenset({"telco_b"}))], LEAST_LOAD)
    assert decision.chosen_agent_id is None
    assert "cola" in decision.explanation_es


def test_an_agent_in_two_campaigns_takes_the_oldest_waiting_chat_among_them() -> None:
    both = frozenset({"banco_a", "telco_b"})
    waiting = [WaitingChat("newer", "banco_a", T0 + timedelta(minutes=5)), WaitingChat("older", "telco_b", T0)]
    decisions = dispatch(waiting, [load("ana", 3, capacity=4, campaigns=both)], {}, {}, T0)
    assert [d.chat_id for d in decisions] == ["older"]


def test_the_decision_records_policy_candidates_and_choice() -> None:
    decision = choose(WaitingChat("c1", "banco_a", T0), [load("ana", 1, minutes_ago=5), load("bruno", 0)],
                      LEAST_LOAD)
    recorded = decision.to_dict()
    assert recorded["policy"] == LEAST_LOAD
    assert recorded["chosen_agent_id"] == "bruno"
    assert {c["agent_id"]: c["open_chats"] for c in recorded["candidates"]} == {"ana": 1, "bruno": 0}


@given(st.lists(st.tuples(st.integers(0, 5), st.integers(1, 5), st.booleans(),
                          st.sets(st.sampled_from(CAMPAIGNS), max_size=3)), min_size=1, max_size=6),
       st.lists(st.sampled_from(CAMPAIGNS), max_size=20))
def test_one_dispatch_never_overfills_an_agent_or_crosses_campaigns(
        agents: list[tuple[int, int, bool, set[str]]], queue: list[str]) -> None:
    loads = [AgentLoad(f"a{i}", min(o, c), c, None, frozenset(cs), av) for i, (o, c, av, cs) in enumerate(agents)]
    waiting = [WaitingChat(f"c{i}", campaign, T0 + timedelta(seconds=i)) for i, campaign in enumerate(queue)]
    decisions = dispatch(waiting, loads, {}, {}, T0)
    by_agent: dict[str, int] = {}
    for decision in decisions:
        by_agent[decision.chosen_agent_id or ""] = by_agent.get(decision.chosen_agent_id or "", 0) + 1
    for agent in loads:
        taken = [d for d in decisions if d.chosen_agent_id == agent.agent_id]
        assert agent.open_chats + len(taken) <= agent.capacity
        assert all(d.campaign_id in agent.campaigns for d in taken)
        assert agent.available or not taken
    assert len({d.chat_id for d in decisions}) == len(decisions)


def dispatch_chat_by_chat(waiting: list[WaitingChat], agents: list[AgentLoad], policies: dict[str, str],
                          now: datetime) -> list[tuple[str, str | None]]:
    """The rule stated plainly: every waiting chat, oldest first, weighed against every agent."""
    loads = {a.agent_id: a for a in agents}
    cursors: dict[str, str | None] = {}
    chosen: list[tuple[str, str | None]] = []
    for chat in sorted(waiting, key=lambda w: (w.queued_position, w.queued_at, w.chat_id)):
        policy = policies.get(chat.campaign_id, LEAST_LOAD)
        decision = choose(chat, loads.values(), policy, cursors.get(chat.campaign_id))
        if decision.chosen_agent_id is not None:
            loads[decision.chosen_agent_id] = loads[decision.chosen_agent_id].took_one(now, len(chosen) + 1)
            cursors[chat.campaign_id] = decision.chosen_agent_id
            chosen.append((chat.chat_id, decision.chosen_agent_id))
    return chosen


@given(st.lists(st.tuples(st.integers(0, 5), st.integers(1, 5), st.booleans(),
                          st.sets(st.sampled_from(CAMPAIGNS), max_size=3)), min_size=1, max_size=6),
       st.lists(st.sampled_from(CAMPAIGNS), max_size=30),
       st.fixed_dictionaries({c: st.sampled_from((LEAST_LOAD, ROUND_ROBIN)) for c in CAMPAIGNS}))
def test_a_pass_skipping_campaigns_served_by_nobody_decides_as_chat_by_chat(
        agents: list[tuple[int, int, bool, set[str]]], queue: list[str], policies: dict[str, str]) -> None:
    loads = [AgentLoad(f"a{i}", min(o, c), c, None, frozenset(cs), av) for i, (o, c, av, cs) in enumerate(agents)]
    waiting = [WaitingChat(f"c{i}", campaign, T0 + timedelta(seconds=i), i) for i, campaign in enumerate(queue)]
    decisions = dispatch(waiting, loads, policies, {}, T0)
    assert [(d.chat_id, d.chosen_agent_id) for d in decisions] == dispatch_chat_by_chat(waiting, loads, policies, T0)
