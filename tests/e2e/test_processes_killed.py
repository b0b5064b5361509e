"""Follow-ups survive SIGKILL: two APIs, a worker and a projector on PostgreSQL and Redis, killed and restarted.

Sixty customers identify themselves at once over signed webhooks, every webhook posted to both API
processes (Twilio retries; a second API answers when one is down). Meanwhile the worker, the
projector and one API are killed with SIGKILL at random moments and started again. Afterwards no
inbound message is lost or applied twice, every outbound message reached the fake Twilio exactly
once, every bot reply due while the worker was down went out soon after its restart, every chat
was assigned, `audit routing` and `projections rebuild --verify` find nothing, and the chats the
agents close have their confirmation and PDF (`audit closes`). Sized for CI: about a minute.
"""

from __future__ import annotations

import random
import secrets
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest

from adapters.fake_twilio_api import FakeTwilio, serve_fake_twilio
from adapters.twilio_callbacks import CallbackDispatcher
from adapters.twilio_signatures import sign, webhook_url
from despacho.bootstrap import build
from despacho.settings import Settings
from domain.messages import InboundMessage, OutboundMessage
from tests.e2e.production_support import (
    NUMBER,
    despacho_command,
    documents,
    healthy,
    processes,
    production_env,
    seed,
    wait_for,
)
from tests.services import free_port, fresh_postgres_database, fresh_redis_database

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

CUSTOMERS = 60
SCRIPT = ("Hola", "1")  # then the document
DEADLINE_SECONDS = 120
REPLY_AFTER_RESTART_SECONDS = 10


@dataclass
class Chaos:
    """When each process was down: (killed at, running again at), by process name."""

    outages: dict[str, list[tuple[float, float]]] = field(default_factory=dict)

    def record(self, name: str, killed: float, restarted: float) -> None:
        self.outages.setdefault(name, []).append((killed, restarted))


@pytest.fixture
def database_url() -> Iterator[str]:
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture
def redis_database() -> Iterator[str]:
    with fresh_redis_database() as url:
        yield url


def post_until_one_answers(ports: list[int], public_url: str, token: str, params: dict[str, str]) -> None:
    """Twilio's retry: the same signed webhook to every API process, until at least one has taken it."""
    url = webhook_url(public_url, "/webhooks/twilio/messages")
    headers = {"X-Twilio-Signature": sign(token, url, params)}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        answered = 0
        for port in ports:
            try:
                response = httpx.post(f"http://127.0.0.1:{port}/webhooks/twilio/messages", data=params,
                                      headers=headers, timeout=10)
                answered += response.status_code == 200
            except httpx.TransportError:
                pass
        if answered:
            return
        time.sleep(0.3)
    raise AssertionError(f"no API took {params['MessageSid']}")


def customer_writes(n: int, document: str, ports: list[int], public_url: str, account: str, token: str) -> list[str]:
    sids = []
    for body in (*SCRIPT, document):
        sid = "SM" + secrets.token_hex(16)
        post_until_one_answers(ports, public_url, token, {
            "MessageSid": sid, "AccountSid": account, "From": f"whatsapp:+57301{n:07d}", "To": NUMBER,
            "Body": body, "ProfileName": f"Cliente {n}", "NumMedia": "0"})
        sids.append(sid)
        time.sleep(random.uniform(0.05, 0.4))
    return sids


def kill_and_restart(start: Any, running: dict[str, subprocess.Popen[bytes]], name: str, arguments: tuple[str, ...],
                     chaos: Chaos, down_seconds: float) -> None:
    killed = time.time()
    running[name].send_signal(signal.SIGKILL)
    running[name].wait()
    time.sleep(down_seconds)
    running[name] = start(name, *arguments)
    chaos.record(name, killed, time.time())


def test_nothing_is_lost_or_sent_twice_when_processes_are_killed(database_url: str, redis_database: str,
                                                                 tmp_path: Path) -> None:
    account, token = "AC" + secrets.token_hex(16), secrets.token_hex(16)
    fake = FakeTwilio(account, token, dispatcher=CallbackDispatcher(token, step_delay=0.2), failing_suffixes={})
    api_ports = [free_port(), free_port()]
    public_url = f"http://127.0.0.1:{api_ports[0]}"  # status callbacks come back to the first API
    tokens = seed(database_url, redis_database, tmp_path / "seed", CUSTOMERS)
    chaos = Chaos()
    with serve_fake_twilio(fake) as twilio:
        env = production_env(database_url, redis_database, tmp_path / "var", DESPACHO_PUBLIC_URL=public_url,
                             DESPACHO_TWILIO_API_BASE_URL=twilio.url, TWILIO_ACCOUNT_SID=account,
                             TWILIO_AUTH_TOKEN=token)
        commands = {"api-1": ("api", "--host", "127.0.0.1", "--port", str(api_ports[0])),
                    "api-2": ("api", "--host", "127.0.0.1", "--port", str(api_ports[1])),
                    "worker": ("worker", "--threads", "4"), "projector": ("projector",)}
        with processes(env, tmp_path) as start:
            running = {name: start(name, *arguments) for name, arguments in commands.items()}
            for port in api_ports:
                with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
                    wait_for(lambda c=client: healthy(c), "the APIs to answer", list(running.values()))

            def havoc() -> None:
                for name in ("worker", "projector", "api-2", "worker", "projector"):
                    time.sleep(random.uniform(1.0, 3.0))
                    kill_and_restart(start, running, name, commands[name], chaos, random.uniform(0.5, 2.0))

            wrecker = threading.Thread(target=havoc)
            wrecker.start()
            with ThreadPoolExecutor(max_workers=CUSTOMERS) as pool:
                written = list(pool.map(lambda args: customer_writes(*args, api_ports, public_url, account, token),
                                        enumerate(documents(CUSTOMERS))))
            wrecker.join()

            despacho = build(Settings(database_url=database_url, redis_url=redis_database, var_dir=tmp_path / "x"))
            try:
                outcome = wait_until_everyone_is_assigned(despacho, running)
                close_some_chats(api_ports[0], tokens, outcome)
                wait_for(lambda: closes_finished(despacho, len(tokens)), "the closes' confirmations and PDFs",
                         list(running.values()))
                check_inbound_exactly_once(despacho, [sid for sids in written for sid in sids])
                check_outbound_exactly_once(despacho, fake)
                check_replies_soon_after_the_worker_restarted(despacho, chaos)
            finally:
                despacho.close()
            for check in (("audit", "routing"), ("projections", "rebuild", "--verify"), ("audit", "closes")):
                result = subprocess.run(despacho_command(*check), env=env, cwd=tmp_path, capture_output=True,
                                        text=True, timeout=120, check=False)
                assert result.returncode == 0, f"{' '.join(check)}:\n{result.stdout}{result.stderr}"


