"""The bot flow interpreter: identification rules, fallbacks, hours, shortcuts, answers, inactivity."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from functools import cache

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.flow_files import SHIPPED_FLOWS_DIR, parse_flow, read_flow
from domain.documents import DOCUMENT_RULES, CustomerIdentity
from domain.flows import (
    BotEndedError,
    BotState,
    ClosedByBot,
    Flow,
    HandedOff,
    Menu,
    ScriptedCampaign,
    ScriptedQueue,
    ScriptedWorld,
    StepKind,
    TurnResult,
    is_inactive,
    parse_condition,
    reply,
    start,
)

NOW = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)
CLOSED_UNTIL_MONDAY = ScriptedQueue(is_open=False, next_opening="el lunes a las 8:00 a. m.")
DOCUMENTS = {CustomerIdentity("CC", "1020304050"): ("banco",), CustomerIdentity("CC", "79000111"): ("banco", "telco")}


@cache
def default_flow() -> Flow:
    return read_flow(SHIPPED_FLOWS_DIR / "default.yaml")


def world(*, number_of: str | None = None, closed: tuple[str, ...] = (),
          unidentified_queue: ScriptedQueue | None = None) -> ScriptedWorld:
    names = {"banco": "Banco Andino", "telco": "Telco Sur"}
    campaigns = {key: ScriptedCampaign(key, name, CLOSED_UNTIL_MONDAY if key in closed else ScriptedQueue())
                 for key, name in names.items()}
    return ScriptedWorld(campaigns, dict(DOCUMENTS), number_of, unidentified_queue or ScriptedQueue())


def converse(flow: Flow, the_world: ScriptedWorld, *texts: str, at: datetime = NOW) -> TurnResult:
    """Open the chat, then send each text; the last turn's result."""
    result = start(flow, the_world, at)
    for text in texts:
        result = reply(flow, result.state, text, the_world, at)
    return result


def said(result: TurnResult) -> str:
    return "\n".join(result.replies)


# --- greeting and identification -------------------------------------------------------------

def test_greets_with_the_public_name_of_the_campaign_that_owns_the_number() -> None:
    result = start(default_flow(), world(number_of="telco"), NOW)

    assert "Te damos la bienvenida a Telco Sur" in said(result)
    assert result.state.state == "tipo_documento"
    assert result.outcome is None


def test_greets_without_a_campaign_name_when_the_number_belongs_to_none() -> None:
    result = start(default_flow(), world(), NOW)

    assert "Gracias por escribirnos" in said(result)
    assert "Banco Andino" not in said(result) and "Telco Sur" not in said(result)


def test_document_in_one_campaign_identifies_the_customer_there() -> None:
    result = converse(default_flow(), world(number_of="telco"), "1", "1020304050")

    assert result.identification is not None
    assert (result.identification.campaign_id, result.identification.chosen_by) == ("banco", "only_match")
    assert (result.identification.document_type, result.identification.document_number) == ("CC", "1020304050")
    assert result.outcome == HandedOff("banco", "identified", outside_hours=False)


def test_document_in_several_campaigns_goes_to_the_campaign_of_the_number_written_to() -> None:
    result = converse(default_flow(), world(number_of="telco"), "1", "79000111")

    assert result.identification is not None
    assert result.identification.chosen_by == "number_written_to"
    assert isinstance(result.outcome, HandedOff) and result.outcome.campaign_id == "telco"
    assert "elegir" not in said(result).casefold()


def test_document_in_several_campaigns_lets_the_customer_choose_among_display_names() -> None:
    flow, the_world = default_flow(), world()

    asked = converse(flow, the_world, "1", "79000111")
    chosen = reply(flow, asked.state, "2", the_world, NOW)

    assert "1. Banco Andino\n2. Telco Sur" in said(asked)
    assert asked.state.state == "elegir_campana"
    assert chosen.identification is not None and chosen.identification.chosen_by == "customer_choice"
    assert isinstance(chosen.outcome, HandedOff) and chosen.outcome.campaign_id == "telco"


@pytest.mark.parametrize("answer", ["telco sur", "TELCO SUR.", " 2. ", "2)"])
def test_customer_may_choose_a_campaign_by_its_name_or_number(answer: str) -> None:
    flow, the_world = default_flow(), world()
    asked = converse(flow, the_world, "1", "79000111")

    chosen = reply(flow, asked.state, answer, the_world, NOW)

    assert chosen.identification is not None and chosen.identification.campaign_id == "telco"


