"""A campaign's targets for its service figures: the service level's threshold and share, and the ASA, abandonment,
FRT and survey CSAT it aims at. `CampaignSettings.metric_targets` holds only what the campaign sets; the rest reads the
default (the service level's 20 s and 80 %) or no target at all.

The threshold is part of the service level's definition, so a change of it dates: each queue entry is judged by the
threshold in force when the chat was queued (the metric projector records it on the entry), never by today's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from domain.common import DomainError
from domain.metrics.registry import SERVICE_LEVEL_SECONDS

SECONDS, SHARE = "seconds", "share"
THRESHOLD = "service_level_seconds"


class MetricTargetError(DomainError):
    pass


@dataclass(frozen=True)
class Target:
    key: str
    """The registry metric it is read against (or THRESHOLD, the service level's parameter)."""
    name: str
    """Spanish msgid, for the form and its refusals."""
    unit: str
    default: float | None
    highest: float
    at_least: bool = False
    """Met when the figure is at least the target (the service level); otherwise when it is at most the target."""


TARGETS = (
    Target(THRESHOLD, "Umbral del nivel de servicio (segundos)", SECONDS, SERVICE_LEVEL_SECONDS, 3600),
    Target("service_level", "Meta de nivel de servicio", SHARE, 0.8, 1, at_least=True),
    Target("average_speed_of_answer", "Meta de velocidad promedio de asignación (ASA)", SECONDS, None, 86400),
    Target("abandonment_rate", "Techo de la tasa de abandono", SHARE, None, 1),
    Target("first_response_time", "Meta de tiempo de primera respuesta (FRT)", SECONDS, None, 86400),
    Target("campaign_csat", "Meta de satisfacción del cliente (CSAT)", SHARE, None, 1, at_least=True),
)
BY_KEY = {t.key: t for t in TARGETS}


def check_targets(targets: Mapping[str, float]) -> None:
    for key, value in targets.items():
        target = BY_KEY.get(key)
        if target is None:
            raise MetricTargetError("Meta desconocida: %(target)s", target=key)
        if not 0 <= value <= target.highest or (key == THRESHOLD and (value < 1 or value != int(value))):
            raise MetricTargetError("«%(target)s» está fuera de rango", target=target.name)


def target_of(targets: Mapping[str, float], key: str) -> float | None:
    """The campaign's target for a metric: its own, else the default (None: no target)."""
    return float(targets[key]) if key in targets else BY_KEY[key].default


def service_level_seconds(targets: Mapping[str, float]) -> float:
    return target_of(targets, THRESHOLD) or SERVICE_LEVEL_SECONDS


def met(key: str, value: float, target: float) -> bool:
    """Whether a figure meets its target: at least it for the service level, at most it for the others."""
    return value >= target if BY_KEY[key].at_least else value <= target
