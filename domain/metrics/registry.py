"""Every metric of agents, campaigns and the bot defined once (§15, §16): its names, its formula in words and in
code, its unit, its dimensions and the instant that dates it.

A metric is computed from counters: additive numbers (and one maximum) that the metric projector keeps per hour
and per local day, and that `despacho metrics verify` counts again from the raw log by its own path. The value
of a metric is always `value(counters)` on the counters of one row (a bucket of one agent, campaign or flow), so
the API, the exports, the dashboards and the verify share one formula.

Times are the events' `at` (the injected clock) and the log's order; an interval that the log's order makes
negative (a process whose clock lagged) counts as zero. Each metric is dated by one instant, named in
`dated_by`, never a mix: a chat's start, a queue entry, an assignment, or the event itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from domain.chats import CLOSE_REASONS
from domain.labels import CLOSE_REASONS as CLOSE_REASON_NAMES
from domain.surveys import SATISFIED, is_satisfied

Counters = Mapping[str, float]
AGENT, CAMPAIGN, BOT = "agent", "campaign", "bot"
LEVELS = (AGENT, CAMPAIGN, BOT)
CHAT_START, QUEUE_ENTRY, ASSIGNMENT, EVENT, REQUEST, SPAN = (
    "chat_start", "queue_entry", "assignment", "event", "request", "span")
DATED_BY = {
    CHAT_START: "el inicio del chat (su primer mensaje)",
    QUEUE_ENTRY: "la entrada a la cola (el traspaso del bot o la devolución a la cola)",
    ASSIGNMENT: "el inicio de la asignación (asignación o transferencia)",
    EVENT: "el momento del hecho (el mensaje enviado, el cierre)",
    REQUEST: "la solicitud del mensaje a Twilio",
    SPAN: "el tiempo mismo: cada tramo cuenta en la hora o el día en que transcurre",
}
COUNT, SECONDS, RATIO, INDEX = "count", "seconds", "ratio", "index"
UNITS = {COUNT: "número", SECONDS: "segundos", RATIO: "proporción (0 a 1)", INDEX: "índice (0 a 1)"}
DIMENSIONS = {
    AGENT: ("asesor", "campaña", "hora del día"),
    CAMPAIGN: ("campaña", "hora del día", "remitente (en la tasa de fallas de entrega)"),
    BOT: ("campaña", "flujo del bot", "estado del flujo"),
}
SERVICE_LEVEL_SECONDS = 20
"""The service level's threshold when a campaign sets none: the share of queue entries assigned within this many
seconds (80 % in 20 s is usual). A campaign's own is a target (domain/metrics/targets.py); each queue entry is
judged by the threshold in force when it was queued."""
ABANDON_REASONS = ("auto_24h", "opt_out", "supervisor")
"""The close reasons a chat waiting in the queue can leave with: the 24-hour rule, the customer's opt-out, a
supervisor (agents close only chats assigned to them; the bot, only chats still in it)."""
CONTAINMENT_WINDOW_HOURS = 24
"""A chat the bot ended counts as contained unless the same customer writes again within this many hours."""
MOVED = "moved"
"""How a queue entry or an assignment ends when its chat is transferred to another campaign: the assignment's handle
time ends there; the queue entry counts as an entry, neither assigned nor abandoned, so it leaves the waits, the
service level and the abandonment alone, and the chat waits on in a new entry of the new campaign."""
MAXIMA = frozenset({"wait_max"})
"""Counters combined by their maximum, not their sum."""


SATISFIED_TEXT = " o ".join(str(score) for score in sorted(SATISFIED))
SURVEY_COUNTERS = (
    ("survey_answers", "respuestas a la encuesta de satisfacción (del 1 al 5) de un chat cerrado; el asesor es quien "
                       "tenía el chat al cierre"),
    ("survey_satisfied", f"respuestas a la encuesta con {SATISFIED_TEXT}"),
    ("survey_score_sum", "suma de las calificaciones de la encuesta"),
)


def survey_counters(score: int) -> dict[str, float]:
    """What one answer adds to its agent's and campaign's counters."""
    return {"survey_answers": 1, "survey_satisfied": float(is_satisfied(score)), "survey_score_sum": score}


@dataclass(frozen=True)
class Counter:
    key: str
    level: str
    dated_by: str
    meaning: str


COUNTERS = (
    Counter("assignments", AGENT, ASSIGNMENT, "asignaciones recibidas por el asesor"),
    Counter("handled", AGENT, ASSIGNMENT, "asignaciones en las que el asesor envió al menos un mensaje"),
    Counter("frt_sum", AGENT, ASSIGNMENT, "segundos de la asignación al primer mensaje del asesor"),
    Counter("frt_count", AGENT, ASSIGNMENT, "asignaciones con primer mensaje del asesor"),
    Counter("reply_sum", AGENT, ASSIGNMENT, "segundos de cada espera del cliente al siguiente mensaje del asesor"),
    Counter("reply_count", AGENT, ASSIGNMENT, "esperas del cliente respondidas por el asesor"),
    Counter("aht_sum", AGENT, ASSIGNMENT, "segundos de la asignación a su fin (cierre, transferencia o devolución)"),
    Counter("aht_count", AGENT, ASSIGNMENT, "asignaciones terminadas"),
    Counter("alerts", AGENT, ASSIGNMENT, "alertas por falta de respuesta levantadas durante la asignación"),
    Counter("messages", AGENT, EVENT, "mensajes enviados por el asesor (texto o plantilla)"),
    Counter("closes", AGENT, EVENT, "chats cerrados por el asesor con tipificación"),
    Counter("effective_closes", AGENT, EVENT, "cierres con una tipificación marcada como efectiva en la campaña"),
    *(Counter(key, level, EVENT, meaning) for level in (AGENT, CAMPAIGN) for key, meaning in SURVEY_COUNTERS),
    Counter("chats", CAMPAIGN, CHAT_START, "chats iniciados"),
    Counter("attended", CAMPAIGN, CHAT_START, "chats con al menos un mensaje de un asesor"),
    Counter("unattended", CAMPAIGN, CHAT_START, "chats cerrados sin ningún mensaje de un asesor"),
    Counter("queue_entries", CAMPAIGN, QUEUE_ENTRY, "entradas a la cola"),
    Counter("queue_assigned", CAMPAIGN, QUEUE_ENTRY, "entradas a la cola que terminaron en una asignación"),
    Counter("queue_abandoned", CAMPAIGN, QUEUE_ENTRY, "entradas a la cola que terminaron en un cierre sin asesor"),
    Counter("wait_assigned_sum", CAMPAIGN, QUEUE_ENTRY, "segundos de espera de las entradas asignadas"),
    Counter("wait_ended_sum", CAMPAIGN, QUEUE_ENTRY, "segundos de espera de las entradas terminadas"),
    Counter("wait_max", CAMPAIGN, QUEUE_ENTRY, "la espera más larga de una entrada terminada, en segundos"),
    Counter("within_target", CAMPAIGN, QUEUE_ENTRY,
            "entradas asignadas dentro del umbral de nivel de servicio de la campaña vigente al entrar a la cola "
            f"({SERVICE_LEVEL_SECONDS} segundos si no fija otro)"),
    *(Counter(f"abandoned_{reason}", CAMPAIGN, QUEUE_ENTRY,
              f"entradas a la cola que terminaron en un cierre sin asesor: {CLOSE_REASON_NAMES[reason]}")
      for reason in ABANDON_REASONS),
    Counter("outbound", CAMPAIGN, REQUEST, "mensajes solicitados a Twilio"),
    Counter("outbound_failed", CAMPAIGN, REQUEST, "mensajes que no llegaron (fallidos, no entregados, cancelados)"),
    *(Counter(f"closed_{reason}", CAMPAIGN, EVENT, f"chats cerrados: {CLOSE_REASON_NAMES[reason]}")
      for reason in CLOSE_REASONS),
    Counter("bot_chats", BOT, CHAT_START, "chats iniciados en el bot"),
    Counter("identified", BOT, CHAT_START, "chats en los que el bot identificó al cliente"),
    Counter("transferred", BOT, CHAT_START, "chats que el bot pasó a la cola de asesores"),
    Counter("dropped", BOT, CHAT_START, "chats en los que el cliente dejó de responder al bot y nunca pasó a la cola"),
    Counter("bot_closed", BOT, CHAT_START, "chats que el flujo del bot terminó (final: cerrar)"),
    Counter("contained", BOT, CHAT_START,
            f"chats que el bot terminó sin asesor y cuyo cliente no volvió a escribir en "
            f"{CONTAINMENT_WINDOW_HOURS} horas"),
)
COUNTER_KEYS = {level: tuple(c.key for c in COUNTERS if c.level == level) for level in LEVELS}


@dataclass(frozen=True)
class Metric:
    key: str
    level: str
    name_es: str
    name_en: str
    abbreviation_es: str
    abbreviation_en: str
    unit: str
    dated_by: str
    formula_es: str
    formula_code: str
    value: Callable[[Counters], float | None]


def count(counter: str) -> Callable[[Counters], float | None]:
    return lambda c: round(c.get(counter, 0), 3)


def mean(total: str, *parts: str) -> Callable[[Counters], float | None]:
    """`total` divided by the sum of `parts`; None (no data) when there is nothing to divide by."""
    def value(c: Counters) -> float | None:
        divisor = sum(c.get(p, 0) for p in parts)
        return round(c.get(total, 0) / divisor, 4) if divisor else None
    return value


def share(part: str, *wholes: str) -> Callable[[Counters], float | None]:
    return mean(part, *wholes)


def total(*parts: str) -> Callable[[Counters], float | None]:
    return lambda c: round(sum(c.get(p, 0) for p in parts), 3)


def jain_index(values: Sequence[float]) -> float | None:
    """Jain's fairness index: (Σx)² / (n·Σx²), 1 when every agent took the same number, 1/n when one took all."""
    squares = sum(v * v for v in values)
    return round(sum(values) ** 2 / (len(values) * squares), 4) if squares else None