def test_document_not_found_three_times_goes_to_the_campaign_of_the_number_written_to() -> None:
    flow, the_world = default_flow(), world(number_of="banco")

    twice = converse(flow, the_world, "1", "11111", "22222")
    third = reply(flow, twice.state, "33333", the_world, NOW)

    assert "No encontramos ese documento" in said(twice) and twice.outcome is None
    assert third.outcome == HandedOff("banco", "number_written_to", outside_hours=False)
    assert third.identification is None


def test_document_not_found_three_times_without_a_campaign_number_goes_to_the_unidentified_queue() -> None:
    result = converse(default_flow(), world(), "1", "11111", "22222", "33333")

    assert isinstance(result.outcome, HandedOff)
    assert result.outcome.to_unidentified_queue and result.outcome.route == "unidentified_queue"


def test_a_customer_not_found_who_retypes_the_number_is_identified() -> None:
    flow, the_world = default_flow(), world()

    not_found = converse(flow, the_world, "1", "1020304051")
    retyped = reply(flow, not_found.state, "1.020.304.050", the_world, NOW)

    assert "No encontramos ese documento" in said(not_found)
    assert "No reconocí esa opción" not in said(retyped)
    assert retyped.identification is not None and retyped.identification.campaign_id == "banco"


def test_a_customer_not_found_may_choose_another_document_type() -> None:
    flow, the_world = default_flow(), world()

    not_found = converse(flow, the_world, "2", "79000111")
    changed = reply(flow, not_found.state, "cambiar tipo", the_world, NOW)
    found = converse(flow, the_world, "2", "79000111", "cambiar tipo", "1", "79000111")

    assert not_found.identification is None and "cambiar tipo" in said(not_found)
    assert changed.state.state == "tipo_documento" and "1. Cédula de ciudadanía" in said(changed)
    assert found.state.state == "elegir_campana"


def test_the_bot_offers_every_document_type_a_portfolio_accepts() -> None:
    menu = default_flow().states["tipo_documento"].step

    assert isinstance(menu, Menu)
    assert {option.set_variables["tipo_documento"] for option in menu.options} == set(DOCUMENT_RULES)


_SEPARATORS = st.sampled_from(["", " ", ".", "-"])


@st.composite
def typed_documents(draw: st.DrawFn) -> tuple[CustomerIdentity, str]:
    """A document a portfolio can hold, and how a customer might type it (separators, any case)."""
    document_type = draw(st.sampled_from(sorted(DOCUMENT_RULES)))
    rule = DOCUMENT_RULES[document_type]
    alphabet = "0123456789" if rule.digits_only else "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"
    number = draw(st.text(alphabet, min_size=rule.min_length, max_size=rule.max_length))
    typed = "".join(char + draw(_SEPARATORS) for char in number).strip(" .-")
    return CustomerIdentity(document_type, number), typed.lower() if draw(st.booleans()) else typed


def _option_for(document_type: str) -> str:
    menu = default_flow().states["tipo_documento"].step
    assert isinstance(menu, Menu)
    return next(str(n) for n, option in enumerate(menu.options, start=1)
                if option.set_variables["tipo_documento"] == document_type)


@given(typed_documents())
def test_a_document_the_portfolio_holds_is_found_however_the_customer_types_it(
        document: tuple[CustomerIdentity, str]) -> None:
    identity, typed = document
    the_world = ScriptedWorld({"banco": ScriptedCampaign("banco", "Banco Andino")}, {identity: ("banco",)})

    result = converse(default_flow(), the_world, _option_for(identity.document_type), typed)

    assert result.identification is not None
    assert (result.identification.document_type, result.identification.document_number) == identity


@given(typed_documents(), st.sampled_from(sorted(DOCUMENT_RULES)))
def test_a_number_never_finds_the_customer_of_another_document_type(document: tuple[CustomerIdentity, str],
                                                                     chosen_type: str) -> None:
    identity, typed = document
    the_world = ScriptedWorld({"banco": ScriptedCampaign("banco", "Banco Andino")}, {identity: ("banco",)})

    result = converse(default_flow(), the_world, _option_for(chosen_type), typed)

    assert (result.identification is not None) == (chosen_type == identity.document_type)


