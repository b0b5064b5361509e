"""A sender's block and spam risk level (ok / watch / high / critical) and the events that moved it.

The level is the worst level any judged signal reaches; each change is a `SenderRisk.LevelChanged` carrying
the signal that moved it, its value and the threshold it crossed (or, back to ok, the watch threshold it is
now below), with the recommended action in Spanish.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.common import DomainError, natural_id, require_aware
from domain.risk_thresholds import LEVEL_RANK, Signal, Threshold

LEVEL_ACTIONS = {
    "ok": "Sin acción: el remitente volvió a niveles normales.",
    "watch": "Vigile el remitente: revise a quién y con qué frecuencia se envía.",
    "high": "Baje el ritmo: pause los envíos masivos no urgentes de este remitente y revise las plantillas.",
    "critical": "Detenga los envíos masivos de este remitente hasta revisar la causa; siga atendiendo a quienes "
                "escriben.",
}
SIGNAL_ACTIONS = {
    "rate_usage": "El ritmo de envío se acerca al límite de Twilio por remitente: espacie los envíos.",
    "tier_usage": "El portafolio se acerca a su límite diario de Meta de clientes contactados por iniciativa de la "
                  "empresa: reparta los envíos en más días.",
    "business_per_customer_24h": "Algunos clientes reciben varios mensajes por iniciativa de la empresa en un día: "
                                 "no repita plantillas a quien no respondió.",
    "business_per_customer_7d": "Algunos clientes reciben muchos mensajes por iniciativa de la empresa en la semana: "
                                "espacie los contactos.",
    "reply_rate": "Pocos clientes responden a los mensajes que se les envían: revise la lista y el contenido.",
    "opt_out_rate": "Muchos clientes piden la baja: revise el consentimiento y la frecuencia.",
    "blocked_rate": "Clientes bloquean el remitente en WhatsApp (63014): Meta baja la calificación de calidad.",
    "marketing_refused_rate": "Meta no entrega plantillas de marketing (63049): use plantillas de utilidad y "
                              "envíe menos marketing.",
    "spam_filtered_rate": "Twilio o el operador filtran mensajes como spam (30007): revise el contenido y la lista.",
    "carrier_blocked_rate": "El operador o listas de no contactar bloquean mensajes (30004): depure la lista.",
    "failure_rate": "Muchos mensajes fallan: revise los errores en la auditoría de mensajes.",
    "template_failure_rate": "Muchas plantillas fallan: revise su aprobación y sus variables.",
}


def recommended_action(level: str, signal: str) -> str:
    """What to do, in Spanish: the level's action, then what the moving signal says."""
    if level == "ok" or signal not in SIGNAL_ACTIONS:
        return LEVEL_ACTIONS[level]
    return f"{LEVEL_ACTIONS[level]} {SIGNAL_ACTIONS[signal]}"


@dataclass(frozen=True)
class Assessment:
    level: str
    signal: str
    value: float
    threshold: float


def assess(found: Mapping[str, Signal], thresholds: Mapping[str, Threshold], previous_signal: str = "") -> Assessment:
    """The worst level any judged signal reaches; back at ok, the signal that last moved the level tells why."""
    worst = Assessment("ok", "", 0.0, 0.0)
    for name, threshold in thresholds.items():
        signal = found.get(name, Signal(0.0, 0))
        level = threshold.level_of(signal.value, signal.sample)
        if LEVEL_RANK[level] > LEVEL_RANK[worst.level]:
            worst = Assessment(level, name, signal.value, threshold.value_for(level))
    if worst.level == "ok" and previous_signal in thresholds:
        signal = found.get(previous_signal, Signal(0.0, 0))
        return Assessment("ok", previous_signal, signal.value, thresholds[previous_signal].watch)
    return worst


class SenderRiskError(DomainError):
    pass


class SenderRisk(Aggregate):
    """One sender's risk level; its id is the sender's, so two evaluators of one sender collide on its version."""

    @staticmethod
    def create_id(sender: str, **_: Any) -> UUID:
        return natural_id("sender-risk", sender)

    @event("Started")
    def __init__(self, sender: str, actor: str, at: datetime) -> None:
        self.sender = sender
        self.level = "ok"
        self.previous = "ok"
        self.signal = ""
        self.proactive_held = False
        self.resumed_by = ""
        self.resume_reason = ""

    @classmethod
    def start(cls, sender: str, *, actor: str, at: datetime) -> SenderRisk:
        return cls(sender=sender, actor=actor, at=require_aware(at))

    def judge(self, assessment: Assessment, *, actor: str, at: datetime) -> bool:
        """Record a level change when the assessment's level differs from the current one; False otherwise."""
        if assessment.level == self.level:
            return False
        self._level_changed(sender=self.sender, level=assessment.level, previous=self.level, signal=assessment.signal,
                            value=assessment.value, threshold=assessment.threshold,
                            recommended_action=recommended_action(assessment.level, assessment.signal),
                            actor=actor, at=require_aware(at))
        return True

    @property
    def rose(self) -> bool:
        """Whether the last change made things worse (what alerts people)."""
        return LEVEL_RANK[self.level] > LEVEL_RANK[self.previous]

    @event("LevelChanged")
    def _level_changed(self, sender: str, level: str, previous: str, signal: str, value: float, threshold: float,
                       recommended_action: str, actor: str, at: datetime) -> None:
        self.level = level
        self.previous = previous
        self.signal = signal
        if level == "critical":
            self.proactive_held = True

    def resume_proactive_sends(self, reason: str, *, actor: str, at: datetime) -> None:
        """An admin lets the sender's proactive sends go on although it reached critical risk (who, when, why);
        they stop again at its next change to critical."""
        if not self.proactive_held:
            raise SenderRiskError("Los envíos proactivos de este remitente no están detenidos")
        if not reason.strip():
            raise SenderRiskError("Escriba por qué se reanudan los envíos proactivos")
        self._proactive_sends_resumed(sender=self.sender, level=self.level, reason=reason.strip(), actor=actor,
                                      at=require_aware(at))

    @event("ProactiveSendsResumed")
    def _proactive_sends_resumed(self, sender: str, level: str, reason: str, actor: str, at: datetime) -> None:
        self.proactive_held = False
        self.resumed_by = actor
        self.resume_reason = reason
