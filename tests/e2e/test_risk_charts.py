"""The sender risk page's charts and the overview's weekly volume as people open them: every chart's table shows
what the history query computed, level changes are marked where they happened, the last point is the signal as
it is now, the messages waiting for a token are counted, and nobody sees a sender outside their campaigns."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import quote
from uuid import UUID

import lxml.html
import pytest

from adapters.clock import FixedClock
from api.routers.risk_view import charts
from despacho.settings import Settings
from domain.messages import OutboundMessage
from domain.throttling import BULK, Pace
from projections import risk_queries
from tests.e2e.desk_world import BANCO_NUMBER, TELCO_NUMBER, CallCenter, call_center
from tests.e2e.test_pages_name_codes_in_spanish import raw_codes_in, signed_in, visible_text

TEMPLATE = "HX" + "c" * 32
CHART_TABLES = ("risk-volume", "risk-reach", "risk-customers", "risk-blocks", "risk-failures")


@pytest.fixture
def center(sqlite_settings: Settings, clock: FixedClock) -> Iterator[CallCenter]:
    with call_center(sqlite_settings, clock) as built:
        yield built


def template_to(center: CallCenter, customer: str) -> UUID:
    message = OutboundMessage.request(
        chat_id="", campaign_id=center.banco, kind="template", channel="whatsapp", to=customer, sender=BANCO_NUMBER,
        content_sid=TEMPLATE, actor="test", at=center.clock.now())
    center.despacho.store.save(message)
    center.settle()
    return message.id


def refused_as_marketing(center: CallCenter, message_id: UUID) -> None:
    message = center.despacho.store.repository.get(message_id)
    message.record_status("undelivered", "63049", "", actor="system:twilio", at=center.clock.now())
    center.despacho.store.save(message)
    center.settle()


def a_morning_of_templates(center: CallCenter) -> None:
    """Three customers get a template; two hours later one of them gets two more (watch at two in a day, high at
    three), and Meta refuses one of the first as marketing."""
    first = [template_to(center, f"whatsapp:+5730011100{n}") for n in range(3)]
    center.clock.advance(timedelta(hours=2))
    for _ in range(2):
        template_to(center, "whatsapp:+57300111000")
    refused_as_marketing(center, first[1])
    center.clock.advance(timedelta(minutes=30))


def sender_url(sender: str, span: str = "24h") -> str:
    return f"/risk/senders/{quote(sender)}?range={span}"


def table_rows(html: str, table_id: str) -> list[lxml.html.HtmlElement]:
    [table] = lxml.html.fromstring(html).xpath(f'//table[@id="{table_id}"]')
    return list(table.xpath("./tbody/tr"))


def plotted(row: lxml.html.HtmlElement) -> list[float]:
    return [float(cell.get("data-value")) for cell in row.xpath("./td[@data-value]")]


def test_every_chart_table_shows_what_the_history_query_computed(center: CallCenter) -> None:
    a_morning_of_templates(center)
    page = signed_in(center, "sandra").get(sender_url(BANCO_NUMBER))
    assert page.status_code == 200

    now, despacho = center.clock.now(), center.despacho
    reading = next(r for r in despacho.risk.read(now, only={BANCO_NUMBER}))
    expected = charts(risk_queries.history(despacho.read_engine, BANCO_NUMBER, now, "24h", {center.banco},
                                           despacho.risk.portfolio_senders(BANCO_NUMBER)) or [], reading)
    for table_id, rows in zip(CHART_TABLES, (expected.volume, expected.reach, expected.customers, expected.blocks,
                                             expected.failures), strict=True):
        shown = table_rows(page.text, f"{table_id}-table")
        assert [plotted(row) for row in shown] == [[cell.value for cell in row.cells] for row in rows], table_id
    volume = [plotted(row) for row in table_rows(page.text, "risk-volume-table")]
    assert len(volume) == 24 and sum(messages for messages, *_ in volume) == 5
    assert volume[-1][2] == 80 * 60  # the limit per minute: WhatsApp's 80 messages per second
    assert raw_codes_in(visible_text(page.text)) == []


def test_a_level_change_is_marked_in_the_step_it_happened_and_the_last_point_is_the_signal_now(
        center: CallCenter) -> None:
    a_morning_of_templates(center)
    page = signed_in(center, "sandra").get(sender_url(BANCO_NUMBER)).text

    marked = [row for row in table_rows(page, "risk-volume-table") if row.get("data-mark")]
    assert [row.get("data-mark") for row in marked] == ["Vigilancia → Alto"]  # two then three templates in a day
    assert marked[0].xpath("./td")[-1].text_content().strip() == "Vigilancia → Alto"
    last_failures = table_rows(page, "risk-failures-table")[-1].xpath("./td[@data-value]")
    assert last_failures[0].text_content().strip() == "20,0 %"  # 1 of 5 messages failed
    last_blocks = table_rows(page, "risk-blocks-table")[-1].xpath("./td[@data-value]")
    assert [cell.text_content().strip() for cell in last_blocks] == ["0,0 %", "20,0 %", "0,0 %", "0,0 %"]
    text = visible_text(page)
    assert "Tasa de mensajes de marketing rechazados (63049)" in text or "63049" in text
    assert "Ritmo configurado de este remitente: 80 mensajes por segundo" in text
    assert "Sistema (riesgo de bloqueo y spam)" in text  # who moved the level


def test_seven_days_are_charted_every_six_hours_and_the_older_messages_count_in_their_step(
        center: CallCenter) -> None:
    template_to(center, "whatsapp:+57300111009")
    center.clock.advance(timedelta(days=3))
    a_morning_of_templates(center)
    page = signed_in(center, "admin").get(sender_url(BANCO_NUMBER, "7d")).text

    volume = [plotted(row) for row in table_rows(page, "risk-volume-table")]
    assert len(volume) == 28 and sum(messages for messages, *_ in volume) == 6
    assert [n for n, (messages, *_) in enumerate(volume) if messages] == [15, 27]  # 3 days ago, and now
    assert 'aria-current="page">Últimos 7 días' in page


def test_a_supervisor_sees_neither_the_page_nor_the_history_of_another_campaign_s_sender(
        center: CallCenter) -> None:
    a_morning_of_templates(center)
    sandra = signed_in(center, "sandra")

    for span in ("24h", "7d"):
        assert sandra.get(sender_url(TELCO_NUMBER, span)).status_code == 404
    assert risk_queries.history(center.despacho.read_engine, TELCO_NUMBER, center.clock.now(), "24h",
                                {center.banco}, [TELCO_NUMBER]) is None
    tomas = signed_in(center, "tomas").get("/risk").text
    assert BANCO_NUMBER not in tomas and "mensajes en 7 días" in tomas


def test_the_overview_shows_each_sender_s_messages_per_day_over_a_week(center: CallCenter) -> None:
    template_to(center, "whatsapp:+57300111009")
    center.clock.advance(timedelta(days=2))
    a_morning_of_templates(center)
    page = signed_in(center, "admin").get("/risk").text

    rows = lxml.html.fromstring(page).xpath('//tr[td/a[contains(@href, "%2B5716000001")]]')
    [table] = rows[0].xpath('.//table')
    days = [plotted(row)[0] for row in table.xpath("./tbody/tr")]
    assert days == [0, 0, 0, 0, 1, 0, 5]
    assert "6 mensajes en 7 días" in visible_text(page) and "0 mensajes en 7 días" in visible_text(page)


def test_the_messages_waiting_for_a_token_are_counted_with_the_longest_wait(center: CallCenter) -> None:
    buckets, slow = center.despacho.throttle.buckets, [(f"sender:{BANCO_NUMBER}", Pace.of(0.001))]
    for n in range(4):
        buckets.take(f"waiting-{n}", BANCO_NUMBER, BULK, slow)  # the first takes the token, three wait
    sandra = signed_in(center, "sandra")

    text = visible_text(sandra.get(sender_url(BANCO_NUMBER)).text)
    assert "3 mensajes esperan un turno ahora." in text and "El que más lleva esperando" in text
    for n in range(4):
        buckets.release(f"waiting-{n}", BANCO_NUMBER)
    assert "Ningún mensaje de este remitente espera turno ahora." in visible_text(
        sandra.get(sender_url(BANCO_NUMBER)).text)
