"""Pages are Spanish (Colombia) whatever the browser says; a user who chooses English keeps it on any browser."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from adapters.clock import FixedClock
from api.app import create_app
from despacho.bootstrap import Despacho, build
from despacho.settings import Settings
from domain.agents import Agent
from tests.e2e.test_api_auth import PASSWORD, QUICK_PASSWORDS, log_in, page_csrf_token

CHROMIUM_DEFAULT = {"Accept-Language": "en-US,en;q=0.9"}


@pytest.fixture
def despacho(sqlite_settings: Settings, clock: FixedClock) -> Iterator[Despacho]:
    built = build(sqlite_settings, clock=clock, passwords=QUICK_PASSWORDS)
    yield built
    built.close()


@pytest.fixture
def staff(despacho: Despacho) -> SimpleNamespace:
    def user(login: str, name: str, role: str) -> str:
        return str(despacho.staff.register(login, name, role, password=PASSWORD, actor="system:test"))

    return SimpleNamespace(agent=user("ana", "Ana Asesora", "agent"),
                           supervisor=user("supervisora", "Sandra Supervisora", "supervisor"),
                           admin=user("admin", "Administración", "admin"))


def a_browser(despacho: Despacho) -> TestClient:
    """A fresh browser with no cookies that, like Chromium out of the box, prefers English."""
    return TestClient(create_app(despacho), follow_redirects=False, headers=CHROMIUM_DEFAULT)


def choose(browser: TestClient, language: str, page: str = "/") -> Any:
    token = page_csrf_token(browser.get(page, follow_redirects=True).text)
    return browser.post("/preferences/language", data={"lang": language, "next": page, "csrf_token": token})


def test_an_english_browser_gets_the_spanish_login_page(despacho: Despacho) -> None:
    page = a_browser(despacho).get("/login")

    assert page.headers["content-language"] == "es"
    assert "Iniciar sesión" in page.text and "Sign in" not in page.text


def test_an_english_browser_signed_in_gets_spanish_pages(despacho: Despacho, staff: SimpleNamespace) -> None:
    browser = a_browser(despacho)
    assert log_in(browser, "supervisora").status_code == 303

    page = browser.get("/")

    assert page.headers["content-language"] == "es"
    assert "Cerrar sesión" in page.text


def test_a_users_choice_of_english_follows_them_to_another_browser(despacho: Despacho,
                                                                  staff: SimpleNamespace) -> None:
    first = a_browser(despacho)
    assert log_in(first, "ana").status_code == 303
    assert choose(first, "en").status_code == 303
    assert first.get("/", follow_redirects=True).headers["content-language"] == "en"

    second = a_browser(despacho)
    assert log_in(second, "ana").status_code == 303
    page = second.get("/", follow_redirects=True)

    assert page.headers["content-language"] == "en"
    assert "Sign out" in page.text
    chosen = [e for e in despacho.store.events.get(UUID(staff.agent)) if isinstance(e, Agent.LanguageChosen)]
    assert [(e.language, e.actor) for e in chosen] == [("en", f"user:{staff.agent}")]


def test_choosing_spanish_again_is_remembered_over_this_browsers_english(despacho: Despacho,
                                                                        staff: SimpleNamespace) -> None:
    browser = a_browser(despacho)
    assert choose(browser, "en", "/login").status_code == 303
    assert log_in(browser, "ana").status_code == 303
    choose(browser, "es")
    browser.cookies.set("lang", "en")
    page = browser.get("/", follow_redirects=True)

    assert page.headers["content-language"] == "es", "the account's choice wins over the cookie"


def test_an_anonymous_visitors_choice_is_kept_by_this_browser_only(despacho: Despacho) -> None:
    browser = a_browser(despacho)
    token = page_csrf_token(browser.get("/login").text)

    browser.post("/preferences/language", data={"lang": "en", "next": "/login", "csrf_token": token})

    assert "Sign in" in browser.get("/login").text
    assert "Iniciar sesión" in a_browser(despacho).get("/login").text


def test_a_domain_refusal_is_shown_in_the_language_the_user_chose(despacho: Despacho, staff: SimpleNamespace) -> None:
    browser = a_browser(despacho)
    assert log_in(browser, "admin").status_code == 303
    new_user = {"login": "bruno", "name": "Bruno", "role": "agent", "capacity": "3", "password": "corta"}

    token = page_csrf_token(browser.get("/admin/agents/new").text)
    spanish = browser.post("/admin/agents", data={**new_user, "csrf_token": token})
    choose(browser, "en", "/admin/agents/new")
    english = browser.post("/admin/agents", data={**new_user, "csrf_token": token})

    assert spanish.status_code == english.status_code == 422
    assert "La contraseña debe tener al menos 10 caracteres" in spanish.text
    assert "The password must have at least 10 characters" in english.text
