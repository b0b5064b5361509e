"""The page shell: layout, navigation per role, login, flashes, dashboard, errors, translations."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from babel.messages.extract import extract
from babel.messages.pofile import read_po
from jinja2.exceptions import UndefinedError
from jinja2.ext import babel_extract

import api
from api.navigation import NAV_BY_ROLE, ROLE_LABELS
from api.routers.metric_targets_form import target_rows
from api.routers.risk_form import risk_rows
from api.templating import Pages, choose_language, format_duration
from despacho.assets import ICONS
from domain import labels
from domain.dispositions import DEFAULT_DISPOSITIONS

API_DIR = Path(api.__file__).resolve().parent
TEMPLATES_DIR = API_DIR / "templates"
STATIC_DIR = API_DIR / "static"
ENGLISH_CATALOGUE = API_DIR / "locale" / "en" / "LC_MESSAGES" / "messages.po"

ROLES = ("admin", "supervisor", "agent", "auditor")
PAGES = ("base.html", "login.html", "dashboard.html", "errors/403.html", "errors/404.html", "errors/500.html")
PAGE_CONTEXT: dict[str, object] = {"cards": [], "error": None, "message": "Referencia 7f3a"}


@dataclass
class FakeUser:
    role: str
    id: int = 7
    login: str = "mflopez"
    name: str = "María Fernanda López"


@dataclass
class FakeRequest:
    """What Pages reads from a Starlette request: `.state` (set by the lead's middleware) and `.url`."""

    user: FakeUser | None = None
    lang: str = "es"
    path: str = "/"
    flashes: list[tuple[str, str]] = field(default_factory=list)
    csrf_token: str = "csrf-abc123"

    def __post_init__(self) -> None:
        self.state = SimpleNamespace(user=self.user, lang=self.lang, flashes=self.flashes, csrf_token=self.csrf_token)
        self.url = SimpleNamespace(path=self.path)


@pytest.fixture(scope="module")
def pages() -> Pages:
    return Pages(asset_version="v42")


def render(pages: Pages, template: str, request: FakeRequest, **context: object) -> str:
    return pages.render(request, template, {**PAGE_CONTEXT, **context}).body.decode()  # type: ignore[arg-type]


def nav_links(html: str) -> list[str]:
    nav = re.search(r'<nav class="mainnav".*?</nav>', html, re.S)
    return re.findall(r'<a href="([^"]+)"', nav.group(0)) if nav else []


# ---- every page, every role, both languages ----


@pytest.mark.parametrize("lang", ["es", "en"])
@pytest.mark.parametrize("role", [*ROLES, None])
@pytest.mark.parametrize("template", PAGES)
def test_every_page_renders_for_every_role_in_both_languages(
    pages: Pages, template: str, role: str | None, lang: str
) -> None:
    user = FakeUser(role) if role else None
    response = pages.render(FakeRequest(user, lang=lang), template, PAGE_CONTEXT)  # type: ignore[arg-type]

    html = response.body.decode()
    assert response.status_code == 200
    assert response.headers["content-language"] == lang
    assert f'<html lang="{lang}"' in html
    assert '<meta name="csrf-token" content="csrf-abc123">' in html


def test_render_passes_the_status_code(pages: Pages) -> None:
    response = pages.render(FakeRequest(), "errors/404.html", status_code=404)  # type: ignore[arg-type]

    assert response.status_code == 404
    assert "No encontramos esta página" in response.body.decode()


# ---- navigation ----

EXPECTED_NAV = {
    "admin": [
        "/",
        "/admin/campaigns",
        "/admin/agents",
        "/admin/portfolios",
        "/admin/flows",
        "/search",
        "/audit/messages",
        "/audit/events",
        "/audit/as-of",
        "/attendance",
        "/risk",
        "/broadcasts",
    ],
    "supervisor": ["/", "/supervisor/queue", "/supervisor/agents", "/alerts", "/search", "/audit/messages",
                   "/attendance", "/risk", "/broadcasts"],
    "agent": ["/desk", "/mi-dia", "/alerts", "/search"],
    "auditor": ["/", "/search", "/audit/events", "/audit/as-of", "/audit/messages", "/attendance", "/risk",
                "/broadcasts"],
}


@pytest.mark.parametrize("role", ROLES)
def test_navigation_shows_exactly_the_links_of_the_role(pages: Pages, role: str) -> None:
    html = render(pages, "dashboard.html", FakeRequest(FakeUser(role)))

    assert nav_links(html) == EXPECTED_NAV[role]


def test_navigation_and_role_are_in_english_when_the_user_chose_english(pages: Pages) -> None:
    html = render(pages, "dashboard.html", FakeRequest(FakeUser("admin"), lang="en"))

    for label in ("Home", "Campaigns", "Agents", "Portfolios", "Flows", "Message audit", "Events", "Administrator"):
        assert label in html
    assert "Campañas" not in html


def test_user_menu_shows_name_and_spanish_role(pages: Pages) -> None:
    html = render(pages, "dashboard.html", FakeRequest(FakeUser("supervisor", name="Juan Pablo Restrepo")))

    assert "Juan Pablo Restrepo" in html
    assert '<span class="user-role">Supervisor</span>' in html


def test_anonymous_visitors_get_no_navigation_and_a_sign_in_link(pages: Pages) -> None:
    html = render(pages, "errors/404.html", FakeRequest())

    assert nav_links(html) == []
    assert 'href="/login"' in html
    assert 'action="/logout"' not in html


def test_current_section_is_marked_even_on_its_subpages(pages: Pages) -> None:
    html = render(pages, "base.html", FakeRequest(FakeUser("admin"), path="/admin/campaigns/42/edit"))

    current = re.findall(r'<a href="([^"]+)"[^>]*aria-current="page"', html)
    assert current == ["/admin/campaigns"]


def test_logout_and_language_switch_post_with_the_csrf_token(pages: Pages) -> None:
    html = render(pages, "dashboard.html", FakeRequest(FakeUser("agent"), path="/desk"))

    for action in ("/logout", "/preferences/language"):
        form = re.search(rf'<form[^>]*method="post" action="{action}">(.*?)</form>', html, re.S)
        assert form is not None
        assert '<input type="hidden" name="csrf_token" value="csrf-abc123">' in form.group(1)
    assert '<input type="hidden" name="next" value="/desk">' in html
    assert 'name="lang" value="en"' in html


# ---- login ----


def test_login_page_posts_credentials_with_csrf_and_has_no_navigation(pages: Pages) -> None:
    html = render(pages, "login.html", FakeRequest(), next="/supervisor/queue")

    form = re.search(r'<form method="post" action="/login".*?</form>', html, re.S)
    assert form is not None
    assert 'name="login"' in form.group(0)
    assert 'name="password" type="password"' in form.group(0)
    assert '<input type="hidden" name="csrf_token" value="csrf-abc123">' in form.group(0)
    assert '<input type="hidden" name="next" value="/supervisor/queue">' in form.group(0)
    assert nav_links(html) == []


def test_login_page_shows_the_error_as_an_alert_and_keeps_the_username(pages: Pages) -> None:
    html = render(pages, "login.html", FakeRequest(), error="Usuario o contraseña incorrectos.", login="mflopez")

    assert re.search(r'role="alert"[^>]*>.*Usuario o contraseña incorrectos\.', html, re.S)
    assert 'value="mflopez"' in html
    assert 'aria-invalid="true"' in html


def test_login_page_speaks_english(pages: Pages) -> None:
    html = render(pages, "login.html", FakeRequest(lang="en"))

    assert "Sign in" in html
    assert "Password" in html


# ---- escaping customer-controlled text ----

SCRIPT = "<script>alert('x')</script>"
ESCAPED_SCRIPT = "&lt;script&gt;"


def test_flash_messages_are_escaped_and_announced(pages: Pages) -> None:
    request = FakeRequest(FakeUser("admin"), flashes=[("error", SCRIPT), ("success", "Campaña creada")])
    html = render(pages, "dashboard.html", request)

    assert SCRIPT not in html
    assert ESCAPED_SCRIPT in html
    assert 'aria-live="polite"' in html
    assert 'class="flash flash-error" role="alert"' in html
    assert "Campaña creada" in html


def test_user_names_are_escaped(pages: Pages) -> None:
    html = render(pages, "dashboard.html", FakeRequest(FakeUser("agent", name=SCRIPT)))

    assert SCRIPT not in html
    assert ESCAPED_SCRIPT in html


@pytest.mark.parametrize(
    ("template", "context"),
    [
        ("dashboard.html", {"cards": [{"title": SCRIPT, "value": SCRIPT, "hint": SCRIPT, "url": "/x"}]}),
        ("login.html", {"error": SCRIPT, "login": SCRIPT}),
        ("errors/500.html", {"message": SCRIPT}),
    ],
)
def test_page_content_is_escaped(pages: Pages, template: str, context: dict[str, object]) -> None:
    html = render(pages, template, FakeRequest(FakeUser("admin")), **context)

    assert SCRIPT not in html
    assert ESCAPED_SCRIPT in html


def test_a_missing_variable_is_an_error_not_a_blank(pages: Pages) -> None:
    with pytest.raises(UndefinedError):
        pages.render(FakeRequest(FakeUser("admin")), "dashboard.html", {})  # type: ignore[arg-type]


# ---- dashboard ----


def test_dashboard_shows_the_cards_it_is_given(pages: Pages) -> None:
    cards = [
        {"title": "Chats en cola", "value": 12, "hint": "3 esperan más de 30 min", "url": "/supervisor/queue"},
        {"title": "TMO de hoy", "value": "6 min 12 s"},
    ]
    html = render(pages, "dashboard.html", FakeRequest(FakeUser("supervisor")), cards=cards)

    assert re.search(r'<a class="card card-link" href="/supervisor/queue">.*?12.*?3 esperan', html, re.S)
    assert re.search(r'<div class="card">.*?TMO de hoy.*?6 min 12 s', html, re.S)
    assert "empty-state" not in html


@pytest.mark.parametrize(
    ("role", "next_step"),
    [
        ("admin", "/admin/campaigns"),
        ("supervisor", "/supervisor/queue"),
        ("agent", "/desk"),
        ("auditor", "/audit/events"),
        (None, "/login"),
    ],
)
def test_empty_dashboard_points_each_role_to_its_next_step(pages: Pages, role: str | None, next_step: str) -> None:
    html = render(pages, "dashboard.html", FakeRequest(FakeUser(role) if role else None), cards=[])

    empty_state = re.search(r'<section class="empty-state">.*?</section>', html, re.S)
    assert empty_state is not None
    assert f'href="{next_step}"' in empty_state.group(0)


# ---- macros ----


def render_macro(pages: Pages, call: str, lang: str = "es", **variables: object) -> str:
    source = '{% import "_macros.html" as ui %}' + call
    return pages.environment(lang).from_string(source).render(variables)


@pytest.mark.parametrize(
    ("status", "spanish", "english"),
    [
        ("bot", "En bot", "In bot"),
        ("waiting_queue", "En cola", "In queue"),
        ("assigned", "Asignado", "Assigned"),
        ("closed", "Cerrado", "Closed"),
        ("queued", "Por enviar", "Queued"),
        ("sent", "Enviado", "Sent"),
        ("delivered", "Entregado", "Delivered"),
        ("read", "Leído", "Read"),
        ("failed", "Fallido", "Failed"),
        ("undelivered", "No entregado", "Undelivered"),
    ],
)
def test_status_badges_name_statuses_in_the_users_language(
    pages: Pages, status: str, spanish: str, english: str
) -> None:
    call = "{{ ui.status_badge(status) }}"

    assert f">{spanish}</span>" in render_macro(pages, call, status=status)
    assert f">{english}</span>" in render_macro(pages, call, "en", status=status)


def test_unknown_status_is_shown_escaped(pages: Pages) -> None:
    html = render_macro(pages, "{{ ui.status_badge(status) }}", status="<b>raro</b>")

    assert "&lt;b&gt;raro&lt;/b&gt;" in html


def test_empty_table_says_there_is_nothing_to_show(pages: Pages) -> None:
    html = render_macro(pages, '{{ ui.data_table(["Cliente", "Estado"], []) }}')

    assert 'colspan="2"' in html
    assert "No hay registros para mostrar." in html


def test_table_rows_render_through_a_call_block(pages: Pages) -> None:
    call = '{% call(row) ui.data_table(["Cliente"], rows) %}<td class="who">{{ row }}</td>{% endcall %}'
    html = render_macro(pages, call, rows=["Ana", SCRIPT])

    assert '<td class="who">Ana</td>' in html
    assert ESCAPED_SCRIPT in html


def test_pagination_keeps_the_list_filters_and_marks_the_current_page(pages: Pages) -> None:
    html = render_macro(pages, '{{ ui.pagination(2, 9, "/audit/messages?status=failed") }}')

    assert 'href="/audit/messages?status=failed&amp;page=3" rel="next"' in html
    assert 'aria-current="page" href="/audit/messages?status=failed&amp;page=2"' in html
    assert "Página 2 de 9" in html


def test_a_single_page_needs_no_pagination(pages: Pages) -> None:
    assert render_macro(pages, '{{ ui.pagination(1, 1, "/x") }}').strip() == ""


def test_form_field_links_its_label_and_error(pages: Pages) -> None:
    html = render_macro(pages, '{{ ui.field("capacity", "Capacidad", "x", error="Debe ser un número") }}')

    assert '<label for="field-capacity">' in html
    assert 'aria-invalid="true" aria-describedby="field-capacity-error"' in html
    assert 'id="field-capacity-error">Debe ser un número<' in html


def test_password_fields_never_echo_their_value(pages: Pages) -> None:
    html = render_macro(pages, '{{ ui.field("password", "Contraseña", "secreta", type="password") }}')

    assert "secreta" not in html


# ---- filters, language choice, translation helper ----


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (None, "—"),
        (0, "0 s"),
        (45, "45 s"),
        (272, "4 min 32 s"),
        (300, "5 min"),
        (720, "12 min"),
        (11_100, "3 h 05 min"),
        (187_200, "2 d 4 h"),
        (-5, "0 s"),
    ],
)
def test_durations_are_compact(seconds: int | None, shown: str) -> None:
    assert format_duration(seconds) == shown