ABANDONMENT_NAMES = (("Abandono por cierre de 24 horas", "Abandonment by the 24-hour close"),
                     ("Abandono por baja", "Abandonment by opt-out"),
                     ("Abandono por cierre de supervisor", "Abandonment by a supervisor's close"))


def _metric(key: str, level: str, names: tuple[str, str], abbreviations: tuple[str, str], unit: str,
            formula_es: str, formula_code: str, value: Callable[[Counters], float | None]) -> Metric:
    dated = {c.key: c.dated_by for c in COUNTERS}
    return Metric(key, level, *names, *abbreviations, unit, dated[counters_in(formula_code)[0]], formula_es,
                  formula_code, value)


def counters_in(formula_code: str) -> list[str]:
    """The counters a formula reads, in order."""
    known = {c.key for c in COUNTERS}
    return [name for name in re.findall(r"\w+", formula_code) if name in known]


def _survey_metrics(level: str) -> list[tuple[Any, ...]]:
    """CSAT, the average score and the answers, per agent (who held the chat at the close) and per campaign; the
    campaign's keys say so, since a key names one metric."""
    prefix, whose = ("", "del asesor") if level == AGENT else ("campaign_", "de la campaña")
    return [(key, level, *rest) for key, *rest in [
        (f"{prefix}csat", ("Satisfacción del cliente", "Customer satisfaction"), ("CSAT", "CSAT"), RATIO,
         f"Respuestas a la encuesta de satisfacción con {SATISFIED_TEXT} ÷ respuestas, en los chats cerrados "
         f"{whose}; la fecha es la de la respuesta. Una respuesta nunca cuenta como chat nuevo.",
         "survey_satisfied / survey_answers", share("survey_satisfied", "survey_answers")),
        (f"{prefix}survey_score", ("Calificación promedio", "Average survey score"), ("", ""), COUNT,
         f"Promedio de las calificaciones (1 a 5) de la encuesta de satisfacción en los chats cerrados {whose}.",
         "survey_score_sum / survey_answers", mean("survey_score_sum", "survey_answers")),
        (f"{prefix}survey_answers", ("Respuestas a la encuesta", "Survey answers"), ("", ""), COUNT,
         f"Respuestas a la encuesta de satisfacción recibidas dentro de su plazo, en los chats cerrados {whose}.",
         "survey_answers", count("survey_answers")),
    ]]


