"""Prometheus `/metrics`: the exposition parses with prometheus_client's own parser, its figures are those of a
scripted state (queues per campaign code, projection lag, send failures per category, webhook latency), and it
is served only with the configured token, or without one only to the local machine in embedded mode."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from uuid import UUID

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from adapters.clock import FixedClock
from adapters.twilio_signatures import sign, webhook_url
from api.app import create_app
from api.deps import get_settings
from despacho.bootstrap import Despacho, build
from despacho.settings import Settings
from domain.chats import Chat
from domain.messages import OutboundMessage
from tests.conftest import START, WITH_CLOSING_TEMPLATE

LOCAL = ("127.0.0.1", 51000)
ELSEWHERE = ("203.0.113.9", 51000)
TOKEN = "token-de-prometheus-" + "x" * 24


@pytest.fixture
def despacho(sqlite_settings: Settings, clock: FixedClock) -> Iterator[Despacho]:
    built = build(sqlite_settings, clock=clock)
    yield built
    built.close()


def waiting_chat(despacho: Despacho, campaign_id: UUID, n: int, queued_minutes_ago: int) -> None:
    at = START - timedelta(minutes=queued_minutes_ago)
    chat = Chat.open("whatsapp", f"whatsapp:+5730000{n:05d}", "whatsapp:+5716000001", profile_name="",
                     flow_name="default", actor="test", at=at)
    chat.enqueue(str(campaign_id), outside_hours=False, actor="test", at=at)
    despacho.store.save(chat)


def failed_message(despacho: Despacho, campaign_id: UUID, code: str) -> None:
    message = OutboundMessage.request(chat_id="", campaign_id=str(campaign_id), kind="agent", channel="whatsapp",
                                      to="whatsapp:+573001112233", sender="whatsapp:+5716000001", body="Hola",
                                      actor="test", at=START)
    message.fail(code, "falló", actor="test", at=START)
    despacho.store.save(message)


def scrape(app: FastAPI, client: tuple[str, int] = LOCAL, **headers: str) -> tuple[int, str]:
    response = TestClient(app, client=client).get("/metrics", headers=headers)
    return response.status_code, response.text


def samples(exposition: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(exposition) for s in family.samples}


def test_the_figures_are_those_of_the_read_tables_at_the_scrape(despacho: Despacho) -> None:
    banco = despacho.campaigns.register("banco_a", "Banco", "Banco Andino", WITH_CLOSING_TEMPLATE, actor="test")
    telco = despacho.campaigns.register("telco_b", "Telco", "Telco Sur", WITH_CLOSING_TEMPLATE, actor="test")
    despacho.campaigns.register("seguros_c", "Seguros", "Seguros", WITH_CLOSING_TEMPLATE, actor="test")
    waiting_chat(despacho, banco, 1, queued_minutes_ago=10)
    waiting_chat(despacho, banco, 2, queued_minutes_ago=4)
    waiting_chat(despacho, telco, 3, queued_minutes_ago=1)
    failed_message(despacho, banco, "30003")
    failed_message(despacho, banco, "21211")
    failed_message(despacho, telco, "63016")
    despacho.runner.catch_up()  # the followers too (what they hand out stays on the in-process broker)
    app = create_app(despacho)

    status, text = scrape(app)
    found = samples(text)

    assert status == 200
    assert found["despacho_queue_length", (("campaign", "banco_a"),)] == 2
    assert found["despacho_queue_length", (("campaign", "telco_b"),)] == 1
    assert found["despacho_queue_length", (("campaign", "seguros_c"),)] == 0
    assert found["despacho_queue_longest_wait_seconds", (("campaign", "banco_a"),)] == 600
    assert found["despacho_queue_longest_wait_seconds", (("campaign", "telco_b"),)] == 60
    assert found["despacho_queue_longest_wait_seconds", (("campaign", "seguros_c"),)] == 0
    failures = {labels: value for (name, labels), value in found.items()
                if name == "despacho_outbound_send_failures_total"}
    assert failures == {(("campaign", "banco_a"), ("category", "invalid-recipient")): 2,
                        (("campaign", "telco_b"), ("category", "window")): 1}
    head = found["despacho_event_log_head", ()]
    lags = {labels: value for (name, labels), value in found.items() if name == "despacho_projection_lag_events"}
    assert head == despacho.runner.head() and set(lags.values()) == {0}
    assert {dict(labels)["projector"] for labels in lags} >= {"chats", "routing", "follow_ups"}


def test_lag_counts_the_events_each_projector_has_still_to_apply(despacho: Despacho) -> None:
    banco = despacho.campaigns.register("banco_a", "Banco", "Banco Andino", WITH_CLOSING_TEMPLATE, actor="test")
    despacho.runner.catch_up(hand_out_work=False)
    waiting_chat(despacho, banco, 1, queued_minutes_ago=3)  # two events (opened, queued), not projected yet

    found = samples(scrape(create_app(despacho))[1])

    assert found["despacho_projection_lag_events", (("projector", "chats"),)] == 2
    assert found["despacho_projection_position", (("projector", "chats"),)] == despacho.runner.head() - 2
    assert found["despacho_queue_length", (("campaign", "banco_a"),)] == 0, "read tables, as projected"


def test_each_twilio_webhook_answer_is_timed_per_route(despacho: Despacho) -> None:
    app = create_app(despacho)
    route = "/webhooks/twilio/messages"
    before = samples(scrape(app)[1]).get(("despacho_webhook_latency_seconds_count", (("route", route),)), 0)
    settings = despacho.settings
    params = {"MessageSid": "SM" + "1" * 32, "AccountSid": settings.twilio_account_sid,
              "From": "whatsapp:+573001112233", "To": "whatsapp:+5716000001", "Body": "Hola", "NumMedia": "0"}
    signature = sign(settings.twilio_auth_token.get_secret_value(), webhook_url(settings.public_url, route), params)
    client = TestClient(app)
    assert client.post(route, data=params, headers={"X-Twilio-Signature": signature}).status_code == 200
    assert client.post(route, data=params, headers={"X-Twilio-Signature": "forged"}).status_code == 403

    after = samples(scrape(app)[1])

    assert after["despacho_webhook_latency_seconds_count", (("route", route),)] == before + 2
    assert after["despacho_webhook_latency_seconds_sum", (("route", route),)] > 0


def test_embedded_mode_without_a_token_serves_only_the_local_machine(despacho: Despacho) -> None:
    app = create_app(despacho)

    assert scrape(app, LOCAL)[0] == 200
    assert scrape(app, ELSEWHERE)[0] == 403


def test_production_without_a_token_refuses_everyone(despacho: Despacho) -> None:
    app = create_app(despacho)
    production = despacho.settings.model_copy(update={"mode": "production"})
    app.dependency_overrides[get_settings] = lambda: production

    assert scrape(app, LOCAL)[0] == 403


def test_with_a_token_only_its_bearer_is_served_from_anywhere(despacho: Despacho) -> None:
    app = create_app(despacho)
    with_token = despacho.settings.model_copy(update={"mode": "production", "metrics_token": SecretStr(TOKEN)})
    app.dependency_overrides[get_settings] = lambda: with_token

    assert scrape(app, ELSEWHERE)[0] == 401
    assert scrape(app, ELSEWHERE, Authorization="Bearer not-the-token")[0] == 401
    assert scrape(app, LOCAL, Authorization=f"Basic {TOKEN}")[0] == 401
    status, text = scrape(app, ELSEWHERE, Authorization=f"Bearer {TOKEN}")
    assert status == 200 and "despacho_queue_length" in text


def test_the_token_is_a_setting_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESPACHO_METRICS_TOKEN", TOKEN)

    assert Settings().metrics_token == SecretStr(TOKEN)
