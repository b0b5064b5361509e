"""A call center for the desk and supervisor tests: two campaigns, their staff, a customer simulator.

banco_a: agents ana and carla, supervisor sandra. telco_b: agent bruno, supervisor tomas. Customers
write over the real, signed webhook (despacho.simulator); the worker and the projector run in the
background as in `despacho serve`; only Twilio is the fake transport.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from fastapi.testclient import TestClient

from adapters.clock import FixedClock
from adapters.twilio_transport import FakeTransport
from api.app import create_app
from despacho.bootstrap import Despacho, build
from despacho.runtime import background
from despacho.settings import Settings
from despacho.simulator import WEBHOOK_PATH, signed_message
from domain.sessions import AgentSession
from projections import desk_queries
from projections.runner import wait_until_projected
from tests.conftest import WITH_CLOSING_TEMPLATE
from tests.e2e.test_api_auth import PASSWORD, QUICK_PASSWORDS

BANCO_NUMBER = "whatsapp:+5716000001"
TELCO_NUMBER = "whatsapp:+5716000002"
PORTFOLIO = ("documento;tipo_documento;nombres;celular;saldo\n"
             "1020304050;CC;María Pérez;3001112233;1250000\n"
             "900100200;CC;Nubia Ospina;3221299450;44000\n")
phones = (f"whatsapp:+57300{n:07d}" for n in itertools.count(1000001))


@dataclass
class CallCenter:
    despacho: Despacho
    client: TestClient
    transport: FakeTransport
    clock: FixedClock
    banco: str
    telco: str
    ids: dict[str, str]
    tokens: dict[str, str] = field(default_factory=dict)

    def settle(self) -> None:
        for _ in range(5):
            self.despacho.broker.join("default")  # type: ignore[attr-defined]
            wait_until_projected(self.despacho.runner)

    def customer_writes(self, customer: str, body: str, to: str = BANCO_NUMBER) -> None:
        params, headers = signed_message(self.despacho.settings, customer, to, body)
        response = self.client.post(WEBHOOK_PATH, data=params, headers=headers)
        assert response.status_code == 200, response.text
        self.settle()

    def identified_chat(self, document: str = "1020304050", to: str = BANCO_NUMBER) -> dict[str, Any]:
        """A new customer says hello, chooses cédula and writes the document; returns their chat."""
        customer = next(phones)
        for body in ("Hola", "1", document):
            self.customer_writes(customer, body, to)
        [chat] = desk_queries.chats_of_customer(self.despacho.read_engine, customer)
        return chat

    def as_user(self, login: str) -> dict[str, str]:
        """Bearer headers for a user (API clients need no CSRF token). An agent's token lives as long as the session
        it opened: once a browser login replaced it, or it idled out while the test's clock moved on, the agent's API
        client is given a new token (R18)."""
        if login not in self.tokens or self._token_session_closed(login):
            self.tokens[login] = self.despacho.staff.issue_token(UUID(self.ids[login]), "tests", actor="test")
        return {"Authorization": f"Bearer {self.tokens[login]}"}

    def _token_session_closed(self, login: str) -> bool:
        token_id = self.tokens[login].split("_")[2]
        session_id = AgentSession.id_for_token(self.ids[login], token_id)
        session = self.despacho.staff._session(session_id)
        if session is None:
            return False  # never used yet: its first use opens it
        if session.close_reason in ("logout", "terminated"):
            return False  # closed on purpose: the test means the old token to be refused
        return self.despacho.staff.session_identity(session_id, self.ids[login]) is None

    def get(self, login: str, url: str) -> Any:
        return self.client.get(url, headers=self.as_user(login))

    def post(self, login: str, url: str, body: dict[str, Any]) -> Any:
        response = self.client.post(url, json=body, headers=self.as_user(login))
        self.settle()
        return response

    def set_status(self, login: str, status: str, reason: str = "") -> None:
        """Through the agent's API token, whose first use opens the agent's session (a break needs a reason)."""
        reason = reason or ("almuerzo" if status == "break" else "")
        response = self.client.put("/api/agents/me/status", json={"status": status, "reason": reason},
                                   headers=self.as_user(login))
        assert response.status_code == 204, response.text
        self.settle()


@contextmanager
def call_center(settings: Settings, clock: FixedClock) -> Iterator[CallCenter]:
    transport = FakeTransport()
    despacho = build(settings, clock=clock, transport=transport, passwords=QUICK_PASSWORDS)
    banco = despacho.campaigns.register("banco_a", "Banco Andino cobranza", "Banco Andino", WITH_CLOSING_TEMPLATE,
                                        actor="test")
    telco = despacho.campaigns.register("telco_b", "Telco Sur", "Telco Sur", WITH_CLOSING_TEMPLATE, actor="test")
    despacho.campaigns.link_sender(banco, BANCO_NUMBER, "whatsapp", is_default=True, actor="test")
    despacho.campaigns.link_sender(telco, TELCO_NUMBER, "whatsapp", is_default=True, actor="test")
    for campaign in (banco, telco):
        despacho.portfolios.import_file(campaign, PORTFOLIO.encode(), "cartera.csv", actor="test")
    staff = {"ana": ("agent", {banco}), "carla": ("agent", {banco}), "bruno": ("agent", {telco}),
             "sandra": ("supervisor", {banco}), "tomas": ("supervisor", {telco}), "admin": ("admin", set()),
             "auditor": ("auditor", set())}
    ids = {login: str(despacho.staff.register(login, login.title(), role, password=PASSWORD, capacity=2,
                                              campaign_ids=frozenset(str(c) for c in campaigns), actor="test"))
           for login, (role, campaigns) in staff.items()}
    with background(despacho, projector=True, worker=True, scheduler=False):
        wait_until_projected(despacho.runner)
        with TestClient(create_app(despacho), follow_redirects=False) as client:
            center = CallCenter(despacho, client, transport, clock, str(banco), str(telco), ids)
            center.set_status("ana", "available")
            yield center
    despacho.close()