METRICS = (
    _metric("chats_assigned", AGENT, ("Chats asignados", "Assigned chats"), ("", ""), COUNT,
            "Cada asignación o transferencia recibida por el asesor cuenta una vez; un chat asignado y nunca "
            "respondido cuenta aquí y no en atendidos.", "assignments", count("assignments")),
    _metric("chats_handled", AGENT, ("Chats atendidos", "Chats handled"), ("", ""), COUNT,
            "Asignaciones en las que el asesor asignado envió al menos un mensaje. Los mensajes del bot y del "
            "sistema nunca cuentan.", "handled", count("handled")),
    _metric("messages_sent", AGENT, ("Mensajes enviados", "Messages sent"), ("", ""), COUNT,
            "Mensajes del asesor (texto o plantilla) solicitados a Twilio, entregados o no. No incluye mensajes del "
            "bot, confirmaciones de cierre ni avisos del sistema.", "messages", count("messages")),
    _metric("first_response_time", AGENT, ("Tiempo de primera respuesta", "First response time"), ("TPR", "FRT"),
            SECONDS, "Por asignación: desde que el chat se asigna al asesor hasta el primer mensaje de ese asesor; "
            "una transferencia, o una devolución a la cola y nueva asignación, empieza otra medición para quien "
            "recibe. Promedio de las asignaciones respondidas.", "frt_sum / frt_count", mean("frt_sum", "frt_count")),
    _metric("reply_time", AGENT, ("Tiempo promedio de respuesta", "Average reply time"), ("TPRe", "ART"), SECONDS,
            "Cada espera del cliente durante la asignación (desde su primer mensaje sin respuesta, o desde la "
            "asignación si ya esperaba) hasta el siguiente mensaje del asesor; promedio de las esperas respondidas.",
            "reply_sum / reply_count", mean("reply_sum", "reply_count")),
    _metric("handle_time", AGENT, ("Tiempo medio operativo", "Average handle time"), ("TMO", "AHT"), SECONDS,
            "Por asignación terminada: desde la asignación hasta el cierre, la transferencia a otro asesor o la "
            "devolución a la cola; promedio.", "aht_sum / aht_count", mean("aht_sum", "aht_count")),
    _metric("closes", AGENT, ("Cierres", "Closes"), ("", ""), COUNT,
            "Chats que el asesor cerró con una tipificación.", "closes", count("closes")),
    _metric("effective_close_ratio", AGENT, ("Tasa de cierre efectivo", "Effective close ratio"), ("", ""), RATIO,
            "Cierres con una tipificación que la campaña marca como efectiva ÷ cierres del asesor.",
            "effective_closes / closes", share("effective_closes", "closes")),
    _metric("alerts_received", AGENT, ("Alertas recibidas", "Alerts received"), ("", ""), COUNT,
            "Alertas por falta de respuesta levantadas mientras el chat estaba asignado al asesor.", "alerts",
            count("alerts")),
    *(_metric(*survey) for level in (AGENT, CAMPAIGN) for survey in _survey_metrics(level)),
    _metric("chats_total", CAMPAIGN, ("Chats totales", "Total chats"), ("", ""), COUNT,
            "Chats iniciados en la campaña; los que aún no tienen campaña determinada cuentan como «sin campaña».",
            "chats", count("chats")),
    _metric("chats_attended", CAMPAIGN, ("Chats atendidos", "Chats handled"), ("", ""), COUNT,
            "Chats con al menos un mensaje de un asesor.", "attended", count("attended")),
    _metric("chats_unattended", CAMPAIGN, ("Chats no atendidos", "Chats unattended"), ("", ""), COUNT,
            "Chats cerrados sin ningún mensaje de un asesor (en el bot, en la cola o asignados sin respuesta).",
            "unattended", count("unattended")),
    _metric("average_speed_of_answer", CAMPAIGN, ("Velocidad promedio de asignación", "Average speed of answer"),
            ("VPA", "ASA"), SECONDS, "Por entrada a la cola que terminó en asignación: desde la entrada hasta la "
            "asignación; promedio.", "wait_assigned_sum / queue_assigned", mean("wait_assigned_sum", "queue_assigned")),
    _metric("average_queue_wait", CAMPAIGN, ("Espera promedio en cola", "Average queue wait"), ("", ""), SECONDS,
            "Por entrada a la cola terminada (asignada o abandonada): desde la entrada hasta su fin; promedio.",
            "wait_ended_sum / (queue_assigned + queue_abandoned)",
            mean("wait_ended_sum", "queue_assigned", "queue_abandoned")),
    _metric("longest_queue_wait", CAMPAIGN, ("Espera más larga en cola", "Longest queue wait"), ("", ""), SECONDS,
            "La mayor espera de una entrada a la cola terminada.", "max(wait_max)", count("wait_max")),
    _metric("abandonment_rate", CAMPAIGN, ("Tasa de abandono", "Abandonment rate"), ("", ""), RATIO,
            "Entradas a la cola que terminaron en un cierre antes de ninguna asignación (el cliente se fue, "
            "pidió la baja o se cerró por inactividad) ÷ entradas terminadas.",
            "queue_abandoned / (queue_assigned + queue_abandoned)",
            share("queue_abandoned", "queue_assigned", "queue_abandoned")),
    *(_metric(f"abandonment_{reason}", CAMPAIGN, names, ("", ""), RATIO,
              "Entradas a la cola que terminaron en un cierre antes de ninguna asignación por "
              f"«{CLOSE_REASON_NAMES[reason]}» ÷ entradas terminadas; las tres suman la tasa de abandono.",
              f"abandoned_{reason} / (queue_assigned + queue_abandoned)",
              share(f"abandoned_{reason}", "queue_assigned", "queue_abandoned"))
      for reason, names in zip(ABANDON_REASONS, ABANDONMENT_NAMES, strict=True)),
    _metric("service_level", CAMPAIGN, ("Nivel de servicio", "Service level"), ("NS", "SL"), RATIO,
            "Entradas a la cola asignadas dentro del umbral de la campaña (el vigente cuando el chat entró a la cola, "
            f"{SERVICE_LEVEL_SECONDS} segundos si no fija otro) ÷ entradas terminadas (asignadas o abandonadas).",
            "within_target / (queue_assigned + queue_abandoned)",
            share("within_target", "queue_assigned", "queue_abandoned")),
    _metric("delivery_failure_rate", CAMPAIGN, ("Tasa de fallas de entrega", "Delivery failure rate"), ("", ""),
            RATIO, "Mensajes salientes que Twilio informó como fallidos, no entregados o cancelados ÷ mensajes "
            "solicitados.", "outbound_failed / outbound", share("outbound_failed", "outbound")),
    _metric("chats_closed", CAMPAIGN, ("Chats cerrados", "Closed chats"), ("", ""), COUNT,
            "Chats cerrados, por cualquier motivo (asesor, supervisor, 24 horas, baja, bot, inactividad en el bot).",
            " + ".join(f"closed_{reason}" for reason in CLOSE_REASONS), total(*(f"closed_{r}" for r in CLOSE_REASONS))),
    _metric("opt_outs", CAMPAIGN, ("Bajas", "Opt-outs"), ("", ""), COUNT,
            "Chats cerrados porque el cliente pidió no recibir más mensajes (STOP, BAJA…).", "closed_opt_out",
            count("closed_opt_out")),
    _metric("containment_rate", BOT, ("Tasa de contención", "Containment rate"), ("", ""), RATIO,
            f"Chats que el flujo terminó (final: cerrar) sin asesor y cuyo cliente no volvió a escribir en "
            f"{CONTAINMENT_WINDOW_HOURS} horas ÷ chats del bot.", "contained / bot_chats",
            share("contained", "bot_chats")),
    _metric("transfer_rate", BOT, ("Tasa de transferencia", "Transfer rate"), ("", ""), RATIO,
            "Chats que el bot pasó a la cola de asesores ÷ chats del bot.", "transferred / bot_chats",
            share("transferred", "bot_chats")),
    _metric("drop_rate", BOT, ("Tasa de deserción", "Drop rate"), ("", ""), RATIO,
            "Chats en los que el cliente dejó de responder al bot (inactividad registrada) y nunca pasó a la cola "
            "÷ chats del bot.", "dropped / bot_chats", share("dropped", "bot_chats")),
    _metric("identification_rate", BOT, ("Tasa de identificación", "Identification success rate"), ("", ""), RATIO,
            "Chats en los que el bot identificó al cliente por su documento ÷ chats del bot.",
            "identified / bot_chats", share("identified", "bot_chats")),
    _metric("bot_chats", BOT, ("Chats del bot", "Bot chats"), ("", ""), COUNT,
            "Chats iniciados en el flujo.", "bot_chats", count("bot_chats")),
)
BY_KEY = {m.key: m for m in METRICS}


