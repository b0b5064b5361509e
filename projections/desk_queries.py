"""Read-side queries of the desk, the supervisor's pages and the chat page (tables only).

`campaign_ids=None` means "every campaign" (admins and auditors); a set limits the answer to
those campaigns (a supervisor's), so callers never filter rows after the fact.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Engine, and_, func, or_, select, true

from domain.agents import presence
from domain.campaigns import DEFAULT_BREAK_REASONS
from domain.chats import TRANSFERABLE_STATUSES
from domain.dispositions import disposition_label, stored_disposition
from domain.documents import CustomerIdentity, InvalidDocumentError
from projections.bot_world import CAMPAIGNS_HOLDING_DOCUMENT
from projections.media import MediaProjector
from projections.messages import MessagesProjector
from projections.queries import AGENTS, CAMPAIGNS, CHATS, PORTFOLIOS

MESSAGES = MessagesProjector()
MEDIA = MediaProjector()
STAFF_AUTHORS = ("agent", "note")
"""Timeline rows written by a person of the call center: an agent's message, a staff member's internal note."""

CHAT_SUMMARY = ("id", "campaign_id", "status", "channel", "customer_address", "sender_address", "profile_name",
                "customer_name", "document_type", "document_number", "agent_id", "opened_at", "queued_at",
                "assigned_at", "last_customer_message_at", "last_agent_message_at", "unanswered_since", "outside_hours",
                "closed_at", "close_reason", "disposition", "close_note", "alerted_streak_at")


def campaigns_of(engine: Engine, agent_id: str) -> set[str]:
    """The campaigns a staff member belongs to now (agent_campaigns)."""
    members = AGENTS.memberships
    with engine.connect() as connection:
        return set(connection.execute(select(members.c.campaign_id).where(members.c.agent_id == agent_id))
                   .scalars())


def campaign_names(engine: Engine) -> dict[str, str]:
    table = CAMPAIGNS.campaigns
    with engine.connect() as connection:
        return {r.id: r.name for r in connection.execute(select(table.c.id, table.c.name))}


def agent_names(engine: Engine) -> dict[str, str]:
    table = AGENTS.agents
    with engine.connect() as connection:
        return {r.id: r.name for r in connection.execute(select(table.c.id, table.c.name))}


def waiting_queue(engine: Engine, campaign_ids: set[str] | None, now: datetime) -> list[dict[str, Any]]:
    """Chats waiting for assignment (R9), oldest first, with how long each has waited."""
    chats = CHATS.chats
    query = select(*(chats.c[name] for name in CHAT_SUMMARY)).where(chats.c.status == "waiting_queue")
    if campaign_ids is not None:
        query = query.where(chats.c.campaign_id.in_(campaign_ids))
    names = campaign_names(engine)
    with engine.connect() as connection:
        rows = [dict(r) for r in connection.execute(query.order_by(chats.c.queued_at, chats.c.id)).mappings()]
    for row in rows:
        row["campaign_name"] = names.get(row["campaign_id"], "")
        row["waiting_seconds"] = int((now - row["queued_at"]).total_seconds()) if row["queued_at"] else 0
    return rows


def open_chats_of(engine: Engine, agent_id: str) -> list[dict[str, Any]]:
    """The chats assigned to an agent and still open: the customers waiting for an answer first, the one who
    has waited longest at the top, then the answered ones; each with its last message and how many of the
    customer's messages the agent has not seen (`unread`)."""
    chats, reads = CHATS.chats, CHATS.reads
    seen = func.coalesce(reads.c.customer_messages, 0)
    query = (select(*(chats.c[name] for name in CHAT_SUMMARY), chats.c.last_message_body,
                    chats.c.last_message_author, (chats.c.customer_messages - seen).label("unread"))
             .outerjoin(reads, and_(reads.c.chat_id == chats.c.id, reads.c.agent_id == agent_id))
             .where(chats.c.agent_id == agent_id, chats.c.status == "assigned")
             .order_by(chats.c.unanswered_since.is_(None), chats.c.unanswered_since, chats.c.assigned_at,
                       chats.c.id))
    names = campaign_names(engine)
    with engine.connect() as connection:
        rows = [dict(r) for r in connection.execute(query).mappings()]
    for row in rows:
        row["campaign_name"] = names.get(row["campaign_id"], "")
        row["unread"] = max(row["unread"], 0)
    return rows


