"""Proactive sends (envíos proactivos): an approved template sent to a segment of a campaign's portfolio.

A `Broadcast` is scheduled inside the campaign's business hours with its template, the portfolio fields that fill
the template's variables and the segment's filters. When it starts its recipients are fixed (`Started` carries
them); it then messages them in waves, each wave recording which customers it messaged (`WaveSent`), so the
follower of the event log hands out the next wave and a replayed or repeated wave messages nobody twice: one
`OutboundMessage` per broadcast and customer, its id derived from both.

States: scheduled → running ⇄ paused, running → held_by_risk (its sender reached critical risk) → running once
an admin resumed the sender's proactive sends; cancelled and completed are final.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.business_hours import is_open
from domain.campaigns import CampaignSettings
from domain.common import DomainError, natural_id, require_aware

SCHEDULED, RUNNING, PAUSED, CANCELLED, COMPLETED, HELD_BY_RISK = (
    "scheduled", "running", "paused", "cancelled", "completed", "held_by_risk")
BROADCAST_STATES = (SCHEDULED, RUNNING, PAUSED, CANCELLED, COMPLETED, HELD_BY_RISK)
FINAL_STATES = frozenset({CANCELLED, COMPLETED})
# Why a customer of the segment gets nothing (counted in the preview and when the broadcast starts).
OPTED_OUT, RECENTLY_CONTACTED, NO_VALID_PHONE = "opted_out", "recently_contacted", "no_valid_phone"
EXCLUSION_REASONS = (OPTED_OUT, RECENTLY_CONTACTED, NO_VALID_PHONE)
# Portfolio fields a filter or a template variable may name besides the campaign's own columns.
DAYS_PAST_DUE = "dias_mora"
BALANCE = "balance"
STANDARD_FIELDS = ("full_name", "document_type", "document_number", "email", BALANCE)
DEFAULT_RECENT_HOURS = 72
MAX_RECIPIENTS = 50_000


class BroadcastError(DomainError):
    pass


@dataclass(frozen=True)
class Segment:
    """Which customers of the campaign's active portfolio a broadcast is for."""

    min_days_past_due: int | None = None
    balance_from: str = ""
    balance_to: str = ""
    field_equals: tuple[tuple[str, str], ...] = ()
    recent_hours: int = DEFAULT_RECENT_HOURS  # customers messaged on the business's initiative this recently: left out

    def check(self) -> None:
        if self.min_days_past_due is not None and self.min_days_past_due < 0:
            raise BroadcastError("Los días de mora deben ser cero o más")
        low, high = _amount(self.balance_from), _amount(self.balance_to)
        if low is not None and high is not None and low > high:
            raise BroadcastError("El saldo «desde» es mayor que el saldo «hasta»")
        if self.recent_hours < 0:
            raise BroadcastError("Las horas sin contacto deben ser cero o más")
        for name, _ in self.field_equals:
            if not name.strip():
                raise BroadcastError("Falta el nombre del campo del filtro")

    def selects(self, fields: Mapping[str, str]) -> bool:
        """Whether a customer, by their portfolio fields (as text), is in the segment."""
        if self.min_days_past_due is not None:
            days = _integer(fields.get(DAYS_PAST_DUE, ""))
            if days is None or days < self.min_days_past_due:
                return False
        if self.balance_from or self.balance_to:
            balance = _amount_or_none(fields.get(BALANCE, ""))
            low, high = _amount(self.balance_from), _amount(self.balance_to)
            if balance is None or (low is not None and balance < low) or (high is not None and balance > high):
                return False
        return all(_folded(fields.get(name, "")) == _folded(value) for name, value in self.field_equals)

    def to_dict(self) -> dict[str, Any]:
        found = asdict(self)
        found["field_equals"] = [list(pair) for pair in self.field_equals]
        return found

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Segment:
        days = data.get("min_days_past_due")
        return cls(min_days_past_due=None if days in (None, "") else int(days),
                   balance_from=str(data.get("balance_from") or ""), balance_to=str(data.get("balance_to") or ""),
                   field_equals=tuple((str(n), str(v)) for n, v in data.get("field_equals") or ()),
                   recent_hours=int(data.get("recent_hours", DEFAULT_RECENT_HOURS)))


