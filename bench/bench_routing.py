"""Inbound webhooks per second and latency (signed; new and ongoing chats) next to a bare FastAPI
endpoint doing one INSERT, and "customer identified → agent assigned" p99 with 200 agents and
5,000 open chats. Targets: webhook throughput ≥ 50% of the bare baseline, assignment p99 ≤ 100 ms."""

from __future__ import annotations

import itertools
import time
from datetime import timedelta

from common import available_backends, backend, median, percentile, rate, report
from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.testclient import TestClient
from sqlalchemy import Column, Integer, MetaData, String, Table, insert

from adapters.twilio_signatures import sign, webhook_url
from api.app import create_app
from domain.agents import Agent
from domain.chats import Chat
from domain.sessions import AgentSession

REQUESTS = 600
CAMPAIGNS = 10
AGENTS = 200
OPEN_CHATS = 5_000
SAMPLES = 200
sids = (f"SM{n:032x}" for n in itertools.count(1))


def bare_app(despacho) -> TestClient:
    """The baseline: FastAPI parsing the same form and doing one INSERT in the same database."""
    metadata = MetaData()
    table = Table("bench_inbound", metadata, Column("id", Integer, primary_key=True), Column("sid", String(34)),
                  Column("body", String(200)))
    metadata.create_all(despacho.read_engine)
    app = FastAPI()

    @app.post("/bare")
    async def bare(request: Request) -> Response:
        form = await request.form()
        with despacho.read_engine.begin() as connection:
            connection.execute(insert(table).values(sid=str(form["MessageSid"]), body=str(form["Body"])))
        return Response(status_code=200)

    return TestClient(app)


def signed(despacho, params: dict[str, str]) -> dict[str, str]:
    url = webhook_url(despacho.settings.public_url, "/webhooks/twilio/messages")
    return {"X-Twilio-Signature": sign(despacho.settings.twilio_auth_token.get_secret_value(), url, params)}


def measure(post) -> tuple[float, list[float]]:
    latencies = []
    start = time.perf_counter()
    for n in range(REQUESTS):
        began = time.perf_counter()
        post(n)
        latencies.append(time.perf_counter() - began)
    return rate(REQUESTS, time.perf_counter() - start), latencies


def webhooks(despacho, name: str) -> None:
    bare = bare_app(despacho)
    client = TestClient(create_app(despacho))

    def params(n: int, customer: int) -> dict[str, str]:
        return {"MessageSid": next(sids), "From": f"whatsapp:+57300{customer:07d}", "To": "whatsapp:+5716000001",
                "Body": f"mensaje {n}", "NumMedia": "0"}

    def post_bare(n: int) -> None:
        assert bare.post("/bare", data=params(n, n)).status_code == 200

    def post_new(n: int) -> None:
        form = params(n, n)
        assert client.post("/webhooks/twilio/messages", data=form, headers=signed(despacho, form)).status_code == 200

    def post_ongoing(n: int) -> None:
        form = params(n, n % 20)
        assert client.post("/webhooks/twilio/messages", data=form, headers=signed(despacho, form)).status_code == 200

    baseline, bare_latencies = measure(post_bare)
    for label, post in (("new chats", post_new), ("ongoing chats", post_ongoing)):
        throughput, latencies = measure(post)
        report(f"[{name}] inbound webhooks/s, {label}", throughput, "req/s", "bare INSERT", baseline)
        print(f"    latency p50 {median(latencies) * 1000:6.1f} ms  p99 {percentile(latencies, 99) * 1000:6.1f} ms"
              f"   (bare p50 {median(bare_latencies) * 1000:.1f} ms,"
              f" p99 {percentile(bare_latencies, 99) * 1000:.1f} ms)")


def seed_call_center(despacho) -> list[str]:
    now = despacho.clock.now()
    around_the_clock = {"agents_outside_hours_take_chats": True}  # the bench runs at any hour
    campaigns = [str(despacho.campaigns.register(f"camp{c:02d}", f"Campaña {c}", f"Campaña {c}", around_the_clock,
                                                 actor="bench")) for c in range(CAMPAIGNS)]
    agents = []
    for n in range(AGENTS):
        agent = Agent.register(f"asesor{n:03d}", f"Asesor {n}", "agent", 40, actor="bench", at=now)
        agent.join_campaign(campaigns[n % CAMPAIGNS], actor="bench", at=now)
        session = AgentSession.open(str(agent.id), client="bench", actor="bench", at=now)
        agent.sign_in(str(session.id), allow_parallel=False, actor="bench", at=now)
        agent.change_status("available", session_id=str(session.id), actor="bench", at=now)
        despacho.store.save(session)
        agents.append(agent)
    for n in range(OPEN_CHATS):
        agent, chat = agents[n % AGENTS], queued_chat(n, campaigns[n % CAMPAIGNS], now)
        agent.take_chat(str(chat.id), chat.campaign_id, exceptional=False, actor="bench", at=now)
        chat.assign(str(agent.id), {}, exceptional=False, reason="seed", actor="bench", at=now)
        despacho.store.save(chat)
    despacho.store.save(*agents)
    despacho.runner.catch_up()
    return campaigns


def queued_chat(n: int, campaign_id: str, now) -> Chat:
    chat = Chat.open("whatsapp", f"whatsapp:+57310{n:07d}", "whatsapp:+5716000001", profile_name="",
                     flow_name="default", actor="bench", at=now)
    chat.enqueue(campaign_id, outside_hours=False, actor="bench", at=now)
    return chat


def assignment_latency(despacho, name: str) -> None:
    """A chat queued; the runner applies it and its routing follower dispatches: the time until it is assigned,
    beside the same runner applying the queueing to the other read tables alone."""
    campaigns = seed_call_center(despacho)
    routing = next(p for p in despacho.runner.projectors if p.name == "routing")
    others = [p for p in despacho.runner.projectors if p is not routing]
    latencies, projection_only = [], []
    for n in range(SAMPLES):
        now = despacho.clock.now() + timedelta(seconds=n)
        chat = queued_chat(OPEN_CHATS + n, campaigns[n % CAMPAIGNS], now)
        despacho.store.save(chat)
        began = time.perf_counter()
        for projector in others:
            despacho.runner.run_batch(projector)
        projected = time.perf_counter()
        despacho.runner.run_batch(routing)  # applies the queueing, then dispatches
        latencies.append(time.perf_counter() - projected)
        projection_only.append(projected - began)
        assert despacho.store.repository.get(chat.id).status == "assigned", "the benchmark chat was not assigned"
    print(f"[{name}] identified → assigned ({AGENTS} agents, {OPEN_CHATS:,} open chats): "
          f"p50 {median(latencies) * 1000:.1f} ms  p99 {percentile(latencies, 99) * 1000:.1f} ms  (target ≤ 100 ms; "
          f"projecting the queueing into the other read tables p99 {percentile(projection_only, 99) * 1000:.1f} ms)")


def main() -> None:
    for name in available_backends():
        with backend(name) as despacho:
            webhooks(despacho, name)
        with backend(name) as despacho:
            assignment_latency(despacho, name)


if __name__ == "__main__":
    main()
