"""The risk rules on their own: signals computed from traffic counts by hand, thresholds and their per-campaign
overrides, portfolios, and the property that a level only ever changes with an event carrying its signal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.common import DomainError
from domain.risk import SenderRisk, assess
from domain.risk_portfolios import DEFAULT_PORTFOLIO, Portfolios
from domain.risk_thresholds import (
    DEFAULT_THRESHOLDS,
    LEVELS,
    Signal,
    Traffic,
    check_overrides,
    failures_by_category,
    signals,
    thresholds_for,
)

AT = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)


def test_signals_are_the_ratios_of_the_traffic_counts() -> None:
    traffic = Traffic(last_minute=1200, last_hour=9000, last_24h=400, customers_24h=300, business_customers_24h=200,
                      business_customers_answered_24h=30, most_business_to_one_customer_24h=2,
                      most_business_to_one_customer_7d=6, opt_outs_24h=9, failed_24h=40,
                      errors_24h={"63014": 6, "30007": 2, "30003": 32}, templates_24h=200, templates_failed_24h=8)

    found = signals(traffic, sender_rate=80, portfolio_customers_24h=1500, tier=2000)

    assert found["per_second"].value == 20.0  # 1200 in the last minute
    assert found["rate_usage"].value == 0.25  # 20/s of Twilio's 80/s
    assert found["tier_usage"] == Signal(0.75, 1500)  # the portfolio's 1500 of its tier's 2000
    assert found["reply_rate"] == Signal(0.15, 200)  # 30 of 200 customers reached outside the window answered
    assert found["opt_out_rate"] == Signal(0.03, 300)  # 9 of 300 customers messaged
    assert found["blocked_rate"] == Signal(0.015, 400)  # 6 of 400 messages: 63014
    assert found["spam_filtered_rate"] == Signal(0.005, 400)  # 2 of 400: 30007
    assert found["carrier_blocked_rate"].value == 0.0
    assert found["failure_rate"] == Signal(0.1, 400)
    assert found["template_failure_rate"] == Signal(0.04, 200)
    assert found["business_per_customer_24h"].value == 2 and found["business_per_customer_7d"].value == 6


def test_failures_are_grouped_by_the_error_taxonomys_categories() -> None:
    assert failures_by_category({"30003": 4, "30005": 1, "63014": 2, "": 1, "99999": 1}) == {
        "invalid-recipient": 5, "blocked": 2, "unknown": 2}


def test_an_unlimited_tier_is_never_used_up_and_an_empty_window_has_no_rates() -> None:
    found = signals(Traffic(), sender_rate=1, portfolio_customers_24h=10**6, tier=0)

    assert found["tier_usage"].value == 0.0 and found["reply_rate"].value == 0.0
    assert assess(found, DEFAULT_THRESHOLDS).level == "ok"  # no reply rate is judged on no customers


@pytest.mark.parametrize(("value", "sample", "level"), [
    (0.11, 20, "ok"), (0.10, 20, "watch"), (0.05, 20, "high"), (0.02, 20, "critical"), (0.0, 19, "ok")])
def test_a_lower_reply_rate_is_worse_and_judged_only_on_twenty_customers(value: float, sample: int,
                                                                          level: str) -> None:
    assert DEFAULT_THRESHOLDS["reply_rate"].level_of(value, sample) == level


def test_a_sender_of_two_campaigns_is_judged_by_the_strictest_of_each_level() -> None:
    loose = {"business_per_customer_24h": [3, 4, 8], "reply_rate": [0.2, 0.1, 0.01]}
    strict = {"business_per_customer_24h": [2, 5, 6]}

    merged = thresholds_for([loose, strict])

    picked = merged["business_per_customer_24h"]
    assert (picked.watch, picked.high, picked.critical) == (2, 4, 6)
    assert merged["reply_rate"].watch == 0.2 and merged["reply_rate"].critical == 0.02  # a falling signal: max
    assert thresholds_for([loose])["business_per_customer_24h"].watch == 3  # one campaign may loosen a default
    assert thresholds_for([]) == dict(DEFAULT_THRESHOLDS)


@pytest.mark.parametrize("overrides", [{"volume": [1, 2, 3]}, {"failure_rate": [0.1, 0.2]},
                                       {"failure_rate": [0.3, 0.2, 0.1]}, {"reply_rate": [0.01, 0.05, 0.1]},
                                       {"failure_rate": [-1, 0.2, 0.3]}])
def test_a_campaign_threshold_that_makes_no_sense_is_refused_in_spanish(overrides: dict[str, list[float]]) -> None:
    with pytest.raises(DomainError) as refused:
        check_overrides(overrides)
    assert "umbral" in str(refused.value).lower() or "señal" in str(refused.value).lower()


def test_senders_no_portfolio_names_share_the_accounts_default_one() -> None:
    portfolios = Portfolios.from_setting({"cobranza": {"tier": 10000, "senders": ["whatsapp:+5716000001"]}}, 250)

    assert portfolios.of("whatsapp:+5716000001").tier == 10000
    assert portfolios.of("whatsapp:+5716000002").name == DEFAULT_PORTFOLIO
    assert portfolios.members(portfolios.of("+5716000003"), ["whatsapp:+5716000001", "+5716000003"]) == [
        "+5716000003"]
    with pytest.raises(DomainError):
        Portfolios.from_setting({"x": {"tier": 300}}, 250)
    with pytest.raises(DomainError):
        Portfolios.from_setting({"a": {"senders": ["+1"]}, "b": {"senders": ["+1"]}}, 250)


signal_values = st.dictionaries(st.sampled_from(sorted(DEFAULT_THRESHOLDS)),
                                st.builds(Signal, st.floats(0, 12, allow_nan=False), st.integers(0, 200)))


@given(st.lists(signal_values, max_size=12))
def test_a_level_only_changes_with_an_event_carrying_the_signal_that_moved_it(readings: list[dict[str, Signal]]) \
        -> None:
    risk = SenderRisk.start("whatsapp:+5716000001", actor="test", at=AT)
    for step, found in enumerate(readings):
        before = risk.level
        assessment = assess(found, DEFAULT_THRESHOLDS, risk.signal)
        changed = risk.judge(assessment, actor="test", at=AT + timedelta(minutes=step))
        events = [e for e in risk.collect_events() if not isinstance(e, SenderRisk.Started)]
        assert risk.level == assessment.level
        assert changed == (before != risk.level) == bool(events)
        for event in events:
            assert (event.previous, event.level) == (before, risk.level)
            assert event.signal in DEFAULT_THRESHOLDS or (event.level == "ok" and event.signal == "")
            if event.level != "ok":
                threshold = DEFAULT_THRESHOLDS[event.signal]
                assert threshold.level_of(found[event.signal].value, found[event.signal].sample) == event.level
                assert event.threshold == threshold.value_for(event.level) and threshold.reached(event.level,
                                                                                                  event.value)
    assert risk.level in LEVELS