def test_datetimes_are_shown_in_bogota_time(pages: Pages) -> None:
    moment = datetime(2025, 11, 25, 13, 5, tzinfo=UTC)

    assert pages.environment("es").filters["format_datetime"](moment) == "25 nov 2025, 08:05"
    assert pages.environment("en").filters["format_datetime"](moment) == "25 Nov 2025, 08:05"


@pytest.mark.parametrize(
    ("saved", "cookie", "chosen"),
    [
        (None, None, "es"),
        ("", None, "es"),
        (None, "en", "en"),
        ("", "en", "en"),
        ("en", None, "en"),
        ("en", "es", "en"),
        ("es", "en", "es"),
        (None, "xx", "es"),
        ("xx", None, "es"),
    ],
)
def test_language_is_the_users_saved_choice_then_this_browsers_then_spanish(
    saved: str | None, cookie: str | None, chosen: str
) -> None:
    assert choose_language(saved, cookie) == chosen


def test_translate_helps_routers_with_flash_messages(pages: Pages) -> None:
    assert pages.translate("en", "Inicio") == "Home"
    assert pages.translate("es", "Inicio") == "Inicio"
    assert pages.translate("en", "Hola, %(name)s", name="Ana") == "Hello, Ana"
    assert pages.translate("xx", "Inicio") == "Inicio"


