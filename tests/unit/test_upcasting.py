"""Old events stay readable: a campaign stored before flows existed reads back on the default flow."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from eventsourcing.persistence import StoredEvent

from application.store import EventStore
from domain.campaigns import Campaign, CampaignSettings
from domain.chats import Chat

CREATED_AT = datetime(2025, 3, 1, 13, 0, tzinfo=UTC)


def in_memory_store() -> EventStore:
    return EventStore(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})


def store_as_version_1(store: EventStore, campaign: Campaign) -> None:
    """Write the campaign's Created event the way the library stored it before `class_version = 2`."""
    created = campaign.collect_events()[0]
    current = store.mapper.to_stored_event(created)
    state: dict[str, Any] = store.mapper.transcoder.decode(current.state)
    state.pop("class_version")
    state["settings"].pop("flow_name")
    store.recorder.insert_events([StoredEvent(originator_id=current.originator_id,
                                              originator_version=current.originator_version,
                                              topic=current.topic, state=store.mapper.transcoder.encode(state))])


def a_campaign(settings: CampaignSettings) -> Campaign:
    return Campaign.register("banco_a", "Banco A — Cobranza", "Banco A", settings, actor="user:admin",
                             at=CREATED_AT)


def test_a_campaign_created_before_flows_existed_uses_the_default_flow() -> None:
    store = in_memory_store()
    store_as_version_1(store, a_campaign(CampaignSettings(routing_policy="round_robin")))

    campaign: Campaign = store.repository.get(Campaign.create_id("banco_a"))

    assert campaign.settings.flow_name == "default"
    assert campaign.settings.routing_policy == "round_robin"
    assert (campaign.name, campaign.created_at) == ("Banco A — Cobranza", CREATED_AT)


def test_a_version_1_created_event_reads_back_as_version_2() -> None:
    store = in_memory_store()
    store_as_version_1(store, a_campaign(CampaignSettings()))

    [created] = store.events.get(Campaign.create_id("banco_a"))

    assert isinstance(created, Campaign.Created)
    assert created.settings["flow_name"] == "default"
    assert created.actor == "user:admin"


def test_a_current_campaign_keeps_the_flow_it_was_created_with() -> None:
    store = in_memory_store()
    store.save(a_campaign(CampaignSettings(flow_name="cobranza_v2")))

    campaign: Campaign = store.repository.get(Campaign.create_id("banco_a"))

    assert campaign.settings.flow_name == "cobranza_v2"


def test_a_reassignment_stored_before_availability_was_recorded_reads_back_as_not_exceptional() -> None:
    store = in_memory_store()
    chat = Chat.open("whatsapp", "whatsapp:+573001112233", "whatsapp:+5716000001", profile_name="",
                     flow_name="default", actor="t", at=CREATED_AT)
    chat.enqueue("campaign-a", outside_hours=False, actor="t", at=CREATED_AT)
    chat.assign("agent-ana", {}, exceptional=False, reason="", actor="t", at=CREATED_AT)
    chat.reassign("agent-carla", reason="almuerzo", to_unavailable=False, actor="user:sup", at=CREATED_AT)
    *earlier, reassigned = chat.collect_events()
    store.recorder.insert_events([store.mapper.to_stored_event(e) for e in earlier])
    current = store.mapper.to_stored_event(reassigned)
    state: dict[str, Any] = store.mapper.transcoder.decode(current.state)
    state.pop("class_version")
    state.pop("to_unavailable")
    store.recorder.insert_events([StoredEvent(originator_id=current.originator_id,
                                              originator_version=current.originator_version,
                                              topic=current.topic, state=store.mapper.transcoder.encode(state))])

    *_, old = store.events.get(chat.id)

    assert isinstance(old, Chat.Reassigned) and old.to_unavailable is False
    assert store.repository.get(chat.id).agent_id == "agent-carla"
