"""What people read for the codes the system records: one table per kind of code, in Spanish.

Every label is a msgid of the pages' catalogue. Codes stay in events, read tables and the API;
pages show these labels in the user's language (the `label` filter of api/templating.py), and
the closing transcript, which is Spanish, prints them as written. A code missing from its table
is shown as recorded rather than failing a page over old data.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

CHAT_STATUSES = {
    "bot": "En bot",
    "waiting_queue": "En cola",
    "assigned": "Asignado",
    "closed": "Cerrado",
}

MESSAGE_STATUSES = {
    "requested": "Pendiente de envío",
    "accepted": "Aceptado",
    "scheduled": "Programado",
    "queued": "Por enviar",
    "sending": "Enviando",
    "sent": "Enviado",
    "delivered": "Entregado",
    "read": "Leído",
    "failed": "Fallido",
    "undelivered": "No entregado",
    "canceled": "Cancelado",
    "answered_by_twilio": "Respondido por Twilio",
}

MESSAGE_KINDS = {
    "bot": "Bot",
    "agent": "Asesor",
    "closing": "Confirmación de cierre",
    "template": "Plantilla",
    "opt_out_ack": "Confirmación de baja",
    "broadcast": "Envío proactivo",
    "survey": "Encuesta de satisfacción",
}

MESSAGE_HISTORY = {
    "requested": "Solicitado",
    "attempt_started": "Intento de envío",
    "submitted": "Recibido por Twilio",
    "status_reported": "Twilio informó",
    "failed": "Falló",
}

CLOSE_REASONS = {
    "agent": "Cerrado por el asesor",
    "supervisor": "Cerrado por un supervisor",
    "auto_24h": "Cierre automático: 24 horas sin mensajes del cliente",
    "opt_out": "El cliente pidió no recibir más mensajes",
    "bot": "Finalizado en el bot",
    "bot_inactivity": "Cierre automático por inactividad en el bot",
}

CHAT_ALERTS = {
    "unanswered": "Cliente sin respuesta del asesor",
    "queue_wait": "Espera prolongada en cola",
    "close_incomplete": "Cierre sin confirmación o PDF",
    "confirmation_failed": "Confirmación de cierre no enviada",
    "no_agent": "Ningún asesor disponible puede atenderlo",
    "agent_offline": "El asesor se desconectó con el chat abierto",
}

REQUEUE_REASONS = {
    "agent_offline": "El asesor se desconectó y no volvió a tiempo: el chat volvió a la cola",
}

SURVEY_STATUSES = {
    "requested": "Enviada, sin respuesta",
    "answered": "Respondida",
    "outside_window": "No enviada: pasaron 24 horas desde el último mensaje del cliente",
    "opted_out": "No enviada: el cliente pidió no recibir más mensajes",
}

SESSION_CLOSE_REASONS = {
    "logout": "Cerró sesión",
    "expired": "Expiró por inactividad",
    "deactivated": "Cuenta desactivada",
    "terminated": "Terminada por un administrador",
    "replaced": "Reemplazada por un inicio de sesión en otro dispositivo",
}

ROUTING_POLICIES = {
    "least_load": "Menor carga",
    "round_robin": "Turno rotativo",
    "manual": "Manual",
}

BOT_STEPS = {
    "entered": "Entró al paso",
    "variable_set": "Guardó un dato",
    "answered": "El cliente respondió",
    "invalid_answer": "Respuesta no válida",
    "attempts_exhausted": "Se agotaron los intentos",
    "shortcut": "El cliente usó un atajo",
    "identified": "Cliente identificado",
    "several_campaigns": "El documento está en varias campañas",
    "not_found": "Documento no encontrado",
    "handed_off": "Pasó a la cola de asesores",
    "closed": "El bot cerró la conversación",
    "restarted": "El bot empezó de nuevo (el flujo cambió)",
    "safety_handoff": "Pasó a un asesor porque el flujo no pudo seguir",
}

BOT_ROUTES = {
    "identified": "cliente identificado",
    "number_written_to": "por el número al que escribió",
    "unidentified_queue": "a la cola de clientes sin identificar",
    "only_match": "su documento está en una sola campaña",
    "customer_choice": "el cliente eligió la campaña",
    "outside_hours": "fuera del horario de atención",
}

ASSIGNMENT_EXPLANATIONS = {
    "least_load": "Asignado por menor carga (chats abiertos ÷ capacidad; empate: el que lleva más tiempo sin "
                  "recibir chat) entre %(count)s candidato(s)",
    "round_robin": "Asignado por turno rotativo entre los asesores disponibles entre %(count)s candidato(s)",
    "": "Sin asesores disponibles de la campaña; el chat espera en cola",
}
"""Why the router chose, by policy ("" when nobody could take the chat); `count` is the number of candidates."""

AGENT_STATUSES = {
    "available": "Disponible",
    "break": "En pausa",
    "offline": "Desconectado",
}

CANDIDACY = {
    "can_take": "Podía recibir chats",
    "inactive": "No recibía chats: usuario desactivado",
    "signed_out": "No recibía chats: sin sesión abierta",
    "unavailable": "No recibía chats: no estaba disponible",
    "full": "No recibía chats: estaba en su capacidad",
}
"""Whether an agent was a candidate for a campaign's next chat at an instant, and why not (the time machine)."""

