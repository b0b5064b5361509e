"""The metric projector: facts per chat, queue entry, assignment and outbound message, and the registry's
counters per hour and per local day (docs/metrics.md says what each counts).

Every fact row contributes counters to the bucket of the instant that dates them (the chat's start, the queue
entry, the assignment, the message's request). When a fact changes (a chat gets its campaign, an assignment its
first reply) its old contribution is taken out and the new one put in, so the counters always equal the sum
over the facts. Facts of the event's own instant (a message sent, a close) add once. Durations are the events'
`at` in the log's order; a negative one (a process whose clock lagged) counts as zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import MetaData

from domain.campaigns import Campaign
from domain.chats import Chat
from domain.dispositions import stored_disposition
from domain.messages import FAILED_STATUSES, OutboundMessage, accepted_by_twilio
from domain.metrics.registry import (
    ABANDON_REASONS,
    AGENT,
    BOT,
    CAMPAIGN,
    CONTAINMENT_WINDOW_HOURS,
    MAXIMA,
    MOVED,
    survey_counters,
)
from domain.metrics.targets import service_level_seconds
from projections.base import BatchProjector, handles
from projections.metric_tables import DIMENSIONS, counter_tables, fact_tables
from projections.sql import event_key, uid
from projections.unit_of_work import Row, TableWork, UnitOfWork

UNDETERMINED_ZONE = "America/Bogota"
"""The zone that cuts the days of chats whose campaign is not determined yet."""
Contribution = tuple[str, tuple[str, ...], datetime, dict[str, float]]


def seconds_between(start: datetime, end: datetime) -> float:
    return round(max((end - start).total_seconds(), 0.0), 3)


def chat_counters(chat: Row) -> list[Contribution]:
    campaign, at, closed = chat["campaign_id"], chat["opened_at"], chat["closed_at"] is not None
    bot_closed = chat["close_reason"] == "bot"
    return [
        (CAMPAIGN, (campaign,), at, {"chats": 1, "attended": chat["attended"],
                                     "unattended": closed and not chat["attended"]}),
        (BOT, (campaign, chat["flow_name"]), at, {
            "bot_chats": 1, "identified": chat["identified"], "transferred": chat["transferred"],
            "dropped": chat["inactive"] and not chat["transferred"], "bot_closed": bot_closed,
            "contained": bot_closed and not chat["customer_returned"]}),
    ]


def queue_entry_counters(entry: Row) -> list[Contribution]:
    """The service level judges the entry by the threshold recorded when it was queued."""
    assigned, abandoned = entry["outcome"] == "assigned", entry["outcome"] == "abandoned"
    wait = entry["wait_seconds"] or 0.0
    ended = assigned or abandoned  # an entry moved to another campaign is neither: it waits on in the next entry
    return [(CAMPAIGN, (entry["campaign_id"],), entry["queued_at"], {
        "queue_entries": 1, "queue_assigned": assigned, "queue_abandoned": abandoned,
        "wait_assigned_sum": wait if assigned else 0, "wait_ended_sum": wait if ended else 0,
        "wait_max": wait if ended else 0, "within_target": assigned and wait <= entry["target_seconds"],
        **{f"abandoned_{reason}": abandoned and entry["close_reason"] == reason for reason in ABANDON_REASONS}})]


def assignment_counters(assignment: Row) -> list[Contribution]:
    start, first, end = assignment["assigned_at"], assignment["first_reply_at"], assignment["ended_at"]
    return [(AGENT, (assignment["agent_id"], assignment["campaign_id"]), start, {
        "assignments": 1, "handled": assignment["messages"] > 0,
        "frt_sum": seconds_between(start, first) if first else 0, "frt_count": first is not None,
        "reply_sum": assignment["reply_seconds"], "reply_count": assignment["reply_count"],
        "aht_sum": seconds_between(start, end) if end else 0, "aht_count": end is not None,
        "alerts": assignment["alerts"]})]


def outbound_counters(message: Row) -> list[Contribution]:
    return [(CAMPAIGN, (message["campaign_id"],), message["requested_at"],
             {"outbound": 1, "outbound_failed": message["failed"]})]


@lru_cache(maxsize=256)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def hour_of(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def local_day(at: datetime, zone: str) -> date:
    return at.astimezone(_zone(zone)).date()


def _counter_row(work: TableWork, bucket: str, value: Any, key: tuple[Any, ...]) -> Row | None:
    """A counter row, without a SELECT when prefetch read its whole hour or day (absent there: a new row)."""
    if key not in work.current and (bucket, value) in work.loaded_groups:
        return None
    return work.get(key)


class MetricsProjector(BatchProjector):
    name = "metrics"

    def define_tables(self, metadata: MetaData, suffix: str) -> None:
        facts = fact_tables(metadata, suffix)
        self.chats, self.queue_entries, self.assignments = facts["chats"], facts["queue_entries"], facts["assignments"]
        self.outbound, self.bot_states, self.bot_closes = facts["outbound"], facts["bot_states"], facts["bot_closes"]
        self.campaigns = facts["campaigns"]
        self.counters = counter_tables(metadata, suffix)
        self._zones: dict[str, str] = {}
        self._contributions = {self.chats.name: chat_counters, self.queue_entries.name: queue_entry_counters,
                               self.assignments.name: assignment_counters, self.outbound.name: outbound_counters}

    def prefetch(self, batch: UnitOfWork, events: Sequence[Any]) -> None:
        """The facts the batch changes, then every counter row of the hours and days they and the events fall in
        (a day read as the UTC day and its neighbours, which covers every zone)."""
        chats = self._loaded(batch, self.chats, [uid(e.originator_id) for e in events if isinstance(e, Chat.Event)])
        customers = [e.customer_address for e in events if isinstance(e, Chat.Opened)]
        closes = self._loaded(batch, self.bot_closes, customers + [c["customer_address"] for c in chats])
        chats += self._loaded(batch, self.chats, [c["chat_id"] for c in closes])
        entries = self._loaded(batch, self.queue_entries, [c["queue_entry_id"] for c in chats if c["queue_entry_id"]])
        held = self._loaded(batch, self.assignments, [c["assignment_id"] for c in chats if c["assignment_id"]])
        messages = self._loaded(batch, self.outbound,
                                [uid(e.originator_id) for e in events if isinstance(e, OutboundMessage.Event)])
        batch.load(self.bot_states, [(uid(e.originator_id), str(e.bot_state.get("state", ""))) for e in events
                                     if isinstance(e, Chat.BotAdvanced)])
        campaigns = {getattr(e, "campaign_id", "") for e in events} | {uid(e.originator_id) for e in events
                                                                      if isinstance(e, Campaign.Event)}
        batch.load(self.campaigns, sorted((campaigns | {r["campaign_id"] for r in (*chats, *messages)}) - {""}))
        instants = [e.at for e in events] + [c["opened_at"] for c in chats] + [q["queued_at"] for q in entries] + [
            a["assigned_at"] for a in held] + [m["requested_at"] for m in messages]
        hours = {hour_of(at) for at in instants}
        days = {hour.date() + timedelta(days=shift) for hour in hours for shift in (-1, 0, 1)}
        for (_, bucket), table in self.counters.items():
            batch.load_groups(table, bucket, sorted(hours) if bucket == "hour" else sorted(days))

    @staticmethod
    def _loaded(batch: UnitOfWork, table: Any, keys: list[Any]) -> list[Row]:
        batch.load(table, keys)
        return [row for key in dict.fromkeys(keys) if (row := batch.get(table, key)) is not None]

    # ---- counters ----

    def _add(self, batch: UnitOfWork, contributions: list[Contribution], sign: int) -> None:
        """Put contributions in (+1) or take them out (-1); a maximum is only ever put in."""
        for level, dimensions, at, counters in contributions:
            sums = {name: sign * float(amount) for name, amount in counters.items() if amount and name not in MAXIMA}
            maxima = {name: float(amount) for name, amount in counters.items() if amount and name in MAXIMA} \
                if sign > 0 else {}
            self._bump(batch, level, dimensions, at, sums, maxima)

    def _bump(self, batch: UnitOfWork, level: str, dimensions: tuple[str, ...], at: datetime,
              sums: dict[str, float], maxima: dict[str, float]) -> None:
        if not (sums or maxima):
            return
        zone = self._zone_of(batch, dimensions[DIMENSIONS[level].index("campaign_id")])
        for bucket, value in (("hour", hour_of(at)), ("day", local_day(at, zone))):
            work = batch.table(self.counters[level, bucket])
            key = (*dimensions, value)
            row = _counter_row(work, bucket, value, key)
            if row is None:
                row = work.insert({**dict(zip(DIMENSIONS[level], dimensions, strict=True)), bucket: value})
            changes = {name: row[name] + amount for name, amount in sums.items()}
            changes.update({name: max(row[name], amount) for name, amount in maxima.items()})
            work.update(key, changes)

    def _zone_of(self, batch: UnitOfWork, campaign_id: str) -> str:
        """A campaign's day zone never changes once recorded, so it is remembered across batches."""
        if campaign_id in self._zones:
            return self._zones[campaign_id]
        row = batch.get(self.campaigns, campaign_id) if campaign_id else None
        if row is None:
            return UNDETERMINED_ZONE
        self._zones[campaign_id] = row["time_zone"]
        return str(row["time_zone"])

    def _insert_fact(self, batch: UnitOfWork, table: Any, **values: Any) -> None:
        row = batch.insert(table, **values)
        self._add(batch, self._contributions[table.name](row), +1)

    def _change_fact(self, batch: UnitOfWork, table: Any, key: Any, **values: Any) -> Row | None:
        """Change a fact and its counters by the difference: a contribution in the same bucket moves only the counters
        that changed; one that moved (another campaign, flow or instant) leaves its old bucket for the new one."""
        row = batch.get(table, key)
        if row is None:
            return None
        if all(row[name] == value for name, value in values.items()):
            return row
        contribute = self._contributions[table.name]
        before = contribute(dict(row))
        changed = batch.update(table, key, **values)
        if changed is None:  # never: read just above in the same batch
            return None
        for old, new in zip(before, contribute(changed), strict=True):
            if old == new:
                continue
            if old[:3] != new[:3]:
                self._add(batch, [old], -1)
                self._add(batch, [new], +1)
                continue
            level, dimensions, at, was, now = *new[:3], old[3], new[3]
            self._bump(batch, level, dimensions, at,
                       {k: float(now[k]) - float(was[k]) for k in now if k not in MAXIMA and now[k] != was[k]},
                       {k: float(now[k]) for k in now if k in MAXIMA and now[k] and now[k] != was[k]})
        return changed

    def _event_fact(self, batch: UnitOfWork, level: str, dimensions: tuple[str, ...], at: datetime,
                    **counters: float) -> None:
        self._add(batch, [(level, dimensions, at, counters)], +1)

    # ---- campaigns ----

    @handles(Campaign.Created, Campaign.Edited)
    def campaign_saved(self, batch: UnitOfWork, event: Any) -> None:
        """The daily counters keep the zone the campaign was created in, so a fact counted into a day is always
        taken out of the same day; after a change of zone the queries read the hourly counters instead."""
        settings, campaign_id = event.settings, uid(event.originator_id)
        effective = sorted(d.code for d in map(stored_disposition, settings.get("dispositions", [])) if d.effective)
        known = batch.get(self.campaigns, campaign_id)
        batch.upsert(self.campaigns, campaign_id=campaign_id, effective_dispositions=effective,
                     time_zone=known["time_zone"] if known else settings.get("time_zone") or UNDETERMINED_ZONE,
                     service_level_seconds=service_level_seconds(settings.get("metric_targets", {})))

    # ---- chats ----

    def _chat(self, batch: UnitOfWork, event: Any) -> Row:
        row = batch.get(self.chats, uid(event.originator_id))
        if row is None:
            raise LookupError(f"no chat {event.originator_id} in {self.chats.name}")
        return row

    def _change_chat(self, batch: UnitOfWork, event: Any, **values: Any) -> None:
        self._change_fact(batch, self.chats, uid(event.originator_id), **values)

    @handles(Chat.Opened)
    def opened(self, batch: UnitOfWork, event: Any) -> None:
        returned = batch.get(self.bot_closes, event.customer_address)
        if returned is not None and event.at - returned["closed_at"] < timedelta(hours=CONTAINMENT_WINDOW_HOURS):
            self._change_fact(batch, self.chats, returned["chat_id"], customer_returned=True)
        self._insert_fact(batch, self.chats, chat_id=uid(event.originator_id),
                          campaign_id=event.campaign_id, flow_name=event.flow_name,
                          channel=event.channel, sender_address=event.sender_address,
                          customer_address=event.customer_address, opened_at=event.at, identified=False,
                          transferred=False, inactive=False, assigned=False, attended=False, customer_waiting=False,
                          customer_returned=False, closed_at=None, close_reason=None, disposition=None,
                          closed_by_agent=None, queue_entry_id=None, assignment_id=None)

    @handles(Chat.BotAdvanced)
    def bot_advanced(self, batch: UnitOfWork, event: Any) -> None:
        flow, state = str(event.bot_state.get("flow_name", "")), str(event.bot_state.get("state", ""))
        if flow:
            self._change_chat(batch, event, flow_name=flow)
        key = (uid(event.originator_id), state)
        if state and batch.get(self.bot_states, key) is None:
            batch.insert(self.bot_states, chat_id=key[0], state=state, flow_name=flow or self._chat(batch, event)
                         ["flow_name"], reached_at=event.at)

    @handles(Chat.BotInactivityRecorded)
    def bot_inactive(self, batch: UnitOfWork, event: Any) -> None:
        self._change_chat(batch, event, inactive=True)

    @handles(Chat.CustomerIdentified)
    def identified(self, batch: UnitOfWork, event: Any) -> None:
        self._change_chat(batch, event, identified=True, campaign_id=event.campaign_id)

    @handles(Chat.Queued)
    def queued(self, batch: UnitOfWork, event: Any) -> None:
        self._enter_queue(batch, event, event.campaign_id)
        self._change_chat(batch, event, transferred=True, campaign_id=event.campaign_id, customer_waiting=True)

    def _enter_queue(self, batch: UnitOfWork, event: Any, campaign_id: str) -> None:
        key = event_key(event)
        campaign = batch.get(self.campaigns, campaign_id) if campaign_id else None
        threshold = campaign["service_level_seconds"] if campaign else service_level_seconds({})
        self._insert_fact(batch, self.queue_entries, id=key, chat_id=uid(event.originator_id),
                          campaign_id=campaign_id, queued_at=event.at, ended_at=None, outcome="", close_reason=None,
                          wait_seconds=None, target_seconds=threshold)
        self._change_chat(batch, event, queue_entry_id=key, assignment_id=None)

    def _leave_queue(self, batch: UnitOfWork, chat: Row, outcome: str, at: datetime, reason: str | None = None) -> None:
        """`reason`: the close reason an abandoned entry left with."""
        entry = batch.get(self.queue_entries, chat["queue_entry_id"]) if chat["queue_entry_id"] else None
        if entry is not None and entry["outcome"] == "":
            self._change_fact(batch, self.queue_entries, entry["id"], ended_at=at, outcome=outcome,
                              close_reason=reason, wait_seconds=seconds_between(entry["queued_at"], at))

    @handles(Chat.AgentAssigned)
    def assigned(self, batch: UnitOfWork, event: Any) -> None:
        chat = self._chat(batch, event)
        self._leave_queue(batch, chat, "assigned", event.at)
        self._start_assignment(batch, event, chat, event.agent_id, "assigned")

    @handles(Chat.Reassigned)
    def reassigned(self, batch: UnitOfWork, event: Any) -> None:
        chat = self._chat(batch, event)
        self._end_assignment(batch, chat, "transferred", event.at)
        self._start_assignment(batch, event, chat, event.to_agent_id, "transfer")

    @handles(Chat.Requeued)
    def requeued(self, batch: UnitOfWork, event: Any) -> None:
        self._end_assignment(batch, self._chat(batch, event), "requeued", event.at)
        self._enter_queue(batch, event, event.campaign_id)

    @handles(Chat.TransferredToCampaign)
    def transferred(self, batch: UnitOfWork, event: Any) -> None:
        """Neither a new chat nor an abandonment: the chat (counted once, in the campaign it is in) moves, its
        assignment or queue entry ends as `moved`, and a new queue entry starts in the new campaign."""
        chat = self._chat(batch, event)
        self._end_assignment(batch, chat, MOVED, event.at)
        self._leave_queue(batch, chat, MOVED, event.at)
        self._change_chat(batch, event, campaign_id=event.campaign_id)
        self._enter_queue(batch, event, event.campaign_id)

    def _start_assignment(self, batch: UnitOfWork, event: Any, chat: Row, agent_id: str, kind: str) -> None:
        key = event_key(event)
        self._insert_fact(batch, self.assignments, id=key, chat_id=chat["chat_id"], campaign_id=chat["campaign_id"],
                          agent_id=agent_id, kind=kind, assigned_at=event.at, first_reply_at=None, ended_at=None,
                          end_reason=None, messages=0, reply_count=0, reply_seconds=0.0, alerts=0,
                          waiting_since=event.at if chat["customer_waiting"] else None)
        self._change_chat(batch, event, assigned=True, assignment_id=key, queue_entry_id=None)

    def _assignment(self, batch: UnitOfWork, chat: Row) -> Row | None:
        return batch.get(self.assignments, chat["assignment_id"]) if chat["assignment_id"] else None

    def _end_assignment(self, batch: UnitOfWork, chat: Row, reason: str, at: datetime) -> None:
        assignment = self._assignment(batch, chat)
        if assignment is not None and assignment["ended_at"] is None:
            self._change_fact(batch, self.assignments, assignment["id"], ended_at=max(at, assignment["assigned_at"]),
                              end_reason=reason, waiting_since=None)

    @handles(Chat.CustomerWrote)
    def customer_wrote(self, batch: UnitOfWork, event: Any) -> None:
        chat = self._chat(batch, event)
        assignment = self._assignment(batch, chat)
        if assignment is not None and assignment["ended_at"] is None and assignment["waiting_since"] is None:
            self._change_fact(batch, self.assignments, assignment["id"], waiting_since=event.at)
        self._change_chat(batch, event, customer_waiting=True)

    @handles(Chat.AgentReplied)
    def agent_replied(self, batch: UnitOfWork, event: Any) -> None:
        chat = self._chat(batch, event)
        assignment = self._assignment(batch, chat)
        if assignment is not None:
            waited = assignment["waiting_since"]
            self._change_fact(
                batch, self.assignments, assignment["id"], messages=assignment["messages"] + 1,
                first_reply_at=assignment["first_reply_at"] or event.at, waiting_since=None,
                reply_count=assignment["reply_count"] + (waited is not None),
                reply_seconds=assignment["reply_seconds"] + (seconds_between(waited, event.at) if waited else 0.0))
        self._event_fact(batch, AGENT, (event.agent_id, chat["campaign_id"]), event.at, messages=1)
        self._change_chat(batch, event, attended=True, customer_waiting=False)

    @handles(Chat.AlertRaised)
    def alert_raised(self, batch: UnitOfWork, event: Any) -> None:
        assignment = self._assignment(batch, self._chat(batch, event))
        if event.kind == "unanswered" and assignment is not None and assignment["ended_at"] is None:
            self._change_fact(batch, self.assignments, assignment["id"], alerts=assignment["alerts"] + 1)

    @handles(Chat.QueueAbandoned)
    def queue_abandoned(self, batch: UnitOfWork, event: Any) -> None:
        self._leave_queue(batch, self._chat(batch, event), "abandoned", event.at, event.reason)

    @handles(Chat.Closed)
    def closed(self, batch: UnitOfWork, event: Any) -> None:
        """A close of a waiting chat ends its queue entry as abandoned also in logs from before QueueAbandoned."""
        chat = self._chat(batch, event)
        self._leave_queue(batch, chat, "abandoned", event.at, event.reason)
        self._end_assignment(batch, chat, "closed", event.at)
        campaign = chat["campaign_id"]
        closer = event.actor.partition(":")[2] if event.actor.startswith("user:") else ""
        if event.reason == "agent" and closer:
            row = batch.get(self.campaigns, campaign) if campaign else None
            effective = row is not None and event.disposition in row["effective_dispositions"]
            self._event_fact(batch, AGENT, (closer, campaign), event.at, closes=1, effective_closes=effective)
        self._event_fact(batch, CAMPAIGN, (campaign,), event.at, **{f"closed_{event.reason}": 1})
        if event.reason == "bot":
            batch.upsert(self.bot_closes, customer_address=chat["customer_address"], chat_id=chat["chat_id"],
                         closed_at=event.at)
        self._change_chat(batch, event, closed_at=event.at, close_reason=event.reason,
                          disposition=event.disposition or None,
                          closed_by_agent=closer if event.reason == "agent" and closer else None,
                          queue_entry_id=None, assignment_id=None)

    @handles(Chat.SurveyAnswered)
    def survey_answered(self, batch: UnitOfWork, event: Any) -> None:
        """Dated by the answer; the event names the agent and campaign it is credited to."""
        counters = survey_counters(event.score)
        if event.agent_id:
            self._event_fact(batch, AGENT, (event.agent_id, event.campaign_id), event.at, **counters)
        self._event_fact(batch, CAMPAIGN, (event.campaign_id,), event.at, **counters)

    # ---- outbound messages ----

    @handles(OutboundMessage.Requested)
    def message_requested(self, batch: UnitOfWork, event: Any) -> None:
        self._insert_fact(batch, self.outbound, id=uid(event.originator_id), chat_id=event.chat_id,
                          campaign_id=event.campaign_id, sender=event.sender, kind=event.kind,
                          requested_at=event.at, failed=False)

    @handles(OutboundMessage.Submitted)
    def message_submitted(self, batch: UnitOfWork, event: Any) -> None:
        if not accepted_by_twilio(event.sid, event.status):
            self._message_failed(batch, event)

    @handles(OutboundMessage.StatusReported)
    def message_status(self, batch: UnitOfWork, event: Any) -> None:
        if event.status in FAILED_STATUSES:
            self._message_failed(batch, event)

    @handles(OutboundMessage.Failed)
    def message_failed(self, batch: UnitOfWork, event: Any) -> None:
        self._message_failed(batch, event)

    def _message_failed(self, batch: UnitOfWork, event: Any) -> None:
        self._change_fact(batch, self.outbound, uid(event.originator_id), failed=True)
