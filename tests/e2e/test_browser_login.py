"""Each demo user signs in with a real browser, lands on their role's page and signs out.

Checks content, not looks: it passes whether or not the vendor CSS has been built.
"""

from __future__ import annotations

from typing import Any

import pytest

from api.navigation import NAV_BY_ROLE
from despacho.demo import DEMO_PASSWORD, USERS
from tests.e2e.conftest import LiveServer

pytestmark = pytest.mark.browser

DEMO_NAMES = {login: (name, role) for login, name, role, _ in USERS}


def sign_in(page: Any, live_server: LiveServer, login: str) -> None:
    page.goto(live_server.url("/login"))
    page.fill("#field-login", login)
    page.fill("#field-password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("nav.mainnav")


def navigation_labels(page: Any) -> list[str]:
    return [label.strip() for label in page.locator("nav.mainnav a").all_inner_texts()]


@pytest.mark.parametrize("login", ["admin", "supervisora", "ana", "auditor"])
def test_each_role_lands_on_its_own_navigation_and_signs_out(browser_page: Any, live_server: LiveServer,
                                                             login: str) -> None:
    name, role = DEMO_NAMES[login]

    sign_in(browser_page, live_server, login)

    assert navigation_labels(browser_page) == [item.label for item in NAV_BY_ROLE[role]]
    assert browser_page.locator(".user-menu .user-name").inner_text().strip() == name
    assert browser_page.locator("html").get_attribute("lang") == "es"

    browser_page.click(".user-menu summary")
    browser_page.click("text=Cerrar sesión")
    browser_page.wait_for_url("**/login")
    assert browser_page.locator("h1").inner_text().strip() == "Iniciar sesión"
    browser_page.goto(live_server.url("/"))
    assert "/login" in browser_page.url
    assert browser_page.locator("nav.mainnav").count() == 0



def test_a_chromium_left_in_english_still_gets_spanish_until_the_user_chooses(browser: Any,
                                                                              live_server: LiveServer) -> None:
    context = browser.new_context(locale="en-US", timezone_id="America/Bogota")
    try:
        page = context.new_page()
        sign_in(page, live_server, "auditor")
        assert page.locator("html").get_attribute("lang") == "es"

        page.click("button[name=lang][value=en]")
        page.wait_for_selector("html[lang=en]")
        assert "Events" in navigation_labels(page)
        page.click("button[name=lang][value=es]")  # the demo auditor is shared by this module's tests
        page.wait_for_selector("html[lang=es]")
    finally:
        context.close()