BREAK_REASONS = {
    "almuerzo": "Almuerzo",
    "baño": "Baño",
    "capacitación": "Capacitación",
    "pausa activa": "Pausa activa",
    "reunión": "Reunión",
}
"""The default break reasons (`domain.campaigns.DEFAULT_BREAK_REASONS`); a campaign's own reasons are shown
as the admin wrote them."""

SYSTEM_ACTORS = {
    "system:bot": "Bot",
    "system:router": "Sistema (asignación automática)",
    "system:timers": "Sistema (reglas de 30 minutos y 24 horas)",
    "system:closing": "Sistema (cierre)",
    "system:outbound": "Sistema (envío de mensajes)",
    "system:twilio": "Twilio",
    "system:opt_out": "Sistema (baja del cliente)",
    "system:delivery_monitor": "Sistema (vigilancia de entregas)",
    "system:risk": "Sistema (riesgo de bloqueo y spam)",
    "system:cli": "Sistema (línea de comandos)",
    "system:demo": "Sistema (datos de demostración)",
    "system:sessions": "Sistema (cierre de sesiones inactivas)",
    "system:presence": "Sistema (chats de asesores desconectados)",
    "system:broadcasts": "Sistema (envíos proactivos)",
    "anonymous": "Alguien sin sesión iniciada",  # not the system: who tried to sign in (FailedLogin.Recorded)
}
RISK_LEVELS = {
    "ok": "Normal",
    "watch": "Vigilancia",
    "high": "Alto",
    "critical": "Crítico",
}

RISK_SIGNALS = {
    "per_second": "Mensajes por segundo (promedio del último minuto)",
    "per_minute": "Mensajes en el último minuto",
    "per_hour": "Mensajes en la última hora",
    "business_customers_24h": "Clientes contactados por iniciativa de la empresa (24 h)",
    "rate_usage": "Uso del ritmo de envío de Twilio",
    "tier_usage": "Uso del límite diario de Meta del portafolio",
    "business_per_customer_24h": "Máximo de mensajes por iniciativa de la empresa a un cliente (24 h)",
    "business_per_customer_7d": "Máximo de mensajes por iniciativa de la empresa a un cliente (7 días)",
    "reply_rate": "Tasa de respuesta de los clientes contactados",
    "opt_out_rate": "Tasa de bajas",
    "blocked_rate": "Tasa de bloqueos del cliente (63014)",
    "marketing_refused_rate": "Tasa de plantillas de marketing no entregadas por Meta (63049)",
    "spam_filtered_rate": "Tasa de mensajes filtrados como spam (30007)",
    "carrier_blocked_rate": "Tasa de mensajes bloqueados por el operador (30004)",
    "failure_rate": "Tasa de mensajes fallidos",
    "template_failure_rate": "Tasa de plantillas fallidas",
}

BROADCAST_STATES = {
    "scheduled": "Programado",
    "running": "En curso",
    "paused": "Pausado",
    "cancelled": "Cancelado",
    "completed": "Terminado",
    "held_by_risk": "Detenido por riesgo del remitente",
}

BROADCAST_EXCLUSIONS = {
    "opted_out": "Pidieron la baja",
    "recently_contacted": "Contactados hace poco por iniciativa de la empresa",
    "no_valid_phone": "Sin un teléfono válido",
}

SYSTEM = "Sistema"
UNKNOWN_USER = "Usuario desconocido"
CUSTOMER = "Cliente %(address)s"

