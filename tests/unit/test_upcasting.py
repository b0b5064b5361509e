"""Old events stay readable: a campaign stored before flows existed reads back on the default flow, one stored
before dispositions had labels reads its codes with labels, an identification recorded before portfolio names reads
with none; an agent snapshotted before users chose a language has made no choice; a portfolio import started before
headers were kept reads with none."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from eventsourcing.domain import Snapshot
from eventsourcing.persistence import StoredEvent
from sqlalchemy import create_engine, select

from application.store import EventStore
from domain.agents import Agent
from domain.campaigns import Campaign, CampaignSettings
from domain.chats import Chat
from domain.dispositions import Disposition
from domain.portfolios import PortfolioImport
from projections.campaigns import CampaignsProjector

CREATED_AT = datetime(2025, 3, 1, 13, 0, tzinfo=UTC)


def in_memory_store() -> EventStore:
    return EventStore(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})


def store_as_version_1(store: EventStore, campaign: Campaign, dispositions: list[str] | None = None) -> None:
    """Write the campaign's Created event the way the library stored it before `class_version = 2` (and, given
    `dispositions`, as bare codes the way campaigns were saved before dispositions had labels)."""
    created = campaign.collect_events()[0]
    current = store.mapper.to_stored_event(created)
    state: dict[str, Any] = store.mapper.transcoder.decode(current.state)
    state.pop("class_version")
    state["settings"].pop("flow_name")
    if dispositions is not None:
        state["settings"]["dispositions"] = dispositions
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


def without(store: EventStore, stored: StoredEvent, *fields: str, within: str = "") -> StoredEvent:
    """The stored event or snapshot as an older release wrote it, before `fields` existed (in `within`, if given)."""
    state: dict[str, Any] = store.mapper.transcoder.decode(stored.state)
    for name in fields:
        (state[within] if within else state).pop(name, None)
    return StoredEvent(originator_id=stored.originator_id, originator_version=stored.originator_version,
                       topic=stored.topic, state=store.mapper.transcoder.encode(state))


def store_snapshot_without(store: EventStore, agent: Agent, attribute: str) -> None:
    """A snapshot of the agent as an older release took it, before `attribute` existed."""
    assert store.snapshots is not None
    store.snapshots.recorder.insert_events([without(store, store.mapper.to_stored_event(Snapshot.take(agent)),
                                                    attribute, within="state")])


def test_an_agent_snapshotted_before_languages_existed_has_chosen_none_and_may_choose() -> None:
    store = in_memory_store()
    agent = Agent.register("ana", "Ana Asesora", "agent", 3, actor="user:admin", at=CREATED_AT)
    store.save(agent)
    store_snapshot_without(store, agent, "language")

    restored: Agent = store.repository.get(agent.id)
    assert (restored.name, restored.language) == ("Ana Asesora", "")
    restored.choose_language("en", actor="user:ana", at=CREATED_AT)
    store.save(restored)

    assert store.repository.get(agent.id).language == "en"


def test_a_campaign_saved_before_dispositions_had_labels_reads_and_projects_them_labelled() -> None:
    store = in_memory_store()
    store_as_version_1(store, a_campaign(CampaignSettings()), ["numero_equivocado", "pago_total"])
    engine = create_engine("sqlite://")
    projector = CampaignsProjector()
    projector.metadata.create_all(engine)

    campaign: Campaign = store.repository.get(Campaign.create_id("banco_a"))
    with engine.begin() as connection:
        for event in store.events.get(campaign.id):
            projector.apply(connection, event)
        [row] = connection.execute(select(projector.campaigns.c.dispositions))

    assert campaign.settings.dispositions == (Disposition("numero_equivocado", "Número equivocado"),
                                              Disposition("pago_total", "Pago total"))
    campaign.check_dispositions("numero_equivocado")
    assert row.dispositions == [{"code": "numero_equivocado", "label": "Número equivocado", "effective": False},
                                {"code": "pago_total", "label": "Pago total", "effective": False}]


def test_an_identification_recorded_before_portfolio_names_reads_with_none() -> None:
    store = in_memory_store()
    chat = Chat.open("whatsapp", "whatsapp:+573001112233", "whatsapp:+5716000001", profile_name="Cliente",
                     flow_name="default", actor="customer:whatsapp:+573001112233", at=CREATED_AT)
    chat.identify("banco_a", "CC", "1020304050", customer_name="María Pérez", actor="system:bot", at=CREATED_AT)
    opened, identified = (store.mapper.to_stored_event(e) for e in chat.collect_events())
    store.recorder.insert_events([opened, without(store, identified, "class_version", "customer_name")])

    restored: Chat = store.repository.get(chat.id)
    [_, event] = store.events.get(chat.id)

    assert (restored.document_number, restored.customer_name, restored.profile_name) == ("1020304050", "", "Cliente")
    assert isinstance(event, Chat.CustomerIdentified) and event.customer_name == ""


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


def test_a_status_change_stored_before_break_reasons_and_sessions_reads_back_with_neither() -> None:
    store = in_memory_store()
    agent = Agent.register("ana", "Ana Asesora", "agent", 3, actor="user:admin", at=CREATED_AT)
    agent.sign_in("session-1", allow_parallel=False, actor="user:ana", at=CREATED_AT)
    agent.change_status("break", reason="almuerzo", session_id="session-1", actor="user:ana", at=CREATED_AT)
    *earlier, changed = (store.mapper.to_stored_event(e) for e in agent.collect_events())
    store.recorder.insert_events([*earlier, without(store, changed, "class_version", "reason", "session_id")])

    *_, old = store.events.get(agent.id)
    restored: Agent = store.repository.get(agent.id)

    assert isinstance(old, Agent.StatusChanged)
    assert (old.status, old.reason, old.session_id) == ("break", "", "")
    assert (restored.status, restored.status_reason, restored.sessions) == ("break", "", ["session-1"])


def test_a_close_stored_before_closes_named_their_session_reads_back_with_none() -> None:
    store = in_memory_store()
    chat = Chat.open("whatsapp", "whatsapp:+573001112233", "whatsapp:+5716000001", profile_name="",
                     flow_name="default", actor="t", at=CREATED_AT)
    chat.close("supervisor", disposition="", note="duplicado", actor="user:sup", at=CREATED_AT, session_id="s-1")
    opened, closed = (store.mapper.to_stored_event(e) for e in chat.collect_events())
    store.recorder.insert_events([opened, without(store, closed, "class_version", "session_id")])

    *_, old = store.events.get(chat.id)

    assert isinstance(old, Chat.Closed) and (old.reason, old.session_id) == ("supervisor", "")
    assert store.repository.get(chat.id).is_closed


def test_a_chat_opened_before_chats_carried_their_campaign_reads_as_undetermined() -> None:
    store = in_memory_store()
    chat = Chat.open("whatsapp", "whatsapp:+573001112233", "whatsapp:+5716000001", profile_name="Cliente",
                     flow_name="default", actor="t", at=CREATED_AT, campaign_id="campaign-a")
    [opened] = (store.mapper.to_stored_event(e) for e in chat.collect_events())
    store.recorder.insert_events([without(store, opened, "class_version", "campaign_id")])

    [old] = store.events.get(chat.id)
    restored: Chat = store.repository.get(chat.id)

    assert isinstance(old, Chat.Opened) and old.campaign_id == ""
    assert (restored.campaign_id, restored.status, restored.profile_name) == ("", "bot", "Cliente")


def test_a_drop_out_recorded_before_drop_instants_reads_as_dropped_at_the_last_message() -> None:
    store = in_memory_store()
    chat = Chat.open("whatsapp", "whatsapp:+573001112233", "whatsapp:+5716000001", profile_name="",
                     flow_name="default", actor="t", at=CREATED_AT)
    noticed_at = CREATED_AT + timedelta(hours=1)
    chat.record_bot_inactivity(CREATED_AT, inactivity_limit=timedelta(minutes=30), actor="system:bot", at=noticed_at)
    opened, recorded = (store.mapper.to_stored_event(e) for e in chat.collect_events())
    store.recorder.insert_events([opened, without(store, recorded, "class_version", "dropped_at")])

    [_, old] = store.events.get(chat.id)

    assert isinstance(old, Chat.BotInactivityRecorded)
    assert (old.since, old.dropped_at, old.at) == (CREATED_AT, CREATED_AT, noticed_at)
    assert store.repository.get(chat.id).bot_inactive_since == CREATED_AT


def test_a_portfolio_import_started_before_headers_were_kept_reads_with_none() -> None:
    store = in_memory_store()
    started = PortfolioImport.start("campaign-a", "cartera.csv", "ab" * 32, "upsert", actor="user:admin",
                                    at=CREATED_AT, field_labels={"dias_mora": "Días de mora"})
    current = store.mapper.to_stored_event(started.collect_events()[0])
    state: dict[str, Any] = store.mapper.transcoder.decode(current.state)
    state.pop("class_version")
    state.pop("field_labels")
    store.recorder.insert_events([StoredEvent(originator_id=current.originator_id,
                                              originator_version=current.originator_version,
                                              topic=current.topic, state=store.mapper.transcoder.encode(state))])

    imported: PortfolioImport = store.repository.get(started.id)

    assert (imported.file_name, imported.field_labels) == ("cartera.csv", {})
