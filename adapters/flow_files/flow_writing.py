"""The flow model back to the document operations staff read and write (the inverse of reading)."""

from __future__ import annotations

from typing import Any

from domain.flows import (
    Branch,
    CampaignChoice,
    Close,
    Flow,
    GoTo,
    Handoff,
    IdentifyCustomer,
    Menu,
    OnInvalid,
    Option,
    Question,
    State,
)

FORMAT_NAMES = {"digits": "digitos", "text": "texto", "pattern": "patron", "document": "documento"}


def flow_to_document(flow: Flow) -> dict[str, Any]:
    document: dict[str, Any] = {"nombre": flow.name, "version": flow.version}
    if flow.description:
        document["descripcion"] = flow.description
    document["inicio"] = flow.start
    document["inactividad_minutos"] = flow.inactivity_minutes
    if flow.shortcuts:
        document["atajos"] = [{"si_dice": list(s.phrases), "ir_a": s.target} for s in flow.shortcuts]
    document["estados"] = {name: _state(state) for name, state in flow.states.items()}
    return document


def _state(state: State) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if state.set_variables:
        fields["guardar"] = dict(state.set_variables)
    if state.say:
        fields["decir"] = _texts(state.say)
    if not state.shortcuts_enabled:
        fields["atajos"] = False
    return fields | _step(state.step)


def _step(step: object) -> dict[str, Any]:
    match step:
        case GoTo(target):
            return {"ir_a": target}
        case Branch(rules, otherwise):
            fields: dict[str, Any] = {"condiciones": [{"si": r.condition.text, "ir_a": r.target} for r in rules]}
            return fields | ({"si_no": otherwise} if otherwise else {})
        case Menu(options, on_invalid):
            return {"opciones": [_option(option) for option in options]} | _on_invalid(on_invalid)
        case CampaignChoice(target, on_invalid):
            return {"opciones": "campanas_encontradas", "ir_a": target} | _on_invalid(on_invalid)
        case Question():
            return {"respuesta": _answer(step), "ir_a": step.target} | _on_invalid(step.on_invalid)
        case IdentifyCustomer(found, several, not_found, attempts, exhausted):
            return {"accion": "identificar_cliente", "si_encontrado": found, "si_varias_campanas": several,
                    "si_no_encontrado": not_found, "intentos": attempts, "si_se_agotan_intentos": exhausted}
        case Handoff(outside_hours_say):
            return {"final": "transferir"} | ({"fuera_de_horario": _texts(outside_hours_say)}
                                              if outside_hours_say else {})
        case Close():
            return {"final": "cerrar"}
        case _:
            return {}


def _option(option: Option) -> dict[str, Any]:
    fields: dict[str, Any] = {"texto": option.text}
    if option.also_accepts:
        fields["acepta"] = list(option.also_accepts)
    if option.set_variables:
        fields["guardar"] = dict(option.set_variables)
    return fields | {"ir_a": option.target}


def _answer(question: Question) -> dict[str, Any]:
    answer: dict[str, Any] = {"guardar_en": question.save_as, "formato": FORMAT_NAMES[question.format]}
    if question.pattern:
        answer["patron"] = question.pattern
    return answer | {"min": question.min_length, "max": question.max_length}


def _on_invalid(on_invalid: OnInvalid | None) -> dict[str, Any]:
    if on_invalid is None:
        return {}
    return {"si_invalido": {"decir": _texts(on_invalid.say), "intentos": on_invalid.max_attempts,
                            "ir_a": on_invalid.target}}


def _texts(texts: tuple[str, ...]) -> str | list[str]:
    return texts[0] if len(texts) == 1 else list(texts)
