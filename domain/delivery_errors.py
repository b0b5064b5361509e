"""What a failed delivery means to the people who read it: a category, a meaning and a recommended action.

Twilio's codes are those of the reference list in adapters/twilio_error_codes.csv (compiled from
Twilio's error pages, https://www.twilio.com/docs/api/errors/<code>), plus the few its API answers
that the list leaves out, and Despacho's own refusals (`opted_out`, `outside_window`, `customer_cap`). Categories
keep the list's names, with one difference on purpose: 63014 (the customer blocked the sender on
WhatsApp) is `blocked`, not `opt-out`, because a block counts against the sender's reputation and a
STOP does not. The texts are the Spanish msgids of the page catalogue (English in
api/locale/en/LC_MESSAGES/messages.po); they contain no `%`, which templates would read as a
placeholder.
"""

from __future__ import annotations

from dataclasses import dataclass

CATEGORY_LABELS = {
    "account": "Cuenta de Twilio",
    "spam": "Spam",
    "carrier-filter": "Filtro del operador",
    "policy": "Política del canal",
    "blocked": "Bloqueo del cliente",
    "opt-out": "Baja del cliente",
    "window": "Ventana de 24 horas de WhatsApp",
    "invalid-recipient": "Número de destino",
    "invalid-request": "Mensaje incompleto",
    "rate-limit": "Límite de envíos",
    "failed-delivery": "Falla del operador",
    "connection": "Conexión con Twilio",
    "not-found": "Mensaje no encontrado",
    "unknown": "Sin catalogar",
}
# Signals of a sender at risk of being filtered or blocked (kept apart so a sender-risk rule can count them).
SPAM_RISK_CATEGORIES = frozenset({"spam", "carrier-filter", "policy", "blocked"})
ACCOUNT_CATEGORY = "account"


@dataclass(frozen=True)
class ErrorExplanation:
    code: str
    category: str
    meaning: str
    action: str

    @property
    def category_label(self) -> str:
        return CATEGORY_LABELS[self.category]

    @property
    def sentence(self) -> str:
        """Meaning and action in one line, for texts recorded on events (alerts, failure reasons)."""
        return f"{self.meaning} {self.action}"

    @property
    def is_spam_risk(self) -> bool:
        return self.category in SPAM_RISK_CATEGORIES

    @property
    def is_account_problem(self) -> bool:
        return self.category == ACCOUNT_CATEGORY


TELL_ADMIN = "Avise al administrador"
NOTHING_TO_DO = "No hace falta hacer nada: Despacho reintenta el envío."