def test_identification_counts_not_found_documents_across_retries() -> None:
    result = converse(default_flow(), world(), "1", "11111", "22222")

    assert result.state.attempts == {"identificar": 2}
    assert [step.detail for step in result.steps if step.kind is StepKind.NOT_FOUND] == ["2/3"]


# --- business hours --------------------------------------------------------------------------

def test_outside_business_hours_the_bot_says_when_agents_are_back_and_the_chat_is_queued() -> None:
    result = converse(default_flow(), world(closed=("banco",)), "1", "1020304050")

    assert "Vuelven el lunes a las 8:00 a. m." in said(result)
    assert "queda en fila" in said(result)
    assert "Te estamos comunicando con un asesor" not in said(result)
    assert result.outcome == HandedOff("banco", "identified", outside_hours=True,
                                       next_opening="el lunes a las 8:00 a. m.")


def test_hours_of_the_unidentified_queue_apply_to_chats_sent_there() -> None:
    the_world = world(unidentified_queue=CLOSED_UNTIL_MONDAY)

    result = converse(default_flow(), the_world, "asesor")

    assert isinstance(result.outcome, HandedOff) and result.outcome.outside_hours
    assert "el lunes a las 8:00 a. m." in said(result)


def test_a_condition_can_ask_whether_the_destination_queue_is_open() -> None:
    flow = small_flow("""
      inicio:
        condiciones:
          - si: dentro_de_horario
            ir_a: abierto
        si_no: cerrado
      abierto:
        decir: "Abierto"
        final: cerrar
      cerrado:
        decir: "Volvemos {proxima_apertura}"
        final: cerrar
    """)

    open_result = start(flow, world(number_of="banco"), NOW)
    closed_result = start(flow, world(number_of="banco", closed=("banco",)), NOW)

    assert open_result.replies == ("Abierto",)
    assert closed_result.replies == ("Volvemos el lunes a las 8:00 a. m.",)


# --- the shortcut to an agent ----------------------------------------------------------------

@pytest.mark.parametrize("waiting_after", [(), ("1",), ("1", "79000111"), ("4",)])
@pytest.mark.parametrize("words", ["asesor", "Quiero hablar con un ASESOR, por favor", "hablar con un asesor"])
def test_customer_can_ask_for_an_agent_in_any_state(waiting_after: tuple[str, ...], words: str) -> None:
    flow, the_world = default_flow(), world()
    waiting = converse(flow, the_world, *waiting_after)

    result = reply(flow, waiting.state, words, the_world, NOW)

    assert any(step.kind is StepKind.SHORTCUT for step in result.steps)
    assert result.outcome == HandedOff(None, "unidentified_queue", outside_hours=False)


def test_the_word_asesor_inside_another_word_is_not_a_shortcut() -> None:
    result = converse(default_flow(), world(), "asesoramiento")

    assert result.outcome is None and result.state.state == "tipo_documento"


def test_a_menu_option_wins_over_a_shortcut_with_the_same_words() -> None:
    flow = small_flow("""
      inicio:
        decir: "Elige"
        opciones:
          - texto: Hablar con un asesor
            ir_a: opcion_elegida
        si_invalido: {decir: "Elige 1", intentos: 2, ir_a: transferir}
      opcion_elegida:
        decir: "Elegiste la opción"
        final: cerrar
    """)

    result = converse(flow, world(), "hablar con un asesor")

    assert result.replies == ("Elegiste la opción",) and result.outcome == ClosedByBot()


def test_a_state_can_turn_shortcuts_off_for_open_questions() -> None:
    flow = small_flow("""
      inicio:
        decir: "Cuéntanos cómo te atendió el asesor"
        atajos: no
        respuesta: {guardar_en: comentario}
        ir_a: gracias
        si_invalido: {decir: "Escribe un comentario", intentos: 2, ir_a: transferir}
      gracias:
        decir: "Gracias: {comentario}"
        final: cerrar
    """)

    result = converse(flow, world(), "El asesor fue muy amable")

    assert result.replies == ("Gracias: El asesor fue muy amable",)
    assert result.outcome == ClosedByBot()


