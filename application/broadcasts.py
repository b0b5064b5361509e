"""Proactive sends: scheduling, the preview of who a segment reaches, starting, the waves of messages, pause,
resume and cancel, and an admin's resume of a sender's proactive sends after critical risk.

Nothing here enqueues the next step. `Scheduled`, `Started`, each `WaveSent`, `Resumed`, `HeldByRisk` and
`ContinuedAfterRisk` are followed by the follower of the event log (application/follow_ups.py), which hands
out `start_broadcast` or `send_broadcast_wave` with the wave's number; a wave whose number is not the
broadcast's next one does nothing, so a repeated or overtaken job messages nobody twice. Each wave saves its
messages (ids derived from the broadcast and the customer) with the broadcast's `WaveSent` in one save.
The messages then go the way of every message: `OutboundMessage.Requested` → `send_message` → the throttle's
bulk lane (replies first, caps, slow-down at high, held at critical).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from application.ports import Clock
from application.store import EventStore, aggregate_or, retry_on_conflict
from domain.broadcasts import (
    HELD_BY_RISK,
    RUNNING,
    SCHEDULED,
    Broadcast,
    BroadcastError,
    Recipient,
    Segment,
    Template,
    fill_variables,
    message_id_for,
)
from domain.business_hours import is_open, next_opening
from domain.campaigns import Campaign
from domain.common import NotFoundError
from domain.consent import Consent
from domain.messages import OutboundMessage
from domain.risk import SenderRisk, SenderRiskError

BROADCASTER = "system:broadcasts"
WAVE_SIZE = 50
# A wave held by its sender's risk looks again this often whether an admin resumed the sender (the throttle's
# recheck of a held message is the same minute).
HELD_RECHECK_SECONDS = 60.0


class BroadcastPostponedError(Exception):
    """The job must be tried again in this many seconds (not yet time, outside business hours, held by risk)."""

    def __init__(self, seconds: float, reason: str) -> None:
        super().__init__(f"{reason}: again in {seconds:.0f} s")
        self.seconds, self.reason = seconds, reason


@dataclass(frozen=True)
class Candidate:
    """A customer of the segment, read from the portfolio: key, the phone to write to (if valid), fields."""

    customer: str
    to: str
    fields: Mapping[str, str]


@dataclass(frozen=True)
class Selection:
    """Who a segment reaches now: the customers who get the broadcast, and how many are left out, by reason."""

    recipients: list[Candidate]
    excluded: dict[str, int]

    @property
    def selected(self) -> int:
        return len(self.recipients)


class BroadcastAudience(Protocol):
    """The read side's answer to a segment: its customers who may receive the broadcast now, and who may not."""

    def select(self, campaign_id: str, sender: str, channel: str, segment: Segment, now: datetime) -> Selection: ...


@dataclass(frozen=True)
class NewBroadcast:
    campaign_id: str
    name: str
    content_sid: str
    variables: dict[str, str]
    segment: Segment
    start_at: datetime
    sender: str = ""


