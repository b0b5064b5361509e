"""Follow-ups through the production processes over real HTTP (issue 10's figures).

`despacho api`, `worker` and `projector` on PostgreSQL and Redis, the fake Twilio API as a real HTTP
server. Two latencies, in interleaved rounds:
- identified → assigned: the customer's document webhook posted → the chat's AgentAssigned event;
  beside it, the same webhook → the bot's answer reaching Twilio, a chain of the same length through
  the follower (a measure of the transport, not a target);
- an agent's next chat after a close: the close POSTed → the waiting chat's AgentAssigned; beside it,
  the same close → its confirmation reaching Twilio.
Targets: identified → assigned p99 ≤ 300 ms and next chat after a close p95 ≤ 300 ms, on a quiet machine.
The machine's load average is printed beside the figures.
"""

from __future__ import annotations

import os
import secrets
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from uuid import UUID

from common import median, percentile

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx

from adapters.fake_twilio_api import FakeTwilio, serve_fake_twilio
from adapters.twilio_callbacks import CallbackDispatcher
from adapters.twilio_signatures import sign, webhook_url
from despacho.bootstrap import build
from despacho.settings import Settings
from domain.chats import Chat
from tests.e2e.production_support import NUMBER, documents, healthy, processes, production_env, seed, wait_for
from tests.services import free_port, fresh_postgres_database, fresh_redis_database

ROUNDS = 5
CUSTOMERS_PER_ROUND = 20
AGENTS = ("ana", "bruno", "carla", "diana")


def post(port: int, public_url: str, account: str, token: str, customer: str, body: str) -> float:
    params = {"MessageSid": "SM" + secrets.token_hex(16), "AccountSid": account, "From": customer, "To": NUMBER,
              "Body": body, "NumMedia": "0"}
    headers = {"X-Twilio-Signature": sign(token, webhook_url(public_url, "/webhooks/twilio/messages"), params)}
    sent = time.time()
    assert httpx.post(f"http://127.0.0.1:{port}/webhooks/twilio/messages", data=params, headers=headers,
                      timeout=10).status_code == 200
    return sent


def events_of(despacho: Any, chat_id: str) -> list[Any]:
    return list(despacho.store.events.get(UUID(chat_id)))


def wait_for_event(despacho: Any, chat_id: str, kind: type, deadline: float = 30) -> Any:
    give_up = time.monotonic() + deadline
    while time.monotonic() < give_up:
        found = [e for e in events_of(despacho, chat_id) if isinstance(e, kind)]
        if found:
            return found[-1]
        time.sleep(0.005)
    raise AssertionError(f"no {kind.__name__} on chat {chat_id}")


def twilio_received(fake: FakeTwilio, to: str, after: float) -> float:
    give_up = time.monotonic() + 30
    while time.monotonic() < give_up:
        times = [m.date_created.timestamp() for m in fake.list_messages({"To": to})
                 if m.date_created.timestamp() >= after]
        if times:
            return min(times)
        time.sleep(0.005)
    raise AssertionError(f"nothing reached Twilio for {to}")


def chat_of(despacho: Any, customer: str) -> str:
    from domain.threads import CustomerThread

    give_up = time.monotonic() + 30
    while time.monotonic() < give_up:
        try:
            thread = despacho.store.repository.get(CustomerThread.create_id(customer, NUMBER))
            if thread.open_chat_id:
                return str(thread.open_chat_id)
        except Exception:  # noqa: S110 - not recorded yet; try again
            pass
        time.sleep(0.005)
    raise AssertionError(f"no chat for {customer}")


def one_customer(despacho: Any, fake: FakeTwilio, port: int, public_url: str, account: str, token: str,
                 customer: str, document: str) -> tuple[float, float, str]:
    for body in ("Hola", "1"):
        sent = post(port, public_url, account, token, customer, body)
        twilio_received(fake, customer, sent)
    sent = post(port, public_url, account, token, customer, document)
    chat_id = chat_of(despacho, customer)
    assigned = wait_for_event(despacho, chat_id, Chat.AgentAssigned).at.timestamp()
    answered = twilio_received(fake, customer, sent)
    return assigned - sent, answered - sent, chat_id


def main() -> None:
    account, token = "AC" + secrets.token_hex(16), secrets.token_hex(16)
    fake = FakeTwilio(account, token, dispatcher=CallbackDispatcher(token, step_delay=0.2), failing_suffixes={})
    port = free_port()
    public_url = f"http://127.0.0.1:{port}"
    total = ROUNDS * CUSTOMERS_PER_ROUND
    with tempfile.TemporaryDirectory() as tmp, fresh_postgres_database() as database_url, \
            fresh_redis_database() as redis, serve_fake_twilio(fake) as twilio:
        var = Path(tmp)
        tokens = seed(database_url, redis, var / "seed", total + ROUNDS, capacity=50, agents=AGENTS)
        env = production_env(database_url, redis, var / "var", DESPACHO_PUBLIC_URL=public_url,
                             DESPACHO_TWILIO_API_BASE_URL=twilio.url, TWILIO_ACCOUNT_SID=account,
                             TWILIO_AUTH_TOKEN=token, DESPACHO_LOG_LEVEL="WARNING")
        with processes(env, var) as start:
            running = [start("api", "api", "--host", "127.0.0.1", "--port", str(port)),
                       start("worker", "worker", "--threads", "8"), start("projector", "projector")]
            with httpx.Client(base_url=public_url, timeout=5) as client:
                wait_for(lambda: healthy(client), "the API", running)
            despacho = build(Settings(database_url=database_url, redis_url=redis, var_dir=var / "reader"))
            try:
                identified = measure_identified(despacho, fake, port, public_url, account, token)
                after_close = measure_next_chat(despacho, fake, port, public_url, account, token, tokens)
            finally:
                despacho.close()
    load = os.getloadavg()
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores")
    show("identified → assigned", identified, "webhook → bot's answer at Twilio", 99)
    show("next chat after a close", after_close, "close → confirmation at Twilio", 95)


