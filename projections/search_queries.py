"""Finding chats: the search page's filters and a customer's previous chats, inside the viewer's scope.

Every query takes a `ChatScope`, so what a viewer may see is decided here, in SQL, and never by filtering rows
afterwards. Document and phone are exact (typed any way, normalised as the bot and Twilio write them), so a
customer's whole history is one index lookup; a name is a substring of the portfolio's or WhatsApp's name,
read within the other filters (the page always offers a date range).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, Select, and_, false, func, or_, select, true

from domain.dispositions import disposition_label, stored_disposition
from projections.queries import AGENTS, CAMPAIGNS, CHATS

COLOMBIA = "57"
OPEN_STATUSES = ("bot", "waiting_queue", "assigned")
HISTORY_LIMIT = 20


@dataclass(frozen=True)
class ChatScope:
    """The chats a viewer may find: those of `campaign_ids` (None: every campaign), and for an agent only the
    chats they hold or last held (`agent_id`), the same chats the chat page lets them open."""

    campaign_ids: frozenset[str] | None
    agent_id: str | None = None

    def condition(self) -> ColumnElement[bool]:
        chats = CHATS.chats.c
        if self.campaign_ids is None:
            mine: ColumnElement[bool] = true()
        elif not self.campaign_ids:
            return false()
        else:
            mine = chats.campaign_id.in_(sorted(self.campaign_ids))
        return mine if self.agent_id is None else and_(mine, chats.agent_id == self.agent_id)


@dataclass(frozen=True)
class ChatSearch:
    """What the search form asks; empty fields do not filter. Dates are instants (the day's bounds in the
    viewer's time zone, chosen by the caller): opened at or after `opened_from`, before `opened_before`."""

    document: str = ""
    phone: str = ""
    name: str = ""
    opened_from: datetime | None = None
    opened_before: datetime | None = None
    agent_id: str = ""
    disposition: str = ""
    campaign_id: str = ""
    state: str = ""  # "open", "closed" or "" for both

    def conditions(self, addresses: Sequence[str] = ()) -> list[ColumnElement[bool]]:
        """`addresses`: those of the typed phone that some chat has (see `_addresses_on_record`)."""
        chats = CHATS.chats.c
        found: list[ColumnElement[bool]] = []
        if number := document_digits(self.document):
            found.append(chats.document_number == number)
        if self.phone.strip():
            found.append(chats.customer_address.in_(addresses) if len(addresses) > 1
                         else chats.customer_address == (addresses[0] if addresses else "-"))
        if name := self.name.strip().lower():
            pattern = "%" + re.sub(r"([\\%_])", r"\\\1", name) + "%"
            found.append(or_(func.lower(chats.customer_name).like(pattern, escape="\\"),
                             func.lower(chats.profile_name).like(pattern, escape="\\")))
        if self.opened_from is not None:
            found.append(chats.opened_at >= self.opened_from)
        if self.opened_before is not None:
            found.append(chats.opened_at < self.opened_before)
        if self.agent_id:
            found.append(chats.agent_id == self.agent_id)
        if self.disposition:
            found.append(chats.disposition == self.disposition)
        if self.campaign_id:
            found.append(chats.campaign_id == self.campaign_id)
        if self.state == "open":
            found.append(chats.status.in_(OPEN_STATUSES))
        elif self.state == "closed":
            found.append(chats.status == "closed")
        return found


@dataclass(frozen=True)
class ResultPage:
    rows: list[dict[str, Any]]
    page: int
    total: int
    per_page: int

    @property
    def total_pages(self) -> int:
        return max((self.total + self.per_page - 1) // self.per_page, 1)


def document_digits(text: str) -> str:
    """A document as the bot stores it: letters and digits only, upper case (`1.020.304.050` → `1020304050`)."""
    return re.sub(r"[^0-9A-Za-z]", "", text).upper()[:20]


def customer_addresses(phone: str) -> list[str]:
    """The addresses a typed phone may have on a chat: WhatsApp's and SMS's, in E.164; a Colombian mobile typed
    without its country code (`300 111 2233`) gets it."""
    digits = re.sub(r"\D", "", phone)[:15]
    if len(digits) == 10 and digits.startswith("3"):
        digits = COLOMBIA + digits
    return [f"whatsapp:+{digits}", f"+{digits}"] if digits else ["-"]


def _addresses_on_record(connection: Connection, phone: str) -> list[str]:
    """Of a phone's WhatsApp and SMS addresses, those some chat has: nearly always one, so the search is one
    equality an index keeps in date order (two addresses' rows merged are not, and SQLite would rather read a
    whole campaign in date order than sort a customer's few chats)."""
    if not phone.strip():
        return []
    chats = CHATS.chats.c
    query = select(chats.customer_address).where(chats.customer_address.in_(customer_addresses(phone))).distinct()
    return sorted(connection.execute(query).scalars())


def _summary() -> Select[Any]:
    chats, campaigns, agents = CHATS.chats, CAMPAIGNS.campaigns, AGENTS.agents
    return (select(chats.c.id, chats.c.campaign_id, chats.c.status, chats.c.channel, chats.c.customer_address,
                   chats.c.profile_name, chats.c.customer_name, chats.c.document_type, chats.c.document_number,
                   chats.c.agent_id, chats.c.opened_at, chats.c.closed_at, chats.c.close_reason,
                   chats.c.disposition, chats.c.transcript_location,
                   campaigns.c.name.label("campaign_name"), campaigns.c.dispositions.label("campaign_dispositions"),
                   agents.c.name.label("agent_name"))
            .outerjoin(campaigns, campaigns.c.id == chats.c.campaign_id)
            .outerjoin(agents, agents.c.id == chats.c.agent_id))


def _labelled(rows: Iterable[Any]) -> list[dict[str, Any]]:
    found = []
    for row in rows:
        item = dict(row)
        offered = [stored_disposition(d) for d in item.pop("campaign_dispositions") or []]
        item["disposition_label"] = disposition_label(item["disposition"], offered) if item["disposition"] else ""
        item["campaign_name"] = item["campaign_name"] or ""
        item["agent_name"] = item["agent_name"] or ""
        item["has_transcript"] = bool(item.pop("transcript_location"))
        found.append(item)
    return found


def search_chats(engine: Engine, scope: ChatScope, search: ChatSearch, *, page: int = 1,
                 per_page: int = 25) -> ResultPage:
    """One page of the chats matching every filter, the most recently opened first, and how many match."""
    chats = CHATS.chats
    page = max(page, 1)
    with engine.connect() as connection:
        matching = (scope.condition(), *search.conditions(_addresses_on_record(connection, search.phone)))
    query = (_summary().where(*matching).order_by(chats.c.opened_at.desc(), chats.c.id.desc())
             .limit(per_page).offset((page - 1) * per_page))
    with engine.connect() as connection:
        total = connection.execute(select(func.count()).select_from(chats).where(*matching)).scalar_one()
        rows = _labelled(connection.execute(query).mappings())
    return ResultPage(rows, page, total, per_page)


def previous_chats(engine: Engine, scope: ChatScope, chat: dict[str, Any]) -> list[dict[str, Any]]:
    """The customer's other chats, newest first: same identity (document) once identified, else the same phone
    on the same channel."""
    chats = CHATS.chats.c
    if chat.get("document_number"):
        same_customer = and_(chats.document_number == chat["document_number"],
                             chats.document_type == chat["document_type"])
    else:
        same_customer = chats.customer_address == chat["customer_address"]
    query = (_summary().where(scope.condition(), same_customer, chats.id != chat["id"])
             .order_by(chats.opened_at.desc(), chats.id.desc()).limit(HISTORY_LIMIT))
    with engine.connect() as connection:
        return _labelled(connection.execute(query).mappings())


def searchable_agents(engine: Engine, campaign_ids: frozenset[str] | None) -> list[dict[str, Any]]:
    """The agents the agent filter offers: members of these campaigns (every agent when None)."""
    agents, members = AGENTS.agents, AGENTS.memberships
    query = select(agents.c.id, agents.c.name).where(agents.c.role == "agent").order_by(agents.c.name)
    if campaign_ids is not None:
        query = query.where(agents.c.id.in_(select(members.c.agent_id)
                                            .where(members.c.campaign_id.in_(sorted(campaign_ids)))))
    with engine.connect() as connection:
        return [dict(r) for r in connection.execute(query).mappings()]


def searchable_campaigns(engine: Engine, campaign_ids: frozenset[str] | None) -> list[dict[str, Any]]:
    """These campaigns (every one when None) with the dispositions they offer, for the filters."""
    campaigns = CAMPAIGNS.campaigns
    query = select(campaigns.c.id, campaigns.c.name, campaigns.c.dispositions).order_by(campaigns.c.name)
    if campaign_ids is not None:
        query = query.where(campaigns.c.id.in_(sorted(campaign_ids)))
    with engine.connect() as connection:
        rows = [dict(r) for r in connection.execute(query).mappings()]
    for row in rows:
        row["dispositions"] = [stored_disposition(d).to_dict() for d in row["dispositions"] or []]
    return rows