def wait_until_everyone_is_assigned(despacho: Any, running: dict[str, subprocess.Popen[bytes]]) -> dict[str, Any]:
    from projections.queries import CHATS

    def assigned() -> dict[str, Any] | None:
        with despacho.read_engine.connect() as connection:
            rows = connection.execute(CHATS.chats.select()).mappings().all()
        if len(rows) == CUSTOMERS and all(r["status"] == "assigned" for r in rows):
            return {r["id"]: r["agent_id"] for r in rows}
        return None

    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        if (found := assigned()) is not None:
            return found
        assert all(p.poll() is None for p in running.values()), "a process died on its own"
        time.sleep(0.5)
    raise AssertionError("not every customer reached an agent")


def close_some_chats(port: int, tokens: dict[str, str], owners: dict[str, str]) -> None:
    """Each agent closes one of their chats through the API, as the desk does."""
    by_agent = {agent: chat for chat, agent in owners.items()}
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
        for token in tokens.values():
            me = client.get("/api/me", headers={"Authorization": f"Bearer {token}"}).json()
            chat = by_agent[me["id"]]
            closed = client.post(f"/api/chats/{chat}/close", headers={"Authorization": f"Bearer {token}"},
                                 json={"disposition": "acuerdo_de_pago", "note": ""})
            assert closed.status_code == 204, closed.text


def closes_finished(despacho: Any, expected: int) -> bool:
    from projections.queries import CHATS

    chats = CHATS.chats
    with despacho.read_engine.connect() as connection:
        rows = connection.execute(chats.select().where(chats.c.status == "closed")).mappings().all()
    return len(rows) == expected and all(r["transcript_location"] and r["confirmation_message_id"] for r in rows)


def check_inbound_exactly_once(despacho: Any, sids: list[str]) -> None:
    recorded = [despacho.store.repository.get(InboundMessage.create_id(sid)) for sid in sids]
    assert len(recorded) == len(sids) == CUSTOMERS * 3
    writes = Counter(sid for chat_id in {m.chat_id for m in recorded}
                     for event in despacho.store.events.get(UUID(chat_id))
                     if type(event).__name__ == "CustomerWrote" for sid in [event.message_sid])
    assert set(writes) == set(sids) and set(writes.values()) == {1}, "each message on its chat exactly once"


def outbound_messages(despacho: Any) -> list[Any]:
    found, start = [], 0
    while notifications := despacho.store.recorder.select_notifications(start=start, limit=1000,
                                                                        inclusive_of_start=False):
        for notification in notifications:
            event = despacho.store.mapper.to_domain_event(notification)
            if isinstance(event, OutboundMessage.Requested):
                found.append(event)
        start = notifications[-1].id
    return found


def check_outbound_exactly_once(despacho: Any, fake: FakeTwilio) -> None:
    requested = {str(e.originator_id) for e in outbound_messages(despacho)}
    received = Counter(m.status_callback.split("mid=")[-1] for m in fake.list_messages({}) if m.status_callback)
    assert requested, "the bot said something"
    assert set(received) == requested, "every message the log asked for reached Twilio, and nothing else"
    assert set(received.values()) == {1}, f"sent twice: {[m for m, n in received.items() if n > 1]}"


def check_replies_soon_after_the_worker_restarted(despacho: Any, chaos: Chaos) -> None:
    """A reply requested while the worker was down went out within seconds of the worker coming back."""
    late = []
    for event in outbound_messages(despacho):
        requested = event.at.timestamp()
        for killed, restarted in chaos.outages.get("worker", []):
            if killed <= requested <= restarted:
                submitted = next(e.at.timestamp() for e in despacho.store.events.get(event.originator_id)
                                 if isinstance(e, OutboundMessage.Submitted))
                if submitted - restarted > REPLY_AFTER_RESTART_SECONDS:
                    late.append(round(submitted - restarted, 1))
    assert late == [], f"replies sent long after the worker's restart (seconds): {late}"