def chat(engine: Engine, chat_id: str) -> dict[str, Any] | None:
    """One chat with its campaign's name and dispositions and its agent's name."""
    chats, campaigns = CHATS.chats, CAMPAIGNS.campaigns
    with engine.connect() as connection:
        row = connection.execute(select(chats).where(chats.c.id == chat_id)).mappings().first()
        if row is None:
            return None
        found = dict(row)
        campaign = connection.execute(select(campaigns.c.name, campaigns.c.dispositions)
                                      .where(campaigns.c.id == found["campaign_id"])).first()
    dispositions = [stored_disposition(d) for d in campaign.dispositions] if campaign else []
    found["campaign_name"] = campaign.name if campaign else ""
    found["dispositions"] = [d.to_dict() for d in dispositions]
    found["disposition_label"] = disposition_label(found["disposition"], dispositions) if found["disposition"] else ""
    found["agent_name"] = agent_names(engine).get(found["agent_id"] or "", "")
    return found


def timeline(engine: Engine, chat_id: str) -> list[dict[str, Any]]:
    """The conversation: customer, bot and agent messages and internal notes (`note`) in order, with each
    attachment as Despacho keeps it (its address here, never Twilio's), lost with the reason, or still being copied."""
    table = CHATS.timeline
    names = agent_names(engine)
    with engine.connect() as connection:
        rows = [dict(r) for r in connection.execute(
            select(table).where(table.c.chat_id == chat_id)
            .order_by(table.c.log_position, table.c.id)).mappings()]
    settled = _settled_attachments(engine, [row["message_sid"] for row in rows if row["media"] and row["message_sid"]])
    for row in rows:
        row["author_name"] = names.get(row["author_id"], "") if row["author_kind"] in STAFF_AUTHORS else ""
        row["media"] = [_sent_file(chat_id, row["id"], item) if item.get("sent") else
                        _media(chat_id, row["message_sid"], index, item, settled.get((row["message_sid"], index)))
                        for index, item in enumerate(row["media"] or [])]
    return rows


def kept_attachment(engine: Engine, chat_id: str, message_sid: str, index: int) -> dict[str, Any] | None:
    """Where a kept attachment of one of this chat's messages is, and its type; None for any other."""
    table, kept = CHATS.timeline, MEDIA.attachments
    query = select(kept.c.location, kept.c.content_type).select_from(
        kept.join(table, table.c.message_sid == kept.c.message_sid)).where(
        table.c.chat_id == chat_id, kept.c.message_sid == message_sid, kept.c.position == index,
        kept.c.status == "kept")
    with engine.connect() as connection:
        found = connection.execute(query).mappings().first()
    return dict(found) if found else None


def sent_file(engine: Engine, chat_id: str, message_id: str) -> dict[str, Any] | None:
    """Where the file an agent sent with this chat's message is kept, its type and name; None for any other."""
    table = CHATS.timeline
    with engine.connect() as connection:
        media = connection.execute(select(table.c.media).where(
            table.c.id == message_id, table.c.chat_id == chat_id)).scalar()
    return next((dict(item) for item in media or [] if item.get("sent")), None)


def _settled_attachments(engine: Engine, message_sids: list[str]) -> dict[tuple[str, int], dict[str, Any]]:
    if not message_sids:
        return {}
    kept = MEDIA.attachments
    with engine.connect() as connection:
        rows = connection.execute(select(kept).where(kept.c.message_sid.in_(message_sids))).mappings().all()
    return {(row["message_sid"], row["position"]): dict(row) for row in rows}


