"""What must never happen, counted after a run from the deployment's log and read tables and the fake Twilio's
record: every count is 0 on a correct system. The same checks as tests/e2e/test_processes_killed.py and the
`despacho audit routing`, `audit closes` and `projections rebuild --verify` commands."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from contextlib import suppress
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from sqlalchemy import select

from application.audit import close_findings
from application.routing_audit import audit_routing
from despacho.bootstrap import Despacho, all_projectors
from domain.messages import InboundMessage
from projections.queries import CHATS, closes_to_audit
from projections.rebuild import rebuild

UNSENT_OUTCOMES = ("OutboundMessage.Failed", "OutboundMessage.AnsweredByTwilio")  # on record as never to be sent
SETTLE_POLL_SECONDS = 1.0


def count_invariants(despacho: Despacho, campaign_id: str, sent_sids: list[str], arrivals: dict[str, list[float]],
                     since: datetime) -> dict[str, int]:
    lost, twice = inbound_lost_and_applied_twice(despacho, sent_sids)
    requested = outbound_requested(despacho)
    our_chats = chats_of(despacho, campaign_id)
    return {
        "entrantes perdidos": lost,
        "entrantes aplicados dos veces": twice,
        "salientes enviados dos veces": sum(len(times) > 1 for times in arrivals.values()),
        "salientes pedidos y nunca enviados": len(requested - set(arrivals)),
        "chats sin asignación": sum(chat["status"] == "queued" for chat in our_chats),
        "cierres sin confirmación o PDF": len(close_findings(
            [close for close in closes_to_audit(despacho.read_engine) if close["id"] in {c["id"] for c in our_chats}])),
        "hallazgos de audit routing": len(audit_routing(despacho.store, since=since, campaign_id=campaign_id).findings),
        "diferencias de projections rebuild": sum(
            len(rebuild(despacho.store, despacho.read_engine, type(projector), replace_live=False))
            for projector in all_projectors()),
    }


def settle(despacho: Despacho, campaign_id: str, arrivals: Any, seconds: float) -> bool:
    """Wait (bounded) until the projectors reach the head of the log, every close has its confirmation and PDF
    and every message asked for reached Twilio; False if time ran out (the counts then say what is missing)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        caught_up = all(status.lag == 0 for status in despacho.runner.status())
        our_chats = {chat["id"] for chat in chats_of(despacho, campaign_id)}
        unfinished = [c for c in closes_to_audit(despacho.read_engine) if c["id"] in our_chats]
        if caught_up and not unfinished and not outbound_requested(despacho) - set(arrivals()):
            return True
        time.sleep(SETTLE_POLL_SECONDS)
    return False


def inbound_lost_and_applied_twice(despacho: Despacho, sids: list[str]) -> tuple[int, int]:
    """A webhook answered 200 is a message Twilio will not send again: it must be on its chat exactly once."""
    chats: set[str] = set()
    for sid in sids:
        with suppress(AggregateNotFoundError):  # never recorded: counted as lost below
            chats.add(despacho.store.repository.get(InboundMessage.create_id(sid)).chat_id)
    writes = Counter(getattr(event, "message_sid", "") for chat_id in chats - {""}
                     for event in despacho.store.events.get(UUID(chat_id)) if named(event) == "Chat.CustomerWrote")
    return sum(writes[sid] == 0 for sid in sids), sum(writes[sid] > 1 for sid in sids)


def outbound_requested(despacho: Despacho) -> set[str]:
    """The outbound messages the log asked for and did not give up on."""
    requested, given_up = set(), set()
    for event in log_events(despacho):
        if named(event) == "OutboundMessage.Requested":
            requested.add(str(event.originator_id))
        elif named(event) in UNSENT_OUTCOMES and not sent_before(despacho, event.originator_id):
            given_up.add(str(event.originator_id))
    return requested - given_up


def sent_before(despacho: Despacho, message_id: UUID) -> bool:
    return any(named(e) == "OutboundMessage.Submitted" for e in despacho.store.events.get(message_id))


def named(event: Any) -> str:
    """The event's class as its aggregate names it (`OutboundMessage.Requested`)."""
    return type(event).__qualname__


def log_events(despacho: Despacho) -> Iterator[Any]:
    start = 0
    while notifications := despacho.store.recorder.select_notifications(start=start, limit=1000,
                                                                        inclusive_of_start=False):
        for notification in notifications:
            yield despacho.store.mapper.to_domain_event(notification)
        start = notifications[-1].id


def chats_of(despacho: Despacho, campaign_id: str) -> list[dict[str, Any]]:
    chats = CHATS.chats
    with despacho.read_engine.connect() as connection:
        return [dict(row) for row in connection.execute(
            select(chats.c.id, chats.c.status).where(chats.c.campaign_id == campaign_id)).mappings()]
