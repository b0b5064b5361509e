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
import threading
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
from projections.runner import wait_for_position
from tests.e2e.production_support import NUMBER, documents, healthy, processes, production_env, seed, wait_for
from tests.services import free_port, fresh_postgres_database, fresh_redis_database

ROUNDS = 5
CUSTOMERS_PER_ROUND = 10
AGENTS = ("ana", "bruno", "carla", "diana")


def post(port: int, public_url: str, account: str, token: str, customer: str, body: str) -> float:
    params = {"MessageSid": "SM" + secrets.token_hex(16), "AccountSid": account, "From": customer, "To": NUMBER,
              "Body": body, "NumMedia": "0"}
    headers = {"X-Twilio-Signature": sign(token, webhook_url(public_url, "/webhooks/twilio/messages"), params)}
    sent = time.time()
    assert httpx.post(f"http://127.0.0.1:{port}/webhooks/twilio/messages", data=params, headers=headers,
                      timeout=10).status_code == 200
    return sent


class LogWatcher:
    """One reader tails the event log for the whole bench (cheap), instead of every customer thread polling
    the store: the harness must not take the CPU the processes it measures need."""

    WATCHED = ("Chat.Queued", "Chat.AgentAssigned", "Chat.Closed", "CustomerThread.ChatAttached")

    def __init__(self, store: Any) -> None:
        self.store = store
        self.seen: dict[str, dict[str, list[Any]]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._tail, daemon=True)
        self._thread.start()

    def _tail(self) -> None:
        position = int(self.store.recorder.max_notification_id() or 0)
        while not self._stop.is_set():
            notifications = self.store.recorder.select_notifications(start=position, limit=1000,
                                                                     inclusive_of_start=False)
            for notification in notifications:
                if notification.topic.split(":")[-1] in self.WATCHED:
                    event = self.store.mapper.to_domain_event(notification)
                    kinds = self.seen.setdefault(str(event.originator_id), {})
                    kinds.setdefault(type(event).__qualname__, []).append(event)
                position = notification.id
            if not notifications:
                self._stop.wait(0.005)

    def wait(self, aggregate_id: str, kind: str, deadline: float = 60) -> Any:
        give_up = time.monotonic() + deadline
        while time.monotonic() < give_up:
            found = self.seen.get(aggregate_id, {}).get(kind)
            if found:
                return found[-1]
            time.sleep(0.005)
        raise AssertionError(f"no {kind} on {aggregate_id}")

    def chat_of(self, customer: str) -> str:
        from domain.threads import CustomerThread

        return str(self.wait(str(CustomerThread.create_id(customer, NUMBER)), "CustomerThread.ChatAttached").chat_id)

    def stop(self) -> None:
        self._stop.set()


def twilio_received(fake: FakeTwilio, to: str, after: float) -> float:
    give_up = time.monotonic() + 60
    while time.monotonic() < give_up:
        times = [m.date_created.timestamp() for m in fake.list_messages({"To": to})
                 if m.date_created.timestamp() >= after]
        if times:
            return min(times)
        time.sleep(0.02)
    raise AssertionError(f"nothing reached Twilio for {to}")


def one_customer(log: LogWatcher, fake: FakeTwilio, port: int, public_url: str, account: str, token: str,
                 customer: str, document: str) -> tuple[float, float, float]:
    for body in ("Hola", "1"):
        sent = post(port, public_url, account, token, customer, body)
        twilio_received(fake, customer, sent)
    sent = post(port, public_url, account, token, customer, document)
    chat_id = log.chat_of(customer)
    assigned = log.wait(chat_id, "Chat.AgentAssigned").at.timestamp()
    queued = log.wait(chat_id, "Chat.Queued").at.timestamp()
    answered = twilio_received(fake, customer, sent)
    return assigned - sent, answered - sent, queued - sent


