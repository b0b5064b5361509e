"""The small condition language of flows, written by operations staff.

    campana_del_numero            the variable has a value
    no campana_del_numero         the variable is empty or was never set
    tipo_documento = PA           equal, ignoring case, accents and extra spaces
    tipo_documento != PA          different

`dentro_de_horario` is computed by the interpreter when a condition asks for it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from domain.common import DomainError
from domain.flows.text import VARIABLE_NAME, fold

Operator = Literal["has_value", "is_empty", "equals", "differs"]

_PRESENCE = re.compile(rf"^(no\s+)?({VARIABLE_NAME})$")
_COMPARISON = re.compile(rf"^({VARIABLE_NAME})\s*(!=|=)\s*(.+)$")


class ConditionSyntaxError(DomainError):
    pass


@dataclass(frozen=True)
class Condition:
    text: str
    variable: str
    operator: Operator
    value: str = ""

    def holds(self, variables: Mapping[str, str]) -> bool:
        actual = variables.get(self.variable, "")
        match self.operator:
            case "has_value":
                return bool(actual.strip())
            case "is_empty":
                return not actual.strip()
            case "equals":
                return fold(actual) == fold(self.value)
            case _:
                return fold(actual) != fold(self.value)


def parse_condition(text: str) -> Condition:
    written = " ".join(str(text).split())
    if presence := _PRESENCE.match(written):
        operator: Operator = "is_empty" if presence.group(1) else "has_value"
        return Condition(written, presence.group(2), operator)
    if comparison := _COMPARISON.match(written):
        value = comparison.group(3).strip().strip("\"'")
        operator = "equals" if comparison.group(2) == "=" else "differs"
        return Condition(written, comparison.group(1), operator, value)
    raise ConditionSyntaxError(
        "No entiendo la condición '%(condition)s'. Use 'variable', 'no variable', "
        "'variable = valor' o 'variable != valor' (nombres en minúsculas, sin tildes ni espacios).",
        condition=written,
    )
