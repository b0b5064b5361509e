"""Demo data for embedded mode: campaigns, senders, a small portfolio per campaign and one user per
role (idempotent)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from application.campaigns import CampaignExistsError
from application.staff import AgentExistsError
from despacho.bootstrap import Despacho, build
from despacho.settings import Settings
from domain.campaigns import MIDNIGHT, WEEKDAYS

DEMO_PASSWORD = "despacho-demo"  # noqa: S105 - embedded demo only; `despacho demo` refuses other modes
DEMO_ACTOR = "system:demo"
# What every demo campaign holds, also one created by an earlier release: a WhatsApp campaign needs its
# approved closing template (the fake transport accepts this made-up Content SID), and the demo is open
# 24/7 so `make run` shows the normal path at any hour.
DEMO_SETTINGS: dict[str, Any] = {"closing_template_sid": "HX" + "de" * 16,
                                 "business_hours": {day: [MIDNIGHT, MIDNIGHT] for day in WEEKDAYS}}

CAMPAIGNS = [
    ("banco_a", "Banco A — Cobranza", "Banco A", [("whatsapp:+5716000001", "whatsapp"), ("+5716000011", "sms")]),
    ("telco_b", "Telco B — Cartera", "Telco B", [("whatsapp:+5716000002", "whatsapp")]),
]
UNIDENTIFIED = "<unidentified>"  # the campaign of DESPACHO_UNIDENTIFIED_CAMPAIGN_CODE, whatever its code
USERS = [
    ("admin", "Administración Demo", "admin", ()),
    ("supervisora", "Sandra Supervisora", "supervisor", ("banco_a", "telco_b")),
    ("ana", "Ana Asesora", "agent", ("banco_a",)),
    ("bruno", "Bruno Asesor", "agent", ("banco_a", "telco_b")),
    ("carla", "Carla Asesora", "agent", ("telco_b", UNIDENTIFIED)),  # designated for unidentified customers
    ("auditor", "Alberto Auditor", "auditor", ()),
]
# Customers the simulator can identify as: 1020304050 only in banco_a, 900100200 only in telco_b,
# 52123456 in both (the bot asks which one, or uses the campaign of the number written to).
PORTFOLIOS = {
    "banco_a": "tipo_documento;documento;nombres;apellidos;celular;correo;saldo;Días de mora\n"
               "CC;1020304050;María;Pérez Gómez;3001112233;maria.perez@example.com;1250000.50;45\n"
               "CC;52123456;Juan;Gómez Rojas;3234442172;;20651158.33;120\n",
    "telco_b": "tipo_documento;documento;nombres;apellidos;celular;correo;saldo;Días de mora\n"
               "CC;900100200;Nubia;Ospina Ramírez;3221299450;;443629.66;53\n"
               "CC;52123456;Juan;Gómez Rojas;3234442172;;96091.23;12\n",
}


def load_demo(settings: Settings) -> list[str]:
    despacho = build(settings)
    try:
        ids = _campaigns(despacho)
        _users(despacho, ids)
        _portfolios(despacho, ids)
        despacho.runner.catch_up(hand_out_work=False)
    finally:
        despacho.close()
    return ["Usuarios de demostración (contraseña para todos: " + DEMO_PASSWORD + "):",
            *[f"  {login:<12} {role:<10} {name}" for login, name, role, _ in USERS],
            "Documentos de las carteras de demostración (para el simulador, /simulator):",
            "  1020304050 (banco_a), 900100200 (telco_b), 52123456 (ambas)"]


def _campaigns(despacho: Despacho) -> dict[str, str]:
    ids = {}
    for code, name, display_name, senders in CAMPAIGNS:
        try:
            campaign_id = despacho.campaigns.register(
                code, name, display_name, DEMO_SETTINGS, actor=DEMO_ACTOR,
                senders=[(address, channel, False) for address, channel in senders])
        except CampaignExistsError:
            campaign_id = despacho.campaigns.id_for_code(code)
            _bring_up_to_date(despacho, campaign_id)
        ids[code] = str(campaign_id)
    ids[UNIDENTIFIED] = despacho.unidentified.campaign_id()  # created with the demo, open 24/7 like the others
    _bring_up_to_date(despacho, UUID(ids[UNIDENTIFIED]))
    return ids


def _bring_up_to_date(despacho: Despacho, campaign_id: UUID) -> None:
    campaign = despacho.campaigns.get(campaign_id)
    if any(getattr(campaign.settings, key) != value for key, value in DEMO_SETTINGS.items()):
        despacho.campaigns.edit(campaign_id, campaign.name, campaign.display_name, DEMO_SETTINGS, actor=DEMO_ACTOR)


def _users(despacho: Despacho, campaign_ids: dict[str, str]) -> None:
    for login, name, role, campaigns in USERS:
        try:
            despacho.staff.register(login, name, role, password=DEMO_PASSWORD, capacity=4,
                                    campaign_ids=frozenset(campaign_ids[c] for c in campaigns), actor=DEMO_ACTOR)
        except AgentExistsError:
            continue


def _portfolios(despacho: Despacho, campaign_ids: dict[str, str]) -> None:
    """Import each demo portfolio once (a campaign that already has customers is left alone)."""
    from projections.desk_queries import customer

    despacho.runner.catch_up(hand_out_work=False)
    for code, content in PORTFOLIOS.items():
        demo_customer = {"campaign_id": campaign_ids[code], "document_type": "CC", "document_number": "52123456"}
        if customer(despacho.read_engine, demo_customer) is None:
            despacho.portfolios.import_file(UUID(campaign_ids[code]), content.encode(), f"demo_{code}.csv",
                                            actor=DEMO_ACTOR)