# --- answers ---------------------------------------------------------------------------------

@pytest.mark.parametrize("answer", ["1", "1.", " 1 ", "1)", "opción 1", "Cédula de ciudadanía",
                                    "CEDULA DE CIUDADANIA", "cedula", "CC"])
def test_a_menu_accepts_the_number_the_text_or_an_alternative_of_an_option(answer: str) -> None:
    result = converse(default_flow(), world(), answer)

    assert result.state.state == "numero_documento"
    assert result.state.variables["tipo_documento"] == "CC"


def test_an_invalid_answer_explains_what_is_expected_and_shows_the_options_again() -> None:
    result = converse(default_flow(), world(), "9")

    assert result.state.state == "tipo_documento"
    assert result.replies == ("No reconocí esa opción. Responde solo con el número, por ejemplo 1.\n"
                              "1. Cédula de ciudadanía\n2. Cédula de extranjería\n3. NIT\n4. Pasaporte\n"
                              "5. Tarjeta de identidad\n6. Registro civil\n7. Permiso especial de permanencia (PEP)\n"
                              "8. Permiso por protección temporal (PPT)",)
    assert result.state.attempts == {"tipo_documento": 1}


def test_invalid_answers_in_a_row_end_in_the_on_invalid_state_after_the_allowed_attempts() -> None:
    result = converse(default_flow(), world(number_of="banco"), "x", "y", "z")

    assert result.replies == ("Te estamos comunicando con un asesor. Por favor espera un momento.",)
    assert any(step.kind is StepKind.ATTEMPTS_EXHAUSTED for step in result.steps)
    assert isinstance(result.outcome, HandedOff)


def test_a_valid_answer_resets_the_invalid_attempts_of_a_later_visit() -> None:
    result = converse(default_flow(), world(), "x", "1", "11111", "cambiar tipo", "x", "x")

    assert result.state.state == "tipo_documento" and result.outcome is None
    assert result.state.attempts["tipo_documento"] == 2


@pytest.mark.parametrize(("typed", "stored"), [("1.020.304.050", "1020304050"), ("1 020 304 050", "1020304050"),
                                               ("900123456-7", "9001234567")])
def test_a_document_answer_ignores_dots_spaces_and_dashes(typed: str, stored: str) -> None:
    result = converse(default_flow(), world(), "3", typed)

    assert result.state.variables["numero_documento"] == stored


@pytest.mark.parametrize("typed", ["abc", "123", "12AB45", "1234567890123", "١٢٣٤٥٦"])
def test_a_document_answer_outside_the_rules_of_its_type_is_refused(typed: str) -> None:
    result = converse(default_flow(), world(), "1", typed)

    assert result.state.state == "numero_documento"
    assert "no parece válido para el tipo de documento que elegiste" in said(result)


def test_a_passport_may_carry_letters_a_cedula_may_not() -> None:
    passport = converse(default_flow(), world(), "4", "ab-12345")
    cedula = converse(default_flow(), world(), "1", "ab-12345")

    assert passport.state.variables["numero_documento"] == "AB12345"
    assert cedula.state.state == "numero_documento" and "numero_documento" not in cedula.state.variables


def test_a_pattern_answer_must_match_entirely() -> None:
    flow = small_flow("""
      inicio:
        decir: "¿En qué fecha pagaste?"
        respuesta: {guardar_en: fecha, patron: "[0-3]?[0-9]/[01]?[0-9]/20[0-9][0-9]"}
        ir_a: gracias
        si_invalido: {decir: "Escribe la fecha así: 15/03/2026", intentos: 3, ir_a: transferir}
      gracias:
        decir: "Anotado: {fecha}"
        final: cerrar
    """)

    refused = converse(flow, world(), "el 15/03/2026")
    accepted = reply(flow, refused.state, "15/03/2026", world(), NOW)

    assert refused.state.state == "inicio"
    assert accepted.state.variables["fecha"] == "15/03/2026"


# --- variables, conditions, close ------------------------------------------------------------

def test_saved_variables_fill_later_messages() -> None:
    flow = small_flow("""
      inicio:
        guardar: {producto: tarjeta de crédito}
        decir: "Hablemos de tu {producto}"
        final: cerrar
    """)

    assert start(flow, world(), NOW).replies == ("Hablemos de tu tarjeta de crédito",)


