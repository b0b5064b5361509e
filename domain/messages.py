"""Messages to and from Twilio: outbound lifecycle (R10–R12) and inbound exactly-once (R10)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.common import DomainError, natural_id, require_aware

OUTBOUND_KINDS = ("bot", "agent", "closing", "template", "opt_out_ack", "broadcast", "survey")
# `answered_by_twilio`: never sent by Despacho because Twilio answered the customer itself (STOP on an SMS long code).
FINAL_STATUSES = ("delivered", "read", "failed", "undelivered", "canceled", "answered_by_twilio")
FAILED_STATUSES = frozenset({"failed", "undelivered", "canceled"})
"""Final statuses of a message that never reached the customer: shown as failed, retried, alerted."""
STATUS_RANK = {"requested": 0, "accepted": 1, "scheduled": 1, "queued": 2, "sending": 3, "sent": 4,
               "failed": 5, "delivered": 6, "undelivered": 6, "read": 7, "canceled": 5, "answered_by_twilio": 7}


class OutboundMessageError(DomainError):
    pass


class OutboundMessage(Aggregate):
    @event("Requested")
    def __init__(self, chat_id: str, campaign_id: str, kind: str, channel: str, to: str, sender: str,
                 body: str, content_sid: str, content_variables: dict[str, str], agent_id: str,
                 session_id: str, actor: str, at: datetime) -> None:
        self.chat_id = chat_id
        self.campaign_id = campaign_id
        self.kind = kind
        self.channel = channel
        self.to = to
        self.sender = sender
        self.body = body
        self.content_sid = content_sid
        self.content_variables = content_variables
        self.agent_id = agent_id
        self.status = "requested"
        self.sid = ""
        self.attempts = 0
        self.error_code = ""
        self.file: dict[str, str] | None = None
        """An image or PDF the agent sends (`location`, `content_type`, `file_name`), set by `attach_file`."""

    @classmethod
    def request(cls, *, chat_id: str, campaign_id: str, kind: str, channel: str, to: str, sender: str,
                body: str = "", content_sid: str = "", content_variables: dict[str, str] | None = None,
                agent_id: str = "", session_id: str = "", with_file: bool = False, actor: str, at: datetime,
                message_id: UUID | None = None) -> OutboundMessage:
        """`with_file`: the caller attaches a file before saving (`attach_file`), so the text may be empty.
        `message_id`: a natural id, for messages that must never be requested twice (a broadcast's)."""
        if kind not in OUTBOUND_KINDS:
            raise OutboundMessageError("Tipo de mensaje desconocido: %(kind)s", kind=kind)
        if not body.strip() and not content_sid and not with_file:
            raise OutboundMessageError("El mensaje está vacío")
        if len(body) > 1600:
            raise OutboundMessageError("El mensaje supera 1600 caracteres")
        # `_create` takes the id (None: a new one); `Requested` is the class `@event("Requested")` made.
        return cls._create(cls.Requested, id=message_id,  # type: ignore[attr-defined]
                           chat_id=chat_id, campaign_id=campaign_id, kind=kind, channel=channel, to=to,
                           sender=sender, body=body, content_sid=content_sid,
                           content_variables=dict(content_variables or {}), agent_id=agent_id,
                           session_id=session_id, actor=actor, at=require_aware(at))

    def attach_file(self, location: str, content_type: str, file_name: str, *, actor: str, at: datetime) -> None:
        """The file travels with the message (Twilio's MediaUrl); only before its first attempt, and only one."""
        if self.attempts or self.sid or self.file is not None:
            raise OutboundMessageError("El archivo se adjunta antes de enviar el mensaje, una sola vez")
        if self.content_sid:
            raise OutboundMessageError("Una plantilla no lleva archivos adjuntos")
        self._file_attached(location=location, content_type=content_type, file_name=file_name, actor=actor,
                            at=require_aware(at))

    @event("FileAttached")
    def _file_attached(self, location: str, content_type: str, file_name: str, actor: str, at: datetime) -> None:
        self.file = {"location": location, "content_type": content_type, "file_name": file_name}

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def accepted_by_twilio(self) -> bool:
        return accepted_by_twilio(self.sid, self.status)

    @property
    def lost(self) -> bool:
        return self.status in FAILED_STATUSES

    def start_attempt(self, *, actor: str, at: datetime) -> int:
        """Record the intent to call Twilio before calling it, so a crash is detectable."""
        if self.sid:
            raise OutboundMessageError("El mensaje ya fue entregado a Twilio")
        self._attempt_started(attempt=self.attempts + 1, actor=actor, at=require_aware(at))
        return self.attempts

    @event("AttemptStarted")
    def _attempt_started(self, attempt: int, actor: str, at: datetime) -> None:
        self.attempts = attempt

    def record_submission(self, sid: str, status: str, *, actor: str, at: datetime) -> None:
        if self.sid:
            return
        self._submitted(sid=sid, status=status, actor=actor, at=require_aware(at))

    @event("Submitted")
    def _submitted(self, sid: str, status: str, actor: str, at: datetime) -> None:
        self.sid = sid
        self._advance(status)

    def record_status(self, status: str, error_code: str, error_message: str, *, actor: str,
                      at: datetime) -> bool:
        """Apply a Twilio status report; returns False when it changes nothing (R10)."""
        if STATUS_RANK.get(status, -1) <= STATUS_RANK.get(self.status, -1):
            return False
        self._status_reported(status=status, error_code=error_code, error_message=error_message,
                              actor=actor, at=require_aware(at))
        return True

    @event("StatusReported")
    def _status_reported(self, status: str, error_code: str, error_message: str, actor: str,
                         at: datetime) -> None:
        self._advance(status)
        if error_code:
            self.error_code = error_code

    def fail(self, error_code: str, reason: str, *, actor: str, at: datetime) -> None:
        if self.is_final:
            return
        self._failed(error_code=error_code, reason=reason, actor=actor, at=require_aware(at))

    @event("Failed")
    def _failed(self, error_code: str, reason: str, actor: str, at: datetime) -> None:
        self.status = "failed"
        self.error_code = error_code

    def leave_to_twilio(self, reason: str, *, actor: str, at: datetime) -> None:
        """Twilio already answered the customer (its own opt-out confirmation): on record, never sent by Despacho."""
        if self.attempts or self.sid or self.is_final:
            raise OutboundMessageError("El mensaje ya se intentó enviar")
        self._answered_by_twilio(reason=reason, actor=actor, at=require_aware(at))

    @event("AnsweredByTwilio")
    def _answered_by_twilio(self, reason: str, actor: str, at: datetime) -> None:
        self.status = "answered_by_twilio"

    def _advance(self, status: str) -> None:
        if STATUS_RANK.get(status, -1) > STATUS_RANK.get(self.status, -1):
            self.status = status


def accepted_by_twilio(sid: str | None, status: str) -> bool:
    """Twilio took the message (it has a SID) and has not reported it lost since."""
    return bool(sid) and status not in FAILED_STATUSES


class InboundMessageError(DomainError):
    pass


MAX_MEDIA = 10
"""Twilio sends at most ten attachments per message; more `NumMedia` than that is not Twilio's."""


def media_in(params: dict[str, str]) -> list[dict[str, str]]:
    """The attachments a webhook names (`NumMedia`, `MediaUrl{i}`, `MediaContentType{i}`), in order."""
    try:
        count = min(int(params.get("NumMedia", "0") or 0), MAX_MEDIA)
    except ValueError:
        count = 0
    return [{"url": params[f"MediaUrl{i}"], "content_type": params.get(f"MediaContentType{i}", "")}
            for i in range(count) if params.get(f"MediaUrl{i}")]


class InboundMessage(Aggregate):
    """Twilio's inbound webhook, recorded once per MessageSid whatever Twilio retries (R10).

    Its attachments live at Twilio behind the account's credentials; each is kept in Despacho's own
    storage (`MediaKept`) or recorded as lost with the reason (`MediaLost`), once."""

    @staticmethod
    def create_id(message_sid: str, **_: Any) -> UUID:
        return natural_id("inbound", message_sid)

    @event("Received")
    def __init__(self, message_sid: str, chat_id: str, params: dict[str, str], actor: str,
                 at: datetime) -> None:
        self.message_sid = message_sid
        self.chat_id = chat_id
        self.params = params
        self.received_at = at
        self.settled_media: dict[int, str] = {}
        """Attachment index → "kept" or "lost"."""

    @classmethod
    def receive(cls, message_sid: str, params: dict[str, str], *, actor: str, at: datetime) -> InboundMessage:
        """Recorded alone by the webhook; its chat is found afterwards, by `attach`. (Messages recorded before
        attaching was a separate step carry their chat already in `Received`.)"""
        if not message_sid:
            raise OutboundMessageError("Falta MessageSid")
        return cls(message_sid=message_sid, chat_id="", params=params, actor=actor, at=require_aware(at))

    @property
    def attached(self) -> bool:
        return bool(self.chat_id)

    def attach(self, chat_id: str, *, actor: str, at: datetime) -> None:
        if self.attached:
            raise InboundMessageError("El mensaje ya está en un chat")
        self._attached(chat_id=chat_id, actor=actor, at=require_aware(at))

    @event("Attached")
    def _attached(self, chat_id: str, actor: str, at: datetime) -> None:
        self.chat_id = chat_id

    @property
    def media(self) -> list[dict[str, str]]:
        return media_in(self.params)

    @property
    def unsettled_media(self) -> list[int]:
        """The attachments neither kept nor lost yet."""
        return [index for index in range(len(self.media)) if index not in self.settled_media]

    def keep_media(self, index: int, *, location: str, content_type: str, size: int, sha256: str, actor: str,
                   at: datetime) -> None:
        self._check_unsettled(index)
        self._media_kept(index=index, message_sid=self.message_sid, chat_id=self.chat_id, location=location,
                         content_type=content_type, size=size, sha256=sha256, actor=actor, at=require_aware(at))

    def lose_media(self, index: int, reason: str, *, actor: str, at: datetime) -> None:
        self._check_unsettled(index)
        self._media_lost(index=index, message_sid=self.message_sid, chat_id=self.chat_id,
                         content_type=self.media[index]["content_type"], reason=reason, actor=actor,
                         at=require_aware(at))

    def _check_unsettled(self, index: int) -> None:
        if index not in self.unsettled_media:
            raise InboundMessageError("El adjunto %(index)s no existe o ya se guardó", index=index + 1)

    @event("MediaKept")
    def _media_kept(self, index: int, message_sid: str, chat_id: str, location: str, content_type: str, size: int,
                    sha256: str, actor: str, at: datetime) -> None:
        self.settled_media[index] = "kept"

    @event("MediaLost")
    def _media_lost(self, index: int, message_sid: str, chat_id: str, content_type: str, reason: str, actor: str,
                    at: datetime) -> None:
        self.settled_media[index] = "lost"


class UnmatchedStatus(Aggregate):
    """Status callbacks Twilio sent for a SID Despacho cannot place: kept for reconciliation, never dropped."""

    @staticmethod
    def create_id(message_sid: str, **_: Any) -> UUID:
        return natural_id("unmatched-status", message_sid)

    @event("Started")
    def __init__(self, message_sid: str, actor: str, at: datetime) -> None:
        self.message_sid = message_sid
        self.reports: list[str] = []

    @classmethod
    def for_sid(cls, message_sid: str, *, actor: str, at: datetime) -> UnmatchedStatus:
        return cls(message_sid=message_sid, actor=actor, at=require_aware(at))

    def report(self, status: str, error_code: str, params: dict[str, str], *, actor: str, at: datetime) -> None:
        self._reported(status=status, error_code=error_code, params=params, actor=actor, at=require_aware(at))

    @event("Reported")
    def _reported(self, status: str, error_code: str, params: dict[str, str], actor: str, at: datetime) -> None:
        self.reports.append(status)
