"""`despacho flows check`: each kind of problem in a flow is found and pointed at its state."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from adapters.flow_files import FlowFileError, flow_to_yaml, parse_flow
from despacho.cli_flows import flows
from domain.flows import Flow, FlowProblem, check_flow

HEADER = """\
nombre: prueba
version: 1
inicio: inicio
estados:
"""
HAND_OFF = """
  transferir:
    decir: "Te comunico con un asesor"
    final: transferir
    fuera_de_horario: "Volvemos {proxima_apertura}"
"""


def flow_with(states: str) -> Flow:
    return parse_flow(HEADER + states + HAND_OFF)


def problems_of(states: str) -> list[FlowProblem]:
    return check_flow(flow_with(states))


def messages_for(state: str, problems: list[FlowProblem]) -> str:
    return "\n".join(problem.message for problem in problems if problem.state == state)


def test_a_sound_flow_has_no_problems() -> None:
    assert problems_of("""
  inicio:
    decir: "Hola"
    ir_a: transferir
""") == []


def test_finds_a_way_out_to_a_state_that_does_not_exist() -> None:
    problems = problems_of("""
  inicio:
    decir: "Elige"
    opciones:
      - texto: Pagos
        ir_a: pagos
      - texto: Asesor
        ir_a: transferir
    si_invalido: {decir: "Elige 1 o 2", intentos: 3, ir_a: transferir}
""")

    assert messages_for("inicio", problems) == "la opción 1 lleva a 'pagos', que no existe."


def test_finds_a_start_that_is_not_a_state() -> None:
    problems = check_flow(parse_flow(HEADER.replace("inicio: inicio", "inicio: bienvenida") + HAND_OFF))

    assert FlowProblem(None, "El inicio 'bienvenida' no es un estado del flujo.") in problems


def test_finds_states_nobody_can_reach() -> None:
    problems = problems_of("""
  inicio:
    decir: "Hola"
    ir_a: transferir
  olvidado:
    decir: "Nadie llega aquí"
    ir_a: transferir
""")

    assert "no se puede llegar a este estado" in messages_for("olvidado", problems)


def test_a_shortcut_makes_its_target_reachable() -> None:
    flow = parse_flow(HEADER.replace("estados:", "atajos:\n  - si_dice: [asesor]\n    ir_a: asesor\nestados:")
                      + """
  inicio:
    decir: "Hola"
    ir_a: transferir
  asesor:
    decir: "Ya te paso"
    ir_a: transferir
""" + HAND_OFF)

    assert check_flow(flow) == []


def test_finds_a_dead_end() -> None:
    problems = problems_of("""
  inicio:
    decir: "Hola, y nada más"
""")

    assert messages_for("inicio", problems).startswith("no tiene salida")


def test_finds_states_from_which_the_conversation_can_never_end() -> None:
    problems = problems_of("""
  inicio:
    decir: "Hola"
    ir_a: menu
  menu:
    decir: "Elige"
    opciones:
      - texto: Otra vez
        ir_a: inicio
    si_invalido: {decir: "Elige 1", intentos: 3, ir_a: inicio}
  sobra:
    ir_a: transferir
""")

    assert "nunca llega a transferir ni a cerrar" in messages_for("menu", problems)
    assert "nunca llega a transferir ni a cerrar" in messages_for("inicio", problems)


def test_finds_a_loop_that_never_waits_for_the_customer() -> None:
    problems = problems_of("""
  inicio:
    condiciones:
      - si: dato
        ir_a: transferir
    si_no: otra_vuelta
  otra_vuelta:
    ir_a: inicio
""")

    assert "ciclo que nunca espera al cliente: inicio → otra_vuelta → inicio" in messages_for("inicio", problems)


@pytest.mark.parametrize("waiting_state", [
    """
  inicio:
    decir: "Elige"
    opciones:
      - texto: Asesor
        ir_a: transferir
""", """
  inicio:
    decir: "¿Tu nombre?"
    respuesta: {guardar_en: nombre}
    ir_a: transferir
""", """
  inicio:
    decir: "¿Con cuál entidad?"
    opciones: campanas_encontradas
    ir_a: transferir
"""])
def test_finds_inputs_without_error_handling(waiting_state: str) -> None:
    problems = problems_of(waiting_state)

    assert "no tiene si_invalido" in messages_for("inicio", problems)


def test_finds_error_handling_that_never_says_what_is_expected() -> None:
    problems = problems_of("""
  inicio:
    decir: "¿Tu nombre?"
    respuesta: {guardar_en: nombre}
    ir_a: transferir
    si_invalido: {intentos: 3, ir_a: transferir}