_CATALOGUE: dict[str, tuple[str, str, str]] = {
    "10001": ("account", "La cuenta de Twilio no está activa.",
              f"{TELL_ADMIN} para que la reactive en Twilio."),
    "20003": ("account", "Twilio rechazó las credenciales de la cuenta.",
              f"{TELL_ADMIN} para que revise las credenciales de Twilio configuradas en Despacho."),
    "21408": ("account", "La cuenta de Twilio no tiene permiso para enviar mensajes a ese país.",
              f"{TELL_ADMIN} para que habilite el país en los permisos geográficos de Twilio."),
    "30002": ("account", "La cuenta de Twilio está suspendida.",
              f"{TELL_ADMIN}: no saldrá ningún mensaje hasta que Twilio la reactive."),
    "63051": ("account", "La cuenta de WhatsApp Business o el remitente está bloqueado.",
              f"{TELL_ADMIN} para que revise el estado del remitente con Twilio y Meta."),
    "20429": ("rate-limit", "Twilio recibió demasiadas solicitudes a la vez.", NOTHING_TO_DO),
    "21611": ("rate-limit", "La cola de envío del número remitente está llena.", NOTHING_TO_DO),
    "30001": ("rate-limit", "El mensaje esperó demasiado en la cola de Twilio.",
              "Reintente el mensaje; si se repite, hay demasiados envíos a la vez desde este número."),
    "63017": ("rate-limit", "Se superó el límite de envíos por segundo de la cuenta de Twilio.",
              "Reintente el mensaje en unos minutos; si se repite, avise al administrador."),
    "63018": ("rate-limit", "Se superó el límite de envíos de WhatsApp de este remitente.",
              "Reintente el mensaje más tarde y reduzca los envíos masivos desde este número."),
    "63038": ("rate-limit", "Se alcanzó el límite diario de mensajes de la cuenta.",
              f"Reintente mañana o {TELL_ADMIN.lower()} para pedir a Twilio un límite mayor."),
    "21211": ("invalid-recipient", "El número de destino no es válido.",
              "Corrija el número del cliente en la cartera."),
    "21614": ("invalid-recipient", "El número de destino no es un celular.",
              "Use otro número del cliente o contáctelo por otro canal."),
    "30003": ("invalid-recipient", "El teléfono del cliente no está disponible (apagado o sin señal).",
              "Reintente más tarde; si falla muchas veces seguidas, el operador puede estar filtrando los mensajes."),
    "30005": ("invalid-recipient", "El número de destino no existe o ya no está activo.",
              "Actualice el número del cliente en la cartera."),
    "30006": ("invalid-recipient", "El número es fijo o su operador no puede recibir el mensaje.",
              "Use otro número del cliente o contáctelo por otro canal."),
    "63003": ("invalid-recipient", "WhatsApp no encontró la dirección del cliente.",
              "Confirme que el cliente usa WhatsApp en ese número."),
    "63024": ("invalid-recipient", "El destinatario del mensaje no es válido.", "Revise el número del cliente."),
    "21610": ("opt-out", "El cliente pidió no recibir más mensajes de este número (respondió STOP u otra palabra "
                         "de baja) y Twilio bloquea los envíos.",
              "No le escriba: volverá a recibir mensajes solo si responde START."),
    "63014": ("blocked", "El cliente bloqueó los mensajes de este remitente en WhatsApp.",
              "No le escriba más por este número: insistir baja la calidad del remitente ante WhatsApp."),
    "30004": ("carrier-filter", "El mensaje fue bloqueado por el cliente, una lista de no contactar o el operador.",
              "No lo reintente; si pasa con varios clientes, revise el texto y la frecuencia de los envíos de "
              "este número."),
    "30007": ("spam", "Twilio o el operador filtraron el mensaje como spam.",
              "No lo reintente: revise el texto (enlaces, mayúsculas, montos) y la frecuencia de los envíos; "
              "si se repite, el número puede quedar bloqueado."),
    "63049": ("spam", "Meta decidió no entregar esta plantilla de marketing.",
              "No la reenvíe: use una plantilla de servicio o espere a que el cliente escriba."),
    "30034": ("policy", "El número remitente no está registrado para A2P 10DLC en Estados Unidos.",
              f"{TELL_ADMIN} para que registre el número antes de enviar a Estados Unidos."),
    "63013": ("policy", "El mensaje infringe las políticas de WhatsApp.",
              "Revise el contenido antes de volver a enviar; si se repite, WhatsApp puede bloquear el remitente."),
    "63032": ("policy", "WhatsApp no permite enviar este mensaje al número del cliente.",
              "No lo reintente; contacte al cliente por otro canal."),
    "63016": ("window", "Pasaron más de 24 horas desde el último mensaje del cliente: WhatsApp solo admite una "
                        "plantilla aprobada.",
              "Envíe una plantilla aprobada de la campaña o espere a que el cliente escriba."),
    "outside_window": ("window", "Pasaron más de 24 horas desde el último mensaje del cliente y no había una "
                                 "plantilla aprobada para este mensaje.",
                       "Configure la plantilla de cierre de la campaña o espere a que el cliente escriba."),
    "opted_out": ("opt-out", "El cliente pidió no recibir más mensajes; Despacho no lo envió.",
                  "No le escriba hasta que vuelva a suscribirse."),
    "customer_cap": ("rate-limit", "El cliente ya recibió el máximo de mensajes iniciados por la empresa que se le "
                                   "pueden enviar en 24 horas o en 7 días; Despacho no lo envió.",
                     "Espere a que el cliente escriba o a que pase el plazo antes de volver a enviarle una plantilla."),
    "63030": ("invalid-request", "El mensaje incluye un parámetro que este canal no admite.",
              f"{TELL_ADMIN} para que revise la plantilla o el tipo de mensaje."),
    "21602": ("invalid-request", "El mensaje no tiene texto.", "Escriba el mensaje o elija una plantilla."),
    "21603": ("invalid-request", "Falta el remitente (número, remitente de WhatsApp o servicio de mensajería).",
              f"{TELL_ADMIN} para que asigne un remitente a la campaña."),
    "21604": ("invalid-request", "Falta el número de destino.", "Complete el número del cliente en la cartera."),
    "20404": ("not-found", "Twilio no encontró el mensaje.",
              "No hace falta hacer nada; si se repite, avise al administrador."),
    "30008": ("failed-delivery", "El operador del cliente reportó un error desconocido.",
              "Reintente el mensaje más tarde."),
    "connection": ("connection", "No se pudo hablar con Twilio (red, tiempo de espera o error temporal de Twilio).",
                   "Reintente el mensaje; si se repite, avise al administrador."),
    "unknown": ("unknown", "Twilio informó un error que Despacho no tiene descrito.",
                "Busque el código en la documentación de errores de Twilio; si se repite, avise al administrador."),
    "": ("unknown", "Twilio no indicó la causa del fallo.",
         "Reintente el mensaje; si se repite, avise al administrador."),
}
# Codes the transport makes up when Twilio gave none (the HTTP status, or what went wrong on the way).
_SAME_AS = {"http_401": "20003", "http_429": "20429", "rate-limit": "20429", "account": "20003",
            "network": "connection", "timeout": "connection", "server": "connection"}


def explain(code: str) -> ErrorExplanation:
    """The explanation of a failure's code (an empty code: Twilio gave no cause)."""
    code = code.strip()
    key = _SAME_AS.get(code, code)
    if key.startswith("http_5"):
        key = "connection"
    category, meaning, action = _CATALOGUE.get(key, _CATALOGUE["unknown"])
    return ErrorExplanation(code, category, meaning, action)


def catalogue_texts() -> frozenset[str]:
    """Every text an explanation can show (each needs its English translation)."""
    texts = {text for _, meaning, action in _CATALOGUE.values() for text in (meaning, action)}
    return frozenset(texts | set(CATEGORY_LABELS.values()))