def _sent_file(chat_id: str, message_id: str, item: dict[str, Any]) -> dict[str, str]:
    content_type = item["content_type"]
    return {"url": f"/chats/{chat_id}/files/{message_id}", "content_type": content_type,
            "kind": "image" if content_type.startswith("image/") else "file", "status": "kept", "reason": "",
            "file_name": item["file_name"]}


def _media(chat_id: str, message_sid: str | None, index: int, item: dict[str, str],
           settled: dict[str, Any] | None) -> dict[str, str]:
    content_type = (settled or {}).get("content_type") or item.get("content_type", "")
    kind = "image" if content_type.startswith("image/") else "audio" if content_type.startswith("audio/") else "file"
    status = settled["status"] if settled else "pending"
    url = f"/chats/{chat_id}/attachments/{message_sid}/{index}" if status == "kept" else ""
    return {"url": url, "content_type": content_type, "kind": kind, "status": status,
            "reason": (settled or {}).get("reason") or "", "file_name": ""}


def assignments(engine: Engine, chat_id: str) -> list[dict[str, Any]]:
    """Every assignment of a chat with its explained decision (R5), candidates named."""
    table = CHATS.assignments
    names = agent_names(engine)
    with engine.connect() as connection:
        rows = [dict(r) for r in connection.execute(
            select(table).where(table.c.chat_id == chat_id).order_by(table.c.at, table.c.event_id)).mappings()]
    for row in rows:
        decision = row["decision"] or {}
        row["agent_name"] = names.get(row["agent_id"], row["agent_id"])
        row["previous_agent_name"] = names.get(row["previous_agent_id"] or "", "")
        row["policy"] = decision.get("policy", "")
        row["candidates"] = [{**c, "name": names.get(c.get("agent_id", ""), c.get("agent_id", "")),
                              "chosen": c.get("agent_id") == decision.get("chosen_agent_id")}
                             for c in decision.get("candidates", [])]
    _name_transfer_campaigns(engine, rows)
    return rows


def _name_transfer_campaigns(engine: Engine, rows: list[dict[str, Any]]) -> None:
    """A transfer to another campaign says where from and where to, by the campaigns' names."""
    transfers = [row for row in rows if row["kind"] == "transferred"]
    if not transfers:
        return
    campaigns = campaign_names(engine)
    for row in transfers:
        for end in ("from", "to"):
            campaign_id = row["decision"].get(f"{end}_campaign_id", "")
            row[f"{end}_campaign_name"] = campaigns.get(campaign_id, campaign_id)


def transfer_destinations(engine: Engine, chat: Mapping[str, Any]) -> list[dict[str, str]]:
    """The other active campaigns whose active portfolio holds the chat's identified customer (where it may be
    transferred), by display name; none for a closed chat, one still in the bot or not identified."""
    identity = _identity_of(chat)
    if identity is None or chat["status"] not in TRANSFERABLE_STATUSES:
        return []
    with engine.connect() as connection:
        rows = connection.execute(CAMPAIGNS_HOLDING_DOCUMENT, {"document_number": identity.document_number,
                                                               "document_type": identity.document_type})
        return [{"id": r.id, "name": r.display_name} for r in rows if r.id != chat["campaign_id"]]


def customer(engine: Engine, chat: Mapping[str, Any]) -> dict[str, Any] | None:
    """The portfolio row of the chat's customer in the chat's campaign, if identified (`active` is false
    once an import replaced the portfolio without them), with the headers its import's file gave its custom
    fields (`field_labels`)."""
    identity = _identity_of(chat)
    if not chat["campaign_id"] or identity is None:
        return None
    table, imports = PORTFOLIOS.customers, PORTFOLIOS.imports
    with engine.connect() as connection:
        row = connection.execute(select(table, imports.c.field_labels)
                                 .outerjoin(imports, imports.c.id == table.c.import_id).where(
            table.c.campaign_id == chat["campaign_id"], table.c.document_type == identity.document_type,
            table.c.document_number == identity.document_number)).mappings().first()
    return {**row, "field_labels": row["field_labels"] or {}} if row else None