EVENTS = {
    "Agent.Registered": "Usuario creado",
    "Agent.ProfileEdited": "Datos del usuario cambiados",
    "Agent.PasswordSet": "Contraseña asignada",
    "Agent.CampaignJoined": "Asesor agregado a una campaña",
    "Agent.CampaignLeft": "Asesor retirado de una campaña",
    "Agent.Deactivated": "Usuario desactivado",
    "Agent.Reactivated": "Usuario reactivado",
    "Agent.LanguageChosen": "Idioma elegido",
    "Agent.StatusChanged": "Estado del asesor cambiado",
    "Agent.SignedIn": "Asesor conectado en un dispositivo",
    "Agent.SignedOut": "Asesor desconectado de un dispositivo",
    "Agent.ChatTaken": "Asesor recibió un chat",
    "Agent.ChatReleased": "Asesor liberó un chat",
    "Agent.ApiTokenIssued": "Token de API emitido",
    "Agent.ApiTokenRevoked": "Token de API revocado",
    "AgentSession.Opened": "Sesión iniciada",
    "AuditLookup.Looked": "Un auditor consultó el estado de un instante pasado",
    "AgentSession.Active": "Sesión en uso",
    "AgentSession.Closed": "Sesión cerrada",
    "Campaign.Created": "Campaña creada",
    "Campaign.Edited": "Campaña editada",
    "Campaign.SenderLinked": "Remitente agregado a la campaña",
    "Campaign.SenderUnlinked": "Remitente retirado de la campaña",
    "Campaign.Archived": "Campaña archivada",
    "CannedReply.Created": "Respuesta rápida creada",
    "CannedReply.Edited": "Respuesta rápida editada",
    "CannedReply.Deleted": "Respuesta rápida eliminada",
    "Chat.Opened": "Chat abierto",
    "Chat.CustomerWrote": "El cliente escribió",
    "Chat.BotAdvanced": "El bot avanzó",
    "Chat.BotInactivityRecorded": "El cliente dejó de responder al bot",
    "Chat.CustomerIdentified": "Cliente identificado",
    "Chat.Queued": "Chat en cola",
    "Chat.AgentAssigned": "Chat asignado",
    "Chat.Reassigned": "Chat reasignado",
    "Chat.Requeued": "Chat devuelto a la cola",
    "Chat.TransferredToCampaign": "Chat transferido a otra campaña",
    "Chat.AgentReplied": "El asesor respondió",
    "Chat.NoteAdded": "Nota interna agregada",
    "Chat.BotReplied": "El bot respondió",
    "Chat.BotReplyWithheld": "El bot leyó el mensaje sin responder (el cliente está dado de baja)",
    "Chat.AlertRaised": "Alerta emitida",
    "Chat.AlertAcknowledged": "Alerta vista",
    "Chat.QueueAbandoned": "Chat cerrado en la cola antes de que un asesor lo tomara",
    "Chat.Closed": "Chat cerrado",
    "Chat.ClosingConfirmationRequested": "Confirmación de cierre solicitada",
    "Chat.ConfirmationFailed": "La confirmación de cierre no llegó al cliente",
    "Chat.ConfirmationResent": "Confirmación de cierre reenviada",
    "Chat.ConfirmationAccepted": "Twilio aceptó la confirmación de cierre reenviada",
    "Chat.ConfirmationAlertResolved": "Alerta de confirmación de cierre resuelta con una nota",
    "Chat.TranscriptStored": "PDF de cierre guardado",
    "Chat.Seen": "El asesor leyó los mensajes del cliente",
    "Chat.SurveyRequested": "Encuesta de satisfacción enviada",
    "Chat.SurveyWithheld": "Encuesta de satisfacción no enviada",
    "Chat.SurveyAnswered": "El cliente respondió la encuesta de satisfacción",
    "Consent.Recorded": "Consentimiento registrado",
    "Consent.OptedOut": "El cliente pidió la baja",
    "Consent.OptedIn": "El cliente volvió a aceptar mensajes",
    "CustomerThread.Started": "Conversación con el cliente iniciada",
    "CustomerThread.ChatAttached": "Chat ligado a la conversación",
    "CustomerThread.ChatDetached": "Chat desligado de la conversación",
    "DeliveryAlert.Raised": "Alerta de entrega emitida",
    "DeliveryAlert.Acknowledged": "Alerta de entrega vista",
    "FailedLogin.Recorded": "Inicio de sesión fallido",
    "InboundMessage.Received": "Mensaje recibido de Twilio",
    "InboundMessage.Attached": "Mensaje puesto en su chat",
    "InboundMessage.MediaKept": "Adjunto del cliente guardado",
    "InboundMessage.MediaLost": "Adjunto del cliente no disponible",
    "MessageRetry.Requested": "Reintento de mensaje solicitado",
    "OutboundMessage.Requested": "Mensaje solicitado",
    "OutboundMessage.FileAttached": "Archivo adjuntado al mensaje",
    "OutboundMessage.AttemptStarted": "Intento de envío",
    "OutboundMessage.Submitted": "Mensaje recibido por Twilio",
    "OutboundMessage.StatusReported": "Twilio informó un estado",
    "OutboundMessage.Failed": "Mensaje fallido",
    "OutboundMessage.AnsweredByTwilio": "Mensaje respondido por Twilio en lugar de Despacho",
    "SenderRisk.Started": "Vigilancia de riesgo del remitente iniciada",
    "SenderRisk.LevelChanged": "Nivel de riesgo del remitente cambiado",
    "SenderRisk.ProactiveSendsResumed": "Un administrador reanudó los envíos proactivos del remitente",
    "Broadcast.Scheduled": "Envío proactivo programado",
    "Broadcast.Started": "Envío proactivo iniciado con sus destinatarios",
    "Broadcast.WaveSent": "Tanda de mensajes del envío proactivo solicitada",
    "Broadcast.Completed": "Envío proactivo terminado",
    "Broadcast.Paused": "Envío proactivo pausado",
    "Broadcast.Resumed": "Envío proactivo reanudado",
    "Broadcast.Cancelled": "Envío proactivo cancelado",
    "Broadcast.HeldByRisk": "Envío proactivo detenido por el riesgo del remitente",
    "Broadcast.ContinuedAfterRisk": "Envío proactivo reanudado tras la decisión de un administrador",
    "PortfolioImport.Started": "Importación de cartera iniciada",
    "PortfolioImport.RowsAccepted": "Clientes de la cartera registrados",
    "PortfolioImport.Completed": "Importación de cartera terminada",
    "PortfolioImport.Discarded": "Importación de cartera descartada",
    "PortfolioChunk.Staged": "Bloque de clientes de la cartera preparado",
    "PortfolioJob.Queued": "Carga de cartera en espera",
    "PortfolioJob.Started": "Carga de cartera en proceso",
    "PortfolioJob.Finished": "Carga de cartera terminada",
    "PortfolioJob.Failed": "Carga de cartera fallida",
    "UnmatchedStatus.Started": "Estado de un mensaje desconocido recibido",
    "UnmatchedStatus.Reported": "Estado de un mensaje desconocido recibido",
}
"""Event types (`Aggregate.Event`, as the event log names them) for the auditors' event pages."""

