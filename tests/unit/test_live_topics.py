"""Who may follow which live-update topic: agents their desk and assigned chats, supervisors their
campaigns, admins and auditors everything; nothing allowed means nothing delivered (R1/R9 scoping)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from hypothesis import given
from hypothesis import strategies as st

from application.live_topics import LiveSubscription, TopicScope
from application.staff import Identity

CAMPAIGNS = ("banco", "telco")
AGENTS = ("ana", "bruno")
CHATS = ("c1", "c2", "c3")


@dataclass
class World:
    """The read side as a dict: who works in which campaigns, and each chat's campaign and agent."""

    memberships: dict[str, set[str]] = field(default_factory=dict)
    chats: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)

    def campaigns_of(self, staff_id: str) -> set[str]:
        return set(self.memberships.get(staff_id, set()))

    def chat_owner(self, chat_id: str) -> tuple[str | None, str | None] | None:
        return self.chats.get(chat_id)


def viewer(login: str, role: str, world: World) -> Identity:
    return Identity(login, login, login.title(), role, frozenset(world.campaigns_of(login)))


def every_topic() -> list[str]:
    return ([f"queue:{c}" for c in CAMPAIGNS] + [f"campaign:{c}" for c in CAMPAIGNS] + ["queue:"]
            + [f"desk:{a}" for a in (*AGENTS, "sandra")] + [f"chat:{c}" for c in (*CHATS, "nope")]
            + ["agents", "campaigns", "alerts", "audit", "portfolios", "portfolio_job:j1", "queue:*", "chat:*",
               "desk:*", "mystery", "mystery:x"])


worlds = st.builds(
    World,
    memberships=st.fixed_dictionaries({name: st.sets(st.sampled_from(CAMPAIGNS))
                                       for name in (*AGENTS, "sandra")}),
    chats=st.fixed_dictionaries({chat: st.tuples(st.sampled_from((*CAMPAIGNS, None)),
                                                 st.sampled_from((*AGENTS, None))) for chat in CHATS}),
)


def expected(world: World, login: str, role: str, topic: str) -> bool:
    """The rule, written out plainly against the world."""
    kind, _, name = topic.partition(":")
    if role in ("admin", "auditor"):
        return topic in ("agents", "campaigns", "alerts", "audit", "portfolios") or \
            (kind in ("queue", "campaign", "desk", "chat", "portfolio_job") and ":" in topic)
    if topic == "alerts":
        return True
    owner = world.chats.get(name) if kind == "chat" else None
    if role == "agent":
        return topic == f"desk:{login}" or (owner is not None and owner[1] == login)
    mine = world.campaigns_of(login)
    return (topic in ("agents", "campaigns", "audit")
            or (kind in ("queue", "campaign") and name in mine)
            or (kind == "desk" and name != "*" and bool(world.campaigns_of(name) & mine))
            or (owner is not None and owner[0] in mine))


@given(world=worlds, who=st.sampled_from([("ana", "agent"), ("bruno", "agent"), ("sandra", "supervisor"),
                                          ("root", "admin"), ("alberto", "auditor")]))
def test_each_topic_is_followed_only_by_those_its_campaign_and_agent_allow(world: World,
                                                                            who: tuple[str, str]) -> None:
    login, role = who
    scope = TopicScope(viewer(login, role, world), world)

    for topic in every_topic():
        assert scope.may_follow(topic) is expected(world, login, role, topic), topic


@given(world=worlds, topic=st.sampled_from(every_topic()))
def test_a_subscription_left_with_nothing_allowed_delivers_nothing(world: World, topic: str) -> None:
    forbidden = [t for t in every_topic() if not TopicScope(viewer("ana", "agent", world), world).may_follow(t)]
    subscription = LiveSubscription(TopicScope(viewer("ana", "agent", world), world), forbidden)

    assert subscription.topics == frozenset()
    assert not subscription.wants(topic)


def test_a_reassigned_chat_stops_reaching_the_agent_who_lost_it() -> None:
    world = World(memberships={"ana": {"banco"}, "bruno": {"banco"}}, chats={"c1": ("banco", "ana")})
    subscription = LiveSubscription(TopicScope(viewer("ana", "agent", world), world), ["chat:c1", "desk:ana"])
    assert subscription.wants("chat:c1") and subscription.still_allowed("chat:c1")

    world.chats["c1"] = ("banco", "bruno")

    assert subscription.needs_recheck("chat:c1")
    assert not subscription.still_allowed("chat:c1")
    assert subscription.still_allowed("desk:ana")


def test_a_supervisor_taken_off_a_campaign_stops_receiving_its_queue() -> None:
    world = World(memberships={"sandra": {"banco"}})
    subscription = LiveSubscription(TopicScope(viewer("sandra", "supervisor", world), world), ["queue:banco"])

    world.memberships["sandra"] = set()

    assert subscription.wants("queue:banco") and not subscription.still_allowed("queue:banco")


@pytest.mark.parametrize("role", ["admin", "auditor"])
def test_admins_and_auditors_may_follow_every_queue_with_a_wildcard(role: str) -> None:
    world = World()
    subscription = LiveSubscription(TopicScope(viewer("root", role, world), world), ["queue:*"])

    assert subscription.wants("queue:telco") and subscription.wants("queue:")
    assert not subscription.needs_recheck("queue:telco")
