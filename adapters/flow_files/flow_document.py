"""A flow document (the Spanish keys of the YAML format) to the flow model, and back.

Only the shape is checked here: keys that exist, values of the right kind, one thing per
state. Whether the flow makes sense (states that exist, error handling, reachability) is
`domain.flows.check_flow`'s job, so a flow that parses can still be reported in full.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from difflib import get_close_matches
from functools import partial
from typing import Any

from adapters.flow_files.reading import DocumentReader, FieldError
from adapters.flow_files.yaml_text import FlowFileError, FlowLines
from domain.flows import (
    Branch,
    CampaignChoice,
    Close,
    ConditionSyntaxError,
    Flow,
    GoTo,
    Handoff,
    IdentifyCustomer,
    Menu,
    OnInvalid,
    Option,
    Question,
    Rule,
    Shortcut,
    State,
    parse_condition,
)
from domain.flows.model import StateStep

HEADER_KEYS = ("nombre", "version", "descripcion", "inicio", "inactividad_minutos", "atajos", "estados")
CAMPAIGNS_FOUND = "campanas_encontradas"
FORMATS = {"digitos": "digits", "texto": "text", "patron": "pattern", "documento": "document"}
COMMON_KEYS = ("decir", "guardar", "atajos")
KEYS_BY_KIND = {
    "final": ("final", "fuera_de_horario"),
    "accion": ("accion", "si_encontrado", "si_varias_campanas", "si_no_encontrado", "intentos",
               "si_se_agotan_intentos"),
    "condiciones": ("condiciones", "si_no"),
    "opciones": ("opciones", "ir_a", "si_invalido"),
    "respuesta": ("respuesta", "ir_a", "si_invalido"),
    "ir_a": ("ir_a",),
}

ALL_KEYS = sorted({*COMMON_KEYS, *(key for keys in KEYS_BY_KIND.values() for key in keys), "texto", "acepta",
                   "si", "si_dice", "guardar_en", "formato", "patron", "min", "max"})


def flow_from_document(data: Any, source: str = "", lines: FlowLines | None = None) -> Flow:
    lines = lines or FlowLines()
    reader = DocumentReader(source)
    header = reader.mapping(data, "el archivo", HEADER_KEYS, line=None)
    states_data = reader.mapping(header.get("estados"), "estados", None, line=lines.header.get("estados"))
    states = {}
    for name, state_data in states_data.items():
        place = f"estado '{name}'"
        states[str(name)] = reader.attempt(place, lines.states.get(str(name)),
                                           partial(_state, str(name), state_data), State(str(name)))
    line_of = lines.header.get
    flow = Flow(
        name=reader.text(header.get("nombre"), "nombre", required=True, line=line_of("nombre")),
        version=reader.integer(header.get("version"), "version", required=True, line=line_of("version")),
        start=reader.text(header.get("inicio"), "inicio", required=True, line=line_of("inicio")),
        states=states,
        shortcuts=reader.attempt("atajos", lines.header.get("atajos"),
                                 lambda: _shortcuts(header.get("atajos")), ()),
        inactivity_minutes=reader.integer(header.get("inactividad_minutos", 30), "inactividad_minutos",
                                          line=line_of("inactividad_minutos")),
        description=reader.text(header.get("descripcion", ""), "descripcion", line=line_of("descripcion")),
    )
    if reader.problems:
        raise FlowFileError(reader.problems)
    return flow


def _state(name: str, data: Any) -> State:
    fields = _strict_mapping(data, f"el estado '{name}'")
    kinds = [kind for kind in KEYS_BY_KIND if kind in fields and kind != "ir_a"] or \
        (["ir_a"] if "ir_a" in fields else [])
    if len(kinds) > 1:
        raise FieldError(f"mezcla {' y '.join(kinds)}: cada estado hace una sola cosa; "
                         "divídalo en dos estados unidos con ir_a.")
    allowed = COMMON_KEYS + (KEYS_BY_KIND[kinds[0]] if kinds else ())
    _refuse_other_keys(fields, allowed, "este estado")
    return State(
        name=name,
        say=_texts(fields.get("decir"), "decir"),
        set_variables=_variables(fields.get("guardar")),
        step=_STEP_READERS[kinds[0]](fields) if kinds else None,
        shortcuts_enabled=_yes_no(fields.get("atajos", True), "atajos"),
    )


def _final(fields: Mapping[str, Any]) -> StateStep:
    final = _text(fields["final"], "final")
    if final == "cerrar" and "fuera_de_horario" not in fields:
        return Close()
    if final == "transferir":
        return Handoff(outside_hours_say=_texts(fields.get("fuera_de_horario"), "fuera_de_horario"))
    raise FieldError("final debe ser 'transferir' o 'cerrar' (fuera_de_horario solo sirve con transferir).")


def _identify(fields: Mapping[str, Any]) -> StateStep:
    if _text(fields["accion"], "accion") != "identificar_cliente":
        raise FieldError("la única acción que existe es 'identificar_cliente'.")
    return IdentifyCustomer(
        found=_required_text(fields, "si_encontrado"),
        several=_required_text(fields, "si_varias_campanas"),
        not_found=_required_text(fields, "si_no_encontrado"),
        max_attempts=_integer(fields.get("intentos", 3), "intentos"),
        attempts_exhausted=_required_text(fields, "si_se_agotan_intentos"),
    )


def _branch(fields: Mapping[str, Any]) -> StateStep:
    rules = []
    for number, item in enumerate(_list(fields["condiciones"], "condiciones"), start=1):
        rule = _strict_mapping(item, f"la condición {number}")
        _refuse_other_keys(rule, ("si", "ir_a"), f"la condición {number}")
        try:
            condition = parse_condition(_required_text(rule, "si"))
        except ConditionSyntaxError as exc:
            raise FieldError(f"condición {number}: {exc}") from exc
        rules.append(Rule(condition, _required_text(rule, "ir_a")))
    otherwise = fields.get("si_no")
    return Branch(tuple(rules), _text(otherwise, "si_no") if otherwise is not None else None)


def _menu(fields: Mapping[str, Any]) -> StateStep:
    on_invalid = _on_invalid(fields.get("si_invalido"))
    if fields["opciones"] == CAMPAIGNS_FOUND:
        return CampaignChoice(target=_required_text(fields, "ir_a"), on_invalid=on_invalid)
    if "ir_a" in fields:
        raise FieldError("en un menú, cada opción lleva su propio ir_a; quite el ir_a del estado.")
    return Menu(tuple(_option(number, item) for number, item in
                      enumerate(_list(fields["opciones"], "opciones"), start=1)), on_invalid)


def _option(number: int, data: Any) -> Option:
    fields = _strict_mapping(data, f"la opción {number}")
    _refuse_other_keys(fields, ("texto", "ir_a", "acepta", "guardar"), f"la opción {number}")
    return Option(text=_required_text(fields, "texto"), target=_required_text(fields, "ir_a"),
                  also_accepts=_texts(fields.get("acepta"), "acepta"),
                  set_variables=_variables(fields.get("guardar")))


def _question(fields: Mapping[str, Any]) -> StateStep:
    answer = _strict_mapping(fields["respuesta"], "respuesta")
    _refuse_other_keys(answer, ("guardar_en", "formato", "patron", "min", "max"), "respuesta")
    written_format = _text(answer.get("formato", "patron" if "patron" in answer else "texto"), "formato")
    if written_format not in FORMATS:
        raise FieldError(f"formato '{written_format}' no existe; use digitos, texto, patron o documento.")
    return Question(
        save_as=_required_text(answer, "guardar_en"),
        target=_required_text(fields, "ir_a"),
        on_invalid=_on_invalid(fields.get("si_invalido")),
        format=FORMATS[written_format],  # type: ignore[arg-type]
        min_length=_integer(answer.get("min", 1), "min"),
        max_length=_integer(answer.get("max", 500), "max"),
        pattern=_text(answer.get("patron", ""), "patron"),
    )


def _go_to(fields: Mapping[str, Any]) -> StateStep:
    return GoTo(_required_text(fields, "ir_a"))


_STEP_READERS: dict[str, Callable[[Mapping[str, Any]], StateStep]] = {
    "final": _final, "accion": _identify, "condiciones": _branch, "opciones": _menu,
    "respuesta": _question, "ir_a": _go_to,
}


def _on_invalid(data: Any) -> OnInvalid | None:
    if data is None:
        return None
    fields = _strict_mapping(data, "si_invalido")
    _refuse_other_keys(fields, ("decir", "intentos", "ir_a"), "si_invalido")
    return OnInvalid(say=_texts(fields.get("decir"), "si_invalido.decir"),
                     max_attempts=_integer(fields.get("intentos", 3), "si_invalido.intentos"),
                     target=_required_text(fields, "ir_a"))


def _shortcuts(data: Any) -> tuple[Shortcut, ...]:
    shortcuts = []
    for number, item in enumerate(_list(data or [], "atajos"), start=1):
        fields = _strict_mapping(item, f"el atajo {number}")
        _refuse_other_keys(fields, ("si_dice", "ir_a"), f"el atajo {number}")
        shortcuts.append(Shortcut(_texts(fields.get("si_dice"), "si_dice"), _required_text(fields, "ir_a")))
    return tuple(shortcuts)


# --- small readers that raise FieldError with a Spanish explanation -------------------------

def _strict_mapping(data: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise FieldError(f"{what} debe tener claves (como 'decir: ...'), no «{data}».")
    return data


def _refuse_other_keys(fields: Mapping[str, Any], allowed: tuple[str, ...], where: str) -> None:
    for key in fields:
        if key not in allowed:
            guess = get_close_matches(str(key), ALL_KEYS, n=1)
            maybe = f" ¿Quiso decir '{guess[0]}'?" if guess and guess[0] != key else ""
            raise FieldError(f"'{key}' no sirve en {where}; claves posibles: {', '.join(allowed)}.{maybe}")


def _list(data: Any, what: str) -> list[Any]:
    if not isinstance(data, list):
        raise FieldError(f"{what} debe ser una lista (cada elemento en una línea que empieza con '- ').")
    return data


def _text(value: Any, what: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise FieldError(f"{what} debe ser un texto, no «{value}».")
    return str(value).strip()


def _required_text(fields: Mapping[str, Any], key: str) -> str:
    if fields.get(key) in (None, ""):
        raise FieldError(f"falta {key}.")
    return _text(fields[key], key)


def _texts(value: Any, what: str) -> tuple[str, ...]:
    if value is None:
        return ()
    items = value if isinstance(value, list) else [value]
    return tuple(_text(item, what) for item in items)


def _integer(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise FieldError(f"{what} debe ser un número entero, no «{value}».")
    return value


def _variables(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    return {str(name): _text(text, f"guardar.{name}") for name, text in _strict_mapping(value, "guardar").items()}


def _yes_no(value: Any, what: str) -> bool:
    if isinstance(value, bool):
        return value
    answer = str(value).strip().casefold()
    if answer in ("sí", "si"):
        return True
    if answer == "no":
        return False
    raise FieldError(f"{what} debe ser sí o no.")
