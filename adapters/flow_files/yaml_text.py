"""YAML as operations staff write it, read safely, with Spanish errors that give the line.

Two deliberate departures from PyYAML's defaults (YAML 1.1): only `true`/`false` are booleans,
so an option written `texto: No` stays the text "No"; and a key written twice in the same
mapping (two states with one name) is an error instead of the last one silently winning.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node

BOOLEAN_TAG = "tag:yaml.org,2002:bool"
INTEGER_TAG = "tag:yaml.org,2002:int"
_HINT = ("Revise la sangría (siempre con espacios, nunca con tabuladores) y ponga entre comillas dobles "
         "los textos con signos como : # ? ¿ [ ] { } o comas dentro de una lista.")


class FlowFileError(ValueError):
    """A flow or test file cannot be read; each problem is a Spanish sentence with its place."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


# libyaml's parser when installed (about ten times faster); the pure-Python one otherwise.
_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _StrictLoader(_BaseLoader):  # type: ignore[valid-type, misc]
    source = ""

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        first_line: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if isinstance(key, str | int) and key in first_line:
                raise FlowFileError([f"{self.source}línea {line}: '{key}' está repetido "
                                     f"(ya aparece en la línea {first_line[key]})."])
            if isinstance(key, str | int):
                first_line[key] = line
        mapping: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        return mapping


_StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in (BOOLEAN_TAG, INTEGER_TAG)]
    for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
}
_StrictLoader.add_implicit_resolver(BOOLEAN_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                                    list("tTfF"))
# Plain decimal integers only: YAML 1.1 would read `8:00` as 480 (base 60) and `010` as octal.
_StrictLoader.add_implicit_resolver(INTEGER_TAG, re.compile(r"^[-+]?(?:0|[1-9][0-9_]*)$"),
                                    list("-+0123456789"))


def load_yaml(text: str, source: str = "") -> Any:
    """The document as plain data; `source` (a file name) prefixes every error."""
    prefix = f"{source}, " if source else ""
    loader = _StrictLoader(text)
    loader.source = prefix
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        place = f"línea {mark.line + 1}, columna {mark.column + 1}" if mark else "posición desconocida"
        raise FlowFileError([f"{prefix}{place}: {_in_spanish(exc.problem or '')}. {_HINT}"]) from exc
    except yaml.YAMLError as exc:
        raise FlowFileError([f"{prefix}el YAML está mal escrito ({exc}). {_HINT}"]) from exc
    finally:
        loader.dispose()


_PROBLEMS_IN_SPANISH = (
    ("mapping values are not allowed", "hay ':' donde no se esperaba (¿un texto con ':' sin comillas?)"),
    ("cannot start any token", "hay un carácter que no puede ir ahí (¿un tabulador, o un texto que empieza "
                               "con un signo y no tiene comillas?)"),
    ("expected ',' or ']'", "una lista entre [ ] está mal cerrada o tiene un texto con signos sin comillas"),
    ("expected ',' or '}'", "unas llaves { } están mal cerradas o tienen un texto con signos sin comillas"),
    ("could not find expected ':'", "falta ':' después de una clave, o unas comillas no se cerraron"),
    ("found unexpected end of stream", "el archivo se acaba antes de tiempo (¿comillas sin cerrar?)"),
    ("expected <block end>", "la sangría de esta línea no cuadra con la de las anteriores"),
    ("did not find expected key", "la sangría de esta línea no cuadra con la de las anteriores"),
    ("did not find expected '-' indicator", "un elemento de la lista no empieza con '- ' o está mal sangrado"),
)


def _in_spanish(problem: str) -> str:
    for english, spanish in _PROBLEMS_IN_SPANISH:
        if english in problem:
            return f"el YAML está mal escrito: {spanish}"
    return f"el YAML está mal escrito (detalle técnico: {problem})"


def dump_yaml(data: Any) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, default_flow_style=False, width=100)


@dataclass(frozen=True)
class FlowLines:
    """Where things are written in a flow file, so messages can say 'línea 12'."""

    header: dict[str, int] = field(default_factory=dict)
    states: dict[str, int] = field(default_factory=dict)

    def of_state(self, state: str | None) -> int | None:
        return self.states.get(state) if state else None


def flow_lines(text: str) -> FlowLines:
    """Line numbers of the top-level keys and of each state; empty when the YAML cannot be read."""
    try:
        root = yaml.compose(text, Loader=_BaseLoader)
    except yaml.YAMLError:
        return FlowLines()
    header = _key_lines(root)
    states_node = _value_of(root, "estados")
    return FlowLines(header, _key_lines(states_node) if states_node is not None else {})


def _key_lines(node: Node | None) -> dict[str, int]:
    if not isinstance(node, MappingNode):
        return {}
    return {str(key.value): key.start_mark.line + 1 for key, _ in node.value}


def _value_of(node: Node | None, key: str) -> Node | None:
    if isinstance(node, MappingNode):
        for key_node, value_node in node.value:
            if key_node.value == key:
                found: Node = value_node
                return found
    return None
