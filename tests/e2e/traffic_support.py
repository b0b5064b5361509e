"""Traffic over signed webhooks against the production processes, and the invariants every fault test checks.

A fault test starts the deployment (two APIs, a worker and a projector, the fake Twilio's REST API),
lets customers identify themselves while something goes wrong, then checks that no inbound message is
lost or applied twice, every outbound message reached the fake Twilio exactly once, every chat was
assigned, the chats the agents close have their confirmation and PDF, and `audit routing`,
`projections rebuild --verify` and `audit closes` find nothing.
"""

from __future__ import annotations

import random
import secrets
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx

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
from tests.services import free_port

SCRIPT = ("Hola", "1")  # then the document
DEADLINE_SECONDS = 120
STARTUP_SECONDS = 120  # four processes importing at once on a busy 2-core runner
WEBHOOK_RETRY_SECONDS = 60

Start = Callable[..., subprocess.Popen[bytes]]


@dataclass
class Deployment:
    """The running processes (by name, replaced when restarted) and what the traffic needs to reach them."""

    database_url: str
    redis_url: str
    env: dict[str, str]
    commands: dict[str, tuple[str, ...]]
    running: dict[str, subprocess.Popen[bytes]]
    start: Start
    api_ports: list[int]
    public_url: str
    account: str
    token: str
    fake: FakeTwilio
    agent_tokens: dict[str, str]
    customers: int
    logs: Path

    def alive(self) -> list[subprocess.Popen[bytes]]:
        return list(self.running.values())

    def restart(self, name: str) -> None:
        """Start `name` again after it was killed; it goes on writing the same log."""
        self.running[name] = self.start(name, *self.commands[name])


@contextmanager
def deployment(database_url: str, redis_url: str, tmp_path: Path, customers: int,
               **env_overrides: str) -> Iterator[Deployment]:
    """Seeded campaign, the fake Twilio, two APIs, a worker and a projector, all answering."""
    account, token = "AC" + secrets.token_hex(16), secrets.token_hex(16)
    fake = FakeTwilio(account, token, dispatcher=CallbackDispatcher(token, step_delay=0.2), failing_suffixes={})
    api_ports = [free_port(), free_port()]
    public_url = f"http://127.0.0.1:{api_ports[0]}"  # status callbacks come back to the first API
    agent_tokens = seed(database_url, redis_url, tmp_path / "seed", customers)
    with serve_fake_twilio(fake) as twilio:
        env = production_env(database_url, redis_url, tmp_path / "var", DESPACHO_PUBLIC_URL=public_url,
                             DESPACHO_TWILIO_API_BASE_URL=twilio.url, TWILIO_ACCOUNT_SID=account,
                             TWILIO_AUTH_TOKEN=token, **env_overrides)
        commands = {"api-1": ("api", "--host", "127.0.0.1", "--port", str(api_ports[0])),
                    "api-2": ("api", "--host", "127.0.0.1", "--port", str(api_ports[1])),
                    "worker": ("worker", "--threads", "4"), "projector": ("projector",)}
        with processes(env, tmp_path) as start:
            running = {name: start(name, *arguments) for name, arguments in commands.items()}
            for port in api_ports:
                with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
                    wait_for(lambda c=client: healthy(c), "the APIs to answer", list(running.values()),
                             seconds=STARTUP_SECONDS)
            yield Deployment(database_url, redis_url, env, commands, running, start, api_ports, public_url, account,
                             token, fake, agent_tokens, customers, tmp_path)


def post_until_one_answers(ports: list[int], public_url: str, token: str, params: dict[str, str]) -> None:
    """Twilio's retry: the same signed webhook to every API process, until at least one has taken it."""
    url = webhook_url(public_url, "/webhooks/twilio/messages")
    headers = {"X-Twilio-Signature": sign(token, url, params)}
    deadline = time.monotonic() + WEBHOOK_RETRY_SECONDS
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


def customer_writes(deployed: Deployment, n: int, document: str) -> list[str]:
    sids = []
    for body in (*SCRIPT, document):
        sid = "SM" + secrets.token_hex(16)
        post_until_one_answers(deployed.api_ports, deployed.public_url, deployed.token, {
            "MessageSid": sid, "AccountSid": deployed.account, "From": f"whatsapp:+57301{n:07d}", "To": NUMBER,
            "Body": body, "ProfileName": f"Cliente {n}", "NumMedia": "0"})
        sids.append(sid)
        time.sleep(random.uniform(0.05, 0.4))
    return sids


def traffic_under(deployed: Deployment, havoc: Callable[[], None]) -> list[str]:
    """Every customer writes their script while `havoc` runs beside them; the MessageSids they sent."""
    wrecker = threading.Thread(target=havoc)
    wrecker.start()
    try:
        with ThreadPoolExecutor(max_workers=deployed.customers) as pool:
            written = list(pool.map(lambda args: customer_writes(deployed, *args),
                                    enumerate(documents(deployed.customers))))
    finally:
        wrecker.join()
    return [sid for sids in written for sid in sids]


def check_invariants(deployed: Deployment, sids: list[str], *, also: Callable[[Any], None] = lambda _: None) -> None:
    """Everyone assigned, the agents' closes finished, nothing lost or doubled, and the audits find nothing."""
    despacho = build(Settings(database_url=deployed.database_url, redis_url=deployed.redis_url,
                              var_dir=deployed.logs / "checks"))
    try:
        owners = wait_until_everyone_is_assigned(despacho, deployed)
        close_one_chat_each(deployed, owners)
        wait_for(lambda: closes_finished(despacho, len(deployed.agent_tokens)), "the closes' confirmations and PDFs",
                 deployed.alive())
        check_inbound_exactly_once(despacho, sids, deployed.customers * len((*SCRIPT, "document")))
        check_outbound_exactly_once(despacho, deployed.fake)
        also(despacho)
    finally:
        despacho.close()
    for check in (("audit", "routing"), ("projections", "rebuild", "--verify"), ("audit", "closes")):
        result = subprocess.run(despacho_command(*check), env=deployed.env, cwd=deployed.logs, capture_output=True,
                                text=True, timeout=120, check=False)
        assert result.returncode == 0, f"{' '.join(check)}:\n{result.stdout}{result.stderr}"


def wait_until_everyone_is_assigned(despacho: Any, deployed: Deployment) -> dict[str, Any]:
    from projections.queries import CHATS

    def assigned() -> dict[str, Any] | None:
        with despacho.read_engine.connect() as connection:
            rows = connection.execute(CHATS.chats.select()).mappings().all()
        if len(rows) == deployed.customers and all(r["status"] == "assigned" for r in rows):
            return {r["id"]: r["agent_id"] for r in rows}
        return None

    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        if (found := assigned()) is not None:
            return found
        assert all(p.poll() is None for p in deployed.alive()), "a process died on its own"
        time.sleep(0.5)
    raise AssertionError("not every customer reached an agent")


def close_one_chat_each(deployed: Deployment, owners: dict[str, str]) -> None:
    """Each agent closes one of their chats through the API, as the desk does."""
    by_agent = {agent: chat for chat, agent in owners.items()}
    with httpx.Client(base_url=f"http://127.0.0.1:{deployed.api_ports[0]}", timeout=10) as client:
        for token in deployed.agent_tokens.values():
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


def check_inbound_exactly_once(despacho: Any, sids: list[str], expected: int) -> None:
    recorded = [despacho.store.repository.get(InboundMessage.create_id(sid)) for sid in sids]
    assert len(recorded) == len(sids) == expected
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