@dataclass(frozen=True)
class Derived:
    """A figure made of several rows (a distribution) or kept by another module, defined here by reference."""

    key: str
    level: str
    name_es: str
    name_en: str
    dated_by: str
    formula_es: str
    source: str


DERIVED = (
    Derived("load_fairness", CAMPAIGN, "Equidad de la carga (índice de Jain)", "Load fairness (Jain's index)",
            ASSIGNMENT, "(Σ asignaciones por asesor)² ÷ (asesores × Σ asignaciones²), sobre los asesores con al menos "
            "una asignación en el periodo: 1 es un reparto parejo, 1/n que uno recibió todo.",
            "domain/metrics/registry.py jain_index sobre chats_assigned"),
    Derived("load_share", AGENT, "Participación en la carga", "Share of the load", ASSIGNMENT,
            "Asignaciones del asesor ÷ asignaciones de la campaña en el periodo.",
            "chats_assigned del asesor ÷ suma de chats_assigned de la campaña"),
    Derived("dispositions", AGENT, "Tipificaciones", "Dispositions", EVENT,
            "Cierres del asesor por tipificación (código y nombre de la campaña).", "metric_chats.disposition"),
    Derived("closes_by_reason", CAMPAIGN, "Cierres por motivo", "Closes by reason", EVENT,
            "Chats cerrados de la campaña por motivo de cierre; su suma es chats_closed.",
            "los contadores closed_<motivo> de metric_campaign_hours y metric_campaign_days"),
    Derived("volume_by_hour", CAMPAIGN, "Volumen por hora y día de la semana", "Volume by hour and weekday",
            CHAT_START, "Chats iniciados por hora local y día de la semana.",
            "chats por hora en metric_campaign_hours"),
    Derived("bot_funnel", BOT, "Embudo por estado del flujo", "Funnel per flow state", CHAT_START,
            "Chats que pasaron por cada estado del flujo (cada chat cuenta una vez por estado).", "metric_bot_states"),
    Derived("occupancy", AGENT, "Ocupación", "Occupancy", SPAN,
            "Tiempo disponible con al menos un chat abierto de la campaña ÷ tiempo disponible (dentro de las sesiones "
            "y mientras es miembro de la campaña).",
            "domain/metrics/occupancy.py sobre la línea de tiempo de asistencia"),
    Derived("max_simultaneous_chats", AGENT, "Máximo de chats simultáneos", "Most simultaneous chats", SPAN,
            "El mayor número de chats abiertos a la vez mientras estaba conectado.",
            "domain/attendance.py DayReport.max_simultaneous_chats"),
    Derived("average_simultaneous_chats", AGENT, "Promedio de chats simultáneos", "Average simultaneous chats", SPAN,
            "Chats abiertos ponderados por el tiempo conectado.",
            "domain/attendance.py DayReport.average_simultaneous_chats"),
    Derived("attendance", AGENT, "Asistencia (conectado, disponible, pausas, otro)", "Attendance", SPAN,
            "Conectado = disponible + pausas + otro, por día local de la campaña.",
            "domain/attendance.py day_reports (reporte de asistencia)"),
)


def metrics_of(level: str) -> tuple[Metric, ...]:
    return tuple(m for m in METRICS if m.level == level)


def values(level: str, counters: Counters) -> dict[str, float | None]:
    """Every metric of the level on one row's counters."""
    return {m.key: m.value(counters) for m in metrics_of(level)}


def combine(rows: Sequence[Counters], level: str) -> dict[str, float]:
    """Counters of several buckets as one: sums, and the maximum of the maxima."""
    combined: dict[str, float] = dict.fromkeys(COUNTER_KEYS[level], 0)
    for row in rows:
        for key in COUNTER_KEYS[level]:
            value = row.get(key) or 0
            combined[key] = max(combined[key], value) if key in MAXIMA else combined[key] + value
    return combined
