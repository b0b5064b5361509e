"""What a load run needs on the deployment, created through its API as an admin would: a campaign open around
the clock with its own WhatsApp number, a generated portfolio of one customer per simulated customer, and agents
of that campaign, each with a bearer token of their own (signed in as that agent, the token issued to them)."""

from __future__ import annotations

import asyncio
import math
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

from domain.campaigns import MIDNIGHT, WEEKDAYS

AGENT_PASSWORD_BYTES = 18
CLOSING_TEMPLATE_SID = "HX" + "1" * 32  # a WhatsApp campaign must hold an approved closing template
CLOSING_MESSAGE = "Gracias por escribirnos. Damos por cerrada esta conversación."  # how customers tell a close
DISPOSITION = "acuerdo_de_pago"  # one of every campaign's default dispositions
MAX_CAPACITY = 50
SETTLE_SECONDS = 60


class SetupError(Exception):
    """The deployment refused a step of the setup."""


@dataclass(frozen=True)
class Agent:
    login: str
    token: str


@dataclass(frozen=True)
class Floor:
    """The campaign the run talks to: its id, the number customers write to, their documents, its agents."""

    campaign_id: str
    number: str
    documents: list[str]
    agents: list[Agent]


def agent_capacity(customers: int, agents: int) -> int:
    """Enough room for every customer to be in a chat at once, so nobody waits for a seat."""
    return min(MAX_CAPACITY, math.ceil(customers / agents) + 2)


async def set_up(client: httpx.AsyncClient, admin_login: str, admin_password: str, customers: int,
                 agents: int) -> Floor:
    run = secrets.token_hex(3)  # names of this run's own, so runs against one deployment never clash
    number = f"whatsapp:+5716{int(run, 16) % 10_000_000:07d}"
    documents = [f"7{int(run, 16) % 100_000:05d}{n:04d}" for n in range(customers)]
    csrf = await log_in(client, admin_login, admin_password)
    campaign_id = await create_campaign(client, csrf, f"carga_{run}", number)
    await import_portfolio(client, csrf, campaign_id, documents)
    logins = [f"carga_{run}_{n}" for n in range(agents)]
    password = secrets.token_urlsafe(AGENT_PASSWORD_BYTES)
    for login in logins:
        await expect(client.post("/api/agents", headers=csrf, json={
            "login": login, "name": f"Asesor de carga {login[-1]}", "password": password,
            "capacity": agent_capacity(customers, agents), "campaign_ids": [campaign_id]}), 201)
    await until(lambda: _agents_listed(client, set(logins)), "los asesores en las tablas de lectura")
    tokens = [Agent(login, await agent_token(login, password, client.base_url)) for login in logins]
    return Floor(campaign_id, number, documents, tokens)


async def log_in(client: httpx.AsyncClient, login: str, password: str) -> dict[str, str]:
    """Sign in as a browser does; returns the CSRF header for the signed-in session."""
    form = (await client.get("/login")).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    if token is None:
        raise SetupError("la página de ingreso no trae su token CSRF")
    await expect(client.post("/login", data={"login": login, "password": password, "csrf_token": token.group(1)}),
                 303)
    home = re.search(r'<meta name="csrf-token" content="([^"]+)"', (await client.get("/", follow_redirects=True)).text)
    if home is None:
        raise SetupError(f"{login} no quedó con sesión")
    return {"X-CSRF-Token": home.group(1)}


async def create_campaign(client: httpx.AsyncClient, csrf: dict[str, str], code: str, number: str) -> str:
    created = await expect(client.post("/api/campaigns", headers=csrf, json={
        "code": code, "name": f"Prueba de carga {code}", "display_name": "Prueba de carga",
        "settings": {"closing_template_sid": CLOSING_TEMPLATE_SID, "closing_message": CLOSING_MESSAGE,
                     "business_hours": {day: [MIDNIGHT, MIDNIGHT] for day in WEEKDAYS}}}), 201)
    campaign_id = str(created.json()["id"])
    await expect(client.post(f"/api/campaigns/{campaign_id}/senders", headers=csrf,
                             json={"address": number, "channel": "whatsapp", "is_default": True}), 204)
    return campaign_id


async def import_portfolio(client: httpx.AsyncClient, csrf: dict[str, str], campaign_id: str,
                           documents: list[str]) -> None:
    rows = "".join(f"CC;{document};Cliente de carga {n}\n" for n, document in enumerate(documents))
    content = ("tipo_documento;documento;nombres\n" + rows).encode()
    queued = await expect(client.post(f"/api/campaigns/{campaign_id}/portfolios/import", headers=csrf,
                                      files={"file": ("cartera.csv", content, "text/csv")}), 202)
    status_url = queued.json()["status_url"]

    async def imported() -> bool:
        job = (await client.get(status_url)).json()
        if job.get("status") == "failed":
            raise SetupError(f"la cartera no se importó: {job.get('error')}")
        return job.get("status") in ("done", "completed")

    await until(imported, "la importación de la cartera")


async def agent_token(login: str, password: str, base_url: httpx.URL) -> str:
    """The agent signs in (a session of their own) and issues themself a token, as an API client would."""
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        csrf = await log_in(client, login, password)
        issued = await expect(client.post("/api/auth/tokens", headers=csrf, json={"label": "prueba de carga"}), 201)
        return str(issued.json()["token"])


async def _agents_listed(client: httpx.AsyncClient, logins: set[str]) -> bool:
    return logins <= {agent["login"] for agent in (await client.get("/api/agents")).json()}


async def expect(request: Awaitable[httpx.Response], status: int) -> httpx.Response:
    response = await request
    if response.status_code != status:
        raise SetupError(f"{response.request.method} {response.request.url.path}: "
                         f"{response.status_code} {response.text[:300]}")
    return response


async def until(condition: Callable[[], Awaitable[bool]], what: str, seconds: float = SETTLE_SECONDS) -> None:
    for _ in range(int(seconds * 4)):
        if await condition():
            return
        await asyncio.sleep(0.25)
    raise SetupError(f"se agotó la espera de {what}")