def test_asset_urls_carry_the_deploy_version(pages: Pages) -> None:
    html = render(pages, "base.html", FakeRequest())

    assert 'href="/static/app.css?v=v42"' in html
    assert 'src="/static/app.js?v=v42"' in html
    assert 'href="/static/vendor/pico.min.css?v=v42"' in html


# ---- nothing from the internet at run time ----


def test_templates_and_own_assets_load_nothing_from_the_internet() -> None:
    files = [*TEMPLATES_DIR.rglob("*.html"), *STATIC_DIR.glob("*.js"), *STATIC_DIR.glob("*.css")]
    offenders = [str(path) for path in files if re.search(r"https?://|(?:src|href)=[\"']//", path.read_text(), re.I)]

    assert offenders == []


def test_every_icon_the_pages_use_is_in_the_vendored_sprite() -> None:
    used = {item.icon for items in NAV_BY_ROLE.values() for item in items}
    for path in TEMPLATES_DIR.rglob("*.html"):
        used |= set(re.findall(r'icon\("([a-z0-9-]+)"', path.read_text()))
        used |= set(re.findall(r'icon_name\s*=\s*"([a-z0-9-]+)"', path.read_text()))

    assert used - set(ICONS) == set()


# ---- translation catalogue ----


def msgids_used_in_templates() -> set[str]:
    options = {"trimmed": "true", "extensions": "jinja2.ext.i18n"}
    found: set[str] = set()
    for path in TEMPLATES_DIR.rglob("*.html"):
        with path.open("rb") as template:
            for _, _, message, _ in babel_extract(template, ("_", "gettext", "ngettext"), [], options):
                found.update(m for m in (message if isinstance(message, tuple) else (message,)) if m)
    return found


