"""What a failed delivery means: every code Twilio answers has a Spanish meaning, a category and an action,
translated, and the categories that threaten the account or the sender's reputation are the ones that alert."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from adapters.twilio_errors import classify, known_codes
from domain.delivery_alerts import DeliveryAlert, is_account_problem, is_spam_risk
from domain.delivery_errors import catalogue_texts, explain

ENGLISH_CATALOGUE = Path(__file__).resolve().parents[2] / "api" / "locale" / "en" / "LC_MESSAGES" / "messages.po"
AT = datetime(2026, 11, 2, 14, 5, tzinfo=UTC)


def english() -> dict[str, str]:
    with ENGLISH_CATALOGUE.open("rb") as po_file:
        return {str(m.id): str(m.string) for m in read_po(po_file, locale="en") if m.id and m.string}


def test_every_code_twilio_answers_is_explained_in_its_reference_category() -> None:
    for code, info in known_codes().items():
        explanation = explain(str(code))
        assert explanation.category != "unknown", f"{code} has no explanation"
        assert explanation.meaning and explanation.action
        # 63014 is a block of the sender by the customer: it counts against the sender, unlike a STOP.
        expected = "blocked" if code == 63014 else info.category
        assert explanation.category == expected, code


def test_every_text_an_explanation_shows_has_its_english_translation() -> None:
    translated = english()
    missing = sorted(catalogue_texts() - translated.keys())
    assert missing == [], f"add these msgids to {ENGLISH_CATALOGUE}: {missing}"
    assert not [t for t in catalogue_texts() if "%" in t], "templates read % as a placeholder"


@pytest.mark.parametrize(("code", "category"), [
    ("", "unknown"), ("99999", "unknown"), ("http_503", "connection"), ("network", "connection"),
    ("timeout", "connection"), ("http_401", "account"), ("http_429", "rate-limit"), ("opted_out", "opt-out"),
    ("outside_window", "window"),
])
def test_failures_without_a_twilio_code_are_explained_too(code: str, category: str) -> None:
    assert explain(code).category == category


def test_a_callback_that_carries_only_an_error_code_reads_as_its_meaning_and_action() -> None:
    explanation = explain("63016")
    assert explanation.category_label == "Ventana de 24 horas de WhatsApp"
    assert "plantilla aprobada" in explanation.meaning and "plantilla aprobada" in explanation.action
    assert classify(http_status=400, code=63016).reason == explanation.sentence


@pytest.mark.parametrize("code", ["30007", "63013", "63014", "63049", "30004", "30034", "63032"])
def test_spam_and_carrier_filter_codes_raise_an_alert_that_says_so(code: str) -> None:
    assert is_spam_risk(code) and not is_account_problem(code)
    alert = DeliveryAlert.spam_or_block(error_code=code, campaign_id="c", sender="whatsapp:+5716000001",
                                        message_id="m", actor="t", at=AT)
    [raised] = alert.collect_events()
    assert raised.kind == "spam_or_block"  # type: ignore[attr-defined]
    assert raised.detail.startswith("Posible spam o bloqueo del remitente whatsapp:+5716000001.")  # type: ignore[attr-defined]
    assert explain(code).meaning in raised.detail  # type: ignore[attr-defined]


@pytest.mark.parametrize("code", ["20003", "10001", "30002", "63051", "21408", "http_401"])
def test_account_codes_raise_an_account_alert_that_names_the_problem(code: str) -> None:
    assert is_account_problem(code) and not is_spam_risk(code)
    [raised] = DeliveryAlert.account_problem(error_code=code, campaign_id="c", sender="s", message_id="m",
                                             actor="t", at=AT).collect_events()
    assert raised.detail.startswith(f"Cuenta de Twilio ({code}): {explain(code).meaning}")  # type: ignore[attr-defined]


@pytest.mark.parametrize("code", ["30003", "21211", "63016", "30008", "21610", ""])
def test_other_failures_alert_only_as_a_failed_message(code: str) -> None:
    assert not is_spam_risk(code) and not is_account_problem(code)


def test_a_failure_alert_explains_the_code_instead_of_a_bare_failure() -> None:
    alert = DeliveryAlert.message_failed(message_id="m", campaign_id="c", chat_id="ch", sender="s",
                                         error_code="63016", reason="", actor="t", at=AT)
    [raised] = alert.collect_events()
    assert raised.detail == explain("63016").sentence  # type: ignore[attr-defined]
    unknown = DeliveryAlert.message_failed(message_id="m2", campaign_id="c", chat_id="ch", sender="s",
                                           error_code="12345", reason="Something new", actor="t", at=AT)
    assert "Something new" in unknown.collect_events()[0].detail  # type: ignore[attr-defined]
