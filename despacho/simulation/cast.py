"""Who takes part in a simulated month, drawn from the seed: campaigns with their portfolios, agents with their
shifts, the unidentified queue's agent and a supervisor per campaign."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import time

CAMPAIGN_NAMES = (
    ("banco_andino", "Banco Andino — Cobranza", "Banco Andino"),
    ("telco_sur", "Telco Sur — Cartera", "Telco Sur"),
    ("seguros_norte", "Seguros Norte — Renovaciones", "Seguros Norte"),
    ("energia_caribe", "Energía Caribe — Facturación", "Energía Caribe"),
    ("credito_facil", "Crédito Fácil — Recaudo", "Crédito Fácil"),
    ("salud_total", "Salud Total — Autorizaciones", "Salud Total"),
)
FIRST_NAMES = ("María", "Juan", "Luz", "Carlos", "Ana", "Jorge", "Nubia", "Andrés", "Paola", "Diego", "Sandra",
               "Felipe", "Claudia", "Hernán", "Diana", "Óscar", "Marcela", "Camilo", "Yolanda", "Julián")
LAST_NAMES = ("Pérez", "Gómez", "Rodríguez", "Ospina", "Ramírez", "Martínez", "Castro", "Rojas", "Vargas",
              "Moreno", "Jiménez", "Londoño", "Restrepo", "Cárdenas", "Salazar")
PORTFOLIO_SIZE = 400
SHIFTS = ((time(8, 0), time(16, 0)), (time(10, 0), time(18, 0)), (time(8, 0), time(14, 0)))
AGENT_CAPACITY = 4


@dataclass(frozen=True)
class CampaignPart:
    code: str
    name: str
    display_name: str
    number: str
    """The WhatsApp sender customers of this campaign write to."""
    documents: tuple[str, ...]

    def portfolio_csv(self, rng: random.Random) -> str:
        rows = [f"CC;{document};{rng.choice(FIRST_NAMES)};{rng.choice(LAST_NAMES)} {rng.choice(LAST_NAMES)};"
                f"{mobile_of(document)};{rng.randrange(50_000, 20_000_000)};{rng.randrange(0, 180)}"
                for document in self.documents]
        return "tipo_documento;documento;nombres;apellidos;celular;saldo;dias_mora\n" + "\n".join(rows) + "\n"


@dataclass(frozen=True)
class AgentPart:
    login: str
    name: str
    campaigns: tuple[str, ...]
    """Campaign codes; the unidentified queue is named by `UNIDENTIFIED`."""
    shift: tuple[time, time]
    reply_seconds: tuple[int, int]
    """How long this agent takes to answer, at least and at most."""


@dataclass(frozen=True)
class Cast:
    campaigns: tuple[CampaignPart, ...]
    agents: tuple[AgentPart, ...]
    supervisors: dict[str, str]
    """The supervisor's login per campaign code."""


UNIDENTIFIED = "<unidentified>"


def mobile_of(document: str) -> str:
    """The customer's Colombian mobile, the one they write from (a function of their document: the same person
    in every campaign that lists them)."""
    return f"300{int(document) % 10**7:07d}"


def draw_cast(rng: random.Random, campaigns: int, agents: int) -> Cast:
    """`campaigns` campaigns (at most the names known) and `agents` agents, each in one campaign, some in two,
    the first agent also designated for the unidentified queue."""
    if not 1 <= campaigns <= len(CAMPAIGN_NAMES):
        raise ValueError(f"campaigns must be between 1 and {len(CAMPAIGN_NAMES)}")
    if agents < campaigns:
        raise ValueError("every campaign needs at least one agent")
    parts = tuple(CampaignPart(code, name, display, f"whatsapp:+57160001{n:02d}", _documents(rng))
                  for n, (code, name, display) in enumerate(CAMPAIGN_NAMES[:campaigns]))
    cast_agents = []
    for n in range(agents):
        home = parts[n % campaigns].code
        second = (parts[(n + 1) % campaigns].code,) if campaigns > 1 and rng.random() < 0.25 else ()
        unidentified = (UNIDENTIFIED,) if n == 0 else ()
        fast = rng.randrange(15, 60)
        cast_agents.append(AgentPart(
            login=f"asesor{n + 1:02d}", name=f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
            campaigns=(home, *second, *unidentified), shift=SHIFTS[n % len(SHIFTS)],
            reply_seconds=(fast, fast + rng.randrange(60, 300))))
    supervisors = {part.code: f"supervisor{n + 1:02d}" for n, part in enumerate(parts)}
    return Cast(parts, tuple(cast_agents), supervisors)


def _documents(rng: random.Random) -> tuple[str, ...]:
    return tuple(sorted({str(rng.randrange(10_000_000, 1_999_999_999)) for _ in range(PORTFOLIO_SIZE)}))
