"""The admin menu's "Flujos": every flow with its versions, the campaigns using each, and what `despacho flows check`
finds in the files (the same messages, file, line and state)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from adapters.flow_files import SHIPPED_FLOWS_DIR
from api.navigation import NAV_BY_ROLE
from despacho.bootstrap import Despacho
from despacho.cli_flows import flows
from despacho.settings import Settings
from tests.e2e.admin_support import client_fixture, despacho_fixture, log_in, staff_fixture  # noqa: F401
from tests.e2e.test_pages_name_codes_in_spanish import visible_text

BROKEN_V3 = """\
nombre: default
version: 3
inicio: inicio
estados:
  inicio:
    decir: Hola
    ir_a: pagos
  transferir:
    decir: "Te comunico con un asesor"
    final: transferir
    fuera_de_horario: "Volvemos {proxima_apertura}"
"""


@pytest.fixture
def sqlite_settings(tmp_path: Path) -> Settings:
    """Despacho running the shipped flows from a folder of its own, which the tests then edit."""
    flows_dir = tmp_path / "flows"
    shutil.copytree(SHIPPED_FLOWS_DIR, flows_dir, ignore=shutil.ignore_patterns("tests"))
    return Settings(var_dir=tmp_path / "var", flows_dir=flows_dir)


def flows_page(client: TestClient) -> str:
    page = client.get("/admin/flows")
    assert page.status_code == 200
    return " ".join(visible_text(page.text).split())


def test_the_admin_menus_flows_item_leads_to_the_flows_page(client: TestClient, staff: SimpleNamespace) -> None:
    log_in(client, "admin")
    [item] = [i for i in NAV_BY_ROLE["admin"] if i.label == "Flujos"]

    page = client.get(item.url)

    assert page.status_code == 200
    assert "Flujos del bot" in page.text


def test_each_flow_shows_its_versions_and_the_campaigns_using_it(client: TestClient, despacho: Despacho,
                                                                  staff: SimpleNamespace) -> None:
    despacho.campaigns.register("pagos_c", "Pagos C", "Pagos C", {"flow_name": "autoservicio_pagos"},
                                actor="system:test")
    despacho.runner.catch_up()
    log_in(client, "admin")

    html = client.get("/admin/flows").text
    text = flows_page(client)

    rows = {name: " ".join(visible_text(row).split())
            for name, row in re.findall(r'<td data-flow="([^"]+)">(.*?)</tr>', html, re.S)}
    assert set(rows) == {"default", "autoservicio_pagos"}
    assert "Banco A" in rows["default"] and "Telco B" in rows["default"] and "Pagos C" not in rows["default"]
    assert "Pagos C" in rows["autoservicio_pagos"] and "Banco A" not in rows["autoservicio_pagos"]
    assert "Versión 2" in rows["default"] and "11 estados" in rows["default"]
    assert "2 archivo(s) de flujo revisados, ninguno con problemas." in text


def test_the_page_shows_what_flows_check_finds_in_a_new_version(client: TestClient, despacho: Despacho,
                                                               staff: SimpleNamespace) -> None:
    broken = despacho.settings.flows_dir / "default_v3.yaml"
    broken.write_text(BROKEN_V3, encoding="utf-8")
    log_in(client, "admin")
    checked = CliRunner().invoke(flows, ["check", str(despacho.settings.flows_dir)])

    text = flows_page(client)

    assert checked.exit_code == 1
    cli_problems = [line for line in checked.output.splitlines() if "estado '" in line]
    assert cli_problems and all(problem in text for problem in cli_problems), "the same messages as the command"
    assert "2 problema(s) en 3 archivo(s) de flujo." in text
    assert "Versión 2" in text and "Versión 3" in text


def test_a_campaign_naming_a_missing_flow_is_pointed_out(client: TestClient, despacho: Despacho,
                                                         staff: SimpleNamespace) -> None:
    """Campaigns may only name a flow that exists, but its file can be removed afterwards."""
    despacho.campaigns.register("seguros_d", "Seguros D", "Seguros D", {"flow_name": "autoservicio_pagos"},
                                actor="system:test")
    despacho.runner.catch_up()
    (despacho.settings.flows_dir / "autoservicio_pagos.yaml").unlink()
    log_in(client, "admin")

    text = flows_page(client)

    assert "Campañas con un flujo que no existe" in text and "Seguros D → autoservicio_pagos" in text


def test_only_admins_see_the_flows_page(client: TestClient, staff: SimpleNamespace) -> None:
    log_in(client, "supervisora")

    assert client.get("/admin/flows").status_code == 403


def test_the_flows_page_speaks_english_to_an_admin_who_chose_it(client: TestClient, staff: SimpleNamespace) -> None:
    log_in(client, "admin")
    client.cookies.set("lang", "en")

    text = flows_page(client)

    assert "Bot flows" in text and "Version 2" in text and "11 states" in text and "used by new chats" in text


def with_the_shipped_tests(despacho: Despacho) -> Path:
    tests_dir = despacho.settings.flows_dir / "tests"
    shutil.copytree(SHIPPED_FLOWS_DIR / "tests", tests_dir)
    return tests_dir


def test_each_flow_shows_its_test_conversations_as_flows_test_runs_them(client: TestClient, despacho: Despacho,
                                                                       staff: SimpleNamespace) -> None:
    tests_dir = with_the_shipped_tests(despacho)
    log_in(client, "admin")
    ran = CliRunner().invoke(flows, ["test", str(tests_dir)])
    scenarios = {line.split(": ", 1)[1] for line in ran.output.splitlines() if line.startswith("  bien: ")}

    html = client.get("/admin/flows").text

    assert ran.exit_code == 0
    cells = {name: " ".join(visible_text(cell).split())
             for name, cell in re.findall(r'<td data-flow-tests="([^"]+)">(.*?)</td>\s*</tr>', html, re.S)}
    assert set(cells) == {"default", "autoservicio_pagos"}
    passed = re.findall(r'data-scenario-passed="true">.*?: (.*?)\s*</li>', html, re.S)
    assert {" ".join(name.split()) for name in passed} == scenarios, "the same scenarios the command runs"
    assert "Falla" not in " ".join(cells.values())
    assert all(re.search(r"(\d+) de \1 pasan", cell) for cell in cells.values())


def test_a_failing_test_conversation_shows_why_as_the_command_says_it(client: TestClient, despacho: Despacho,
                                                                      staff: SimpleNamespace) -> None:
    tests_dir = with_the_shipped_tests(despacho)
    scenario = tests_dir / "default.yaml"
    scenario.write_text(scenario.read_text(encoding="utf-8").replace(
        "bot: [Escribe tu número de documento]", "bot: [Escribe tu número de pasaporte]", 1), encoding="utf-8")
    log_in(client, "admin")
    ran = CliRunner().invoke(flows, ["test", str(tests_dir)])
    [why] = [line.strip() for line in ran.output.splitlines() if line.startswith("      ")]

    cell = re.search(r'<td data-flow-tests="default">(.*?)</td>\s*</tr>', client.get("/admin/flows").text, re.S)

    assert ran.exit_code == 1
    assert cell is not None
    text = " ".join(visible_text(cell.group(1)).split())
    assert "1 de " in text and "fallan" in text and "Falla" in text
    assert " ".join(why.split()) in text, "the same failure the command prints"