def _identity_of(chat: Mapping[str, Any]) -> CustomerIdentity | None:
    """Chats identified before the bot normalised documents hold them as the customer typed them."""
    try:
        return CustomerIdentity.of(chat["document_type"] or "", chat["document_number"] or "")
    except InvalidDocumentError:
        return None


def portfolio_name(engine: Engine, campaign_id: str, document_type: str, document_number: str) -> str:
    """The name the campaign's portfolio gives a customer (staff see it; the bot never does)."""
    found = customer(engine, {"campaign_id": campaign_id, "document_type": document_type,
                              "document_number": document_number})
    return str(found["full_name"]) if found else ""


def agents_of_campaigns(engine: Engine, campaign_ids: set[str] | None) -> list[dict[str, Any]]:
    """Agents of these campaigns with status, load, campaigns and open chats; chats of a campaign the
    agent no longer belongs to are flagged `orphaned`."""
    agents, members, chats = AGENTS.agents, AGENTS.memberships, CHATS.chats
    query = select(agents).where(agents.c.role == "agent").order_by(agents.c.name)
    with engine.connect() as connection:
        links = connection.execute(select(members.c.agent_id, members.c.campaign_id)).all()
        rows = [dict(r) for r in connection.execute(query).mappings()]
        open_chats = [dict(r) for r in connection.execute(
            select(chats.c.id, chats.c.agent_id, chats.c.campaign_id, chats.c.profile_name, chats.c.customer_name,
                   chats.c.customer_address, chats.c.assigned_at, chats.c.unanswered_since)
            .where(chats.c.status == "assigned").order_by(chats.c.assigned_at)).mappings()]
    names = campaign_names(engine)
    memberships: dict[str, set[str]] = {}
    for agent_id, campaign_id in links:
        memberships.setdefault(agent_id, set()).add(campaign_id)
    result = []
    for row in rows:
        mine = memberships.get(row["id"], set())
        held = [c for c in open_chats if c["agent_id"] == row["id"]]
        if campaign_ids is not None and not (mine & campaign_ids
                                             or any(c["campaign_id"] in campaign_ids for c in held)):
            continue
        row["campaigns"] = sorted(names.get(c, c) for c in mine)
        row["chats"] = [{**c, "campaign_name": names.get(c["campaign_id"], ""),
                         "orphaned": c["campaign_id"] not in mine,
                         "in_scope": campaign_ids is None or c["campaign_id"] in campaign_ids} for c in held]
        result.append(row)
    return result


def campaign_members(engine: Engine, campaign_id: str) -> list[dict[str, Any]]:
    """Active agents of one campaign, the only possible targets of a reassignment (R1), with their presence
    (`available`, `break` or `offline`, as routing sees it): the available ones first (R17)."""
    agents, members = AGENTS.agents, AGENTS.memberships
    query = (select(agents.c.id, agents.c.name, agents.c.status, agents.c.status_reason, agents.c.open_chats,
                    agents.c.capacity, agents.c.open_sessions)
             .join(members, members.c.agent_id == agents.c.id)
             .where(members.c.campaign_id == campaign_id, agents.c.role == "agent", agents.c.active.is_(True))
             .order_by(agents.c.name))
    with engine.connect() as connection:
        rows = [dict(r) for r in connection.execute(query).mappings()]
    for row in rows:
        row["presence"] = presence(row.pop("status"), row.pop("open_sessions") > 0)
        row["break_reason"] = row.pop("status_reason") if row["presence"] == "break" else ""
    return sorted(rows, key=lambda row: row["presence"] != "available")


def agent_status(engine: Engine, agent_id: str) -> dict[str, Any] | None:
    table = AGENTS.agents
    with engine.connect() as connection:
        row = connection.execute(select(table.c.status, table.c.status_reason, table.c.status_since,
                                        table.c.open_chats, table.c.capacity, table.c.open_sessions)
                                 .where(table.c.id == agent_id)).mappings().first()
    return dict(row) if row else None


