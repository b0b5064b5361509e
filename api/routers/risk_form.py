"""The campaign form's block and spam risk thresholds: three numbers per signal (watch, high, critical), blank for
the default. Only translation between the form and `CampaignSettings.risk_thresholds`; the rules that judge the
numbers are `domain/risk_thresholds.check_overrides`."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData

from domain.common import DomainError
from domain.labels import RISK_SIGNALS
from domain.risk_thresholds import DEFAULT_THRESHOLDS

LEVELS = ("watch", "high", "critical")


class RiskFormError(DomainError):
    pass


def posted(form: FormData) -> bool:
    """Whether the form carried the risk fieldset (forms of API clients may leave it out)."""
    return any(key.startswith("risk_") for key in form)


def risk_thresholds_from_form(form: FormData) -> dict[str, list[float]]:
    overrides = {}
    for name in DEFAULT_THRESHOLDS:
        typed = [str(form.get(f"risk_{name}_{level}", "")).strip().replace(",", ".") for level in LEVELS]
        if not any(typed):
            continue
        if not all(typed):
            raise RiskFormError("Umbrales de riesgo: escriba los tres valores de «%(signal)s» o ninguno",
                                signal=RISK_SIGNALS[name])
        try:
            overrides[name] = [float(value) for value in typed]
        except ValueError as error:
            raise RiskFormError("Umbrales de riesgo: los valores de «%(signal)s» deben ser números",
                                signal=RISK_SIGNALS[name]) from error
    return overrides


def risk_values(thresholds: dict[str, list[float]]) -> dict[str, Any]:
    """The form's values for a campaign's overrides (blank where it keeps the default)."""
    return {f"risk_{name}_{level}": f"{values[index]:g}" for name, values in thresholds.items()
            for index, level in enumerate(LEVELS)}


def risk_rows() -> list[dict[str, Any]]:
    """One row per judged signal with its defaults, shown as placeholders."""
    return [{"name": name, "defaults": [f"{threshold.value_for(level):g}" for level in LEVELS]}
            for name, threshold in DEFAULT_THRESHOLDS.items()]
