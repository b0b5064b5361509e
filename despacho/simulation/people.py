"""How simulated customers behave: each draws a persona from the seed when they first write."""

from __future__ import annotations

import random
from dataclasses import dataclass

# (persona, weight): what the customer does once the bot greets them.
PERSONAS = (
    ("normal", 55),
    ("wrong_document", 9),  # a document not in the portfolio first, then theirs
    ("unknown", 4),  # three documents the portfolio lacks: the unidentified queue
    ("asks_for_agent", 5),  # writes *asesor* instead of identifying
    ("drops_at_menu", 6),  # says hello and never answers the bot again
    ("drops_at_document", 5),  # chooses the document type and stops there
    ("silent_with_agent", 8),  # identified, then never answers the agent: closed 24 hours later
    ("opts_out", 3),  # answers the agent with BAJA
    ("transferred", 5),  # a normal conversation the supervisor moves to another agent
)
DISPOSITIONS = (("acuerdo_de_pago", 30), ("promesa_de_pago", 25), ("informacion_entregada", 25),
                ("no_interesado", 15), ("numero_equivocado", 5))
GREETINGS = ("Hola", "Buenos días", "Buenas tardes", "hola, buen día", "Buenas")
QUESTIONS = ("¿Cuánto debo?", "Quiero un acuerdo de pago", "¿Me pueden dar el saldo?",
             "Ya pagué, ¿me confirman?", "Necesito el certificado", "¿Puedo pagar en dos cuotas?")
FAREWELLS = ("Gracias", "Listo, muchas gracias", "Perfecto, gracias", "Ok, gracias por la ayuda")
AGENT_LINES = ("Hola, con gusto le ayudo. Ya reviso su información.", "Su saldo pendiente está en el sistema.",
               "Le puedo ofrecer un acuerdo de pago a dos cuotas.", "Quedó registrado, ¿algo más en que le ayude?",
               "Perfecto, le envío los datos de pago.")
NUDGE = "¿Sigue ahí? Quedo atento a su respuesta."


@dataclass
class Customer:
    phone: str
    """The WhatsApp address, `whatsapp:+57…`."""
    campaign: str
    number: str
    document: str
    profile_name: str
    persona: str = "normal"
    rounds: int = 1
    """How many questions a talking customer asks the agent."""
    returns: bool = False
    """Writes again, a few hours after the chat closed."""


def day_of_personas(rng: random.Random, customers: int) -> list[str]:
    """The personas of a day's customers in order of arrival: every persona at least once when the day has room
    for them all (so even a short run shows each kind of conversation), the rest drawn by weight."""
    personas = [name for name, _ in PERSONAS][:customers]
    personas += [pick(rng, PERSONAS) for _ in range(customers - len(personas))]
    rng.shuffle(personas)
    return personas


def pick(rng: random.Random, weighted: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([name for name, _ in weighted], weights=[weight for _, weight in weighted])[0]


def wrong_document(rng: random.Random, portfolio: frozenset[str]) -> str:
    """A cédula-shaped number that is in no portfolio of the run (they are drawn from a different range)."""
    while True:
        candidate = str(rng.randrange(2_000_000_000, 2_999_999_999))
        if candidate not in portfolio:
            return candidate