def break_reasons_of(engine: Engine, agent_id: str) -> list[str]:
    """The reasons an agent may give for a break: those of their campaigns, in the campaigns' order."""
    campaigns, members = CAMPAIGNS.campaigns, AGENTS.memberships
    query = (select(campaigns.c.break_reasons).join(members, members.c.campaign_id == campaigns.c.id)
             .where(members.c.agent_id == agent_id).order_by(campaigns.c.name))
    with engine.connect() as connection:
        lists = connection.execute(query).scalars().all()
    reasons: dict[str, None] = {}
    for found in lists:
        reasons.update(dict.fromkeys(found))
    return list(reasons) or list(DEFAULT_BREAK_REASONS)


def _chats_in_scope(campaign_ids: set[str] | None) -> ColumnElement[bool]:
    """Chats of these campaigns, and chats still without one (in the bot) written to one of their numbers."""
    chats, senders = CHATS.chats, CAMPAIGNS.senders
    if campaign_ids is None:
        return true()
    their_numbers = select(senders.c.address).where(senders.c.campaign_id.in_(campaign_ids))
    return or_(chats.c.campaign_id.in_(campaign_ids),
               and_(chats.c.campaign_id.is_(None), chats.c.sender_address.in_(their_numbers)))


def chats_of_customer(engine: Engine, customer_address: str,
                      campaign_ids: set[str] | None = None) -> list[dict[str, Any]]:
    """Every chat of one customer address in these campaigns, oldest first (the simulator's view)."""
    chats = CHATS.chats
    query = select(*(chats.c[name] for name in CHAT_SUMMARY)).where(
        chats.c.customer_address == customer_address, _chats_in_scope(campaign_ids)
    ).order_by(chats.c.opened_at, chats.c.id)
    with engine.connect() as connection:
        return [dict(r) for r in connection.execute(query).mappings()]


def customer_messages(engine: Engine, customer_address: str,
                      campaign_ids: set[str] | None = None) -> list[dict[str, Any]]:
    """What one customer address wrote, in every chat of these campaigns, in order."""
    chats, table = CHATS.chats, CHATS.timeline
    query = (select(table.c.at, table.c.body, table.c.media).join(chats, chats.c.id == table.c.chat_id)
             .where(chats.c.customer_address == customer_address, table.c.author_kind == "customer",
                    _chats_in_scope(campaign_ids))
             .order_by(table.c.at, table.c.id))
    with engine.connect() as connection:
        return [dict(r) for r in connection.execute(query).mappings()]


def messages_to_customer(engine: Engine, customer_address: str, campaign_ids: set[str] | None = None) -> set[str]:
    """Ids of the messages sent to one customer address in chats of these campaigns."""
    chats, messages = CHATS.chats, MESSAGES.messages
    query = (select(messages.c.id).join(chats, chats.c.id == messages.c.chat_id)
             .where(chats.c.customer_address == customer_address, _chats_in_scope(campaign_ids)))
    with engine.connect() as connection:
        return set(connection.execute(query).scalars())


def senders(engine: Engine, campaign_ids: set[str] | None = None) -> list[dict[str, Any]]:
    """The numbers of these campaigns a simulated customer can write to."""
    table = CAMPAIGNS.senders
    names = campaign_names(engine)
    query = select(table).order_by(table.c.address)
    if campaign_ids is not None:
        query = query.where(table.c.campaign_id.in_(campaign_ids))
    with engine.connect() as connection:
        rows = [dict(r) for r in connection.execute(query).mappings()]
    for row in rows:
        row["campaign_name"] = names.get(row["campaign_id"], "")
    return rows


def transcript_location(engine: Engine, chat_id: str) -> str | None:
    chats = CHATS.chats
    with engine.connect() as connection:
        location: str | None = connection.execute(select(chats.c.transcript_location)
                                                  .where(chats.c.id == chat_id)).scalar()
    return location
