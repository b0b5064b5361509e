"""Operators configure Despacho only by environment variables, so the README names every one of them."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices

from despacho.settings import Settings

README = Path(__file__).resolve().parents[2] / "README.md"


def environment_names() -> list[str]:
    names = []
    for field_name, field in Settings.model_fields.items():
        alias = field.validation_alias
        names.append(str(alias.choices[0]) if isinstance(alias, AliasChoices) else f"DESPACHO_{field_name.upper()}")
    return names


def test_every_setting_is_documented_in_the_readme() -> None:
    readme = README.read_text()

    assert [name for name in environment_names() if f"`{name}`" not in readme] == []


def test_the_production_section_says_where_twilio_must_call() -> None:
    readme = README.read_text()

    assert "/webhooks/twilio/messages" in readme and "/webhooks/twilio/status" in readme
    assert "--require-hashes" in readme, "operators install from the lock, without make"
