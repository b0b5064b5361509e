"""A flow test file (Spanish keys) to scripted scenarios.

    flujo: default
    contexto:                      # the fake world, shared by every scenario of the file
      campanas:
        banco: {nombre: Banco Andino, horario: abierto}
        telco: {nombre: Telco Sur, horario: cerrado, apertura: "mañana a las 8:00 a. m."}
      numero_de: banco             # campaign that owns the number written to (omit: none)
      documentos:
        CC 1020304050: [banco]
      cola_sin_identificar: {horario: abierto}
    escenarios:
      - nombre: Cliente con cédula en una campaña
        contexto: {numero_de: telco}     # optional: replaces those keys for this scenario
        pasos:
          - cliente: Hola
            bot: [Banco Andino, tipo de documento]
            estado: tipo_documento
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from adapters.flow_files.reading import DocumentReader, FieldError
from adapters.flow_files.yaml_text import FlowFileError
from domain.documents import CustomerIdentity, InvalidDocumentError
from domain.flows import ExpectedStep, Scenario, ScriptedCampaign, ScriptedQueue, ScriptedWorld

FILE_KEYS = ("flujo", "contexto", "escenarios")
CONTEXT_KEYS = ("campanas", "numero_de", "documentos", "cola_sin_identificar")
SCENARIO_KEYS = ("nombre", "contexto", "pasos")
STEP_KEYS = ("cliente", "bot", "bot_exacto", "estado", "transferido_a", "fuera_de_horario", "cerrado")
QUEUE_KEYS = ("nombre", "horario", "apertura")
NO_CAMPAIGN = ("none", "ninguna", "ninguno")


@dataclass(frozen=True)
class ScenarioFile:
    flow_reference: str
    """A flow name (looked up among the flows) or a path to a flow file, relative to the test file."""
    scenarios: tuple[Scenario, ...]


def scenarios_from_document(data: Any, source: str = "") -> ScenarioFile:
    reader = DocumentReader(source)
    document = reader.mapping(data, "el archivo de pruebas", FILE_KEYS, line=None)
    flow_reference = reader.text(document.get("flujo"), "flujo", required=True)
    no_context: Mapping[str, Any] = {}
    shared = reader.attempt("contexto", None, partial(_mapping, document.get("contexto") or {}, "contexto"),
                            no_context)
    scenarios = []
    for number, item in enumerate(_items(document.get("escenarios"), reader), start=1):
        scenario = reader.attempt(f"escenario {number}", None, partial(_scenario, number, item, shared), None)
        if scenario is not None:
            scenarios.append(scenario)
    if reader.problems:
        raise FlowFileError(reader.problems)
    return ScenarioFile(flow_reference, tuple(scenarios))


def _items(data: Any, reader: DocumentReader) -> list[Any]:
    if not isinstance(data, list) or not data:
        reader.complain("escenarios debe ser una lista con al menos un escenario.")
        return []
    return data


def _scenario(number: int, data: Any, shared: Mapping[str, Any]) -> Scenario:
    fields = _mapping(data, f"el escenario {number}", SCENARIO_KEYS)
    name = str(fields.get("nombre") or f"escenario {number}")
    try:
        world = _world({**shared, **_mapping(fields.get("contexto") or {}, "contexto")})
        steps = fields.get("pasos")
        if not isinstance(steps, list) or not steps:
            raise FieldError("pasos debe ser una lista con al menos un paso.")
        return Scenario(name, world, tuple(_step(n, step) for n, step in enumerate(steps, start=1)))
    except FieldError as exc:
        raise FieldError(f"'{name}': {exc}") from exc


def _world(context: Mapping[str, Any]) -> ScriptedWorld:
    _mapping(context, "contexto", CONTEXT_KEYS)
    campaigns = {str(key): _campaign(str(key), value)
                 for key, value in _mapping(context.get("campanas") or {}, "campanas").items()}
    documents: dict[CustomerIdentity, tuple[str, ...]] = {}
    for document, keys in _mapping(context.get("documentos") or {}, "documentos").items():
        identity = _identity(str(document))
        documents[identity] = (*documents.get(identity, ()), *_keys(keys, campaigns, f"documento '{document}'"))
    owner = context.get("numero_de")
    if str(owner).casefold() in NO_CAMPAIGN:
        owner = None
    if owner is not None and owner not in campaigns:
        raise FieldError(f"numero_de: '{owner}' no está en campanas.")
    queue = _queue(context.get("cola_sin_identificar") or {}, "cola_sin_identificar")
    return ScriptedWorld(campaigns, documents, str(owner) if owner else None, queue)


def _campaign(key: str, data: Any) -> ScriptedCampaign:
    fields = _mapping(data, f"la campaña '{key}'", QUEUE_KEYS)
    return ScriptedCampaign(key, str(fields.get("nombre") or key), _queue(fields, f"la campaña '{key}'"))


def _queue(data: Any, what: str) -> ScriptedQueue:
    fields = _mapping(data, what, QUEUE_KEYS)
    hours = str(fields.get("horario", "abierto")).strip().casefold()
    if hours not in ("abierto", "cerrado"):
        raise FieldError(f"{what}: horario debe ser 'abierto' o 'cerrado'.")
    opening = str(fields.get("apertura") or ScriptedQueue().next_opening)
    return ScriptedQueue(is_open=hours == "abierto", next_opening=opening)


def _identity(written: str) -> CustomerIdentity:
    """'CC 1020304050' or 'PA AB123456': the type, a space, the number as a portfolio would hold it."""
    document_type, _, number = written.strip().partition(" ")
    try:
        return CustomerIdentity.of(document_type, number)
    except InvalidDocumentError as exc:
        raise FieldError(f"documento '{written}': {exc}.") from exc


def _keys(value: Any, campaigns: Mapping[str, ScriptedCampaign], what: str) -> tuple[str, ...]:
    keys = tuple(str(key) for key in (value if isinstance(value, list) else [value]))
    for key in keys:
        if key not in campaigns:
            raise FieldError(f"{what}: la campaña '{key}' no está en campanas.")
    return keys


def _step(number: int, data: Any) -> ExpectedStep:
    fields = _mapping(data, f"el paso {number}", STEP_KEYS)
    if "cliente" not in fields:
        raise FieldError(f"paso {number}: falta cliente (lo que escribe el cliente).")
    return ExpectedStep(
        customer=str(fields["cliente"]),
        bot_says=_texts(fields.get("bot")),
        bot_says_exactly=_texts(fields.get("bot_exacto")),
        state=str(fields["estado"]) if "estado" in fields else None,
        handed_off_to=str(fields["transferido_a"]) if "transferido_a" in fields else None,
        outside_hours=_yes_no(fields.get("fuera_de_horario"), number, "fuera_de_horario"),
        closed=_yes_no(fields.get("cerrado"), number, "cerrado"),
    )


def _texts(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    return tuple(str(item) for item in (value if isinstance(value, list) else [value]))


def _yes_no(value: Any, number: int, key: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    answer = str(value).strip().casefold()
    if answer not in ("sí", "si", "no"):
        raise FieldError(f"paso {number}: {key} debe ser sí o no.")
    return answer != "no"


def _mapping(data: Any, what: str, allowed: tuple[str, ...] | None = None) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise FieldError(f"{what} debe tener claves, no «{data}».")
    unknown = [key for key in data if allowed is not None and key not in allowed]
    if unknown:
        raise FieldError(f"'{unknown[0]}' no sirve en {what}; claves posibles: {', '.join(allowed or ())}.")
    return data