class BroadcastService:
    def __init__(self, store: EventStore, clock: Clock, audience: BroadcastAudience,
                 rate_of: Callable[[str], float], wave_size: int = WAVE_SIZE) -> None:
        self.store = store
        self.clock = clock
        self.audience = audience
        self.rate_of = rate_of
        self.wave_size = wave_size

    def preview(self, campaign_id: str, segment: Segment, sender: str = "", *,
                scope: Collection[str] | None = None) -> Selection:
        """How many customers the segment selects now, and how many it leaves out and why (nothing recorded)."""
        segment.check()
        campaign = self._campaign(campaign_id, scope)
        address, channel = self._sender_of(campaign, sender)
        return self.audience.select(campaign_id, address, channel, segment, self.clock.now())

    def schedule(self, new: NewBroadcast, *, actor: str, scope: Collection[str] | None = None) -> str:
        """`scope`: the campaigns the author may send for (None: any)."""
        campaign = self._campaign(new.campaign_id, scope)
        campaign.check_template_approved(new.content_sid)
        sender, channel = self._sender_of(campaign, new.sender)
        broadcast = Broadcast.schedule(
            campaign_id=new.campaign_id, name=new.name, sender=sender, channel=channel,
            template=_template_of(campaign, new.content_sid), variables=new.variables, segment=new.segment,
            start_at=new.start_at, settings=campaign.settings, actor=actor, at=self.clock.now())
        self.store.save(broadcast)
        return str(broadcast.id)

    def start(self, broadcast_id: str) -> str:
        """Fix the recipients when the scheduled time came (a follow-up of `Scheduled`)."""
        def command() -> str:
            broadcast = self._broadcast(broadcast_id)
            if broadcast.state != SCHEDULED:
                return broadcast.state
            now = self.clock.now()
            if now < broadcast.start_at:
                raise BroadcastPostponedError((broadcast.start_at - now).total_seconds(), "not yet time")
            selection = self.audience.select(broadcast.campaign_id, broadcast.sender, broadcast.channel,
                                             Segment.from_dict(broadcast.segment), now)
            recipients = [Recipient(c.customer, c.to, fill_variables(broadcast.variables, c.fields))
                          for c in selection.recipients]
            broadcast.start(recipients, selection.excluded, actor=BROADCASTER, at=now)
            self.store.save(broadcast)
            return broadcast.state
        state: str = retry_on_conflict(command)
        return state

    def send_wave(self, broadcast_id: str, wave: int) -> int:
        """Message the next wave of recipients, if `wave` is the broadcast's next one; returns how many."""
        def command() -> int:
            broadcast = self._broadcast(broadcast_id)
            if broadcast.waves != wave or broadcast.state not in (RUNNING, HELD_BY_RISK):
                return 0
            now, risk = self.clock.now(), self._sender_risk(broadcast.sender)
            if broadcast.state == HELD_BY_RISK:
                return self._after_hold(broadcast, risk, now)
            if risk is not None and risk.proactive_held:
                broadcast.hold_by_risk(risk.level, actor=BROADCASTER, at=now)
                self.store.save(broadcast)
                return 0
            self._check_open(broadcast, now)
            return self._message(broadcast, now)
        sent: int = retry_on_conflict(command)
        return sent

    def _after_hold(self, broadcast: Broadcast, risk: SenderRisk | None, now: datetime) -> int:
        if risk is not None and risk.proactive_held:
            raise BroadcastPostponedError(HELD_RECHECK_SECONDS, "sender at critical risk")
        broadcast.continue_after_risk(risk.resumed_by if risk else "", risk.resume_reason if risk else "",
                                      actor=BROADCASTER, at=now)
        self.store.save(broadcast)
        return 0

    def _check_open(self, broadcast: Broadcast, now: datetime) -> None:
        settings = self._campaign(broadcast.campaign_id).settings
        if is_open(settings, now):
            return
        opening = next_opening(settings, now)
        if opening is None:
            raise BroadcastPostponedError(24 * 3600.0, "the campaign never opens")
        raise BroadcastPostponedError(max(1.0, (opening - now).total_seconds()), "outside business hours")

    def _message(self, broadcast: Broadcast, now: datetime) -> int:
        messages, messaged, skipped = [], [], []
        for recipient in broadcast.next_wave(self.wave_size):
            if self._opted_out(recipient.to, broadcast.sender):  # since the start (R11)
                skipped.append(recipient.customer)
                continue
            messages.append(OutboundMessage.request(
                chat_id="", campaign_id=broadcast.campaign_id, kind="broadcast", channel=broadcast.channel,
                to=recipient.to, sender=broadcast.sender, content_sid=broadcast.content_sid,
                content_variables=recipient.variables, actor=BROADCASTER, at=now,
                message_id=message_id_for(broadcast.id, recipient.customer)))
            messaged.append(recipient.customer)
        pace = (len(messaged) + len(skipped)) / max(self.rate_of(broadcast.sender), 0.001)
        broadcast.record_wave(messaged, skipped, round(pace, 3), actor=BROADCASTER, at=now)
        self.store.save(broadcast, *messages)
        return len(messages)

    def pause(self, broadcast_id: str, *, scope: Collection[str] | None, actor: str) -> None:
        self._command(broadcast_id, scope, lambda b, at: b.pause(actor=actor, at=at))

    def resume(self, broadcast_id: str, *, scope: Collection[str] | None, actor: str) -> None:
        self._command(broadcast_id, scope, lambda b, at: b.resume(actor=actor, at=at))

    def cancel(self, broadcast_id: str, *, scope: Collection[str] | None, actor: str) -> None:
        self._command(broadcast_id, scope, lambda b, at: b.cancel(actor=actor, at=at))

    def resume_sender(self, sender: str, reason: str, *, actor: str) -> None:
        """An admin lets a sender's proactive sends go on after critical risk; its held broadcasts continue
        at their next look (within `HELD_RECHECK_SECONDS`)."""
        def command() -> None:
            risk = self._sender_risk(sender)
            if risk is None:
                raise SenderRiskError("Los envíos proactivos de este remitente no están detenidos")
            risk.resume_proactive_sends(reason, actor=actor, at=self.clock.now())
            self.store.save(risk)
        retry_on_conflict(command)

    def visible(self, broadcast_id: str, scope: Collection[str] | None) -> Broadcast:
        broadcast = self._broadcast(broadcast_id)
        if scope is not None and broadcast.campaign_id not in scope:
            raise NotFoundError("Envío desconocido")
        return broadcast

    def _command(self, broadcast_id: str, scope: Collection[str] | None,
                 change: Callable[[Broadcast, datetime], None]) -> None:
        def command() -> None:
            broadcast = self.visible(broadcast_id, scope)
            change(broadcast, self.clock.now())
            self.store.save(broadcast)
        retry_on_conflict(command)

    def _sender_of(self, campaign: Campaign, sender: str) -> tuple[str, str]:
        senders = campaign.senders
        if sender:
            if sender not in senders:
                raise BroadcastError("El remitente no es de la campaña")
            return sender, senders[sender].channel
        whatsapp = [s for s in senders.values() if s.channel == "whatsapp"]
        chosen = next((s for s in whatsapp if s.is_default), whatsapp[0] if whatsapp else None)
        if chosen is None:
            raise BroadcastError("La campaña no tiene un número de WhatsApp para enviar plantillas")
        return chosen.address, chosen.channel

    def _sender_risk(self, sender: str) -> SenderRisk | None:
        """Read from the log, not a read table: an admin's resume is seen by the next wave, however far behind the
        projectors are."""
        risk = self._get(SenderRisk.create_id(sender))
        return risk if isinstance(risk, SenderRisk) else None

    def _opted_out(self, to: str, sender: str) -> bool:
        consent = self._get(Consent.create_id(to, sender))
        return isinstance(consent, Consent) and consent.opted_out

    def _campaign(self, campaign_id: str, scope: Collection[str] | None = None) -> Campaign:
        unknown = NotFoundError("Campaña desconocida")
        if scope is not None and campaign_id not in scope:
            raise unknown
        return aggregate_or(self.store, campaign_id, Campaign, unknown)

    def _broadcast(self, broadcast_id: str) -> Broadcast:
        return aggregate_or(self.store, broadcast_id, Broadcast, NotFoundError("Envío desconocido"))

    def _get(self, aggregate_id: UUID) -> object | None:
        try:
            return self.store.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None


def _template_of(campaign: Campaign, content_sid: str) -> Template:
    for template in campaign.settings.templates:
        if str(template.get("content_sid", "")) == content_sid:
            return Template(content_sid, str(template.get("name", "")),
                            tuple(str(v) for v in template.get("variables", ())))
    return Template(content_sid, "", ())  # the closing template: approved, without variables
