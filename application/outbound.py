"""Outbound messages: composing them under the rules (R11, R12), sending them, applying statuses.

Composing checks the rules before anything is recorded; sending happens in a worker. Before
each attempt the message records that it is about to call Twilio; if a worker dies between
Twilio's answer and recording the SID, the next attempt first asks Twilio whether a message with
this id went out (the id travels in the status-callback URL) instead of sending blindly again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from application.ports import Clock, Delivery, SendFailedError, Submitted, Transport
from application.store import EventStore, retry_on_conflict
from application.throttle import CUSTOMER_CAP_CODE, Throttle
from domain.chats import Chat
from domain.common import DomainError
from domain.consent import TWILIO_REFUSAL, Consent
from domain.delivery_alerts import (
    FAILED_STATUSES,
    DeliveryAlert,
    DeliveryAlertError,
    MessageRetry,
    is_account_problem,
    is_spam_risk,
    may_retry,
)
from domain.messages import OutboundMessage, UnmatchedStatus
from domain.messaging_rules import whatsapp_window_open
from domain.throttling import REPLY, lane_of

SYSTEM_SENDER = "system:outbound"
TWILIO = "system:twilio"
OPTED_OUT_CODE = "21610"
MAX_ATTEMPTS = 8


@dataclass(frozen=True)
class StatusReport:
    """One of Twilio's status callbacks, with Despacho's message id from the callback URL."""

    message_id: str
    sid: str
    status: str
    error_code: str = ""
    error_message: str = ""
    params: dict[str, str] = field(default_factory=dict)


class WindowClosedError(DomainError):
    pass


class RetryRefusedError(DomainError):
    pass


class OutboundService:
    def __init__(self, store: EventStore, clock: Clock, transport: Transport, public_url: str,
                 campaign_of_sender: Callable[[str], str | None], throttle: Throttle,
                 file_link: Callable[[dict[str, str]], str] = lambda file: "") -> None:
        """`file_link`: the address Twilio fetches a message's file from (signed and expiring)."""
        self.file_link = file_link
        self.store = store
        self.clock = clock
        self.transport = transport
        self.public_url = public_url.rstrip("/")
        self.campaign_of_sender = campaign_of_sender
        self.throttle = throttle

    def compose(self, chat: Chat, kind: str, *, body: str = "", content_sid: str = "",
                content_variables: dict[str, str] | None = None, agent_id: str = "", session_id: str = "",
                with_file: bool = False, actor: str) -> OutboundMessage:
        """A message for this chat's customer, from the number they wrote to — if the rules allow it."""
        now = self.clock.now()
        consent = self._consent(chat.customer_address, chat.sender_address)
        if kind != "opt_out_ack" and consent is not None:
            consent.check_may_receive()
        if chat.channel == "whatsapp" and not content_sid and \
                not whatsapp_window_open(chat.last_customer_message_at, now):
            raise WindowClosedError("Pasaron más de 24 h desde el último mensaje del cliente: "
                                    "solo se puede enviar una plantilla aprobada")
        return OutboundMessage.request(
            chat_id=str(chat.id), campaign_id=self.campaign_of(chat), kind=kind, channel=chat.channel,
            to=chat.customer_address, sender=chat.sender_address, body=body, content_sid=content_sid,
            content_variables=content_variables, agent_id=agent_id, session_id=session_id, with_file=with_file,
            actor=actor, at=now)

    def campaign_of(self, chat: Chat) -> str:
        """The campaign a message to this chat belongs to: the chat's once known, before that the campaign
        of the number the customer wrote to (so a supervisor's audit also shows the bot's first messages)."""
        return chat.campaign_id or self.campaign_of_sender(chat.sender_address) or ""

    def compose_refused(self, chat: Chat, kind: str, refusal: DomainError, *, body: str, actor: str) -> OutboundMessage:
        """A message the rules forbid sending, recorded as failed with the reason, so nothing is silently lost."""
        now = self.clock.now()
        message = OutboundMessage.request(
            chat_id=str(chat.id), campaign_id=self.campaign_of(chat), kind=kind, channel=chat.channel,
            to=chat.customer_address, sender=chat.sender_address, body=body, content_sid="", content_variables=None,
            agent_id="", session_id="", actor=actor, at=now)
        code = "outside_window" if isinstance(refusal, WindowClosedError) else "opted_out"
        message.fail(code, str(refusal), actor=actor, at=now)
        return message

    def answered_by_twilio(self, chat: Chat, *, actor: str) -> OutboundMessage | None:
        """The opt-out acknowledgement Twilio already gave the customer (STOP on an SMS long code), on record in
        place of Despacho's own, which Twilio would refuse with 21610; None when the acknowledgement is ours."""
        consent = self._consent(chat.customer_address, chat.sender_address)
        if consent is None or not consent.answered_by_twilio:
            return None
        now = self.clock.now()
        message = OutboundMessage.request(
            chat_id=str(chat.id), campaign_id=self.campaign_of(chat), kind="opt_out_ack", channel=chat.channel,
            to=chat.customer_address, sender=chat.sender_address,
            body=f"[Respuesta automática de Twilio a «{consent.keyword}»]", actor=actor, at=now)
        message.leave_to_twilio(f"Twilio confirmó la baja al cliente, que escribió «{consent.keyword}», y bloquea "
                                "los envíos desde este número; Despacho no envía su propia confirmación",
                                actor=actor, at=now)
        return message

    def is_opted_out(self, customer_address: str, sender_address: str) -> bool:
        consent = self._consent(customer_address, sender_address)
        return consent is not None and consent.opted_out

    def _consent(self, customer_address: str, sender_address: str) -> Consent | None:
        consent = self._get(Consent.create_id(customer_address, sender_address))
        return consent if isinstance(consent, Consent) else None

    def send(self, message_id: str) -> str:
        """Deliver one message to Twilio at its sender's pace; raises SendFailedError(retryable=True) to be retried
        and SendPostponedError when it must wait for a token."""
        message = self._message(message_id)
        if message.sid or message.is_final:
            return message.status
        delivery = self._delivery(message)
        if message.attempts and (found := self.transport.find_sent(delivery)):
            return self._record_submission(message_id, found)
        if refusal := self.throttle.admit(message, self._lane(message)):
            self._record_failure(message_id, SendFailedError(CUSTOMER_CAP_CODE, refusal, retryable=False))
            return "failed"
        attempt = message.start_attempt(actor=SYSTEM_SENDER, at=self.clock.now())
        self.store.save(message)
        try:
            submitted = self.transport.send(delivery)
        except SendFailedError as failure:
            if failure.retryable and attempt < MAX_ATTEMPTS:
                raise
            self._record_failure(message_id, failure)
            return "failed"
        return self._record_submission(message_id, submitted)

    def _lane(self, message: OutboundMessage) -> str:
        """Free-form WhatsApp is only composed inside the service window (R12), so it is a reply; anything else
        is one when its chat's customer wrote within 24 hours; a message without a chat is business-initiated."""
        if message.channel == "whatsapp" and not message.content_sid:
            return REPLY
        chat = self._get(UUID(message.chat_id)) if message.chat_id else None
        return lane_of(chat.last_customer_message_at if isinstance(chat, Chat) else None, self.clock.now())

    def log_facts(self, message_id: str) -> dict[str, object]:
        """What a log line about this message may say: ids, SID, status and the customer's address
        (which the log formatter masks); never the text."""
        try:  # only read, so the cached aggregate itself will do: no copy
            message: object = self.store.repository.get(UUID(message_id), deepcopy_from_cache=False)
        except (AggregateNotFoundError, ValueError):
            return {"message_id": message_id}
        if not isinstance(message, OutboundMessage):
            return {"message_id": message_id}
        return {"message_id": message_id, "sid": message.sid, "chat_id": message.chat_id, "to": message.to,
                "status": message.status, "error_code": message.error_code, "attempts": message.attempts}

    def apply_status(self, report: StatusReport) -> bool:
        """Apply one status callback; never moves a status backwards; returns whether anything changed (R10)."""
        def command() -> bool:
            now = self.clock.now()
            message = self._find(report)
            if message is None:
                unmatched = self._get(UnmatchedStatus.create_id(report.sid))
                if not isinstance(unmatched, UnmatchedStatus):
                    unmatched = UnmatchedStatus.for_sid(report.sid, actor=TWILIO, at=now)
                unmatched.report(report.status, report.error_code, report.params, actor=TWILIO, at=now)
                self.store.save(unmatched)
                return False
            message.record_submission(report.sid, "queued", actor=TWILIO, at=now)
            changed = message.record_status(report.status, report.error_code, report.error_message,
                                            actor=TWILIO, at=now)
            touched: list[object] = [message]
            if report.error_code == OPTED_OUT_CODE:
                touched.append(self._opt_out(message.to, message.sender, TWILIO_REFUSAL))
            if changed and report.status in FAILED_STATUSES:
                touched += self._failure_alerts(message, report.error_code, report.error_message)
            self.store.save(*touched)
            return changed
        result: bool = retry_on_conflict(command)
        return result

    def _find(self, report: StatusReport) -> OutboundMessage | None:
        try:
            message = self._get(UUID(report.message_id)) if report.message_id else None
        except ValueError:
            message = None
        if not isinstance(message, OutboundMessage) or (message.sid and message.sid != report.sid):
            return None
        return message

    def _record_submission(self, message_id: str, submitted: Submitted) -> str:
        def command() -> str:
            message = self._message(message_id)
            message.record_submission(submitted.sid, submitted.status, actor=SYSTEM_SENDER, at=self.clock.now())
            self.store.save(message)
            return message.status
        status: str = retry_on_conflict(command)
        return status

    def _record_failure(self, message_id: str, failure: SendFailedError) -> None:
        def command() -> None:
            message = self._message(message_id)
            message.fail(failure.code, failure.reason, actor=SYSTEM_SENDER, at=self.clock.now())
            changed: list[object] = [message]
            if failure.opted_out:
                changed.append(self._opt_out(message.to, message.sender, TWILIO_REFUSAL))
            changed += self._failure_alerts(message, failure.code, failure.reason)
            self.store.save(*changed)
        retry_on_conflict(command)

    def retry(self, message_id: str, *, agent_id: str = "", session_id: str = "", actor: str) -> str:
        """Send a failed message again as a new message (never the same one), once; returns the new id."""
        def command() -> str:
            original = self._message(message_id)
            if not may_retry(original.status, original.error_code):
                raise RetryRefusedError("Este mensaje no se puede reintentar: "
                                        "el motivo del fallo no se corrige enviándolo de nuevo")
            if self._get(MessageRetry.create_id(message_id)) is not None:
                raise RetryRefusedError("Este mensaje ya se reintentó")
            chat = self._get(UUID(original.chat_id)) if original.chat_id else None
            if not isinstance(chat, Chat):
                raise RetryRefusedError("El mensaje no pertenece a un chat")
            if agent_id and chat.agent_id != agent_id:
                raise RetryRefusedError("Solo el asesor asignado puede reintentar este mensaje")
            again = self.compose(chat, original.kind, body=original.body, content_sid=original.content_sid,
                                 content_variables=dict(original.content_variables), agent_id=agent_id or
                                 original.agent_id, session_id=session_id, actor=actor)
            retry = MessageRetry.request(message_id, str(again.id), actor=actor, at=self.clock.now())
            self.store.save(again, retry)
            return str(again.id)
        new_id: str = retry_on_conflict(command)
        return new_id

    def _failure_alerts(self, message: OutboundMessage, error_code: str, reason: str) -> list[DeliveryAlert]:
        """The alerts a failure raises, recorded with it: the message, and the account or the sender's reputation
        when the code says they are at stake; each once (an alert's id is its natural key)."""
        now, facts = self.clock.now(), {"campaign_id": message.campaign_id, "sender": message.sender,
                                        "message_id": str(message.id), "actor": SYSTEM_SENDER}
        raised = [DeliveryAlert.message_failed(chat_id=message.chat_id, error_code=error_code, reason=reason,
                                               at=now, **facts)]
        if is_account_problem(error_code):
            raised.append(DeliveryAlert.account_problem(error_code=error_code, at=now, **facts))
        if is_spam_risk(error_code):
            raised.append(DeliveryAlert.spam_or_block(error_code=error_code, at=now, **facts))
        return [alert for alert in raised if self._get(alert.id) is None]

    def acknowledge_alert(self, alert_id: str, *, actor: str) -> None:
        """Mark a delivery alert as seen."""
        def command() -> None:
            try:
                alert = self._get(UUID(alert_id))
            except ValueError:
                alert = None
            if not isinstance(alert, DeliveryAlert):
                raise DeliveryAlertError("Alerta desconocida")
            alert.acknowledge(actor=actor, at=self.clock.now())
            self.store.save(alert)
        retry_on_conflict(command)

    def _opt_out(self, customer_address: str, sender_address: str, source: str) -> Consent:
        now = self.clock.now()
        consent = self._consent(customer_address, sender_address) or \
            Consent.for_pair(customer_address, sender_address, actor=SYSTEM_SENDER, at=now)
        consent.opt_out(source, actor=SYSTEM_SENDER, at=now)
        return consent

    def _delivery(self, message: OutboundMessage) -> Delivery:
        return Delivery(message_id=str(message.id), to=message.to, sender=message.sender, body=message.body,
                        content_sid=message.content_sid, content_variables=dict(message.content_variables),
                        status_callback=f"{self.public_url}/webhooks/twilio/status?mid={message.id}",
                        media_url=self.file_link(message.file) if message.file else "")

    def reconcile(self, message_id: str) -> bool:
        """Ask Twilio for the status of a message whose callbacks never came; apply it like a callback."""
        message = self._message(message_id)
        if message.is_final or not message.sid:
            return False
        reported = self.transport.current_status(message.sid)
        if reported is None or not reported.status:
            return False
        return self.apply_status(StatusReport(message_id, message.sid, reported.status, reported.error_code,
                                              reported.error_message[:500], {"source": "reconciliation"}))

    def sid_of(self, message_id: str) -> str:
        """Twilio's SID for a message once it was handed over; empty before (or if it never was)."""
        return self._message(message_id).sid or ""

    def _message(self, message_id: str) -> OutboundMessage:
        message = self._get(UUID(message_id))
        if not isinstance(message, OutboundMessage):
            raise DomainError("Mensaje desconocido")
        return message

    def _get(self, aggregate_id: UUID) -> object | None:
        try:
            return self.store.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
