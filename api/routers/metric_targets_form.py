"""The campaign form's service targets: one number per target, blank for the default (shown as a placeholder) or for
no target. Shares are typed as percentages. Only translation between the form and
`CampaignSettings.metric_targets`; the rules that judge the numbers are `domain/metrics/targets.check_targets`."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData

from domain.common import DomainError
from domain.metrics.targets import SHARE, TARGETS, Target

PREFIX = "target_"


class TargetFormError(DomainError):
    pass


def posted(form: FormData) -> bool:
    """Whether the form carried the targets fieldset (forms of API clients may leave it out)."""
    return any(key.startswith(PREFIX) for key in form)


def metric_targets_from_form(form: FormData) -> dict[str, float]:
    targets = {}
    for target in TARGETS:
        typed = str(form.get(PREFIX + target.key, "")).strip().replace(",", ".").removesuffix("%").strip()
        if not typed:
            continue
        try:
            number = float(typed)
        except ValueError as error:
            raise TargetFormError("Metas de la campaña: «%(target)s» debe ser un número", target=target.name) from error
        targets[target.key] = number / 100 if target.unit == SHARE else number
    return targets


def _typed(target: Target, value: float) -> str:
    return f"{value * 100:g}" if target.unit == SHARE else f"{value:g}"


def target_values(targets: dict[str, float]) -> dict[str, Any]:
    """The form's values for a campaign's targets (blank where it keeps the default)."""
    return {PREFIX + t.key: _typed(t, targets[t.key]) for t in TARGETS if t.key in targets}


def target_rows() -> list[dict[str, Any]]:
    """One row per target with its default (blank: no target), shown as a placeholder."""
    return [{"field": PREFIX + t.key, "name": t.name, "share": t.unit == SHARE,
             "default": _typed(t, t.default) if t.default is not None else ""} for t in TARGETS]