@dataclass(frozen=True)
class Recipient:
    """One customer a started broadcast messages: their key in the portfolio, their address and the template's
    variables filled from their fields."""

    customer: str
    to: str
    variables: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Template:
    content_sid: str
    name: str
    variables: tuple[str, ...]


def fill_variables(mapping: Mapping[str, str], fields: Mapping[str, str]) -> dict[str, str]:
    """The template's variables ({"1": "Ana", …}) from the customer's fields the broadcast maps them to."""
    return {variable: fields.get(name, "") for variable, name in mapping.items()}


def message_id_for(broadcast_id: UUID | str, customer: str) -> UUID:
    """One message per broadcast and customer: a second request for it collides with the first."""
    return natural_id("broadcast-message", f"{broadcast_id}:{customer}")


class Broadcast(Aggregate):
    @event("Scheduled")
    def __init__(self, campaign_id: str, name: str, sender: str, channel: str, content_sid: str, template_name: str,
                 variables: dict[str, str], segment: dict[str, Any], start_at: datetime, actor: str,
                 at: datetime) -> None:
        self.campaign_id = campaign_id
        self.name = name
        self.sender = sender
        self.channel = channel
        self.content_sid = content_sid
        self.template_name = template_name
        self.variables = dict(variables)
        self.segment = dict(segment)
        self.start_at = start_at
        self.state = SCHEDULED
        self.recipients: list[dict[str, Any]] = []
        self.messaged = 0  # recipients before this index were messaged (or skipped)
        self.waves = 0

    @classmethod
    def schedule(cls, *, campaign_id: str, name: str, sender: str, channel: str, template: Template,
                 variables: Mapping[str, str], segment: Segment, start_at: datetime, settings: CampaignSettings,
                 actor: str, at: datetime) -> Broadcast:
        check_name(name)
        check_variables_mapped(template, variables)
        segment.check()
        check_start(settings, require_aware(start_at), require_aware(at))
        return cls(campaign_id=campaign_id, name=name.strip(), sender=sender, channel=channel,
                   content_sid=template.content_sid, template_name=template.name, variables=dict(variables),
                   segment=segment.to_dict(), start_at=start_at, actor=actor, at=at)

    @property
    def remaining(self) -> int:
        return len(self.recipients) - self.messaged

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_STATES

    def start(self, recipients: Sequence[Recipient], excluded: Mapping[str, int], *, actor: str,
              at: datetime) -> None:
        if self.state != SCHEDULED:
            raise BroadcastError("Solo se inicia un envío programado")
        if len(recipients) > MAX_RECIPIENTS:
            raise BroadcastError("Un envío llega a lo sumo a %(most)s clientes", most=MAX_RECIPIENTS)
        self._started(recipients=[asdict(r) for r in recipients], excluded=dict(excluded), actor=actor,
                      at=require_aware(at))
        if not recipients:
            self._completed(actor=actor, at=at)

    @event("Started")
    def _started(self, recipients: list[dict[str, Any]], excluded: dict[str, int], actor: str, at: datetime) -> None:
        self.recipients = recipients
        self.state = RUNNING

    def next_wave(self, size: int) -> list[Recipient]:
        """The recipients the next wave messages, in the order the broadcast fixed them."""
        return [Recipient(**r) for r in self.recipients[self.messaged:self.messaged + size]]

    def record_wave(self, messaged: Sequence[str], skipped: Sequence[str], next_in_seconds: float, *, actor: str,
                    at: datetime) -> None:
        """The wave's customers were messaged (or skipped: opted out since the start); completes the broadcast
        after its last recipient."""
        if self.state != RUNNING:
            raise BroadcastError("Solo un envío en curso envía mensajes")
        count = len(messaged) + len(skipped)
        if count == 0 or count > self.remaining:
            raise BroadcastError("La tanda no corresponde a los clientes pendientes del envío")
        self._wave_sent(wave=self.waves, messaged=list(messaged), skipped=list(skipped),
                        next_in_seconds=next_in_seconds, actor=actor, at=require_aware(at))
        if self.remaining == 0:
            self._completed(actor=actor, at=at)

    @event("WaveSent")
    def _wave_sent(self, wave: int, messaged: list[str], skipped: list[str], next_in_seconds: float, actor: str,
                   at: datetime) -> None:
        self.messaged += len(messaged) + len(skipped)
        self.waves = wave + 1

    @event("Completed")
    def _completed(self, actor: str, at: datetime) -> None:
        self.state = COMPLETED

    def pause(self, *, actor: str, at: datetime) -> None:
        if self.state not in (RUNNING, HELD_BY_RISK):
            raise BroadcastError("Solo se pausa un envío en curso")
        self._paused(next_wave=self.waves, actor=actor, at=require_aware(at))

    @event("Paused")
    def _paused(self, next_wave: int, actor: str, at: datetime) -> None:
        self.state = PAUSED

    def resume(self, *, actor: str, at: datetime) -> None:
        if self.state != PAUSED:
            raise BroadcastError("Solo se reanuda un envío pausado")
        self._resumed(next_wave=self.waves, actor=actor, at=require_aware(at))

    @event("Resumed")
    def _resumed(self, next_wave: int, actor: str, at: datetime) -> None:
        self.state = RUNNING

    def cancel(self, *, actor: str, at: datetime) -> None:
        if self.is_final:
            raise BroadcastError("El envío ya terminó o fue cancelado")
        self._cancelled(actor=actor, at=require_aware(at))

    @event("Cancelled")
    def _cancelled(self, actor: str, at: datetime) -> None:
        self.state = CANCELLED

    def hold_by_risk(self, level: str, *, actor: str, at: datetime) -> None:
        if self.state != RUNNING:
            raise BroadcastError("Solo se detiene por riesgo un envío en curso")
        self._held_by_risk(level=level, next_wave=self.waves, actor=actor, at=require_aware(at))

    @event("HeldByRisk")
    def _held_by_risk(self, level: str, next_wave: int, actor: str, at: datetime) -> None:
        self.state = HELD_BY_RISK

    def continue_after_risk(self, resumed_by: str, reason: str, *, actor: str, at: datetime) -> None:
        """An admin resumed the sender's proactive sends (`resumed_by`, `reason`): the held broadcast goes on."""
        if self.state != HELD_BY_RISK:
            raise BroadcastError("El envío no está detenido por riesgo")
        self._continued(resumed_by=resumed_by, reason=reason, next_wave=self.waves, actor=actor,
                        at=require_aware(at))

    @event("ContinuedAfterRisk")
    def _continued(self, resumed_by: str, reason: str, next_wave: int, actor: str, at: datetime) -> None:
        self.state = RUNNING


