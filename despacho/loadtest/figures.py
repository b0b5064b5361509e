"""What a load run measured: latencies, counts, throughput, and the report printed from them."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

LATENCIES = {
    "webhook_answer": "respuesta al webhook",
    "first_bot_reply": "primera respuesta del bot (en el Twilio falso)",
    "queue_to_assignment": "cola → asignación",
    "agent_reply_sent": "respuesta del asesor → enviada al Twilio falso",
}


def percentile(samples: list[float], fraction: float) -> float:
    """The nearest-rank percentile (0 for no samples)."""
    if not samples:
        return 0.0
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


@dataclass
class Measures:
    """Everything the simulated people record while the load runs, in seconds."""

    started: float = field(default_factory=time.monotonic)
    latencies: dict[str, list[float]] = field(default_factory=lambda: {name: [] for name in LATENCIES})
    webhooks: int = 0
    webhooks_refused: int = 0
    agent_replies: int = 0
    agent_requests_refused: int = 0
    closes: int = 0
    conversations: int = 0
    sent_sids: list[str] = field(default_factory=list)
    reply_posted: dict[str, float] = field(default_factory=dict)  # outbound message id → wall clock of the POST

    def record(self, latency: str, seconds: float) -> None:
        self.latencies[latency].append(seconds)


@dataclass(frozen=True)
class Report:
    """The figures of one run; every one of `invariants` and of the refused requests must be 0."""

    customers: int
    agents: int
    seconds: float
    measures: Measures
    invariants: Mapping[str, int]

    @property
    def refused(self) -> dict[str, int]:
        return {"webhooks rechazados": self.measures.webhooks_refused,
                "peticiones de asesores rechazadas": self.measures.agent_requests_refused}

    @property
    def passed(self) -> bool:
        return not any(self.invariants.values()) and not any(self.refused.values())

    def as_dict(self) -> dict[str, Any]:
        measures = self.measures
        return {
            "customers": self.customers, "agents": self.agents, "seconds": round(self.seconds, 1),
            "conversations": measures.conversations, "webhooks": measures.webhooks,
            "webhooks_per_second": round(measures.webhooks / self.seconds, 2),
            "agent_replies": measures.agent_replies,
            "agent_replies_per_second": round(measures.agent_replies / self.seconds, 2), "closes": measures.closes,
            "latencies_ms": {name: {"samples": len(samples),
                                    **{f"p{p}": round(percentile(samples, p / 100) * 1000) for p in (50, 95, 99)}}
                             for name, samples in measures.latencies.items()},
            "refused": self.refused, "invariants": dict(self.invariants), "passed": self.passed,
        }

    def lines(self) -> list[str]:
        figures = self.as_dict()
        lines = [f"{self.customers} clientes, {self.agents} asesores, {figures['seconds']} s de carga, "
                 f"{figures['conversations']} conversaciones, {figures['closes']} cierres",
                 f"webhooks: {figures['webhooks']} ({figures['webhooks_per_second']}/s); respuestas de asesores: "
                 f"{figures['agent_replies']} ({figures['agent_replies_per_second']}/s)",
                 f"{'latencia (ms)':<50}{'n':>6}{'p50':>8}{'p95':>8}{'p99':>8}"]
        for name, label in LATENCIES.items():
            row = figures["latencies_ms"][name]
            lines.append(f"{label:<50}{row['samples']:>6}{row['p50']:>8}{row['p95']:>8}{row['p99']:>8}")
        lines.append("deben ser 0:")
        lines += [f"  {name}: {count}" for name, count in {**self.refused, **self.invariants}.items()]
        lines.append("RESULTADO: " + ("correcto" if self.passed else "FALLÓ"))
        return lines