LABELS: Mapping[str, Mapping[str, str]] = {
    "chat_status": CHAT_STATUSES,
    "message_status": MESSAGE_STATUSES,
    "message_kind": MESSAGE_KINDS,
    "message_history": MESSAGE_HISTORY,
    "close_reason": CLOSE_REASONS,
    "session_close_reason": SESSION_CLOSE_REASONS,
    "agent_status": AGENT_STATUSES,
    "break_reason": BREAK_REASONS,
    "candidacy": CANDIDACY,
    "chat_alert": CHAT_ALERTS,
    "requeue_reason": REQUEUE_REASONS,
    "survey_status": SURVEY_STATUSES,
    "routing_policy": ROUTING_POLICIES,
    "bot_step": BOT_STEPS,
    "bot_route": BOT_ROUTES,
    "risk_level": RISK_LEVELS,
    "risk_signal": RISK_SIGNALS,
    "broadcast_state": BROADCAST_STATES,
    "broadcast_exclusion": BROADCAST_EXCLUSIONS,
    "event": EVENTS,
}


def label(kind: str, code: str) -> str:
    """The Spanish label of a code of this kind (a msgid), or the code itself when it has none."""
    return LABELS[kind].get(code, code)


def actor_name(actor: str, people: Mapping[str, str], translate: Callable[[str], str] = str) -> str:
    """Who did something, for people: a user by name, a customer by number, the system by the part that acted.

    `actor` is what events record (`user:<id>`, `customer:<address>`, `system:bot`…); `people` maps user ids to
    names; `translate` turns a Spanish msgid into the reader's language.
    """
    kind, _, who = actor.partition(":")
    if kind == "user":
        return people.get(who) or translate(UNKNOWN_USER)
    if kind == "customer":
        return translate(CUSTOMER) % {"address": who.removeprefix("whatsapp:")}
    return translate(SYSTEM_ACTORS.get(actor, SYSTEM))


def bot_step_action(kind: str, detail: str) -> str:
    """A bot step as the transcript prints it: `Cliente identificado (por el número al que escribió)`."""
    shown = label("bot_step", kind)
    if not detail or kind == "entered":
        return shown
    if kind in ("identified", "handed_off"):
        detail = ", ".join(BOT_ROUTES.get(part, part) for part in detail.split())
    return f"{shown} ({detail})"
