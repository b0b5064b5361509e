"""Renders Despacho's server-side pages: one Jinja2 environment per language, built once at startup.

Every page gets the same base context (user, CSRF token, flashes, language, navigation, asset URLs)
so routers only pass what is specific to the page. Autoescaping is always on and undefined
variables raise, because pages show customer-written text.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_datetime as babel_format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from api.navigation import is_current, nav_for_role, role_label
from application import portfolio_values
from domain.common import DomainError
from domain.labels import ASSIGNMENT_EXPLANATIONS, LABELS, actor_name
from domain.text import format_duration as shared_format_duration

HERE = Path(__file__).resolve().parent
DEFAULT_TEMPLATES_DIR = HERE / "templates"
DEFAULT_LOCALE_DIR = HERE / "locale"

DEFAULT_LANGUAGE = "es"
SUPPORTED_LANGUAGES = ("es", "en")
DEFAULT_TIMEZONE = "America/Bogota"
BABEL_LOCALES = {"es": "es_CO", "en": "en_US"}
_DATETIME_PATTERN = "d MMM y, HH:mm"
_NO_VALUE = "—"


class Pages:
    """Renders templates for a request in the request's language."""

    def __init__(
        self,
        *,
        templates_dir: Path | None = None,
        locale_dir: Path | None = None,
        asset_version: str = "",
    ) -> None:
        self._templates_dir = templates_dir or DEFAULT_TEMPLATES_DIR
        self._locale_dir = locale_dir or DEFAULT_LOCALE_DIR
        self._asset_version = asset_version
        self._translations = {lang: load_translations(self._locale_dir, lang) for lang in SUPPORTED_LANGUAGES}
        self._environments = {lang: self._build_environment(lang) for lang in SUPPORTED_LANGUAGES}

    def render(
        self,
        request: Request,
        template: str,
        context: Mapping[str, object] | None = None,
        *,
        status_code: int = 200,
    ) -> HTMLResponse:
        """Render `template` with the base context plus `context` (which wins on a clash)."""
        lang = self._language_of(request)
        html = self.render_to_string(request, template, context)
        response = HTMLResponse(html, status_code=status_code)
        response.headers["Content-Language"] = lang
        return response

    def render_to_string(self, request: Request, template: str, context: Mapping[str, object] | None = None) -> str:
        lang = self._language_of(request)
        full_context = {**self._base_context(request, lang), **(context or {})}
        return self._environments[lang].get_template(template).render(full_context)

    def translate(self, lang: str, msgid: str, /, **variables: object) -> str:
        """Translate a Spanish msgid for code outside templates (flash messages, errors shown to users).

        Returns plain text: templates still escape it, so customer text may go in `variables`.
        """
        translations = self._translations[lang if lang in SUPPORTED_LANGUAGES else DEFAULT_LANGUAGE]
        text = translations.gettext(msgid)
        return text % variables if variables else text

    def explain(self, lang: str, error: DomainError) -> str:
        """A domain refusal in the user's language: its message is a msgid of the catalogue."""
        return self.translate(lang, error.message, **error.variables)

    def asset_url(self, path: str) -> str:
        return "/static/" + path.lstrip("/") + "?v=" + self._asset_version

    def environment(self, lang: str) -> Environment:
        return self._environments[lang]

    def _language_of(self, request: Request) -> str:
        lang = getattr(request.state, "lang", DEFAULT_LANGUAGE)
        return lang if lang in SUPPORTED_LANGUAGES else DEFAULT_LANGUAGE

    def _base_context(self, request: Request, lang: str) -> dict[str, object]:
        user = getattr(request.state, "user", None)
        return {
            "request": request,
            "current_user": user,
            "csrf_token": getattr(request.state, "csrf_token", ""),
            "flashes": list(getattr(request.state, "flashes", None) or []),
            "lang": lang,
            "nav": nav_for_role(getattr(user, "role", None)),
            "current_path": str(getattr(request.url, "path", "/")),
            "asset_url": self.asset_url,
        }

    def _build_environment(self, lang: str) -> Environment:
        environment = Environment(
            loader=FileSystemLoader(self._templates_dir),
            # Every template is HTML; unknown extensions and strings escape too.
            autoescape=select_autoescape(["html"], default_for_string=True, default=True),
            undefined=StrictUndefined,
            extensions=["jinja2.ext.i18n"],
            trim_blocks=True,
            lstrip_blocks=True,
        )
        # Multi-line {% trans %} blocks become one-line msgids, the same ones the extractor sees.
        environment.policies["ext.i18n.trimmed"] = True
        environment.install_gettext_translations(self._translations[lang], newstyle=True)  # type: ignore[attr-defined]
        environment.filters["format_datetime"] = _datetime_formatter(lang)
        environment.filters.update(_label_filters(self._translations[lang]))
        environment.filters["format_duration"] = format_duration
        environment.filters.update(_portfolio_filters(BABEL_LOCALES[lang]))
        # Also a global so macros imported without context can draw icons.
        environment.globals["asset_url"] = self.asset_url
        environment.globals["nav_is_current"] = is_current
        environment.globals["role_label"] = role_label
        return environment