def main() -> None:
    account, token = "AC" + secrets.token_hex(16), secrets.token_hex(16)
    fake = FakeTwilio(account, token, dispatcher=CallbackDispatcher(token, step_delay=0.2), failing_suffixes={})
    port = free_port()
    public_url = f"http://127.0.0.1:{port}"
    total = 2 * ROUNDS * CUSTOMERS_PER_ROUND
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
                log = LogWatcher(despacho.store)
                alone = measure_identified(log, fake, port, public_url, account, token, 1, 0)
                together = measure_identified(log, fake, port, public_url, account, token, CUSTOMERS_PER_ROUND,
                                              ROUNDS * CUSTOMERS_PER_ROUND)
                after_close = measure_next_chat(despacho, log, fake, port, public_url, account, token, tokens)
                log.stop()
            finally:
                despacho.close()
    load = os.getloadavg()
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores")
    for label, (rounds, queued) in (("one customer at a time", alone),
                                    (f"{CUSTOMERS_PER_ROUND} customers at once", together)):
        show(f"identified → assigned, {label}", rounds, "webhook → bot's answer at Twilio", 99)
        print(f"    of which webhook → queued by the bot: p50 {median(queued) * 1000:.0f} ms  "
              f"p99 {percentile(queued, 99) * 1000:.0f} ms")
    show("next chat after a close", after_close, "close → confirmation at Twilio", 95)


def measure_identified(log: LogWatcher, fake: FakeTwilio, port: int, public_url: str, account: str, token: str,
                       concurrency: int, offset: int) -> tuple[list[tuple[list[float], list[float]]], list[float]]:
    """ROUNDS rounds of CUSTOMERS_PER_ROUND customers, `concurrency` at a time; the rounds, and the part of each
    latency before routing (document webhook → the bot queued the chat)."""
    rounds, queued, docs = [], [], documents(offset + ROUNDS * CUSTOMERS_PER_ROUND)[offset:]
    for r in range(ROUNDS):
        batch = [(f"whatsapp:+573{concurrency:02d}{r:02d}{n:05d}", docs[r * CUSTOMERS_PER_ROUND + n])
                 for n in range(CUSTOMERS_PER_ROUND)]
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            results = list(pool.map(lambda c: one_customer(log, fake, port, public_url, account, token, *c),
                                    batch))
        rounds.append(([a for a, _, _ in results], [b for _, b, _ in results]))
        queued.extend(q for _, _, q in results)
    return rounds, queued


def measure_next_chat(despacho: Any, log: LogWatcher, fake: FakeTwilio, port: int, public_url: str, account: str,
                      token: str, tokens: dict[str, str]) -> list[tuple[list[float], list[float]]]:
    """One agent, full, closes a chat while a customer waits in the queue: how soon the customer is hers."""
    bearer = {"Authorization": f"Bearer {tokens[AGENTS[0]]}"}
    spare = documents(2 * ROUNDS * CUSTOMERS_PER_ROUND + ROUNDS)[-ROUNDS:]
    rounds = []
    with httpx.Client(base_url=public_url, timeout=10) as client:
        me = UUID(client.get("/api/me", headers=bearer).json()["id"])
        for other in AGENTS[1:]:  # everyone else on a break: the waiting chat can only be hers
            answer = client.put("/api/agents/me/status", headers={"Authorization": f"Bearer {tokens[other]}"},
                                json={"status": "break", "reason": "almuerzo"})
            assert answer.status_code == 204, answer.text
        for r in range(ROUNDS):
            agent = despacho.staff.get(me)
            despacho.staff.edit(me, name=agent.name, role="agent", capacity=len(agent.open_chats),
                                campaign_ids=frozenset(agent.campaigns), actor="bench")  # full
            waiting = f"whatsapp:+57303{r:02d}00000"
            for body in ("Hola", "1", spare[r]):
                twilio_received(fake, waiting, post(port, public_url, account, token, waiting, body))
            queued_chat = log.chat_of(waiting)
            log.wait(queued_chat, "Chat.Queued")
            victim = sorted(despacho.staff.get(me).open_chats)[0]
            # The agent closes from the desk, which shows the chat once the read tables have it.
            assert wait_for_position(despacho.runner, despacho.runner.head(), ("chats",), timeout=60)
            assert "Chat.AgentAssigned" not in log.seen.get(queued_chat, {}), "the waiting chat waits for the close"
            response = client.post(f"/api/chats/{victim}/close", headers=bearer,
                                   json={"disposition": "acuerdo_de_pago"})
            assert response.status_code == 204, response.text
            closed_at = log.wait(victim, "Chat.Closed").at.timestamp()  # the API's own clock
            assigned = log.wait(queued_chat, "Chat.AgentAssigned").at.timestamp()
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