""")

    assert "si_invalido necesita un mensaje" in messages_for("inicio", problems)


def test_finds_conditions_without_an_otherwise() -> None:
    problems = problems_of("""
  inicio:
    guardar: {segmento: mora}
    condiciones:
      - si: segmento = mora
        ir_a: transferir
""")

    assert "necesitan si_no" in messages_for("inicio", problems)


def test_finds_a_hand_off_that_says_nothing_outside_business_hours() -> None:
    problems = check_flow(parse_flow(HEADER + """
  inicio:
    decir: "Te paso con un asesor"
    final: transferir
"""))

    assert "falta fuera_de_horario" in messages_for("inicio", problems)


def test_finds_variables_nobody_saves() -> None:
    problems = problems_of("""
  inicio:
    decir: "Hola {nombre_cliente}, tu saldo es {saldo}"
    condiciones:
      - si: no segmento
        ir_a: transferir
    si_no: transferir
""")

    assert messages_for("inicio", problems).splitlines() == [
        "usa la variable 'nombre_cliente', pero ningún estado la guarda.",
        "usa la variable 'saldo', pero ningún estado la guarda.",
        "usa la variable 'segmento', pero ningún estado la guarda.",
    ]


def test_finds_identification_without_the_document_to_look_up() -> None:
    problems = problems_of("""
  inicio:
    accion: identificar_cliente
    si_encontrado: transferir
    si_varias_campanas: transferir
    si_no_encontrado: transferir
    si_se_agotan_intentos: transferir
""")

    assert "lee tipo_documento, numero_documento, pero ningún estado guarda" in messages_for("inicio", problems)


def test_finds_a_document_type_no_portfolio_can_hold() -> None:
    problems = problems_of("""
  inicio:
    decir: "Elige tu documento"
    opciones:
      - texto: Cédula
        guardar: {tipo_documento: cedula}
        ir_a: numero
      - texto: Licencia de conducción
        guardar: {tipo_documento: LC}
        ir_a: numero
    si_invalido: {decir: "Elige 1 o 2", intentos: 2, ir_a: transferir}
  numero:
    decir: "¿Número?"
    respuesta: {guardar_en: numero_documento, formato: documento}
    ir_a: identificar
    si_invalido: {decir: "Revisa el número", intentos: 2, ir_a: transferir}
  identificar:
    accion: identificar_cliente
    si_encontrado: transferir
    si_varias_campanas: transferir
    si_no_encontrado: transferir
    si_se_agotan_intentos: transferir
""")

    assert messages_for("inicio", problems) == (
        "guarda tipo_documento 'LC', que no es un tipo de documento de las carteras; "
        "use CC, CE, NIT, TI, RC, PA, PEP o PPT.")
    assert messages_for("numero", problems) == ""


def test_finds_a_pattern_that_is_not_a_valid_expression() -> None:
    problems = problems_of("""
  inicio:
    decir: "¿Fecha?"
    respuesta: {guardar_en: fecha, patron: "[0-9"}
    ir_a: transferir
    si_invalido: {decir: "Escribe la fecha", intentos: 2, ir_a: transferir}
""")

    assert "el patrón '[0-9' no es válido" in messages_for("inicio", problems)


def test_finds_length_bounds_that_no_answer_can_meet() -> None:
    problems = problems_of("""
  inicio:
    decir: "¿Cédula?"
    respuesta: {guardar_en: numero_documento, formato: digitos, min: 12, max: 5}
    ir_a: transferir
    si_invalido: {decir: "Solo números", intentos: 2, ir_a: transferir}
""")

    assert "min (12)" in messages_for("inicio", problems)


def test_finds_two_options_that_accept_the_same_answer() -> None:
    problems = problems_of("""
  inicio:
    decir: "Elige"
    opciones:
      - texto: Cédula de ciudadanía
        acepta: [cedula]
        ir_a: transferir
      - texto: Cédula
        ir_a: transferir
    si_invalido: {decir: "Elige 1 o 2", intentos: 3, ir_a: transferir}
""")

    assert "las opciones 1 y 2 aceptan la misma respuesta 'Cédula'" in messages_for("inicio", problems)


def test_finds_a_flow_overwriting_a_variable_the_bot_fills() -> None:
    problems = problems_of("""
  inicio:
    guardar: {campana: Otra}
    ir_a: transferir
