"""Inbound webhooks per second and latency (signed; new and ongoing chats) next to a bare FastAPI
endpoint doing one INSERT. Target: webhook throughput ≥ 50% of the bare baseline. (The assignment
latency with 200 agents and 5,000 open chats is in bench_dispatch.py.)"""

from __future__ import annotations

import itertools
import time

from common import available_backends, backend, median, percentile, rate, report
from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.testclient import TestClient
from sqlalchemy import Column, Integer, MetaData, String, Table, insert

from adapters.twilio_signatures import sign, webhook_url
from api.app import create_app

REQUESTS = 600
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


def main() -> None:
    for name in available_backends():
        with backend(name) as despacho:
            webhooks(despacho, name)


if __name__ == "__main__":
    main()