def measure_identified(despacho: Any, fake: FakeTwilio, port: int, public_url: str, account: str,
                       token: str) -> list[tuple[list[float], list[float]]]:
    rounds, docs = [], documents(ROUNDS * CUSTOMERS_PER_ROUND)
    for r in range(ROUNDS):
        batch = [(f"whatsapp:+57302{r:02d}{n:05d}", docs[r * CUSTOMERS_PER_ROUND + n])
                 for n in range(CUSTOMERS_PER_ROUND)]
        with ThreadPoolExecutor(max_workers=CUSTOMERS_PER_ROUND) as pool:
            results = list(pool.map(lambda c: one_customer(despacho, fake, port, public_url, account, token, *c),
                                    batch))
        rounds.append(([a for a, _, _ in results], [b for _, b, _ in results]))
    return rounds


def measure_next_chat(despacho: Any, fake: FakeTwilio, port: int, public_url: str, account: str, token: str,
                      tokens: dict[str, str]) -> list[tuple[list[float], list[float]]]:
    """One agent, full, closes a chat while a customer waits in the queue: how soon the customer is hers."""
    bearer = {"Authorization": f"Bearer {tokens[AGENTS[0]]}"}
    spare = documents(ROUNDS * CUSTOMERS_PER_ROUND + ROUNDS)[-ROUNDS:]
    rounds = []
    with httpx.Client(base_url=public_url, timeout=10) as client:
        me = UUID(client.get("/api/me", headers=bearer).json()["id"])
        for other in AGENTS[1:]:  # everyone else on a break: the waiting chat can only be hers
            answer = client.put("/api/agents/me/status", headers={"Authorization": f"Bearer {tokens[other]}"},
                                json={"status": "break"})
            assert answer.status_code == 204, answer.text
        for r in range(ROUNDS):
            agent = despacho.staff.get(me)
            despacho.staff.edit(me, name=agent.name, role="agent", capacity=len(agent.open_chats),
                                campaign_ids=frozenset(agent.campaigns), actor="bench")  # full
            waiting = f"whatsapp:+57303{r:02d}00000"
            for body in ("Hola", "1", spare[r]):
                twilio_received(fake, waiting, post(port, public_url, account, token, waiting, body))
            queued_chat = chat_of(despacho, waiting)
            wait_for_event(despacho, queued_chat, Chat.Queued)
            victim = sorted(despacho.staff.get(me).open_chats)[0]
            early = [e for e in events_of(despacho, queued_chat) if isinstance(e, Chat.AgentAssigned)]
            assert not early, ("the waiting chat must wait for the close", early[0].agent_id, str(me),
                               early[0].decision, len(despacho.staff.get(me).open_chats))
            response = client.post(f"/api/chats/{victim}/close", headers=bearer,
                                   json={"disposition": "acuerdo_de_pago"})
            assert response.status_code == 204, response.text
            closed_at = wait_for_event(despacho, victim, Chat.Closed).at.timestamp()  # the API's own clock
            assigned = wait_for_event(despacho, queued_chat, Chat.AgentAssigned).at.timestamp()
            customer = despacho.store.repository.get(UUID(victim)).customer_address
            confirmed = twilio_received(fake, customer, closed_at)
            rounds.append(([assigned - closed_at], [confirmed - closed_at]))
    return rounds


def show(label: str, rounds: list[tuple[list[float], list[float]]], baseline: str, tail: int) -> None:
    figures = [x for measured, _ in rounds for x in measured]
    base = [x for _, b in rounds for x in b]
    ratios = [median(m) / median(b) for m, b in rounds if median(b) > 0]
    print(f"{label}: p50 {median(figures) * 1000:.0f} ms  p95 {percentile(figures, 95) * 1000:.0f} ms  "
          f"p99 {percentile(figures, 99) * 1000:.0f} ms  (target p{tail} ≤ 300 ms)")
    print(f"    baseline {baseline}: p50 {median(base) * 1000:.0f} ms  p95 {percentile(base, 95) * 1000:.0f} ms  "
          f"p99 {percentile(base, 99) * 1000:.0f} ms;  ratio per round median {median(ratios):.2f}, "
          f"spread {min(ratios):.2f}–{max(ratios):.2f}")


if __name__ == "__main__":
    main()