def check_name(name: str) -> None:
    if not name.strip():
        raise BroadcastError("Escriba un nombre para el envío")
    if len(name) > 120:
        raise BroadcastError("El nombre del envío supera 120 caracteres")


def check_variables_mapped(template: Template, variables: Mapping[str, str]) -> None:
    """Every variable of the template is filled from a portfolio field, and nothing else is."""
    missing = [v for v in template.variables if not variables.get(v, "").strip()]
    if missing:
        raise BroadcastError("Elija el campo de la cartera de la variable %(variable)s de la plantilla",
                             variable=missing[0])
    unknown = sorted(set(variables) - set(template.variables))
    if unknown:
        raise BroadcastError("La plantilla no tiene la variable %(variable)s", variable=unknown[0])


def check_start(settings: CampaignSettings, start_at: datetime, now: datetime) -> None:
    """A broadcast starts inside the campaign's business hours, now or later."""
    if start_at < now.replace(second=0, microsecond=0):
        raise BroadcastError("La hora de inicio ya pasó")
    if not is_open(settings, start_at):
        raise BroadcastError("La hora de inicio está fuera del horario de atención de la campaña")


def _folded(text: str) -> str:
    return " ".join(str(text).split()).casefold()


def _integer(text: str) -> int | None:
    try:
        return int(Decimal(str(text).strip()))
    except (InvalidOperation, ValueError):
        return None


def _amount_or_none(text: str) -> Decimal | None:
    """A customer's balance as the portfolio recorded it; unreadable is no balance (the customer is left out)."""
    try:
        return _amount(text)
    except BroadcastError:
        return None


def _amount(text: str) -> Decimal | None:
    cleaned = str(text).strip().replace(" ", "")
    if not cleaned:
        return None
    try:
        return Decimal(cleaned)
    except InvalidOperation as error:
        raise BroadcastError("El saldo «%(amount)s» no es un número", amount=text) from error
