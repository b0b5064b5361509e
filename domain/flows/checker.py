"""`check_flow`: every problem in a flow, in Spanish, each pointing to the state at fault.

Per state: ways out that lead nowhere, dead ends, questions without error handling, empty
menus, unusable validation rules, variables nobody fills. Over the whole flow: states the
customer can never reach, states from which the conversation can never end, and loops that
never wait for the customer.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from domain.documents import DOCUMENT_RULES, InvalidDocumentError, normalise_document_type
from domain.flows.graph import automatic_loops, states_that_cannot_end, unreachable_states
from domain.flows.model import (
    DOCUMENT_NUMBER,
    DOCUMENT_TYPE,
    FILLED_BY_BOT,
    WITHIN_HOURS,
    Branch,
    CampaignChoice,
    Flow,
    Handoff,
    IdentifyCustomer,
    Menu,
    OnInvalid,
    Question,
    State,
    targets_of,
)
from domain.flows.text import VARIABLE_NAME, fold, placeholders

_NAME = re.compile(rf"^{VARIABLE_NAME}$")


@dataclass(frozen=True)
class FlowProblem:
    state: str | None
    """The state at fault, or None for the flow as a whole."""
    message: str

    def __str__(self) -> str:
        return f"estado '{self.state}': {self.message}" if self.state else self.message


def check_flow(flow: Flow) -> list[FlowProblem]:
    problems = list(_header_problems(flow))
    known = _variables_filled(flow)
    for state in flow.states.values():
        problems += [FlowProblem(state.name, message) for message in _state_problems(flow, state, known)]
    if flow.start in flow.states:
        problems += _graph_problems(flow)
    return problems


def _header_problems(flow: Flow) -> Iterator[FlowProblem]:
    if not _NAME.match(flow.name):
        yield FlowProblem(None, f"El nombre '{flow.name}' debe ir en minúsculas, sin tildes ni espacios "
                                "(use '_' para separar palabras).")
    if flow.version < 1:
        yield FlowProblem(None, "La versión debe ser un número entero desde 1.")
    if flow.inactivity_minutes < 1:
        yield FlowProblem(None, "inactividad_minutos debe ser 1 o más.")
    if not flow.states:
        yield FlowProblem(None, "El flujo no tiene estados.")
    elif flow.start not in flow.states:
        yield FlowProblem(None, f"El inicio '{flow.start}' no es un estado del flujo.")
    for number, shortcut in enumerate(flow.shortcuts, start=1):
        if not any(fold(phrase) for phrase in shortcut.phrases):
            yield FlowProblem(None, f"El atajo {number} no tiene frases (si_dice).")
        if shortcut.target not in flow.states:
            yield FlowProblem(None, f"El atajo {number} lleva a '{shortcut.target}', que no existe.")


def _state_problems(flow: Flow, state: State, known: set[str]) -> Iterator[str]:
    step = state.step
    if step is None:
        yield ("no tiene salida: agregue ir_a, opciones, respuesta, condiciones, "
               "accion: identificar_cliente o final.")
    for way, target in targets_of(step):
        if target not in flow.states:
            yield f"{way} lleva a '{target}', que no existe."
    if isinstance(step, Menu | Question | CampaignChoice):
        yield from _on_invalid_problems(step.on_invalid)
    if isinstance(step, Menu):
        yield from _menu_problems(step)
    if isinstance(step, Question):
        yield from _question_problems(state, step)
    if isinstance(step, Branch) and step.otherwise is None:
        yield "las condiciones necesitan si_no: a dónde ir cuando ninguna se cumple."
    if isinstance(step, IdentifyCustomer):
        yield from _identify_problems(step, known)
    if isinstance(step, Handoff):
        yield from _handoff_problems(state, step)
    yield from _variable_problems(state, known)
    yield from _document_type_problems(state)


def _on_invalid_problems(on_invalid: OnInvalid | None) -> Iterator[str]:
    if on_invalid is None:
        yield ("espera una respuesta del cliente pero no tiene si_invalido "
               "(mensaje, intentos e ir_a para cuando la respuesta no sirve).")
        return
    if on_invalid.max_attempts < 1:
        yield "si_invalido: intentos debe ser 1 o más."
    if on_invalid.max_attempts > 1 and not on_invalid.say:
        yield "si_invalido necesita un mensaje (decir) que explique qué respuesta se espera."


def _menu_problems(menu: Menu) -> Iterator[str]:
    if not menu.options:
        yield "el menú no tiene opciones."
    first_option_for: dict[str, int] = {}
    for number, option in enumerate(menu.options, start=1):
        for accepted in (option.text, *option.also_accepts):
            earlier = first_option_for.setdefault(fold(accepted), number)
            if earlier != number:
                yield f"las opciones {earlier} y {number} aceptan la misma respuesta '{accepted}'."


def _question_problems(state: State, question: Question) -> Iterator[str]:
    if not state.say:
        yield "espera una respuesta pero no le pregunta nada al cliente (agregue decir)."
    if question.min_length < 0 or question.min_length > question.max_length:
        yield f"respuesta: min ({question.min_length}) debe ser 0 o más y no mayor que max ({question.max_length})."
    if question.format == "pattern":
        try:
            re.compile(question.pattern)
        except re.error as exc:
            yield f"respuesta: el patrón '{question.pattern}' no es válido ({exc})."
        if not question.pattern:
            yield "respuesta: el patrón está vacío."


def _identify_problems(step: IdentifyCustomer, known: set[str]) -> Iterator[str]:
    if step.max_attempts < 1:
        yield "intentos debe ser 1 o más."
    missing = [name for name in (DOCUMENT_TYPE, DOCUMENT_NUMBER) if name not in known]
    if missing:
        yield (f"identificar_cliente lee {', '.join(missing)}, pero ningún estado guarda "
               f"{'esa variable' if len(missing) == 1 else 'esas variables'}.")


def _handoff_problems(state: State, handoff: Handoff) -> Iterator[str]:
    if not state.say:
        yield "al transferir, el bot debe decirle algo al cliente (decir)."
    if not handoff.outside_hours_say:
        yield ("falta fuera_de_horario: qué decir cuando no hay asesores, por ejemplo "
               "'Nuestros asesores vuelven {proxima_apertura}'.")


def _variable_problems(state: State, known: set[str]) -> Iterator[str]:
    for name in dict.fromkeys(_variables_written(state)):
        if not _NAME.match(name):
            yield f"el nombre de variable '{name}' debe ir en minúsculas, sin tildes ni espacios."
        elif name in FILLED_BY_BOT:
            yield f"la variable '{name}' la llena el bot; guarde el dato con otro nombre."
    for name in dict.fromkeys(_variables_read(state)):
        if name not in known:
            yield f"usa la variable '{name}', pero ningún estado la guarda."


def _document_type_problems(state: State) -> Iterator[str]:
    """A document type the bot saves must be one a portfolio can hold, or no customer is ever found."""
    for value in dict.fromkeys(_values_written(state, DOCUMENT_TYPE)):
        if placeholders(value):
            continue
        try:
            normalise_document_type(value)
        except InvalidDocumentError:
            *first, last = DOCUMENT_RULES
            yield (f"guarda {DOCUMENT_TYPE} '{value}', que no es un tipo de documento de las carteras; "
                   f"use {', '.join(first)} o {last}.")


def _graph_problems(flow: Flow) -> list[FlowProblem]:
    unreachable = unreachable_states(flow)
    problems = [FlowProblem(name, "no se puede llegar a este estado desde el inicio ni con un atajo.")
                for name in unreachable]
    if not _has_ways_to_nowhere(flow):  # those already explain why a conversation cannot end
        problems += [FlowProblem(name, "desde aquí la conversación nunca llega a transferir ni a cerrar.")
                     for name in states_that_cannot_end(flow)
                     if name not in unreachable and flow.states[name].step is not None]
    problems += [FlowProblem(loop[0], "estos estados forman un ciclo que nunca espera al cliente: "
                                      + " → ".join([*loop, loop[0]]) + ".")
                 for loop in automatic_loops(flow)]
    return problems


def _has_ways_to_nowhere(flow: Flow) -> bool:
    return any(target not in flow.states for state in flow.states.values() for _, target in targets_of(state.step))


def _variables_filled(flow: Flow) -> set[str]:
    names = set(FILLED_BY_BOT)
    for state in flow.states.values():
        names.update(_variables_written(state))
    return names


def _variables_written(state: State) -> list[str]:
    names = list(state.set_variables)
    if isinstance(state.step, Menu):
        names += [name for option in state.step.options for name in option.set_variables]
    if isinstance(state.step, Question):
        names.append(state.step.save_as)
    return names


def _values_written(state: State, name: str) -> list[str]:
    assignments = [state.set_variables]
    if isinstance(state.step, Menu):
        assignments += [option.set_variables for option in state.step.options]
    return [variables[name] for variables in assignments if name in variables]


def _variables_read(state: State) -> list[str]:
    texts = [*state.say, *state.set_variables.values()]
    step = state.step
    if isinstance(step, Menu):
        texts += [value for option in step.options for value in option.set_variables.values()]
    if isinstance(step, Menu | Question | CampaignChoice) and step.on_invalid:
        texts += step.on_invalid.say
    if isinstance(step, Handoff):
        texts += step.outside_hours_say
    names = [name for text in texts for name in placeholders(text)]
    if isinstance(step, Branch):
        names += [rule.condition.variable for rule in step.rules if rule.condition.variable != WITHIN_HOURS]
    return names
