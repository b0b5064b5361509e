"""A campaign: one client's operation, with its senders, SLA and routing settings."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from eventsourcing.domain import Aggregate, event

from domain.common import DomainError, natural_id, require_aware
from domain.dispositions import DEFAULT_DISPOSITIONS, Disposition, check_dispositions, stored_disposition
from domain.metrics.targets import check_targets
from domain.risk_thresholds import check_overrides
from domain.surveys import DEFAULT_ANSWER_HOURS, DEFAULT_QUESTION, MAX_ANSWER_HOURS, MAX_QUESTION_LENGTH

ROUTING_POLICIES = ("least_load", "round_robin")
SENDER_CHANNELS = ("whatsapp", "sms", "messaging_service")
CODE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{1,39}$")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MIDNIGHT = "00:00"  # as a closing time: the end of the day, so 00:00–00:00 is open all day
SENDER_PATTERNS = {
    "whatsapp": re.compile(r"^whatsapp:\+[1-9]\d{6,14}$"),
    "sms": re.compile(r"^\+[1-9]\d{6,14}$"),
    "messaging_service": re.compile(r"^MG[0-9a-fA-F]{32}$"),
}
CONTENT_SID_PATTERN = re.compile(r"^HX[0-9a-fA-F]{32}$")
DEFAULT_BREAK_REASONS = ("almuerzo", "baño", "capacitación", "pausa activa", "reunión")
MAX_BREAK_REASON_LENGTH = 40


class CampaignError(DomainError):
    pass


def default_business_hours() -> dict[str, list[str]]:
    weekday = ["08:00", "18:00"]
    return {"mon": weekday, "tue": weekday, "wed": weekday, "thu": weekday, "fri": weekday,
            "sat": ["08:00", "13:00"]}


@dataclass(frozen=True)
class CampaignSettings:
    """Everything an admin tunes on a campaign besides its identity and senders."""

    time_zone: str = "America/Bogota"
    business_hours: dict[str, list[str]] = field(default_factory=default_business_hours)
    alert_after_minutes: int = 30
    auto_close_after_hours: int = 24
    routing_policy: str = "least_load"
    default_capacity: int = 5
    # Outside business hours chats wait and the bot says when agents are back; with this on, agents who
    # work outside hours take them and the bot does not send its closed message.
    agents_outside_hours_take_chats: bool = False
    closing_message: str = "Gracias por comunicarte con nosotros. Tu conversación ha finalizado."
    closing_template_sid: str = ""
    dispositions: tuple[Disposition, ...] = DEFAULT_DISPOSITIONS
    flow_name: str = "default"
    # WhatsApp templates approved by Meta that agents may send outside the 24-hour window (R12):
    # ({"name": …, "content_sid": "HX…", "variables": ["1", "2", …]}, …).
    templates: tuple[dict[str, Any], ...] = ()
    # Why an agent may take a break (pausa), as the agents read them.
    break_reasons: tuple[str, ...] = DEFAULT_BREAK_REASONS
    # Chats of an agent who went offline (logout, expiry, termination) return to the queue after this long.
    offline_requeue_minutes: int = 10
    # Idle sessions of this campaign's agents expire after this long; 0 keeps the global setting. An agent of
    # several campaigns gets the shortest.
    session_idle_minutes: int = 0
    # A login from a second device replaces the first session unless every campaign of the agent allows both.
    allow_parallel_sessions: bool = False
    # Block and spam risk thresholds this campaign changes: signal → [watch, high, critical] (domain/risk_thresholds).
    risk_thresholds: dict[str, list[float]] = field(default_factory=dict)
    # Service targets this campaign sets (domain/metrics/targets.py): the service level's threshold and share, the
    # ASA, abandonment and FRT it aims at; what it leaves out reads the default or no target.
    metric_targets: dict[str, float] = field(default_factory=dict)
    # The satisfaction survey after a close an agent attended (domain/surveys.py): sent after the confirmation, an
    # answer accepted for `survey_answer_hours` after the close.
    survey_enabled: bool = False
    survey_question: str = DEFAULT_QUESTION
    survey_answer_hours: int = DEFAULT_ANSWER_HOURS

    def check(self) -> None:
        try:
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise CampaignError("Zona horaria desconocida: %(zone)s", zone=self.time_zone) from exc
        if self.routing_policy not in ROUTING_POLICIES:
            raise CampaignError("Política de enrutamiento desconocida: %(policy)s", policy=self.routing_policy)
        if not 1 <= self.alert_after_minutes <= 24 * 60:
            raise CampaignError("La alerta por falta de respuesta debe estar entre 1 y 1440 minutos")
        if not 1 <= self.auto_close_after_hours <= 24 * 7:
            raise CampaignError("El cierre automático debe estar entre 1 y 168 horas")
        if not 1 <= self.default_capacity <= 50:
            raise CampaignError("La capacidad por defecto debe estar entre 1 y 50 chats")
        check_dispositions(self.dispositions)
        if self.closing_template_sid and not CONTENT_SID_PATTERN.match(self.closing_template_sid):
            raise CampaignError("El Content SID de la plantilla de cierre empieza por HX y tiene 34 caracteres")
        if not self.closing_message.strip():
            raise CampaignError("El mensaje de cierre no puede estar vacío")
        self._check_templates()
        self._check_business_hours()
        self._check_presence()
        check_overrides(self.risk_thresholds)
        check_targets(self.metric_targets)
        self._check_survey()

    def _check_survey(self) -> None:
        if not self.survey_question.strip() or len(self.survey_question) > MAX_QUESTION_LENGTH:
            raise CampaignError("La pregunta de la encuesta tiene de 1 a %(most)s caracteres", most=MAX_QUESTION_LENGTH)
        if not 1 <= self.survey_answer_hours <= MAX_ANSWER_HOURS:
            raise CampaignError("La respuesta a la encuesta se acepta de 1 a %(most)s horas después del cierre",
                                most=MAX_ANSWER_HOURS)

    def _check_presence(self) -> None:
        reasons = [r.strip() for r in self.break_reasons]
        if not reasons or not all(reasons) or len(set(reasons)) != len(reasons) or len(reasons) > 20:
            raise CampaignError("Los motivos de pausa son de 1 a 20, distintos y no vacíos")
        if any(len(r) > MAX_BREAK_REASON_LENGTH for r in reasons):
            raise CampaignError("Cada motivo de pausa tiene hasta %(most)s caracteres", most=MAX_BREAK_REASON_LENGTH)
        if not 1 <= self.offline_requeue_minutes <= 24 * 60:
            raise CampaignError("La devolución a la cola de los chats de un asesor desconectado debe estar entre 1 y "
                                "1440 minutos")
        if not 0 <= self.session_idle_minutes <= 24 * 60:
            raise CampaignError("La expiración por inactividad debe estar entre 0 (la general) y 1440 minutos")

    def _check_templates(self) -> None:
        if len(self.templates) > 50:
            raise CampaignError("Una campaña admite hasta 50 plantillas")
        for template in self.templates:
            if not str(template.get("name", "")).strip():
                raise CampaignError("Cada plantilla necesita un nombre")
            if not CONTENT_SID_PATTERN.match(str(template.get("content_sid", ""))):
                raise CampaignError("El Content SID de una plantilla empieza por HX y tiene 34 caracteres")
            variables = template.get("variables", [])
            if not isinstance(variables, list) or not all(isinstance(v, str) and v.strip() for v in variables):
                raise CampaignError("Las variables de una plantilla son una lista de nombres, p. ej. [\"1\", \"2\"]")

    def _check_business_hours(self) -> None:
        for day, span in self.business_hours.items():
            if day not in WEEKDAYS or len(span) != 2 or not all(_is_hhmm(t) for t in span):
                raise CampaignError("Horario de atención inválido para '%(day)s': use HH:MM-HH:MM", day=day)
            if span[0] >= span[1] and span[1] != MIDNIGHT:
                raise CampaignError("Horario de atención de '%(day)s': la apertura debe ser antes del cierre", day=day)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["dispositions"] = [d.to_dict() for d in self.dispositions]
        data["templates"] = [dict(t) for t in self.templates]
        data["break_reasons"] = list(self.break_reasons)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CampaignSettings:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        if "dispositions" in known:
            known["dispositions"] = tuple(stored_disposition(d) for d in known["dispositions"])
        if "templates" in known:
            known["templates"] = tuple(dict(t) for t in known["templates"])
        if "break_reasons" in known:
            known["break_reasons"] = tuple(str(r).strip() for r in known["break_reasons"])
        return cls(**known)

    def updated(self, changes: dict[str, Any]) -> CampaignSettings:
        merged = self.to_dict() | changes
        return CampaignSettings.from_dict(merged) if merged else replace(self)


def _is_hhmm(text: str) -> bool:
    return bool(re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", text))


@dataclass(frozen=True)
class Sender:
    """A number or service a campaign talks from: `whatsapp:+57…`, `+57…` or `MG…`."""

    address: str
    channel: str
    is_default: bool = False


class Campaign(Aggregate):
    class Created(Aggregate.Created):
        """v2 added `settings.flow_name`; v1 campaigns used the default flow."""

        class_version = 2
        code: str
        name: str
        display_name: str
        settings: dict[str, Any]
        actor: str
        at: datetime

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["settings"] = {"flow_name": "default", **state.get("settings", {})}

    @staticmethod
    def create_id(code: str, **_: Any) -> UUID:
        return natural_id("campaign", code)

    @event(Created)
    def __init__(self, code: str, name: str, display_name: str, settings: dict[str, Any],
                 actor: str, at: datetime) -> None:
        self.code = code
        self.name = name
        self.display_name = display_name
        self.settings = CampaignSettings.from_dict(settings)
        self.senders: dict[str, Sender] = {}
        self.archived = False
        self.created_at = at

    @classmethod
    def register(cls, code: str, name: str, display_name: str, settings: CampaignSettings,
                 *, actor: str, at: datetime) -> Campaign:
        if not CODE_PATTERN.match(code):
            raise CampaignError("El código debe tener 2 a 40 letras minúsculas, números, '-' o '_'")
        _check_names(name, display_name)
        settings.check()
        return cls(code=code, name=name.strip(), display_name=display_name.strip(),
                   settings=settings.to_dict(), actor=actor, at=require_aware(at))

    def edit(self, *, name: str, display_name: str, settings: CampaignSettings, actor: str,
             at: datetime) -> None:
        self._check_active()
        _check_names(name, display_name)
        settings.check()
        _check_closing_template(settings, self.senders.values())
        self._edited(name=name.strip(), display_name=display_name.strip(),
                     settings=settings.to_dict(), actor=actor, at=require_aware(at))

    @event("Edited")
    def _edited(self, name: str, display_name: str, settings: dict[str, Any], actor: str,
                at: datetime) -> None:
        self.name = name
        self.display_name = display_name
        self.settings = CampaignSettings.from_dict(settings)

    def link_sender(self, address: str, channel: str, *, is_default: bool, actor: str,
                    at: datetime) -> None:
        self._check_active()
        if channel not in SENDER_CHANNELS:
            raise CampaignError("Canal de remitente desconocido: %(channel)s", channel=channel)
        address = normalise_sender(address, channel)
        if not SENDER_PATTERNS[channel].match(address):
            raise CampaignError(
                "Remitente inválido para %(channel)s: use whatsapp:+57…, +57… o MG… (Messaging Service)",
                channel=channel)
        _check_closing_template(self.settings, [Sender(address, channel)])
        self._sender_linked(address=address, channel=channel,
                            is_default=is_default or not self.senders, actor=actor, at=require_aware(at))

    @event("SenderLinked")
    def _sender_linked(self, address: str, channel: str, is_default: bool, actor: str,
                       at: datetime) -> None:
        if is_default:
            self.senders = {a: replace(s, is_default=False) for a, s in self.senders.items()}
        self.senders[address] = Sender(address, channel, is_default)

    def unlink_sender(self, address: str, *, actor: str, at: datetime) -> None:
        if address not in self.senders:
            raise CampaignError("La campaña no usa el remitente %(address)s", address=address)
        self._sender_unlinked(address=address, actor=actor, at=require_aware(at))

    @event("SenderUnlinked")
    def _sender_unlinked(self, address: str, actor: str, at: datetime) -> None:
        was_default = self.senders.pop(address).is_default
        if was_default and self.senders:
            first = min(self.senders)
            self.senders[first] = replace(self.senders[first], is_default=True)

    def archive(self, *, actor: str, at: datetime) -> None:
        self._check_active()
        self._archived(actor=actor, at=require_aware(at))

    @event("Archived")
    def _archived(self, actor: str, at: datetime) -> None:
        self.archived = True

    def check_template_approved(self, content_sid: str) -> None:
        """Outside the WhatsApp window only the campaign's approved templates (or its closing one) may go (R12)."""
        approved = {str(t.get("content_sid", "")) for t in self.settings.templates}
        approved.add(self.settings.closing_template_sid)
        if not content_sid or content_sid not in approved:
            raise CampaignError("Esa plantilla no está aprobada para la campaña del chat")

    def check_dispositions(self, disposition: str) -> None:
        if disposition not in {d.code for d in self.settings.dispositions}:
            raise CampaignError("La tipificación '%(disposition)s' no existe en la campaña %(campaign)s",
                                disposition=disposition, campaign=self.name)

    def _check_active(self) -> None:
        if self.archived:
            raise CampaignError("La campaña %(campaign)s está archivada", campaign=self.name)


def normalise_sender(address: str, channel: str) -> str:
    """`+57 300 111 2233` → `+573001112233`; a WhatsApp number gets its `whatsapp:` prefix."""
    address = re.sub(r"[\s().-]", "", address.strip())
    if channel == "whatsapp" and address.startswith("+"):
        return "whatsapp:" + address
    return address


def _check_closing_template(settings: CampaignSettings, senders: Iterable[Sender]) -> None:
    """An active WhatsApp campaign holds its closing template (R8, R12); campaigns recorded before this
    rule still load, and the rule applies to their next edit or WhatsApp sender."""
    if not settings.closing_template_sid and any(s.channel == "whatsapp" for s in senders):
        raise CampaignError("Una campaña de WhatsApp necesita el Content SID (HX…) de su plantilla de cierre "
                            "aprobada: a las 24 horas del último mensaje del cliente solo se puede enviar una "
                            "plantilla, y sin ella el cliente no recibe la confirmación de cierre")


def _check_names(name: str, display_name: str) -> None:
    if not name.strip() or not display_name.strip():
        raise CampaignError("La campaña necesita nombre y nombre público")
    if len(name) > 120 or len(display_name) > 60:
        raise CampaignError("Nombre hasta 120 caracteres; nombre público hasta 60")