def _label_filters(translations: Translations) -> dict[str, Callable[..., str]]:
    """Names of codes in the page's language (domain/labels.py): `{{ chat.close_reason | label("close_reason") }}`,
    `{{ event.actor | actor(people) }}`, `{{ a.policy | explained(count) }}`, and `{{ text | translated }}` for a
    msgid held in data (a default disposition's label)."""

    def translated(text: str | None) -> str:
        return translations.gettext(text) if text else ""  # gettext("") is the catalogue's header

    def labelled(code: str | None, *kinds: str) -> str:
        """The label of the first kind that knows the code; an unknown code is shown as recorded."""
        found = next((LABELS[kind][code] for kind in kinds if code in LABELS[kind]), None) if code else None
        return translated(found) if found else code or ""

    def actor(value: str | None, people: Mapping[str, str]) -> str:
        return actor_name(value, people, translated) if value else ""

    def explained(policy: str, candidates: int) -> str:
        """Why the router chose, from the decision itself: the text stored with the assignment is Spanish."""
        return translated(ASSIGNMENT_EXPLANATIONS.get(policy, "")) % {"count": candidates}

    return {"label": labelled, "actor": actor, "translated": translated, "explained": explained}


def _portfolio_filters(locale: str) -> dict[str, Callable[..., str]]:
    """The portfolio panel's values: `{{ customer.balance | money }}`, `{{ value | field_value(key) }}` and
    `{{ key | field_label(labels) }}` (application/portfolio_values.py)."""
    return {"money": lambda value: portfolio_values.money(value, locale),
            "field_value": lambda value, key: portfolio_values.field_value(key, value, locale),
            "field_label": portfolio_values.field_label}


def load_translations(locale_dir: Path, lang: str) -> Translations:
    """Compile `<lang>/LC_MESSAGES/messages.po` in memory, so installing needs no compile step."""
    po_path = locale_dir / lang / "LC_MESSAGES" / "messages.po"
    with po_path.open("rb") as po_file:
        catalog = read_po(po_file, locale=lang)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(fp=compiled)


def choose_language(saved: str | None, cookie: str | None) -> str:
    """The page language: the signed-in user's saved choice, else this browser's, else Spanish (Colombia).

    The browser's Accept-Language is deliberately ignored: call centers' browsers say English by
    default while the agents work in Spanish.
    """
    for choice in (saved, cookie):
        if choice in SUPPORTED_LANGUAGES:
            return choice
    return DEFAULT_LANGUAGE


def _datetime_formatter(lang: str) -> Callable[[datetime | None, str], str]:
    locale = BABEL_LOCALES[lang]

    def format_datetime(value: datetime | None, tz: str = DEFAULT_TIMEZONE) -> str:
        """`25 nov 2025, 08:11` in the call center's time zone; naive datetimes are taken as UTC."""
        if value is None:
            return _NO_VALUE
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return str(babel_format_datetime(aware, _DATETIME_PATTERN, tzinfo=ZoneInfo(tz), locale=locale))

    return format_datetime


def format_duration(seconds: float | timedelta | None) -> str:
    """A compact duration for dense tables (`4 min 32 s`, `3 h 05 min`); no value is `—`."""
    return _NO_VALUE if seconds is None else shared_format_duration(seconds)
