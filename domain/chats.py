"""A conversation with one customer: bot → waiting_queue → assigned → closed.

The chat keeps the times the timer rules need (R6, R7) and records every routing decision
with its reasons (R5). Closing is one command whatever the cause (R8); the confirmation
message and the PDF transcript are then recorded against the closed chat.
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from datetime import datetime, timedelta
from typing import Any

from eventsourcing.domain import Aggregate, event

from domain.common import DomainError, NotAllowedError, require_aware
from domain.surveys import HIGHEST, LOWEST, WITHHELD_REASONS

CHANNELS = ("whatsapp", "sms")
CLOSE_REASONS = ("agent", "supervisor", "auto_24h", "opt_out", "bot", "bot_inactivity")
USER_CLOSE_REASONS = ("agent", "supervisor")
"""Closes a person chose; each records the outcome (a disposition of the chat's campaign)."""
CONFIRMATION_FAILED = "confirmation_failed"
NO_AGENT = "no_agent"
AGENT_OFFLINE = "agent_offline"
REQUEUE_REASONS = (AGENT_OFFLINE,)
TRANSFERABLE_STATUSES = ("waiting_queue", "assigned")
MAX_TRANSFER_REASON_LENGTH = 500
MAX_NOTE_LENGTH = 2000


class ChatError(DomainError):
    pass


class ChatClosedError(ChatError):
    pass


class Chat(Aggregate):
    customer_name = ""
    """The customer's name in the portfolio, once the bot identified them (the WhatsApp profile name is the
    customer's own). A class default, so a chat restored from an older snapshot has none."""

    class CustomerIdentified(Aggregate.Event):
        """v2 added `customer_name`; identifications before it read with none (pages show the profile name)."""

        class_version = 2
        campaign_id: str
        document_type: str
        document_number: str
        customer_name: str
        actor: str
        at: datetime

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["customer_name"] = ""

    class Opened(Aggregate.Created):
        """v2 records the campaign of the number written to, when exactly one active campaign owns it ("" when
        several or none do: undetermined until the bot identifies the customer or queues the chat); chats opened
        before v2 read as undetermined."""

        class_version = 2
        channel: str
        customer_address: str
        sender_address: str
        profile_name: str
        flow_name: str
        campaign_id: str
        actor: str
        at: datetime

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["campaign_id"] = ""

    @event(Opened)
    def __init__(self, channel: str, customer_address: str, sender_address: str, profile_name: str,
                 flow_name: str, campaign_id: str, actor: str, at: datetime) -> None:
        self.channel = channel
        self.customer_address = customer_address
        self.sender_address = sender_address
        self.profile_name = profile_name
        self.flow_name = flow_name
        self.status = "bot"
        self.campaign_id = campaign_id
        self.document_type = ""
        self.document_number = ""
        self.bot_state: dict[str, Any] = {}
        self.bot_inactive_since: datetime | None = None
        self.pending_bot_input: list[dict[str, Any]] = []
        self.agent_id = ""
        self.opened_at = at
        self.queued_at: datetime | None = None
        self.last_customer_message_at: datetime | None = None
        self.last_agent_message_at: datetime | None = None
        self.unanswered_since: datetime | None = None
        self.alerted_streaks: set[datetime] = set()
        self.queue_alerted = False
        self.no_agent_alerted = False
        self.close_reason = ""
        self.closed_at: datetime | None = None
        self.confirmation_message_id = ""
        self.confirmation_failure_on_record = ""
        self.confirmation_alert_open = False
        self.transcript_location = ""

    @classmethod
    def open(cls, channel: str, customer_address: str, sender_address: str, *, profile_name: str,
             flow_name: str, actor: str, at: datetime, campaign_id: str = "") -> Chat:
        """`campaign_id`: the campaign the number written to belongs to, "" when that is undetermined."""
        if channel not in CHANNELS:
            raise ChatError("Canal desconocido: %(channel)s", channel=channel)
        return cls(channel=channel, customer_address=customer_address, sender_address=sender_address,
                   profile_name=profile_name[:120], flow_name=flow_name, campaign_id=campaign_id, actor=actor,
                   at=require_aware(at))

    @property
    def is_closed(self) -> bool:
        return self.status == "closed"

    def receive_customer_message(self, message_sid: str, body: str, media: list[dict[str, str]], *,
                                 actor: str, at: datetime) -> None:
        self._check_open()
        self._customer_wrote(message_sid=message_sid, body=body, media=media, actor=actor,
                             at=require_aware(at))

    @event("CustomerWrote")
    def _customer_wrote(self, message_sid: str, body: str, media: list[dict[str, str]], actor: str,
                        at: datetime) -> None:
        self.last_customer_message_at = at
        self.customer_messages += 1
        if self.status == "bot":
            self.pending_bot_input.append({"message_sid": message_sid, "body": body, "at": at})
        elif self.unanswered_since is None:
            self.unanswered_since = at

    def advance_bot(self, consumed_message_sid: str, bot_state: dict[str, Any], steps: list[dict[str, Any]], *,
                    actor: str, at: datetime) -> None:
        """The bot answered the oldest customer message it had not read yet."""
        self._check_status("bot")
        if not self.pending_bot_input or self.pending_bot_input[0]["message_sid"] != consumed_message_sid:
            raise ChatError("El bot solo procesa los mensajes del cliente en orden")
        self._bot_advanced(consumed_message_sid=consumed_message_sid, bot_state=bot_state, steps=steps,
                           actor=actor, at=require_aware(at))

    @event("BotAdvanced")
    def _bot_advanced(self, consumed_message_sid: str, bot_state: dict[str, Any], steps: list[dict[str, Any]],
                      actor: str, at: datetime) -> None:
        self.bot_state = bot_state
        self.pending_bot_input.pop(0)

    def withhold_bot_reply(self, message_sid: str, *, actor: str, at: datetime) -> None:
        """The customer opted out (R11): the bot reads their message once and neither answers nor moves on;
        writing START (or the campaign's opt-in word) lets the bot take up the conversation again."""
        self._check_status("bot")
        if not self.pending_bot_input or self.pending_bot_input[0]["message_sid"] != message_sid:
            raise ChatError("El bot solo procesa los mensajes del cliente en orden")
        self._bot_reply_withheld(message_sid=message_sid, reason="opted_out", actor=actor, at=require_aware(at))

    @event("BotReplyWithheld")
    def _bot_reply_withheld(self, message_sid: str, reason: str, actor: str, at: datetime) -> None:
        self.pending_bot_input.pop(0)

    class BotInactivityRecorded(Aggregate.Event):
        """v2 adds `dropped_at`, the instant the customer counts as gone (their last message plus the flow's
        inactivity limit), while `at` is when the job noticed; before v2 only `since` was kept, so old records
        read as dropped at their last message."""

        class_version = 2
        since: datetime
        dropped_at: datetime
        actor: str
        at: datetime

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["dropped_at"] = state["since"]

    def record_bot_inactivity(self, since: datetime, *, inactivity_limit: timedelta, actor: str,
                              at: datetime) -> None:
        """The customer stopped answering the bot (an abandonment, for the drop rate); recorded once per silence.
        `since` is their last message; they count as gone `inactivity_limit` (the flow's) after it.
        The chat stays open: only the 24-hour rule closes for silence (R7)."""
        self._check_status("bot")
        if inactivity_limit < timedelta(0):
            raise ChatError("El tiempo de inactividad del bot no puede ser negativo")
        if self.bot_inactive_since != since:
            self._bot_inactive(since=since, dropped_at=require_aware(since) + inactivity_limit, actor=actor,
                               at=require_aware(at))

    @event(BotInactivityRecorded)
    def _bot_inactive(self, since: datetime, dropped_at: datetime, actor: str, at: datetime) -> None:
        self.bot_inactive_since = since

    def identify(self, campaign_id: str, document_type: str, document_number: str, *, customer_name: str = "",
                 actor: str, at: datetime) -> None:
        """`customer_name` is the portfolio's name for the document, for staff; the bot never shows it."""
        self._check_status("bot")
        self._identified(campaign_id=campaign_id, document_type=document_type, document_number=document_number,
                         customer_name=customer_name.strip()[:200], actor=actor, at=require_aware(at))

    @event(CustomerIdentified)
    def _identified(self, campaign_id: str, document_type: str, document_number: str, customer_name: str,
                    actor: str, at: datetime) -> None:
        self.campaign_id = campaign_id
        self.document_type = document_type
        self.document_number = document_number
        self.customer_name = customer_name

    def enqueue(self, campaign_id: str, *, outside_hours: bool, actor: str, at: datetime) -> None:
        self._check_status("bot")
        if not campaign_id:
            raise ChatError("Un chat solo entra a la cola de una campaña")
        self._queued(campaign_id=campaign_id, outside_hours=outside_hours, actor=actor,
                     at=require_aware(at))

    @event("Queued")
    def _queued(self, campaign_id: str, outside_hours: bool, actor: str, at: datetime) -> None:
        self.campaign_id = campaign_id
        self.status = "waiting_queue"
        self.queued_at = at
        self.pending_bot_input = []
        self.unanswered_since = at

    def assign(self, agent_id: str, decision: dict[str, Any], *, exceptional: bool, reason: str,
               actor: str, at: datetime) -> None:
        """Record the routing decision; the agent aggregate checks membership and capacity."""
        self._check_status("waiting_queue")
        if exceptional and not reason.strip():
            raise ChatError("Una asignación manual desde la cola necesita un motivo")
        self._assigned(agent_id=agent_id, decision=decision, exceptional=exceptional,
                       reason=reason.strip(), actor=actor, at=require_aware(at))

    @event("AgentAssigned")
    def _assigned(self, agent_id: str, decision: dict[str, Any], exceptional: bool, reason: str,
                  actor: str, at: datetime) -> None:
        self.agent_id = agent_id
        self.status = "assigned"

    class Reassigned(Aggregate.Event):
        """v2 records whether the new agent was not available, an explicit exception (R17); before v2 the
        availability of the new agent was not checked nor recorded, so old reassignments read as not exceptional."""

        class_version = 2
        from_agent_id: str
        to_agent_id: str
        reason: str
        to_unavailable: bool
        actor: str
        at: datetime

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["to_unavailable"] = False

    def reassign(self, to_agent_id: str, *, reason: str, to_unavailable: bool, actor: str, at: datetime) -> None:
        """`to_unavailable`: the new agent is on a break or offline, an exception the supervisor asked for."""
        self._check_status("assigned")
        if not reason.strip():
            raise ChatError("La reasignación necesita un motivo")
        if to_agent_id == self.agent_id:
            raise ChatError("El chat ya está asignado a ese asesor")
        self._reassigned(from_agent_id=self.agent_id, to_agent_id=to_agent_id, reason=reason.strip(),
                         to_unavailable=to_unavailable, actor=actor, at=require_aware(at))

    @event(Reassigned)
    def _reassigned(self, from_agent_id: str, to_agent_id: str, reason: str, to_unavailable: bool, actor: str,
                    at: datetime) -> None:
        self.agent_id = to_agent_id

    def requeue(self, reason: str, *, offline_since: datetime, actor: str, at: datetime) -> None:
        """The assigned agent went offline at `offline_since` and stayed so: the chat waits in its campaign's queue
        again, for routing to give it to someone available; `reason` (a code of REQUEUE_REASONS) says why."""
        self._check_status("assigned")
        if reason not in REQUEUE_REASONS:
            raise ChatError("Motivo de devolución a la cola desconocido: %(reason)s", reason=reason)
        self._requeued(from_agent_id=self.agent_id, campaign_id=self.campaign_id, reason=reason,
                       offline_since=require_aware(offline_since), actor=actor, at=require_aware(at))

    @event("Requeued")
    def _requeued(self, from_agent_id: str, campaign_id: str, reason: str, offline_since: datetime, actor: str,
                  at: datetime) -> None:
        self.agent_id = ""
        self.status = "waiting_queue"
        self.queued_at = at
        self.queue_alerted = False
        self.no_agent_alerted = False

    def transfer_to_campaign(self, campaign_id: str, *, reason: str, holds_customer: bool, archived: bool,
                             actor: str, at: datetime) -> None:
        """Move a waiting or assigned chat to another campaign that also holds the identified customer: it leaves its
        agent and waits in the new campaign's queue, where routing assigns it like any queued chat (R1).
        `holds_customer`: the target's active portfolio has the customer's document; `archived`: the target is."""
        self._check_open()
        if self.status not in TRANSFERABLE_STATUSES:
            raise ChatError("Solo se transfiere un chat en cola o asignado a un asesor")
        if not self.document_number:
            raise ChatError("Solo se transfiere un chat con el cliente identificado")
        if campaign_id == self.campaign_id:
            raise ChatError("El chat ya está en esa campaña")
        if archived:
            raise ChatError("La campaña de destino está archivada")
        if not holds_customer:
            raise ChatError("El cliente no está en la cartera de esa campaña")
        if not reason.strip():
            raise ChatError("La transferencia necesita un motivo")
        self._transferred(from_campaign_id=self.campaign_id, campaign_id=campaign_id, from_agent_id=self.agent_id,
                          reason=reason.strip()[:MAX_TRANSFER_REASON_LENGTH], actor=actor, at=require_aware(at))

    @event("TransferredToCampaign")
    def _transferred(self, from_campaign_id: str, campaign_id: str, from_agent_id: str, reason: str, actor: str,
                     at: datetime) -> None:
        """The queue wait and the alerts start again in the new campaign: `queued_at` is the transfer."""
        self.campaign_id = campaign_id
        self.agent_id = ""
        self.status = "waiting_queue"
        self.queued_at = at
        self.queue_alerted = False
        self.no_agent_alerted = False

    def raise_agent_offline_alert(self, offline_since: datetime, *, actor: str, at: datetime) -> None:
        """The assigned agent has gone offline with this chat open: supervisors are told, once per absence."""
        if self.status != "assigned" or offline_since in self.offline_alerts:
            return
        self._alert_raised(kind=AGENT_OFFLINE, streak_started_at=offline_since, actor=actor, at=require_aware(at))

    offline_alerts: AbstractSet[datetime] = frozenset()
    """Absences of the assigned agent already alerted. A class default (replaced, never mutated), so chats
    snapshotted before these alerts restore with none."""

    def record_agent_reply(self, message_id: str, agent_id: str, session_id: str, *, actor: str,
                           at: datetime) -> None:
        self._check_status("assigned")
        if agent_id != self.agent_id:
            raise ChatError("Solo el asesor asignado puede responder este chat")
        self._agent_replied(message_id=message_id, agent_id=agent_id, session_id=session_id,
                            actor=actor, at=require_aware(at))

    @event("AgentReplied")
    def _agent_replied(self, message_id: str, agent_id: str, session_id: str, actor: str,
                       at: datetime) -> None:
        self.last_agent_message_at = at
        self.unanswered_since = None

    customer_messages = 0
    """How many messages the customer has written in this chat. A class default, so a chat restored from a
    snapshot taken before it was counted starts from none."""

    seen_marks: tuple[tuple[str, int], ...] = ()
    """Per agent, how many of the customer's messages they have seen (the read marker behind unread counts), as
    (agent id, count) pairs. A class default (replaced, never mutated), so chats snapshotted before it hold none."""

    def mark_seen(self, agent_id: str, customer_messages: int, *, actor: str, at: datetime) -> bool:
        """The assigned agent has seen the first `customer_messages` of the customer's messages (what their
        page showed, never more than were written). Returns False when that was already on record."""
        if agent_id != self.agent_id:
            raise ChatError("Solo el asesor asignado puede responder este chat")
        seen = min(max(customer_messages, 0), self.customer_messages)
        if seen <= dict(self.seen_marks).get(agent_id, 0):
            return False
        self._seen(agent_id=agent_id, customer_messages=seen, actor=actor, at=require_aware(at))
        return True

    @event("Seen")
    def _seen(self, agent_id: str, customer_messages: int, actor: str, at: datetime) -> None:
        marks = {**dict(self.seen_marks), agent_id: customer_messages}
        self.seen_marks = tuple(marks.items())

    def add_note(self, note_id: str, text: str, *, author_id: str, actor: str, at: datetime) -> None:
        """An internal note for the staff of the chat's campaign: on the chat's record, never sent to the customer
        and not an agent's message (metrics do not count it). Callers check the author may see the chat."""
        self._check_open()
        body = text.strip()
        if not body:
            raise ChatError("Escriba la nota interna")
        if len(body) > MAX_NOTE_LENGTH:
            raise ChatError("La nota interna admite hasta %(most)s caracteres", most=MAX_NOTE_LENGTH)
        self._note_added(note_id=note_id, text=body, author_id=author_id, actor=actor, at=require_aware(at))

    @event("NoteAdded")
    def _note_added(self, note_id: str, text: str, author_id: str, actor: str, at: datetime) -> None:
        pass

    def record_bot_reply(self, message_id: str, *, actor: str, at: datetime) -> None:
        self._bot_replied(message_id=message_id, actor=actor, at=require_aware(at))

    @event("BotReplied")
    def _bot_replied(self, message_id: str, actor: str, at: datetime) -> None:
        pass

    def raise_unanswered_alert(self, streak_started_at: datetime, *, actor: str, at: datetime) -> None:
        if self.is_closed or streak_started_at in self.alerted_streaks:
            return
        self._alert_raised(kind="unanswered", streak_started_at=streak_started_at, actor=actor,
                           at=require_aware(at))

    def raise_queue_alert(self, *, actor: str, at: datetime) -> None:
        if self.is_closed or self.queue_alerted or self.queued_at is None:
            return
        self._alert_raised(kind="queue_wait", streak_started_at=self.queued_at, actor=actor,
                           at=require_aware(at))

    def raise_no_agent_alert(self, *, actor: str, at: datetime) -> None:
        """The chat waits in a queue none of whose members is available (the unidentified queue without its
        designated agents): supervisors are told at once, not after the queue-wait alert's 30 minutes."""
        if self.status != "waiting_queue" or self.no_agent_alerted or self.queued_at is None:
            return
        self._alert_raised(kind=NO_AGENT, streak_started_at=self.queued_at, actor=actor, at=require_aware(at))

    def raise_close_incomplete_alert(self, *, actor: str, at: datetime) -> None:
        """The close's confirmation or PDF keeps failing; the workers keep retrying, supervisors should know."""
        if not self.is_closed or self.closed_at is None or self.closed_at in self.alerted_streaks:
            return
        self._alert_raised(kind="close_incomplete", streak_started_at=self.closed_at, actor=actor,
                           at=require_aware(at))

    def acknowledge_alert(self, kind: str, streak_started_at: datetime, *, actor: str, at: datetime) -> None:
        """A supervisor or the agent has seen the alert; it stays on record until the reply resolves it.
        Only an alert that was raised, and not seen yet, can be marked as seen."""
        if kind == CONFIRMATION_FAILED:
            raise ChatError("Esta alerta no se marca como vista: se resuelve reenviando la confirmación "
                            "o anotando cómo se resolvió")
        if not self._was_raised(kind, streak_started_at):
            raise ChatError("Ese chat no tiene esa alerta")
        if _alert_key(kind, streak_started_at) in self.acknowledged_alerts:
            raise ChatError("La alerta ya fue atendida")
        self._alert_acknowledged(kind=kind, streak_started_at=streak_started_at, actor=actor, at=require_aware(at))

    def _was_raised(self, kind: str, streak_started_at: datetime) -> bool:
        if kind == "queue_wait":
            return self.queue_alerted
        if kind == "no_agent":
            return self.no_agent_alerted
        if kind == AGENT_OFFLINE:
            return streak_started_at in self.offline_alerts
        return streak_started_at in self.alerted_streaks

    @event("AlertAcknowledged")
    def _alert_acknowledged(self, kind: str, streak_started_at: datetime, actor: str, at: datetime) -> None:
        self.acknowledged_alerts = {*self.acknowledged_alerts, _alert_key(kind, streak_started_at)}

    acknowledged_alerts: AbstractSet[str] = frozenset()
    """Alerts seen, as `kind@streak`. A class default (replaced, never mutated), so chats snapshotted before
    acknowledgements were kept restore with none."""

    @event("AlertRaised")
    def _alert_raised(self, kind: str, streak_started_at: datetime, actor: str, at: datetime) -> None:
        if kind == "queue_wait":
            self.queue_alerted = True
        elif kind == NO_AGENT:
            self.no_agent_alerted = True
        elif kind == AGENT_OFFLINE:
            self.offline_alerts = {*self.offline_alerts, streak_started_at}
        else:
            self.alerted_streaks.add(streak_started_at)

    class Closed(Aggregate.Event):
        """v2 records the session an agent's close came through (R13); closes before v2 name none."""

        class_version = 2
        reason: str
        disposition: str
        note: str
        unattended: bool
        previous_status: str
        session_id: str
        actor: str
        at: datetime

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["session_id"] = ""

    def close(self, reason: str, *, disposition: str, note: str, actor: str, at: datetime,
              session_id: str = "") -> None:
        """One way to close, whatever the cause; callers check who may close and why. `session_id`: the session
        the closing user's command came through, if a user closed it."""
        self._check_open()
        if reason not in CLOSE_REASONS:
            raise ChatError("Motivo de cierre desconocido: %(reason)s", reason=reason)
        if not disposition and self._needs_disposition(reason):
            raise ChatError("Para cerrar, elija una tipificación")
        if reason == "supervisor" and not note.strip():
            raise ChatError("Escriba el motivo del cierre")
        if self.status == "waiting_queue" and self.queued_at is not None:
            self._queue_abandoned(campaign_id=self.campaign_id, queued_at=self.queued_at,
                                  last_customer_message_at=self.last_customer_message_at, reason=reason,
                                  actor=actor, at=require_aware(at))
        self._closed(reason=reason, disposition=disposition, note=note.strip()[:2000],
                     unattended=self.status != "assigned", previous_status=self.status,
                     session_id=session_id, actor=actor, at=require_aware(at))

    def _needs_disposition(self, reason: str) -> bool:
        """A person's close records its outcome: an agent's always, a supervisor's once the chat has a campaign
        (whose dispositions there are to choose from)."""
        return reason == "agent" or (reason in USER_CLOSE_REASONS and bool(self.campaign_id))

    @event("QueueAbandoned")
    def _queue_abandoned(self, campaign_id: str, queued_at: datetime, last_customer_message_at: datetime | None,
                         reason: str, actor: str, at: datetime) -> None:
        """The chat left its queue before any agent took it (since it was last queued), closed for `reason`:
        recorded with the close, for the abandonment metrics."""

    @event(Closed)
    def _closed(self, reason: str, disposition: str, note: str, unattended: bool, previous_status: str,
                session_id: str, actor: str, at: datetime) -> None:
        self.status = "closed"
        self.close_reason = reason
        self.closed_at = at

    def request_confirmation(self, message_id: str, *, actor: str, at: datetime) -> None:
        if not self.is_closed:
            raise ChatError("La confirmación de cierre solo se envía a un chat cerrado")
        if not self.confirmation_message_id:
            self._confirmation_requested(message_id=message_id, actor=actor, at=require_aware(at))

    @event("ClosingConfirmationRequested")
    def _confirmation_requested(self, message_id: str, actor: str, at: datetime) -> None:
        self.confirmation_message_id = message_id

    def record_confirmation_failed(self, message_id: str, error_code: str, *, actor: str, at: datetime) -> None:
        """The confirmation never reached the customer (R8): an alert for supervisors stays open until a
        confirmation sent again is accepted, or someone writes down how it was resolved."""
        if message_id != self.confirmation_message_id or message_id == self.confirmation_failure_on_record:
            return
        self._confirmation_failed(message_id=message_id, error_code=error_code, actor=actor, at=require_aware(at))

    @event("ConfirmationFailed")
    def _confirmation_failed(self, message_id: str, error_code: str, actor: str, at: datetime) -> None:
        self.confirmation_failure_on_record = message_id
        self.confirmation_alert_open = True

    def record_confirmation_accepted(self, message_id: str, *, actor: str, at: datetime) -> None:
        """Twilio took the confirmation sent again after a failure: the alert resolves itself."""
        if message_id == self.confirmation_message_id and self.confirmation_alert_open \
                and message_id != self.confirmation_failure_on_record:
            self._confirmation_accepted(message_id=message_id, actor=actor, at=require_aware(at))

    @event("ConfirmationAccepted")
    def _confirmation_accepted(self, message_id: str, actor: str, at: datetime) -> None:
        self.confirmation_alert_open = False

    def check_may_resend_confirmation(self) -> None:
        if not self.confirmation_message_id or self.confirmation_failure_on_record != self.confirmation_message_id:
            raise ChatError("Solo se reenvía una confirmación de cierre que no llegó al cliente")

    def resend_confirmation(self, message_id: str, *, actor: str, at: datetime) -> None:
        self.check_may_resend_confirmation()
        self._confirmation_resent(previous_message_id=self.confirmation_message_id, message_id=message_id,
                                  actor=actor, at=require_aware(at))

    @event("ConfirmationResent")
    def _confirmation_resent(self, previous_message_id: str, message_id: str, actor: str, at: datetime) -> None:
        self.confirmation_message_id = message_id

    def resolve_confirmation_alert(self, note: str, *, actor: str, at: datetime) -> None:
        """Someone dealt with the missing confirmation another way (a call, a letter) and says how."""
        if not self.confirmation_alert_open:
            raise ChatError("La alerta de confirmación de este chat ya está resuelta")
        if not note.strip():
            raise ChatError("Escriba cómo se resolvió (por ejemplo: se llamó al cliente)")
        self._confirmation_alert_resolved(note=note.strip()[:500], actor=actor, at=require_aware(at))

    @event("ConfirmationAlertResolved")
    def _confirmation_alert_resolved(self, note: str, actor: str, at: datetime) -> None:
        self.confirmation_alert_open = False

    def store_transcript(self, location: str, sha256: str, *, actor: str, at: datetime) -> None:
        if not self.is_closed:
            raise ChatError("El PDF de cierre solo se genera para un chat cerrado")
        if not self.transcript_location:
            self._transcript_stored(location=location, sha256=sha256, actor=actor, at=require_aware(at))

    @event("TranscriptStored")
    def _transcript_stored(self, location: str, sha256: str, actor: str, at: datetime) -> None:
        self.transcript_location = location

    survey_message_id = ""
    survey_answer_until: datetime | None = None
    survey_score = 0
    """The satisfaction survey after the close: the question's message, until when an answer counts, the score
    (0 until answered). Class defaults, so chats snapshotted before surveys restore with none."""

    @property
    def takes_survey(self) -> bool:
        """A close an agent attended (they wrote to the customer), of a customer who did not opt out with it."""
        return self.is_closed and bool(self.agent_id) and self.last_agent_message_at is not None \
            and self.close_reason != "opt_out"

    def request_survey(self, message_id: str, *, answer_until: datetime, actor: str, at: datetime) -> None:
        """The survey's question goes to the customer once per close; an answer counts until `answer_until`."""
        if not self.takes_survey:
            raise ChatError("La encuesta solo se envía tras el cierre de un chat que atendió un asesor")
        if not self.survey_message_id:
            self._survey_requested(message_id=message_id, agent_id=self.agent_id,
                                   answer_until=require_aware(answer_until), actor=actor, at=require_aware(at))

    @event("SurveyRequested")
    def _survey_requested(self, message_id: str, agent_id: str, answer_until: datetime, actor: str,
                          at: datetime) -> None:
        self.survey_message_id = message_id
        self.survey_answer_until = answer_until

    def withhold_survey(self, reason: str, *, actor: str, at: datetime) -> None:
        """The rules forbid the question (`reason`, a code of WITHHELD_REASONS): on record, nothing is sent."""
        if reason not in WITHHELD_REASONS:
            raise ChatError("Motivo desconocido para no enviar la encuesta: %(reason)s", reason=reason)
        self._survey_withheld(reason=reason, actor=actor, at=require_aware(at))

    @event("SurveyWithheld")
    def _survey_withheld(self, reason: str, actor: str, at: datetime) -> None:
        pass

    def accepts_survey_answer(self, at: datetime) -> bool:
        """Asked, not answered yet, and still within the answer window."""
        return bool(self.survey_message_id) and not self.survey_score and self.survey_answer_until is not None \
            and at <= self.survey_answer_until

    def answer_survey(self, score: int, message_sid: str, *, actor: str, at: datetime) -> None:
        """The customer's one answer, credited to the agent who last held the chat and to its campaign."""
        if not LOWEST <= score <= HIGHEST:
            raise ChatError("La calificación de la encuesta va de 1 a 5")
        if not self.accepts_survey_answer(require_aware(at)):
            raise ChatError("Este chat no espera una respuesta a la encuesta")
        self._survey_answered(score=score, message_sid=message_sid, agent_id=self.agent_id,
                              campaign_id=self.campaign_id, actor=actor, at=at)

    @event("SurveyAnswered")
    def _survey_answered(self, score: int, message_sid: str, agent_id: str, campaign_id: str, actor: str,
                         at: datetime) -> None:
        self.survey_score = score

    def _check_open(self) -> None:
        if self.is_closed:
            raise ChatClosedError("El chat ya está cerrado")

    def _check_status(self, expected: str) -> None:
        self._check_open()
        if self.status == expected:
            return
        if expected == "bot":
            raise ChatError("El chat ya no está en el bot")
        if expected == "waiting_queue":
            raise ChatError("El chat ya no está esperando asignación")
        raise ChatError("El chat no está asignado a un asesor")


def check_may_transfer(chat: Chat, *, role: str, user_id: str, user_campaigns: AbstractSet[str]) -> None:
    """Who moves a chat to another campaign: its assigned agent, a supervisor of its current campaign, an admin."""
    if role == "admin":
        return
    if role == "agent" and chat.status == "assigned" and chat.agent_id == user_id:
        return
    if role == "supervisor" and chat.campaign_id in user_campaigns:
        return
    raise NotAllowedError("Solo el asesor asignado, un supervisor de la campaña del chat o un administrador "
                          "transfieren el chat")


def _alert_key(kind: str, streak_started_at: datetime) -> str:
    return f"{kind}@{streak_started_at.isoformat()}"