def msgids_used_in_api_code() -> set[str]:
    """Strings routers pass to `pages.translate(lang, "...")`, the one spelling routers use for it."""
    found: set[str] = set()
    for path in API_DIR.rglob("*.py"):
        with path.open("rb") as source:
            for _, message, _, _ in extract("python", source, keywords={"translate": (2,)}):
                if isinstance(message, str) and message:
                    found.add(message)
    return found


def msgids_of_labels() -> set[str]:
    """The names of codes (domain/labels.py) and the default dispositions, which pages translate."""
    tables = [*labels.LABELS.values(), labels.SYSTEM_ACTORS, labels.ASSIGNMENT_EXPLANATIONS]
    return {text for table in tables for text in table.values()} | {d.label for d in DEFAULT_DISPOSITIONS} | {
        labels.SYSTEM, labels.UNKNOWN_USER, labels.CUSTOMER}


def english_catalogue() -> dict[str, str]:
    with ENGLISH_CATALOGUE.open("rb") as po_file:
        catalog = read_po(po_file, locale="en")
    return {str(message.id): str(message.string) for message in catalog if message.id and message.string}


def test_english_catalogue_translates_every_msgid_the_pages_use() -> None:
    used = msgids_used_in_templates() | msgids_used_in_api_code()
    used |= {item.label for items in NAV_BY_ROLE.values() for item in items} | set(ROLE_LABELS.values())
    used |= msgids_of_labels()

    missing = sorted(used - english_catalogue().keys())

    assert missing == [], f"add these msgids to {ENGLISH_CATALOGUE}: {missing}"


def test_english_translations_keep_their_placeholders() -> None:
    placeholder = re.compile(r"%\(\w+\)s")
    mismatched = [
        msgid
        for msgid, english in english_catalogue().items()
        if sorted(placeholder.findall(msgid)) != sorted(placeholder.findall(english))
    ]

    assert mismatched == []


def test_campaign_form_lists_the_templates_with_blank_rows_to_add_more_in_english(pages: Pages) -> None:
    values = {"templates": [{"name": "recordatorio", "content_sid": "HX" + "a1" * 16, "variables": "1, 2"}]}

    html = render(pages, "admin/campaign_form.html", FakeRequest(FakeUser("admin"), lang="en"), campaign=None,
                  values=values, weekdays=("mon",), flow_names=["default"], risk_rows=risk_rows(),
                  target_rows=target_rows())

    assert "Approved WhatsApp templates" in html and "Template name 4" in html
    assert html.count('name="template_content_sid"') == 4 and 'value="1, 2"' in html