""")

    assert "la variable 'campana' la llena el bot" in messages_for("inicio", problems)


# --- problems in the file itself ------------------------------------------------------------

def test_malformed_yaml_is_reported_in_spanish_with_its_line() -> None:
    with pytest.raises(FlowFileError) as raised:
        parse_flow(HEADER + "  inicio:\n    decir: Hola: bienvenido\n", "mi_flujo.yaml")

    assert raised.value.problems[0].startswith("mi_flujo.yaml, línea 6, columna 16: el YAML está mal escrito")


def test_a_state_written_twice_is_refused_instead_of_silently_replaced() -> None:
    with pytest.raises(FlowFileError) as raised:
        parse_flow(HEADER + "  inicio:\n    ir_a: transferir\n  inicio:\n    ir_a: otro\n" + HAND_OFF)

    assert "línea 7: 'inicio' está repetido (ya aparece en la línea 5)" in str(raised.value)


def test_a_misspelt_key_is_pointed_out_with_a_suggestion() -> None:
    with pytest.raises(FlowFileError) as raised:
        parse_flow(HEADER + "  inicio:\n    decri: Hola\n    ir_a: transferir\n" + HAND_OFF)

    assert raised.value.problems == ["línea 5, estado 'inicio': 'decri' no sirve en este estado; claves posibles: "
                                     "decir, guardar, atajos, ir_a. ¿Quiso decir 'decir'?"]


def test_a_state_doing_two_things_is_refused() -> None:
    with pytest.raises(FlowFileError) as raised:
        parse_flow(HEADER + "  inicio:\n    respuesta: {guardar_en: x}\n    final: cerrar\n")

    assert "mezcla final y respuesta" in str(raised.value)


def test_every_shape_problem_of_a_file_is_reported_at_once() -> None:
    with pytest.raises(FlowFileError) as raised:
        parse_flow("nombre: x\nversion: uno\nestados:\n  a:\n    final: volar\n  b:\n    ir_a: [a]\n")

    assert len(raised.value.problems) == 4  # version, final, ir_a, missing inicio


def test_yes_and_no_stay_texts_so_an_option_can_be_called_no() -> None:
    flow = flow_with("""
  inicio:
    decir: "¿Algo más?"
    opciones:
      - texto: Sí
        ir_a: transferir
      - texto: No
        ir_a: transferir
    si_invalido: {decir: "1 o 2", intentos: 2, ir_a: transferir}
""")

    menu = flow.states["inicio"].step
    assert [option.text for option in menu.options] == ["Sí", "No"]  # type: ignore[union-attr]


def test_a_flow_written_back_to_yaml_reads_the_same() -> None:
    from adapters.flow_files import SHIPPED_FLOWS_DIR, read_flow

    for path in sorted(SHIPPED_FLOWS_DIR.glob("*.yaml")):
        flow = read_flow(path)
        assert parse_flow(flow_to_yaml(flow)) == flow


# --- the command ------------------------------------------------------------------------------

def test_check_command_passes_every_shipped_flow() -> None:
    result = CliRunner().invoke(flows, ["check"])

    assert result.exit_code == 0, result.output
    assert "flows/default.yaml: sin problemas" in result.output


def test_check_command_prints_each_problem_with_file_line_and_state_and_fails(tmp_path: Path) -> None:
    broken = tmp_path / "roto.yaml"
    broken.write_text(HEADER + "  inicio:\n    decir: Hola\n    ir_a: pagos\n" + HAND_OFF, encoding="utf-8")

    result = CliRunner().invoke(flows, ["check", str(broken)])

    assert result.exit_code == 1
    assert ":5: estado 'inicio': ir_a lleva a 'pagos', que no existe." in result.output
    assert "2 problema(s) en 1 archivo(s) de flujo." in result.output  # and 'transferir' is now unreachable


def test_check_command_refuses_two_files_with_the_same_flow_version(tmp_path: Path) -> None:
    for name in ("uno.yaml", "dos.yaml"):
        (tmp_path / name).write_text(HEADER + "  inicio:\n    decir: Hola\n    ir_a: transferir\n" + HAND_OFF,
                                     encoding="utf-8")

    result = CliRunner().invoke(flows, ["check", str(tmp_path)])

    assert result.exit_code == 1
    assert "Hay dos archivos con el flujo 'prueba' versión 1." in result.output
