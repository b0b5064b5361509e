"""Every refusal of the domain reaches users through the catalogue: each DomainError is raised with a literal
Spanish msgid (its values as `%(name)s` placeholders, never formatted in), and the English catalogue translates it,
so the English UI shows domain errors in English."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from api.templating import Pages
from domain.agents import Agent, AgentError
from domain.common import DomainError
from tests.unit.test_templating import english_catalogue

ROOT = Path(__file__).resolve().parents[2]
SOURCE_DIRS = ("domain", "application", "api", "adapters", "projections", "workers", "despacho")
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


@dataclass(frozen=True)
class Raise:
    where: str
    error: str
    message: ast.expr | None
    keywords: frozenset[str]


def parsed_sources() -> dict[str, ast.Module]:
    return {str(path.relative_to(ROOT)): ast.parse(path.read_text(encoding="utf-8"))
            for directory in SOURCE_DIRS for path in sorted((ROOT / directory).rglob("*.py"))}


def domain_error_classes(trees: dict[str, ast.Module]) -> set[str]:
    """DomainError and every class that derives from it, wherever it is defined."""
    bases = {node.name: {ast.unparse(base).split(".")[-1] for base in node.bases}
             for tree in trees.values() for node in ast.walk(tree) if isinstance(node, ast.ClassDef)}
    found = {"DomainError"}
    while new := {name for name, parents in bases.items() if name not in found and parents & found}:
        found |= new
    return found


def domain_error_raises() -> list[Raise]:
    trees = parsed_sources()
    errors = domain_error_classes(trees)
    raises = []
    for where, tree in trees.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
                name = ast.unparse(node.exc.func).split(".")[-1]
                if name in errors:
                    raises.append(Raise(f"{where}:{node.lineno}", name, node.exc.args[0] if node.exc.args else None,
                                        frozenset(k.arg for k in node.exc.keywords if k.arg)))
    return raises


RAISES = domain_error_raises()


def test_the_scan_finds_the_domain_errors() -> None:
    assert {"ChatError", "CampaignError", "NotCampaignMemberError", "UnknownAgentError"} <= {r.error for r in RAISES}
    assert len(RAISES) > 100


def test_every_domain_error_is_raised_with_a_literal_message() -> None:
    formatted = [f"{r.where} {r.error}({ast.unparse(r.message) if r.message else ''})" for r in RAISES
                 if not (isinstance(r.message, ast.Constant) and isinstance(r.message.value, str))]

    assert formatted == [], "pass values as keywords, e.g. ChatError('... %(name)s', name=name)"


def test_every_placeholder_of_a_domain_error_has_its_value_and_no_value_is_left_over() -> None:
    mismatched = [f"{r.where} {r.error}" for r in RAISES if isinstance(r.message, ast.Constant)
                  and set(PLACEHOLDER.findall(str(r.message.value))) != r.keywords]

    assert mismatched == []


def test_the_english_catalogue_translates_every_domain_error() -> None:
    english = english_catalogue()
    missing = sorted({str(r.message.value) for r in RAISES if isinstance(r.message, ast.Constant)} - english.keys())

    assert missing == [], f"add these domain errors to the English catalogue: {missing}"


def test_a_domain_error_reads_in_spanish_and_is_shown_in_the_users_language() -> None:
    pages = Pages()
    agent = Agent.register("ana", "Ana Asesora", "agent", 2, actor="user:admin", at=datetime.now(UTC))

    with pytest.raises(AgentError) as refused:
        agent.check_can_take("banco_a")

    assert str(refused.value) == "Ana Asesora no pertenece a la campaña del chat"
    assert pages.explain("es", refused.value) == "Ana Asesora no pertenece a la campaña del chat"
    assert pages.explain("en", refused.value) == "Ana Asesora is not a member of the chat's campaign"


def test_a_value_with_a_percent_sign_is_shown_as_written() -> None:
    error = DomainError("Ya existe un usuario '%(login)s'", login="100%(x)s")

    assert str(error) == "Ya existe un usuario '100%(x)s'"
    assert Pages().explain("en", error) == "A user '100%(x)s' already exists"
