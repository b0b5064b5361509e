"""The KPI cards: whatever figures a source computes, formatted in the page's language against their target;
no source, no card (a figure is never made up)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from api.routers.dashboard_view import Formats
from api.templating import Pages
from projections.kpis import Kpi


@pytest.fixture(scope="module")
def pages() -> Pages:
    return Pages(asset_version="test")


def render_kpis(pages: Pages, kpis: list[Kpi], lang: str = "es") -> str:
    template = pages.environment(lang).get_template("dashboard/_kpis.html")
    return template.render(kpis=kpis, fmt=Formats(pages, lang))


def test_without_figures_no_card_is_rendered(pages: Pages) -> None:
    assert render_kpis(pages, []).strip() == ""


def test_each_figure_is_shown_in_its_unit_against_its_target_and_links_to_what_is_behind_it(pages: Pages) -> None:
    html = render_kpis(pages, [Kpi("Chats en cola", 1234, "count", None, "/supervisor/queue"),
                               Kpi("Espera más larga", 272, "seconds", 20, ""),
                               Kpi("Proporción", 0.8125, "share", 0.8, "", campaign="Telco Sur")])

    assert '<a class="card card-link" href="/supervisor/queue">' in html
    assert "1.234" in html and "4 min 32 s" in html and "Meta: 20 s" in html
    assert "81,2%" in html and "Meta: 80%" in html and "Proporción · Telco Sur" in html
    assert html.count("<li>") == 3


def test_figures_follow_the_readers_language(pages: Pages) -> None:
    html = render_kpis(pages, [Kpi("Chats en cola", 1234, "count", None, ""),
                               Kpi("Proporción", 0.5, "share", None, "")], lang="en")

    assert "Queued chats" in html and "1,234" in html and "50%" in html


def test_formats_write_no_value_as_a_dash() -> None:
    formats = Formats(SimpleNamespace(), "es")  # type: ignore[arg-type]

    assert formats.share(None) == formats.of_unit(None, "count") == "—"


def test_a_figure_read_against_its_target_says_in_words_whether_it_meets_it(pages: Pages) -> None:
    kpis = [Kpi("Nivel de servicio", 0.75, "share", 0.8, "", "Banco Andino", met=False, threshold_seconds=20),
            Kpi("Velocidad promedio de asignación", 12, "seconds", 30, "", "Banco Andino", met=True)]

    spanish, english = render_kpis(pages, kpis), render_kpis(pages, kpis, lang="en")

    assert "Meta: 80% en 20 s" in spanish and "Meta: 30 s" in spanish
    assert spanish.count("No cumple la meta") == 1 and spanish.count("Cumple la meta") == 1
    assert 'data-kpi-met="no"' in spanish and 'data-kpi-met="yes"' in spanish
    assert "Target: 80% in 20 s" in english and "Misses the target" in english and "Meets the target" in english