@pytest.mark.parametrize(("condition", "variables", "holds"), [
    ("tipo_documento = pa", {"tipo_documento": "PA"}, True),
    ("ciudad = bogota", {"ciudad": " Bogotá "}, True),
    ("tipo_documento != PA", {"tipo_documento": "CC"}, True),
    ("campana_del_numero", {"campana_del_numero": ""}, False),
    ("no campana_del_numero", {}, True),
])
def test_conditions_compare_ignoring_case_accents_and_spaces(condition: str, variables: dict[str, str],
                                                            holds: bool) -> None:
    assert parse_condition(condition).holds(variables) is holds


def test_closing_by_the_bot_ends_its_part_of_the_conversation() -> None:
    flow = small_flow("""
      inicio:
        decir: "¡Gracias por escribirnos!"
        final: cerrar
    """)

    result = start(flow, world(), NOW)

    assert result.outcome == ClosedByBot()
    assert result.state.ended
    with pytest.raises(BotEndedError):
        reply(flow, result.state, "hola", world(), NOW)


# --- what the bot records --------------------------------------------------------------------

def test_steps_record_the_states_entered_and_the_actions_run() -> None:
    result = converse(default_flow(), world(number_of="banco"), "1", "1020304050")

    assert result.states_entered == ["identificar", "identificado", "transferir"]
    kinds = [step.kind for step in result.steps]
    assert StepKind.ANSWERED in kinds and StepKind.IDENTIFIED in kinds and StepKind.HANDED_OFF in kinds
    assert all(set(step.to_dict()) == {"kind", "state", "detail"} for step in result.steps)


def test_the_bot_state_survives_a_round_trip_through_json() -> None:
    asked = converse(default_flow(), world(), "1", "79000111")

    stored = json.loads(json.dumps(asked.state.to_dict()))

    assert BotState.from_dict(stored) == asked.state
    assert [choice.display_name for choice in BotState.from_dict(stored).choices] == ["Banco Andino", "Telco Sur"]


def test_a_chat_waiting_in_a_state_that_no_longer_exists_starts_the_flow_again() -> None:
    stale = BotState("default", 1, "estado_borrado", {"campana_del_numero": ""})

    result = reply(default_flow(), stale, "hola", world(), NOW)

    assert result.steps[0].kind is StepKind.RESTARTED
    assert result.state.state == "tipo_documento"


def test_a_flow_that_loops_without_waiting_hands_the_chat_off_instead_of_hanging() -> None:
    flow = small_flow("""
      inicio:
        ir_a: otra_vez
      otra_vez:
        ir_a: inicio
    """)

    result = start(flow, world(number_of="banco"), NOW)

    assert result.outcome == HandedOff("banco", "number_written_to", outside_hours=False)
    assert result.steps[-1].kind is StepKind.SAFETY_HANDOFF
    assert result.state.state in flow.states


# --- inactivity ------------------------------------------------------------------------------

def test_a_customer_silent_longer_than_the_flow_allows_is_inactive() -> None:
    flow = default_flow()
    waiting = start(flow, world(), NOW)

    assert not is_inactive(waiting.state, NOW, NOW + timedelta(minutes=29), flow)
    assert is_inactive(waiting.state, NOW, NOW + timedelta(minutes=30), flow)


def test_a_chat_the_bot_already_handed_off_is_never_inactive_in_the_bot() -> None:
    flow = default_flow()
    handed_off = converse(flow, world(), "asesor")

    assert not is_inactive(handed_off.state, NOW, NOW + timedelta(days=2), flow)


def small_flow(states_yaml: str) -> Flow:
    """A flow around the given states (indented by 6 spaces), with a hand-off state `transferir`."""
    return parse_flow(f"""
nombre: prueba
version: 1
inicio: inicio
atajos:
  - si_dice: [asesor]
    ir_a: transferir
estados:
  transferir:
    decir: "Te comunico con un asesor"
    final: transferir
    fuera_de_horario: "Volvemos {{proxima_apertura}}"
{_dedent(states_yaml, 2)}
""")


def _dedent(text: str, indent: int) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    margin = min(len(line) - len(line.lstrip()) for line in lines)
    return "\n".join(" " * indent + line[margin:] for line in lines)
