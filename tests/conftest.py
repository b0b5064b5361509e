"""Fixtures shared by every test: settings per backend, a built Despacho, a fixed clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import settings

from adapters.clock import FixedClock
from despacho.bootstrap import Despacho, build
from despacho.settings import Settings
from tests.services import fresh_postgres_database

# No per-example deadline: a deadline is a timed assertion, and CI's two busy cores would fail correct rules.
settings.register_profile("despacho", deadline=None)
settings.load_profile("despacho")

pytest_plugins = ["tests.route_record"]  # `--record-routes=PATH`: which test calls which route

START = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)  # a Monday, 09:00 in Bogotá
CLOSING_TEMPLATE_SID = "HX" + "c" * 32  # a WhatsApp campaign must hold its approved closing template
WITH_CLOSING_TEMPLATE = {"closing_template_sid": CLOSING_TEMPLATE_SID}


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each test runs once on a SQLite file and once on its own PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'despacho.sqlite'}"
        return
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture
def sqlite_settings(tmp_path: Path) -> Settings:
    return Settings(var_dir=tmp_path / "var")


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(var_dir=tmp_path / "var", database_url=database_url)


@pytest.fixture
def despacho(settings: Settings, clock: FixedClock) -> Iterator[Despacho]:
    built = build(settings, clock=clock)
    yield built
    built.close()


@pytest.fixture
def sqlite_despacho(sqlite_settings: Settings, clock: FixedClock) -> Iterator[Despacho]:
    built = build(sqlite_settings, clock=clock)
    yield built
    built.close()
