"""docs/es/checklist-pruebas.md cannot drift: every case names tests that still exist (checked with `ast`)."""

from __future__ import annotations

from pathlib import Path

from tests.checklist import CHECKLIST, REQUIRED_MODULES, parse, problems

SMALL_MODULES = {"CAM": "campañas", "BOT": "bot", "RIE": "riesgo"}


def test_every_case_of_the_checklist_names_existing_tests_and_every_module_has_cases() -> None:
    cases = parse(CHECKLIST.read_text(encoding="utf-8"))

    assert problems(cases) == []
    assert {case.module for case in cases} >= set(REQUIRED_MODULES)


def test_the_check_names_the_case_and_the_test_that_is_missing(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_here.py").write_text(
        "import pytest\n\n"
        "@pytest.mark.parametrize('n', [1, 2])\n"
        "def test_present(n):\n    assert n\n\n"
        "class TestGroup:\n    def test_method(self):\n        assert True\n\n"
        "TestMachine = object()\n", encoding="utf-8")
    text = """
## Campañas (CAM)
| Id | Qué se verifica | Pruebas |
|---|---|---|
| CAM-01 | existe | `tests/test_here.py::test_present[1]`, `tests/test_here.py::TestGroup::test_method` |
| CAM-02 | renombrada | `tests/test_here.py::test_renamed` |
| CAM-02 | repetida | `tests/test_here.py::TestMachine::runTest` |
| CAM-03 | sin prueba | |
| BOT-01 | mal ubicada | `tests/gone.py::test_x` |
"""

    found = problems(parse(text), root=tmp_path, required=SMALL_MODULES)

    assert found == [
        "CAM-03 (línea 8): no nombra ninguna prueba",
        "CAM-02 (línea 6): la prueba `tests/test_here.py::test_renamed` no existe",
        "BOT-01 (línea 9): el archivo de prueba `tests/gone.py` no existe",
        "CAM-02: id repetido",
        "BOT-01 (línea 9): está bajo el módulo CAM, no BOT",
        "módulo BOT (bot) sin casos",
        "módulo RIE (riesgo) sin casos",
    ]


def test_a_well_formed_small_checklist_has_no_problem(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_here.py").write_text("def test_present():\n    assert True\n", encoding="utf-8")
    text = "## Bot (BOT)\n| BOT-01 | saluda | `tests/test_here.py::test_present` |\n"

    assert problems(parse(text), root=tmp_path, required={"BOT": "bot"}) == []
