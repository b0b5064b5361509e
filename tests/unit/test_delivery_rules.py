"""Delivery rules without a database: alert ids, when a retry makes sense, masked logs, safe CSV cells."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

import pytest

from api.routers.message_audit import safe_cell
from despacho.logs import JsonFormatter, mask_phone
from domain.delivery_alerts import (
    DeliveryAlert,
    DeliveryAlertError,
    may_retry,
    window_slot,
)

AT = datetime(2026, 11, 2, 14, 5, tzinfo=UTC)


def test_the_same_problem_always_gets_the_same_alert_id() -> None:
    one = DeliveryAlert.message_failed(message_id="m1", campaign_id="c", chat_id="ch", sender="s",
                                       error_code="30003", reason="", actor="t", at=AT)
    again = DeliveryAlert.message_failed(message_id="m1", campaign_id="c", chat_id="ch", sender="s",
                                         error_code="30003", reason="", actor="t", at=AT + timedelta(minutes=5))
    assert one.id == again.id
    same_hour = DeliveryAlert.account_problem(error_code="20003", campaign_id="c", sender="s", message_id="m2",
                                              actor="t", at=AT + timedelta(minutes=50))
    next_hour = DeliveryAlert.account_problem(error_code="20003", campaign_id="c", sender="s", message_id="m3",
                                              actor="t", at=AT + timedelta(minutes=60))
    first = DeliveryAlert.account_problem(error_code="20003", campaign_id="c", sender="s", message_id="m1",
                                          actor="t", at=AT)
    assert first.id == same_hour.id != next_hour.id


def test_an_alert_is_acknowledged_once() -> None:
    alert = DeliveryAlert.raise_alert("rate:x", "failure_rate", campaign_id="c", detail="d", actor="t", at=AT)
    alert.acknowledge(actor="user:1", at=AT)
    with pytest.raises(DeliveryAlertError):
        alert.acknowledge(actor="user:2", at=AT)


def test_the_rate_window_slot_is_the_same_for_every_worker_within_a_window() -> None:
    start = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)
    assert window_slot(start, 60) == window_slot(start + timedelta(minutes=59), 60)
    assert window_slot(start, 60) != window_slot(start + timedelta(minutes=60), 60)


@pytest.mark.parametrize(("status", "code", "expected"), [
    ("undelivered", "30003", True),   # handset off: may work later
    ("failed", "30008", True),        # unknown carrier error
    ("failed", "", True),             # no code: unknown, worth a try
    ("failed", "21610", False),       # opted out (R11)
    ("failed", "opted_out", False),
    ("failed", "21211", False),       # invalid number
    ("undelivered", "63016", False),  # window closed: a template is needed instead
    ("failed", "20003", False),       # the account, not the message
    ("delivered", "", False),
    ("canceled", "", True),           # never reached the customer: the transcript shows it failed too
])
def test_a_retry_is_offered_only_when_sending_again_can_help(status: str, code: str, expected: bool) -> None:
    assert may_retry(status, code) is expected


def test_phones_are_masked_in_logs_and_secrets_never_reach_them() -> None:
    assert mask_phone("whatsapp:+573001112233") == "whatsapp:+57300****233"
    assert mask_phone("+573001112233") == "+57300****233"
    record = logging.LogRecord("workers", logging.INFO, __file__, 1, "sent to +573001112233 auth_token=abc123",
                               None, None)
    record.__dict__.update(message_id="m1", sid="SM1", chat_id="c1", to="whatsapp:+573001112233")
    entry = json.loads(JsonFormatter().format(record))
    assert entry["to"] == "whatsapp:+57300****233"
    assert (entry["message_id"], entry["sid"], entry["chat_id"]) == ("m1", "SM1", "c1")
    assert "3001112233" not in json.dumps(entry) and "abc123" not in json.dumps(entry)


@pytest.mark.parametrize("cell", ["=1+1", "+57300", "-2", "@SUM(A1)", "\t=1"])
def test_csv_cells_that_a_spreadsheet_would_run_are_neutralised(cell: str) -> None:
    assert safe_cell(cell) == "'" + cell


def test_plain_csv_cells_are_left_alone() -> None:
    assert safe_cell("whatsapp:+573001112233") == "whatsapp:+573001112233"
    assert safe_cell(None) == ""
    assert safe_cell(AT) == AT.isoformat()
