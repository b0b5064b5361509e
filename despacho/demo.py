"""Demo data for embedded mode: campaigns, senders and one user per role (idempotent)."""

from __future__ import annotations

from application.campaigns import CampaignExistsError
from application.staff import AgentExistsError
from despacho.bootstrap import Despacho, build
from despacho.settings import Settings

DEMO_PASSWORD = "despacho-demo"  # noqa: S105 - embedded demo only; `despacho demo` refuses other modes
DEMO_ACTOR = "system:demo"

CAMPAIGNS = [
    ("banco_a", "Banco A — Cobranza", "Banco A", [("whatsapp:+5716000001", "whatsapp"), ("+5716000011", "sms")]),
    ("telco_b", "Telco B — Cartera", "Telco B", [("whatsapp:+5716000002", "whatsapp")]),
]
USERS = [
    ("admin", "Administración Demo", "admin", ()),
    ("supervisora", "Sandra Supervisora", "supervisor", ("banco_a", "telco_b")),
    ("ana", "Ana Asesora", "agent", ("banco_a",)),
    ("bruno", "Bruno Asesor", "agent", ("banco_a", "telco_b")),
    ("carla", "Carla Asesora", "agent", ("telco_b",)),
    ("auditor", "Alberto Auditor", "auditor", ()),
]


def load_demo(settings: Settings) -> list[str]:
    despacho = build(settings)
    try:
        ids = _campaigns(despacho)
        _users(despacho, ids)
        despacho.runner.catch_up()
    finally:
        despacho.close()
    return ["Usuarios de demostración (contraseña para todos: " + DEMO_PASSWORD + "):",
            *[f"  {login:<12} {role:<10} {name}" for login, name, role, _ in USERS]]


def _campaigns(despacho: Despacho) -> dict[str, str]:
    ids = {}
    for code, name, display_name, senders in CAMPAIGNS:
        try:
            campaign_id = despacho.campaigns.register(code, name, display_name, {}, actor=DEMO_ACTOR)
            for address, channel in senders:
                despacho.campaigns.link_sender(campaign_id, address, channel, is_default=False, actor=DEMO_ACTOR)
        except CampaignExistsError:
            campaign_id = despacho.campaigns.id_for_code(code)
        ids[code] = str(campaign_id)
    return ids


def _users(despacho: Despacho, campaign_ids: dict[str, str]) -> None:
    for login, name, role, campaigns in USERS:
        try:
            despacho.staff.register(login, name, role, password=DEMO_PASSWORD, capacity=4,
                                    campaign_ids=frozenset(campaign_ids[c] for c in campaigns), actor=DEMO_ACTOR)
        except AgentExistsError:
            continue
