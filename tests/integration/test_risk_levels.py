"""Block and spam risk end to end on SQLite and PostgreSQL: synthetic traffic saved as events, projected into
the risk tables, judged by the follower; each level is reached (or not) for reasons computed by hand here."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest
from click.testing import CliRunner

from adapters.clock import FixedClock
from application.risk import TrafficScope
from despacho.bootstrap import Despacho, build
from despacho.cli import main
from despacho.settings import Settings
from domain.chats import Chat
from domain.consent import Consent
from domain.messages import OutboundMessage
from domain.risk_thresholds import Traffic
from projections import message_queries, risk_queries
from projections.rebuild import rebuild
from projections.risk import RiskProjector
from tests.conftest import WITH_CLOSING_TEMPLATE

BANCO = "whatsapp:+5716000001"
TELCO = "whatsapp:+5716000002"
TEMPLATE = "HX" + "a" * 32
sids = (f"SM{n:032x}" for n in itertools.count(1))


@pytest.fixture
def campaigns(despacho: Despacho) -> dict[str, str]:
    found = {}
    for code, sender in (("banco_a", BANCO), ("telco_b", TELCO)):
        campaign = despacho.campaigns.register(code, code, code, WITH_CLOSING_TEMPLATE, actor="test")
        despacho.campaigns.link_sender(campaign, sender, "whatsapp", is_default=True, actor="test")
        found[code] = str(campaign)
    return found


def customer(n: int) -> str:
    return f"whatsapp:+57300{n:07d}"


def template_to(despacho: Despacho, campaign_id: str, to: str, sender: str = BANCO) -> OutboundMessage:
    message = OutboundMessage.request(chat_id="", campaign_id=campaign_id, kind="template", channel="whatsapp",
                                      to=to, sender=sender, content_sid=TEMPLATE, actor="test",
                                      at=despacho.clock.now())
    despacho.store.save(message)
    return message


def reply_from(despacho: Despacho, who: str, sender: str = BANCO) -> None:
    """The customer writes in their chat with the sender (one chat per customer and sender, opened on first use)."""
    now = despacho.clock.now()
    chats: dict[tuple[str, str], Chat] = despacho.extras.setdefault("chats", {})
    chat = chats.get((who, sender))
    if chat is None:
        chat = Chat.open("whatsapp", who, sender, profile_name="", flow_name="default", actor="test", at=now)
        chats[(who, sender)] = chat
    chat.receive_customer_message(next(sids), "Hola", [], actor=f"customer:{who}", at=now)
    despacho.store.save(chat)


def fail(despacho: Despacho, message: OutboundMessage, code: str) -> None:
    message.record_status("undelivered", code, "", actor="system:twilio", at=despacho.clock.now())
    despacho.store.save(message)


def level_of(despacho: Despacho, sender: str = BANCO) -> str:
    despacho.runner.catch_up()
    return risk_queries.current_level(despacho.read_engine, sender)


def reading(despacho: Despacho, sender: str = BANCO) -> Any:
    despacho.runner.catch_up()
    return next(r for r in despacho.risk.read() if r.facts.sender == sender)


def test_a_few_templates_to_customers_who_answer_stay_ok(despacho: Despacho, campaigns: dict[str, str]) -> None:
    for n in range(30):
        template_to(despacho, campaigns["banco_a"], customer(n))
        reply_from(despacho, customer(n))

    found = reading(despacho).signals
    assert found["reply_rate"].value == 1.0 and found["reply_rate"].sample == 30
    assert found["business_customers_24h"].value == 30
    assert found["tier_usage"].value == round(30 / 250, 4)
    assert level_of(despacho) == "ok"
    assert risk_queries.level_changes(despacho.read_engine, BANCO) == []


def test_a_second_template_in_a_day_to_one_customer_is_watch_and_a_fifth_is_critical(
        despacho: Despacho, campaigns: dict[str, str]) -> None:
    template_to(despacho, campaigns["banco_a"], customer(1))
    assert level_of(despacho) == "ok"
    template_to(despacho, campaigns["banco_a"], customer(1))
    assert level_of(despacho) == "watch"
    template_to(despacho, campaigns["banco_a"], customer(1))
    assert level_of(despacho) == "high"
    template_to(despacho, campaigns["banco_a"], customer(1))
    assert level_of(despacho) == "high"  # four: still under critical (five)
    template_to(despacho, campaigns["banco_a"], customer(1))

    assert level_of(despacho) == "critical"
    assert despacho.throttle.risk.level_of(BANCO) == "critical", "the send path's pace reads the judge's level"
    changes = risk_queries.level_changes(despacho.read_engine, BANCO)
    assert [(c["previous"], c["level"], c["signal"], c["value"], c["threshold"]) for c in reversed(changes)] == [
        ("ok", "watch", "business_per_customer_24h", 2.0, 2.0),
        ("watch", "high", "business_per_customer_24h", 3.0, 3.0),
        ("high", "critical", "business_per_customer_24h", 5.0, 5.0)]
    assert level_of(despacho, TELCO) == "ok"


def test_templates_nobody_answers_reach_high_then_critical_and_alert_the_campaign(
        despacho: Despacho, campaigns: dict[str, str]) -> None:
    # 100 customers reached outside the window; 6 answer: 6 % < 10 % (watch) but > 5 % (high) ... then fewer.
    for n in range(100):
        template_to(despacho, campaigns["banco_a"], customer(n))
    for n in range(6):
        reply_from(despacho, customer(n))
    despacho.clock.advance(timedelta(minutes=5))
    assert reading(despacho).signals["reply_rate"].value == 0.06
    assert level_of(despacho) == "watch"

    for n in range(100, 200):
        template_to(despacho, campaigns["banco_a"], customer(n))
    # 6 of 200 answered: 3 %, under the high threshold (5 %) and above critical (2 %).
    assert reading(despacho).signals["reply_rate"].value == 0.03
    assert level_of(despacho) == "high"
    for n in range(200, 400):
        template_to(despacho, campaigns["banco_a"], customer(n))
    # 6 of 400: 1.5 %; and 400 of the default tier's 250 customers: the portfolio's limit is passed too.
    assert level_of(despacho) == "critical"
    latest = risk_queries.level_changes(despacho.read_engine, BANCO)[0]
    assert (latest["signal"], latest["value"], latest["threshold"]) == ("tier_usage", 1.6, 1.0)

    despacho.runner.catch_up()  # the alerts of the last change, saved after the messages projector's turn
    alerts = [a for a in message_queries.delivery_alerts(despacho.read_engine, campaign_ids={campaigns["banco_a"]})
              if a["kind"] == "sender_risk"]
    by_level = {a["figures"]["level"]: a["detail"] for a in alerts}
    assert len(alerts) == 3 and by_level.keys() == {"watch", "high", "critical"}
    assert "Detenga los envíos masivos" in by_level["critical"] and "límite diario de Meta" in by_level["critical"]
    # The other number shares the account's portfolio, so Meta's daily limit is its problem too; nothing else is.
    telco = [a for a in message_queries.delivery_alerts(despacho.read_engine, campaign_ids={campaigns["telco_b"]})
             if a["kind"] == "sender_risk"]
    # 200 of 250 customers is 80 % of the tier (watch), 400 is 160 % (critical).
    assert sorted((a["sender_address"], a["figures"]["signal"], a["figures"]["level"]) for a in telco) == [
        (TELCO, "tier_usage", "critical"), (TELCO, "tier_usage", "watch")]


def test_spam_filtering_past_two_percent_is_critical_and_below_fifty_messages_is_not_judged(
        despacho: Despacho, campaigns: dict[str, str]) -> None:
    sent = []
    for n in range(49):
        sent.append(template_to(despacho, campaigns["banco_a"], customer(n)))
        reply_from(despacho, customer(n))
    fail(despacho, sent[0], "30007")
    assert reading(despacho).signals["spam_filtered_rate"].value == round(1 / 49, 4)
    assert level_of(despacho) == "ok"  # 49 messages: not enough to judge a rate

    sent.append(template_to(despacho, campaigns["banco_a"], customer(49)))
    reply_from(despacho, customer(49))
    fail(despacho, sent[1], "30007")
    # 2 of 50 = 4 %: at the critical threshold for 30007.
    assert level_of(despacho) == "critical"
    assert risk_queries.level_changes(despacho.read_engine, BANCO)[0]["signal"] == "spam_filtered_rate"
    assert reading(despacho).failures_by_category == {"spam": 2}


def test_the_level_falls_back_to_ok_when_the_window_has_passed(despacho: Despacho, campaigns: dict[str, str]) -> None:
    for _ in range(2):
        template_to(despacho, campaigns["banco_a"], customer(1))
    assert level_of(despacho) == "watch"

    despacho.clock.advance(timedelta(hours=24, minutes=1))
    despacho.risk.judge()

    assert level_of(despacho) == "ok"
    back = risk_queries.level_changes(despacho.read_engine, BANCO)[0]
    assert (back["previous"], back["signal"], back["value"], back["threshold"]) == (
        "watch", "business_per_customer_24h", 0.0, 2.0)


def test_a_campaign_may_loosen_a_threshold_and_opt_outs_are_counted(despacho: Despacho,
                                                                   campaigns: dict[str, str]) -> None:
    despacho.campaigns.edit(UUID(campaigns["banco_a"]), "banco_a", "banco_a",
                            {"risk_thresholds": {"business_per_customer_24h": [3, 4, 6]}}, actor="test")
    for _ in range(2):
        template_to(despacho, campaigns["banco_a"], customer(1))
    assert level_of(despacho) == "ok"
    for n in range(2, 22):
        template_to(despacho, campaigns["banco_a"], customer(n))
        reply_from(despacho, customer(n))
    consent = Consent.for_pair(customer(2), BANCO, actor="test", at=despacho.clock.now())
    consent.opt_out("keyword:baja", actor="test", at=despacho.clock.now())
    despacho.store.save(consent)

    found = reading(despacho).signals
    assert found["opt_out_rate"].value == round(1 / 21, 4) and found["opt_out_rate"].sample == 21
    assert level_of(despacho) == "watch"  # 4.8 % opt-outs: over 2 %, under 5 %


def test_the_risk_tables_rebuild_to_what_the_live_projector_wrote(despacho: Despacho,
                                                                  campaigns: dict[str, str]) -> None:
    for n in range(30):
        message = template_to(despacho, campaigns["banco_a" if n % 2 else "telco_b"], customer(n % 7),
                              BANCO if n % 3 else TELCO)
        if n % 4 == 0:
            fail(despacho, message, "63049")
        if n % 5 == 0:
            reply_from(despacho, customer(n % 7))
        despacho.clock.advance(timedelta(seconds=40))
    despacho.runner.catch_up()

    assert rebuild(despacho.store, despacho.read_engine, RiskProjector, replace_live=False) == []


def test_a_supervisor_of_one_campaign_sees_only_its_senders(despacho: Despacho, campaigns: dict[str, str]) -> None:
    template_to(despacho, campaigns["banco_a"], customer(1))
    despacho.runner.catch_up()

    assert [s.sender for s in risk_queries.senders(despacho.read_engine, {campaigns["banco_a"]})] == [BANCO]
    assert not risk_queries.in_scope(despacho.read_engine, TELCO, {campaigns["banco_a"]})
    assert [s.sender for s in risk_queries.senders(despacho.read_engine)] == [BANCO, TELCO]


def test_a_campaign_s_signals_count_its_own_traffic_over_its_senders(despacho: Despacho,
                                                                    campaigns: dict[str, str]) -> None:
    for n in range(4):
        template_to(despacho, campaigns["banco_a"], customer(n))
    reply_from(despacho, customer(0))
    template_to(despacho, campaigns["telco_b"], customer(9), TELCO)
    despacho.runner.catch_up()

    banco = despacho.risk.campaign_signals(campaigns["banco_a"])
    assert banco["per_hour"].value == 4 and banco["business_customers_24h"].value == 4
    assert banco["reply_rate"].value == 0.25  # one of the four customers answered
    assert despacho.risk.campaign_signals(campaigns["telco_b"])["per_hour"].value == 1


def test_despacho_risk_status_prints_every_sender_in_spanish(despacho: Despacho, campaigns: dict[str, str],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    for _ in range(2):
        template_to(despacho, campaigns["banco_a"], customer(1))
    despacho.runner.catch_up()
    monkeypatch.setenv("DESPACHO_VAR_DIR", str(despacho.settings.var_dir))
    monkeypatch.setenv("DESPACHO_DATABASE_URL", despacho.settings.event_store_url)

    now = ["--now", despacho.clock.now().isoformat()]
    result = CliRunner().invoke(main, ["risk", "status", *now])
    as_json = json.loads(CliRunner().invoke(main, ["risk", "status", "--json", *now]).output)

    assert result.exit_code == 0, result.output
    assert f"{BANCO}: nivel Vigilancia (portafolio cuenta, límite de Meta 250 clientes/24 h)" in result.output
    assert "Máximo de mensajes por iniciativa de la empresa a un cliente (24 h): 2  [Vigilancia]" in result.output
    assert f"{TELCO}: nivel Normal" in result.output and "Campaña banco_a:" in result.output
    assert {s["sender"]: s["level"] for s in as_json["senders"]} == {BANCO: "watch", TELCO: "ok"}


@pytest.fixture
def slow_banco(settings: Settings, clock: FixedClock) -> Iterator[Despacho]:
    """BANCO's WhatsApp sender granted only 2 messages per second (DESPACHO_SENDER_RATES), not Twilio's 80."""
    built = build(settings.model_copy(update={"sender_rates": {BANCO: 2.0}}), clock=clock)
    yield built
    built.close()


def test_a_sender_s_rate_usage_is_measured_against_the_rate_it_is_throttled_at(slow_banco: Despacho) -> None:
    campaign = slow_banco.campaigns.register("banco_a", "banco_a", "banco_a", WITH_CLOSING_TEMPLATE, actor="test")
    slow_banco.campaigns.link_sender(campaign, BANCO, "whatsapp", is_default=True, actor="test")
    for n in range(60):
        template_to(slow_banco, str(campaign), customer(n))

    found = reading(slow_banco)
    assert found.rate == slow_banco.throttle.settings.rate_of(BANCO) == 2.0
    assert found.signals["rate_usage"].value == 0.5  # 60 in the last minute is 1/s: half of its 2/s


def test_a_template_the_customer_cap_refused_is_no_failure_at_twilio(despacho: Despacho,
                                                                     campaigns: dict[str, str]) -> None:
    message = template_to(despacho, campaigns["banco_a"], customer(1))
    message.fail("customer_cap", "El cliente ya recibió 2 mensajes…", actor="system:outbound", at=despacho.clock.now())
    despacho.store.save(message)

    assert reading(despacho).signals["failure_rate"].value == 0.0


def test_the_history_s_points_are_the_traffic_the_judge_read_at_each_instant(despacho: Despacho,
                                                                            campaigns: dict[str, str]) -> None:
    judged, reached = {}, {}
    for n in range(12):
        message = template_to(despacho, campaigns["banco_a"], customer(n % 5))
        if n % 4 == 0:
            fail(despacho, message, "30007")
        if n % 3 == 0:
            reply_from(despacho, customer(n % 5))
        template_to(despacho, campaigns["telco_b"], customer(100 + n), sender=TELCO)
        despacho.runner.catch_up()
        now = despacho.clock.now()  # what the judge read at this instant, nothing later being in the log yet
        judged[now] = risk_queries.traffic(despacho.read_engine, now, TrafficScope(senders=[BANCO]))
        reached[now] = risk_queries.reach(despacho.read_engine, now, [BANCO, TELCO])
        despacho.clock.advance(timedelta(hours=3))

    points = risk_queries.history(despacho.read_engine, BANCO, now, "7d", None, [BANCO, TELCO])
    assert points is not None and len(points) == 28 and points[-1].at == now
    for point in points:
        expected = judged.get(point.at, Traffic(errors_24h={}))
        assert point.traffic == replace(expected, most_business_to_one_customer_7d=0), point.at
        assert point.portfolio_business_customers_24h == reached.get(point.at, 0), point.at
    assert sum(point.messages for point in points) == 12
