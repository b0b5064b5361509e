"""Every code the domain can record has a Spanish name, so a new status, step, reason or event cannot reach a page
raw; and names of people and of the system's parts are read the way a person would say them."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

from eventsourcing.domain import Aggregate

import domain
from domain import labels
from domain.chats import CLOSE_REASONS
from domain.flows.runtime import StepKind
from domain.messages import OUTBOUND_KINDS, STATUS_RANK
from domain.routing import POLICIES


def recorded_event_types() -> set[str]:
    """`Chat.Closed`, `Agent.LanguageChosen`…: every event class of every aggregate, as the event log names it."""
    found = set()
    for module_info in pkgutil.walk_packages(domain.__path__, "domain."):
        module = importlib.import_module(module_info.name)
        for aggregate in vars(module).values():
            if inspect.isclass(aggregate) and issubclass(aggregate, Aggregate) and \
                    aggregate.__module__ == module.__name__:
                found |= {event.__qualname__ for event in vars(aggregate).values()
                          if inspect.isclass(event) and issubclass(event, Aggregate.Event)
                          and event.__name__ not in ("Event", "Created")}
    return found


def test_every_event_the_domain_records_has_a_name() -> None:
    events = recorded_event_types()

    assert {"Chat.Closed", "Agent.LanguageChosen", "OutboundMessage.Submitted"} <= events
    assert events - labels.EVENTS.keys() == set()


def test_every_status_step_reason_kind_and_policy_has_a_name() -> None:
    assert set(STATUS_RANK) - labels.MESSAGE_STATUSES.keys() == set()
    assert {kind.value for kind in StepKind} - labels.BOT_STEPS.keys() == set()
    assert set(CLOSE_REASONS) - labels.CLOSE_REASONS.keys() == set()
    assert set(OUTBOUND_KINDS) - labels.MESSAGE_KINDS.keys() == set()
    assert set(POLICIES) - labels.ROUTING_POLICIES.keys() == set()


def test_whoever_acted_is_named_the_way_a_person_would_say_it() -> None:
    people = {"c5932dd6-0000-0000-0000-000000000001": "Ana Asesora"}

    assert labels.actor_name("user:c5932dd6-0000-0000-0000-000000000001", people) == "Ana Asesora"
    assert labels.actor_name("user:c5932dd6-0000-0000-0000-00000000dead", people) == "Usuario desconocido"
    assert labels.actor_name("system:bot", people) == "Bot"
    assert labels.actor_name("system:router", people) == "Sistema (asignación automática)"
    assert labels.actor_name("system", people) == "Sistema"
    assert labels.actor_name("customer:whatsapp:+573001112233", people) == "Cliente +573001112233"


def test_a_failed_sign_in_and_an_expired_session_are_not_put_down_to_the_system_at_large() -> None:
    assert labels.actor_name("anonymous", {}) == "Alguien sin sesión iniciada"
    assert labels.actor_name("system:sessions", {}) == "Sistema (cierre de sesiones inactivas)"


def test_a_bot_step_reads_as_what_the_bot_did() -> None:
    assert labels.bot_step_action("entered", "") == "Entró al paso"
    assert labels.bot_step_action("identified", "number_written_to") == \
        "Cliente identificado (por el número al que escribió)"
    assert labels.bot_step_action("handed_off", "identified outside_hours") == \
        "Pasó a la cola de asesores (cliente identificado, fuera del horario de atención)"
    assert labels.bot_step_action("answered", "opción 2") == "El cliente respondió (opción 2)"


def test_a_code_without_a_name_is_shown_as_recorded() -> None:
    assert labels.label("close_reason", "auto_24h") == "Cierre automático: 24 horas sin mensajes del cliente"
    assert labels.label("close_reason", "algo_nuevo") == "algo_nuevo"


def test_every_default_break_reason_has_a_name() -> None:
    from domain.campaigns import DEFAULT_BREAK_REASONS
    from domain.labels import BREAK_REASONS

    assert set(DEFAULT_BREAK_REASONS) == set(BREAK_REASONS)
